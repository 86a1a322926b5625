"""The saved sessions, one row each, newest first (line API: only the rows in view are rendered).

Each row's text is made once, off the UI thread (`session_rows`, in the home screen's worker): its
cells, their widths, and the lowercase text the filter searches. Showing another set of rows (a
filter's matches, a refreshed list) then costs a pass over those made rows for the column widths,
and a paint of the rows in view: 10 000 sessions cost what a screenful does, beyond that pass.
The columns that do not all fit go whole, the least important first (`COLUMN_RANKS`); the request
column takes the width the others leave, its cells cut at a word (`shorten`) as they are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from streamwatch.core.catalog import SHORT_TIME_FORMAT, SessionSummary
from streamwatch.tui.widgets.fit import fit, shorten
from streamwatch.tui.widgets.lines import CursorView

COLUMNS = ("Started", "Request", "Model", "Verdict", "Took", "Size")
COLUMN_RANKS = (0, 1, 4, 0, 2, 3)
"""Which columns go first when they do not all fit (`fit`): the model (the detail line under the list
says it too), then the size, then the time it took."""
REQUEST_COLUMN = 1
VERDICT_COLUMN = 3
MIN_REQUEST_WIDTH = 16
"""The request column (the scenario, else the prompt's start) takes the width the others leave, at least this."""
GAP = "  "
"""Between two columns; one space more before the first and after the last."""


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One session as the table shows it: its cells (`COLUMNS`), their widths in cells, the kind of its
    verdict (`complete`, `abnormal`, `unreadable`, `recording`: the colour), and what the filter searches."""

    summary: SessionSummary
    cells: tuple[str, ...]
    widths: tuple[int, ...]
    kind: str
    text: str
    """Every column (the source too, which the table leaves out), the file name and the prompt, lowercase."""

    def matches(self, words: Sequence[str]) -> bool:
        """Every word (lowercase) appears in some column, the file name or the prompt."""
        return all(word in self.text for word in words)


def session_rows(summaries: Sequence[SessionSummary], made: dict[SessionSummary, SessionRow]) -> list[SessionRow]:
    """The summaries' rows; `made`: rows made before, by summary, taken again where a summary is unchanged
    (and the rows made now are added to it)."""
    rows = []
    for summary in summaries:
        row = made.get(summary)
        if row is None:
            started, source, *rest = summary.columns(time_format=SHORT_TIME_FORMAT)
            cells = (started, *rest)
            kind = ("unreadable" if not summary.readable else "recording" if summary.recording is not None
                    else "complete" if summary.complete else "abnormal")
            text = "\n".join((*cells, source, summary.path.name, summary.prompt or "")).lower()
            widths = tuple(len(cell) if cell.isascii() else cell_len(cell) for cell in cells)
            row = made[summary] = SessionRow(summary, cells, widths, kind, text)
        rows.append(row)
    return rows


class SessionTable(CursorView[SessionRow]):
    """The rows under a header line, and a cursor that stays on its session when the rows change."""

    COMPONENT_CLASSES = {
        "sessiontable--header",
        "sessiontable--cursor",
        "sessiontable--complete",
        "sessiontable--abnormal",
        "sessiontable--unreadable",
        "sessiontable--recording",
    }
    BINDINGS = [Binding("enter", "select", "Open", id="home.open")]

    class Selected(Message):
        """`enter` (or a click) on the highlighted session: open it."""

    class Highlighted(Message):
        """The cursor is on another session (or on none)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._widths = [cell_len(name) for name in COLUMNS]
        self._columns: list[tuple[int, int]] = []
        """The columns shown, in order: (position in `COLUMNS`, width)."""

    @property
    def column_names(self) -> list[str]:
        return [COLUMNS[column] for column, _ in self._columns]

    def show(self, rows: list[SessionRow]) -> None:
        """Show these rows, the cursor on the session it was on if it is among them, else on the first."""
        kept = self.highlighted
        self.rows = rows
        columns = zip(*(row.widths for row in rows), strict=True) if rows else ((),) * len(COLUMNS)
        self._widths = [max((cell_len(name), *column)) for name, column in zip(COLUMNS, columns, strict=True)]
        self._relayout()
        index = 0
        if kept is not None:
            path: Path = kept.summary.path
            index = next((n for n, row in enumerate(rows) if row.summary.path == path), 0)
        if index != self.cursor:
            self.cursor = index
        else:
            self.cursor_moved()
            self.call_after_refresh(self._scroll_to_cursor)
        self.refresh()

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        """The columns that fit the width, the least important left out first (`COLUMN_RANKS`); the
        request column as wide as what the others leave, at least `MIN_REQUEST_WIDTH`."""
        widths = list(self._widths)
        widths[REQUEST_COLUMN] = min(widths[REQUEST_COLUMN], MIN_REQUEST_WIDTH)
        scrollbar = self.styles.scrollbar_size_vertical if len(self.rows) + 1 > self.size.height else 0
        width = self.size.width - scrollbar - 2
        columns = fit([("x" * w, rank) for w, rank in zip(widths, COLUMN_RANKS, strict=True)], width, GAP)
        used = sum(widths[n] for n in columns) + len(GAP) * (len(columns) - 1)
        widths[REQUEST_COLUMN] = min(self._widths[REQUEST_COLUMN], widths[REQUEST_COLUMN] + max(0, width - used))
        self._columns = [(n, widths[n]) for n in columns]
        used = sum(widths[n] for n in columns) + len(GAP) * (len(columns) - 1)
        self.virtual_size = Size(used + 2, len(self.rows) + 1)

    def cursor_moved(self) -> None:
        self.post_message(self.Highlighted())

    def action_select(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Selected())

    def cells_at(self, index: int) -> list[str]:
        """The text of row `index`'s columns, as shown (the request cut to its column)."""
        cells = self.rows[index].cells
        return [shorten(cells[n], width) if n == REQUEST_COLUMN else cells[n] for n, width in self._columns]

    def render_line(self, y: int) -> Strip:
        style = self.get_component_rich_style
        if y == 0:
            header = Text(" ", style=style("sessiontable--header"), no_wrap=True, overflow="crop", end="")
            header.append(GAP.join(_pad(COLUMNS[n], width) for n, width in self._columns) + " ")
            return self.text_strip(header.append(" " * self.size.width), round(self.scroll_x))
        index = self.row_index(y)
        if not 0 <= index < len(self.rows):
            return self.blank_row()
        row = self.rows[index]
        line = Text(" ", no_wrap=True, overflow="crop", end="")
        for place, (cell, (n, width)) in enumerate(zip(self.cells_at(index), self._columns, strict=True)):
            line.append(GAP if place else "")
            line.append(_pad(cell, width), style(f"sessiontable--{row.kind}", partial=True) if n == VERDICT_COLUMN else "")
        line.append(" " * self.size.width)
        if index == self.cursor:
            line.stylize(style("sessiontable--cursor"))
        return self.text_strip(line, round(self.scroll_x))


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))
