"""The proxy's flows, one row each, newest first (line API: only the rows in view are rendered).

The rows are `FlowRow` values the proxy package made (streamwatch/proxy/rows.py); this widget only
lays them out. The path and the model are cut short before any column goes; columns that still do
not fit go whole, by priority (the client first, the verdict and the path last), and a value too
long for its column is cut at a word boundary, never
inside a word: a path keeps its leading segments, `/v1/messages?beta=true` becomes `/v1/messages…`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from streamwatch.proxy.rows import FlowRow
from streamwatch.tui.widgets.lines import CursorView

MARK_INJECTED = "⚑"
BREAKS = "/?&=.-_ :"
"""Where a value may be cut: after one of these."""


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    keep: int
    """Higher stays longer when the width is short."""
    right: bool = False
    most: int = 40
    """The widest it grows to fit its values (the path takes what is left over)."""


COLUMNS = (
    Column("time", "Time", 4, most=8),
    Column("client", "Client", 1, most=18),
    Column("method", "Method", 2, most=7),
    Column("path", "Path", 9, most=200),
    Column("model", "Model", 5, most=24),
    Column("status", "HTTP", 8, right=True, most=4),
    Column("ttft", "TTFT", 3, right=True, most=7),
    Column("took", "Took", 6, right=True, most=7),
    Column("events", "Events", 7, right=True, most=7),
    Column("verdict", "Verdict", 10, most=36),
)
PATH_MIN = 13
"""The path column is never narrower than this (or its widest value): `/v1/messages…` of `/v1/messages?beta=true`."""
MODEL_MIN = 11
"""Nor the model column: a model's family and version, its date cut (`sonnet-4-5…` of `sonnet-4-5-20250929`)."""
SHRINKS = {"model": MODEL_MIN, "path": PATH_MIN}
"""The columns cut short (with `…`) before any other column goes, how narrow they may get, and, in this
order, which widens first when there is room: the model, whose whole name says what answered."""


def elide(text: str, width: int) -> str:
    """`text` in `width` cells: whole, or cut at a word boundary (before or after a break) with `…`,
    never inside a word (a single word too long for the column shows as `…` alone)."""
    if cell_len(text) <= width:
        return text
    room = width - 1
    cut = 0
    for index, char in enumerate(text):
        if char in BREAKS:
            cut = index
        if cell_len(text[: index + 1]) > room:
            break
        if char in BREAKS:
            cut = index + 1
    return text[:cut] + "…"


def layout(widths: dict[str, int], total: int) -> list[tuple[Column, int]]:
    """The columns shown in `total` cells, each with its width, in screen order, one space apart after
    the mark: the verdict and the path always, then the others by how much they are wanted (`keep`)
    while they fit with the path and the model cut short (`SHRINKS`); what room is left then widens
    the model, then the path, to their widest values where it is enough for that; what remains goes
    to the path, then the model (a model cut after its version shows no more of itself)."""
    wanted = {column.name: min(column.most, max(cell_len(column.header), widths.get(column.name, 0)))
              for column in COLUMNS}
    width = {name: min(wanted[name], SHRINKS.get(name, wanted[name])) for name in wanted}
    used = 1 + 1 + width["verdict"] + 1 + width["path"]
    chosen = {"verdict", "path"}
    for column in sorted(COLUMNS, key=lambda column: -column.keep):
        if column.name not in chosen and used + 1 + width[column.name] <= total:
            chosen.add(column.name)
            used += 1 + width[column.name]
    for whole in (True, False):
        for name in SHRINKS if whole else reversed(SHRINKS):
            need, room = wanted[name] - width[name], total - used
            if name in chosen and need > 0 and room > 0 and (room >= need or not whole):
                grow = min(need, room)
                width[name] += grow
                used += grow
    return [(column, width[column.name]) for column in COLUMNS if column.name in chosen]


class FlowTable(CursorView[FlowRow]):
    """The rows, a header line above them, and a cursor that stays on its flow as new ones arrive above
    (or, at the top, moves to each newest one)."""

    COMPONENT_CLASSES = {
        "flowtable--header",
        "flowtable--cursor",
        "flowtable--running",
        "flowtable--complete",
        "flowtable--abnormal",
        "flowtable--injected",
    }
    BINDINGS = [Binding("enter", "select", "Open", id="flows.open")]

    class Selected(Message):
        """`enter` on a row: open its flow."""

        def __init__(self, row: FlowRow) -> None:
            super().__init__()
            self.row = row

    class Highlighted(Message):
        """The cursor is on another flow (or on none)."""

    def __init__(self, clock: Callable[[], float], tz: datetime.tzinfo | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.tz = tz
        self._cells: list[dict[str, str]] = []
        self._made: dict[str, tuple[FlowRow, dict[str, str]]] = {}
        self._widths: dict[str, int] = {}
        self._settled: dict[str, int] = {}
        """The widest cell of each column among the finished rows made so far."""
        self._columns: list[tuple[Column, int]] = []
        self._highlighted: str | None = None

    # ----- data -------------------------------------------------------------------------------

    def show(self, rows: list[FlowRow]) -> None:
        """Show these rows (newest first), the cursor on the flow it was on, if it is still listed, or on
        the newest when it was at the top (it follows the newest, as a log's tail does).

        A finished row's text never changes: it is made once, and its widths are kept in the widths the
        columns are laid out to (they only grow), so a list of thousands costs little more than the rows
        still running."""
        keep = None if self.cursor == 0 else self.highlighted
        self.rows = rows
        now = self.clock()
        widths = dict(self._settled)
        cells_of: dict[str, tuple[FlowRow, dict[str, str]]] = {}
        for row in rows:
            made = self._made.get(row.id)
            if made is None or made[0] is not row or row.running:
                made = (row, row.cells(now, self.tz))
                for name, text in made[1].items():
                    width = cell_len(text)
                    if width > widths.get(name, 0):
                        widths[name] = width
                    if not row.running and width > self._settled.get(name, 0):
                        self._settled[name] = width
            cells_of[row.id] = made
        self._made = cells_of
        self._cells = [cells_of[row.id][1] for row in rows]
        self._widths = widths
        self._relayout()
        ids = [row.id for row in rows]
        row = ids.index(keep.id) if keep is not None and keep.id in ids else 0
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        if row != self.cursor:
            self.cursor = row
        elif self.highlighted_id != self._highlighted:
            self.cursor_moved()
        self.refresh()

    @property
    def highlighted_id(self) -> str | None:
        row = self.highlighted
        return None if row is None else row.id

    def on_resize(self) -> None:
        self._relayout()
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    def _relayout(self) -> None:
        self._columns = layout(self._widths, self.scrollable_content_region.width or self.size.width)

    # ----- moving -----------------------------------------------------------------------------

    def cursor_moved(self) -> None:
        self._highlighted = self.highlighted_id
        self.post_message(self.Highlighted())

    def action_select(self) -> None:
        row = self.highlighted
        if row is not None:
            self.post_message(self.Selected(row))

    # ----- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        style = self.get_component_rich_style
        if y == 0:
            header = Text(" ", style=style("flowtable--header"), no_wrap=True, overflow="crop")
            for column, width in self._columns:
                header.append(" " + _pad(elide(column.header, width), width, column.right))
            return self.text_strip(header)
        index = self.row_index(y)
        if index >= len(self.rows):
            return self.blank_row()
        row, cells = self.rows[index], self._cells[index]
        line = Text(no_wrap=True, overflow="crop")
        line.append(MARK_INJECTED if row.fault else " ", style("flowtable--injected") if row.fault else "")
        for column, width in self._columns:
            line.append(" ")
            words = _pad(elide(cells[column.name], width), width, column.right)
            line.append(words, style(f"flowtable--{row.kind}") if column.name == "verdict" else "")
        if index == self.cursor:
            line.stylize(style("flowtable--cursor"))
        return self.text_strip(line)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(0, width - cell_len(text))
    return space + text if right else text + space
