"""The stats screen (`s` on the home screen): `streamwatch stats` as a table, a small chart per group of
how its failure rate moved day by day, and the sessions behind any cell.

Everything shown is the core's (core/stats.py counts, core/catalog.py lists from the session index);
the screen only lays it out. The list is read on a worker thread that posts one message.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from streamwatch.core.catalog import Cancelled, Catalog
from streamwatch.core.safe import one_line
from streamwatch.core.stats import COLUMN_COUNTS, GROUPINGS, count, head_cells, members, row_cells, trend
from streamwatch.core.summary import SessionSummary
from streamwatch.tui.screens.home import open_replay
from streamwatch.tui.widgets.keys import KeyLine
from streamwatch.tui.widgets.panes import FittedLine
from streamwatch.tui.widgets.sessiontable import SessionTable, session_rows

BARS = "▁▂▃▄▅▆▇█"
TREND_DAYS = 14
TREND_TITLE = "NOT COMPLETE / DAY"
ALL = "all"


def sparkline(rates: list[float | None]) -> str:
    """One character per day: the share of streams that did not complete, ▁ none to █ all; · no stream."""
    return "".join("·" if rate is None else BARS[min(len(BARS) - 1, int(rate * len(BARS)))] for rate in rates)


class StatsTable(DataTable[Text]):
    """The table; `enter` lists the sessions behind the cell under the cursor."""

    BINDINGS = [Binding("enter", "select_cursor", "Sessions", id="stats.open")]


class StatsScreen(Screen[None]):
    BINDINGS = [
        Binding("b", "next_grouping", "Group by", id="stats.by"),
        Binding("r", "refresh", "Refresh", id="stats.refresh"),
        Binding("escape,q", "back", "Back", id="stats.back"),
    ]

    class Loaded(Message):
        def __init__(self, summaries: list[SessionSummary], warning: str | None) -> None:
            super().__init__()
            self.summaries = summaries
            self.warning = warning

    def __init__(self, catalog: Catalog, stall_threshold: float, by: str | None = "model") -> None:
        super().__init__()
        self.catalog = catalog
        self.stall_threshold = stall_threshold
        self.by = by
        self.summaries: list[SessionSummary] | None = None
        self._keys: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield FittedLine(id="stats-title")
        yield StatsTable(id="stats-table", cursor_type="cell", zebra_stripes=True, fixed_columns=1)
        yield Static(id="stats-detail")
        yield KeyLine()

    def on_mount(self) -> None:
        self.query_one(FittedLine).show([("Stats · reading the sessions…", 0)])
        self._load()

    def action_refresh(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="stats")
    def _load(self) -> None:
        worker = get_current_worker()
        try:
            summaries = self.catalog.summaries(lambda: worker.is_cancelled)
        except Cancelled:
            return
        self.post_message(self.Loaded(summaries, self.catalog.warning))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.summaries = message.summaries
        if message.warning:
            self.notify(one_line(message.warning), severity="warning", markup=False)
        self._fill()

    def _fill(self) -> None:
        summaries = self.summaries
        if summaries is None:
            return
        stats = count(summaries, self.by)
        days, rates = trend(summaries, self.by, days=TREND_DAYS)
        table = self.query_one(DataTable)
        row, column = table.cursor_coordinate
        table.clear(columns=True)
        first, *rest = head_cells(self.by)
        for title in (first, TREND_TITLE, *rest):
            table.add_column(Text(title))
        groups = [(group, "(none)" if group.key is None else group.key) for group in stats.groups]
        self._keys = [group.key for group, _ in groups] + [ALL] if stats.total.streams else []
        for (group, name), key in zip([*groups, (stats.total, ALL)], self._keys, strict=False):
            line = Text(sparkline(rates.get(None if key == ALL else key, [])).rjust(len(days)))
            first, *rest = (Text(one_line(cell)) for cell in row_cells(group, name))
            table.add_row(first, line, *rest)
        table.move_cursor(row=min(row, table.row_count - 1), column=column)
        by = "" if self.by is None else f" by {self.by}"
        span = f"days {days[0]} to {days[-1]}" if days else ""
        left = [f"{n} {what}" for n, what in ((stats.recording, "recording"), (stats.unfinished, "unfinished"),
                                               (stats.unreadable, "unreadable"),
                                               (stats.injected, "injected"), (stats.not_streams, "not streams")) if n]
        counted = f"not counted: {', '.join(left)}" if left else ""
        self.query_one(FittedLine).show([(f"Stats{by}", 0), (f"{stats.total.streams} streams", 0), (span, 2), (counted, 1)])
        self._describe()

    @on(DataTable.CellHighlighted)
    def _describe(self) -> None:
        cell = self._cell()
        detail = self.query_one("#stats-detail", Static)
        if cell is None:
            none = "No saved sessions yet." if not self.summaries else "No stream to count (see the title)."
            detail.update(Text(none if self.summaries is not None else ""))
            return
        key, column = cell
        group = "every stream" if key == ALL else f"{self.by} {one_line('(none)' if key is None else key)}"
        what = "its streams" if column is None else f"its {column} streams"
        detail.update(Text(f"{group}: enter lists {what}"))

    def _cell(self) -> tuple[str | None, str | None] | None:
        table = self.query_one(DataTable)
        if not self._keys or table.row_count == 0:
            return None
        row, column = table.cursor_coordinate
        counts = (COLUMN_COUNTS[0], None, *COLUMN_COUNTS[1:])
        return self._keys[row], counts[column] if column < len(counts) else None

    @on(DataTable.CellSelected)
    def _open_cell(self) -> None:
        cell = self._cell()
        if cell is None or self.summaries is None:
            return
        key, column = cell
        chosen = members(self.summaries, self.by, key, column, everything=key == ALL)
        if not chosen:
            self.notify("No session in that cell.", markup=False)
            return
        about = "every stream" if key == ALL else f"{self.by} {one_line('(none)' if key is None else key)}"
        title = f"{len(chosen)} session{'s' if len(chosen) != 1 else ''} · {about}" + (f" · {column}" if column else "")
        self.app.push_screen(SessionsScreen(chosen, title, self.stall_threshold))

    def action_next_grouping(self) -> None:
        order: list[str | None] = [None, *GROUPINGS]
        self.by = order[(order.index(self.by) + 1) % len(order)]
        self._fill()

    def action_back(self) -> None:
        self.app.pop_screen()


class SessionsScreen(Screen[None]):
    """The sessions behind a cell of the stats table, newest first, as the home list shows them;
    `enter` replays one."""

    BINDINGS = [Binding("escape,q", "back", "Back", id="stats.sessions.back")]

    def __init__(self, summaries: list[SessionSummary], title: str, stall_threshold: float) -> None:
        super().__init__()
        self.rows = session_rows(summaries, {})
        self.title_text = title
        self.stall_threshold = stall_threshold

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text), id="stats-title")
        yield SessionTable(id="stats-sessions")
        yield KeyLine()

    def on_mount(self) -> None:
        table = self.query_one(SessionTable)
        table.show(self.rows)
        table.focus()

    @on(SessionTable.Selected)
    def _open(self) -> None:
        row = self.query_one(SessionTable).highlighted
        if row is not None:
            open_replay(self, row.summary, self.stall_threshold)

    def action_back(self) -> None:
        self.app.pop_screen()
