"""The event timeline: one row per event, rendered from the state on demand (line API).

Only the rows in view are rendered, so 100 000 events cost what 30 do. Rows whose gap was a stall,
errors and anomalies stand out by colour and by a glyph, so they read in monochrome too. A filter
goes over the events a piece per frame (`SCAN_SECONDS`), so one typed on a long stream never holds
the keys: the rows it found so far show at once, and the title says how far it got.
"""

from __future__ import annotations

import bisect
import time
from array import array

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from streamwatch.core.diagnose import StreamState
from streamwatch.core.eventfilter import NO_FILTER, FilterError, parse_filter
from streamwatch.core.events import Event, EventType, delta_size, short_type
from streamwatch.core.report import timeline_row
from streamwatch.core.safe import one_line
from streamwatch.tui.widgets.fit import TITLE_FRAME, fitted, shorten
from streamwatch.tui.widgets.lines import LineView

GLYPH_STALL, GLYPH_ERROR, GLYPH_ANOMALY, GLYPH_END = "‖", "✗", "▲", "■"
_LAYOUTS = ((5, 7, 7, 1, 11, 2), (5, 0, 7, 1, 11, 1), (5, 0, 0, 1, 11, 1))
"""Column widths (#, time, gap, mark, type, index; 0: left out), widest first: a row takes the widest
that leaves the summary `_SUMMARY_ROOM` cells. Narrow, the time goes first (the raw view has it), then
the gap; the summary, a delta's size last of all, stays."""
_SUMMARY_ROOM = 14
SCAN_SECONDS = 0.01
"""The most a frame spends matching events against the filter; the rest waits for the next frame."""
SCAN_BLOCK = 2048


class Timeline(LineView, can_focus=True):
    COMPONENT_CLASSES = {
        "timeline--cursor",
        "timeline--stall",
        "timeline--error",
        "timeline--anomaly",
        "timeline--ping",
        "timeline--end",
        "timeline--done",
    }
    # Priority: taken when the key arrives, not after it has bubbled through four message queues
    # behind frames of a fast stream. They are the timeline's own, so only while it has focus.
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False, priority=True),
        Binding("down,j", "move(1)", "Down", show=False, priority=True),
        Binding("pageup", "move(-20)", "Page up", show=False, priority=True),
        Binding("pagedown", "move(20)", "Page down", show=False, priority=True),
        Binding("home", "jump(0)", "First", show=False, priority=True),
        Binding("end", "jump(-1)", "Last", show=False, priority=True),
        Binding("enter", "select", "Raw event", id="timeline.raw", show=False, priority=True),
    ]

    cursor: reactive[int] = reactive(0)
    follow: reactive[bool] = reactive(True)

    class Selected(Message):
        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: StreamState | None = None
        self.filter = NO_FILTER
        self.filter_error: str | None = None
        """Why the filter typed last cannot be read (the timeline then shows every event), if it cannot."""
        self._filter_anomalies = 0
        self._rows = array("q")
        """The positions of the events shown, in order."""
        self._scanned = 0
        self._marks: dict[int, str] = {}
        self._seen_rows = 0
        self._shown: tuple[object, ...] = ()
        self.stall: str | None = None
        self.events = 0
        """How many of the state's events the timeline shows: as many as there were at the last frame."""
        self._end_rows = 0

    # ----- data -------------------------------------------------------------------------------

    def update_state(self, state: StreamState, stall: str | None = None) -> None:
        """Take the state's current events (only the new ones are scanned); `stall` is a live silence to show.

        Called every frame, by the screen that shows the same state in its status line: the timeline
        shows the events there were then (`events`, and its end rows), never more, though the player
        feeds the state on between frames and keys redraw the timeline between them too. When nothing it
        shows has changed it does nothing, so an idle screen stays idle."""
        self.events = len(state.events)
        self._end_rows = int(state.incomplete is not None) + int(state.ended is not None)
        self._take(state, stall)

    def _take(self, state: StreamState, stall: str | None) -> None:
        key = (
            self.events, stall, self._end_rows, len(state.anomalies), state.error_at, self.filter, self.follow,
            self.size,
        )
        at_tail = not self.follow or round(self.scroll_y) == max(0, self.row_count - self.size.height)
        if state is self.state and key == self._shown and at_tail and not self.scanning:
            return
        self._shown = key
        self.stall = stall
        if state is not self.state:
            self.state = state
            self._rows, self._scanned, self._seen_rows = array("q"), 0, 0
        if self.filter.marks and len(state.anomalies) != self._filter_anomalies:
            # A new anomaly may point at an event already scanned (a burst is known after it).
            self._filter_anomalies = len(state.anomalies)
            self._rows, self._scanned = array("q"), 0
        self._scan(state)
        self._marks = _marks(state)
        total = self.row_count
        self.virtual_size = Size(self.size.width, total)
        if self.follow:
            self._seen_rows = total
            self.cursor = max(0, total - 1)
            self.scroll_to(y=max(0, total - self.size.height), animate=False, immediate=True, force=True)
        self.refresh()
        self._update_title()

    def _scan(self, state: StreamState) -> None:
        """Match the events not matched yet against the filter, for `SCAN_SECONDS` at most."""
        end = self.events
        deadline = time.perf_counter() + SCAN_SECONDS
        while self._scanned < end:
            stop = min(end, self._scanned + SCAN_BLOCK)
            self._rows.extend(self.filter.rows(state, self._scanned, stop))
            self._scanned = stop
            if time.perf_counter() > deadline:
                return

    @property
    def scanning(self) -> bool:
        """Some events are not matched against the filter yet (a long stream, a frame at a time)."""
        return self.state is not None and self._scanned < self.events

    def set_filter(self, text: str) -> None:
        """Show only the events the filter keeps (core/eventfilter.py); one it cannot read shows every
        event and says why in the title, where the count goes."""
        try:
            self.filter, self.filter_error = parse_filter(text), None
        except FilterError as exc:
            self.filter, self.filter_error = NO_FILTER, str(exc)
        self._rows, self._scanned, self._shown, self._filter_anomalies = array("q"), 0, (), 0
        if self.state is not None:
            self._take(self.state, self.stall)
        self.cursor = min(self.cursor, max(0, self.row_count - 1))

    @property
    def row_count(self) -> int:
        extra = 0
        if self.state is not None and self.filter.empty and not self.scanning:
            extra = self._end_rows
        return len(self._rows) + extra + int(self.stall is not None)

    def event_at(self, row: int) -> Event | None:
        if self.state is None or not 0 <= row < len(self._rows):
            return None
        return self.state.events[self._rows[row]]

    def row_of(self, seq: int) -> int | None:
        row = bisect.bisect_left(self._rows, seq - 1)
        return row if row < len(self._rows) and self._rows[row] == seq - 1 else None

    # ----- moving -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()
        self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        new = self.cursor
        top, height = round(self.scroll_y), self.size.height
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif height and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)

    def watch_follow(self, follow: bool) -> None:
        if follow and self.state is not None:
            self._take(self.state, self.stall)
        elif not follow:
            self._seen_rows = self.row_count
        self._update_title()

    def action_move(self, delta: int) -> None:
        self.follow = False
        self.cursor = max(0, min(self.row_count - 1, self.cursor + delta))

    def action_jump(self, row: int) -> None:
        self.follow = row == -1
        self.cursor = max(0, self.row_count - 1) if row == -1 else 0

    def action_select(self) -> None:
        event = self.event_at(self.cursor)
        if event is not None:
            self.post_message(self.Selected(event))

    def move_to_seq(self, seq: int) -> bool:
        row = self.row_of(seq)
        if row is None:
            return False
        self.follow = False
        self._seen_rows = self.row_count
        self._update_title()
        self.cursor = row
        return True

    def on_mouse_scroll_up(self) -> None:
        self.follow = False

    def on_resize(self) -> None:
        self._update_title()

    def _update_title(self) -> None:
        """`Timeline · 227 events · filter 'json': 171 · PAUSED (3 new)`: what fits of it in the border,
        the filter's count and PAUSED before the rest."""
        count = self.events
        pieces = [("Timeline", 3), (f"{count} events", 2)]
        if self.filter_error is not None:
            pieces.append((f"filter: {one_line(self.filter_error)}", 0))
        elif not self.filter.empty:
            found = f"filter {one_line(self.filter.text)!r}: {len(self._rows)}"
            if self.scanning:
                assert self.state is not None
                found += f" so far ({self._scanned / self.events:.0%})"
            pieces.append((found, 0))
        if not self.follow:
            new = self.row_count - self._seen_rows
            pieces.append((f"PAUSED ({new} new)" if new > 0 else "PAUSED", 1))
        width = self.outer_size.width - TITLE_FRAME
        self.border_title = Text(fitted(pieces, width) if width > 0 else " · ".join(text for text, _ in pieces))

    # ----- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_y) + y
        if self.state is None or row >= self.row_count:
            return self.blank_row()
        line, style = self._row(row)
        if row == self.cursor:
            # An event's mark shows through the cursor; the stall and end rows keep the cursor on top.
            cursor = self.get_component_rich_style("timeline--cursor")
            if style is None:
                style = cursor
            else:
                style = cursor + style if row < len(self._rows) else style + cursor
        return self.line_strip(line, style)

    def _row(self, row: int) -> tuple[str, Style | None]:
        """A row's text and the style that marks it, if any."""
        state = self.state
        assert state is not None
        component = self.get_component_rich_style
        if row >= len(self._rows):
            indent = sum(width + 1 for width in self._widths()[:3] if width)
            room = self.scrollable_content_region.width - indent - 2

            def line(glyph: str, words: str) -> str:
                return f"{' ' * indent}{glyph} {shorten(one_line(words), room) if room > 0 else ''}"

            if self.stall is not None:
                return line(GLYPH_STALL, self.stall), component("timeline--stall") + Style(reverse=True)
            if row == len(self._rows) and state.incomplete is not None:
                raw = state.incomplete
                label = f"(incomplete) {raw.event or 'event'}: {len(raw.raw)} bytes that never completed"
                return line(GLYPH_ANOMALY, label), component("timeline--anomaly")
            words = state.termination.value if state.termination else "end"
            error = state.error or state.end_error
            detail = f" {error.get('type')}: {error.get('message')}" if error else ""
            kind = "timeline--done" if state.complete else "timeline--end"
            return line(GLYPH_END, f"END {words}{detail}"), component(kind)
        position = self._rows[row]
        event = state.events[position]
        previous = state.events.time(position - 1) if position else 0.0
        number, at, gap, kind, index, summary = timeline_row(event, previous)
        mark = self._marks.get(event.seq, "")
        cells = (number, at, gap, mark or " ", short_type(kind), index)
        widths = self._widths()
        line = "".join(cell.ljust(width) + " " for cell, width in zip(cells, widths, strict=True) if width)
        room = self.scrollable_content_region.width - cell_len(line)
        size = delta_size(event)
        if size and summary.endswith(size):
            summary = fitted([(summary[: -len(size)].rstrip(), 1), (size, 0)], room, separator=" ")
        line += fitted([(summary, 0)], room) if room > 0 else ""
        if mark == GLYPH_STALL:
            return line, component("timeline--stall")
        if mark == GLYPH_ERROR:
            return line, component("timeline--error")
        if mark == GLYPH_ANOMALY:
            return line, component("timeline--anomaly")
        if event.type == EventType.PING:
            return line, component("timeline--ping")
        return line, None

    def _widths(self) -> tuple[int, ...]:
        """The widest layout of `_LAYOUTS` that leaves the summary its room at this width."""
        for widths in _LAYOUTS:
            if sum(w + 1 for w in widths if w) + _SUMMARY_ROOM <= self.scrollable_content_region.width:
                return widths
        return _LAYOUTS[-1]


def _marks(state: StreamState) -> dict[int, str]:
    """Event number -> glyph: errors first, then stalls (the event that ended the silence), then the rest."""
    marks: dict[int, str] = {}
    for anomaly in state.anomalies:
        if anomaly.at_event is None:
            continue
        glyph = GLYPH_STALL if anomaly.code == "stall" else GLYPH_ANOMALY
        if marks.get(anomaly.at_event) != GLYPH_STALL:
            marks[anomaly.at_event] = glyph
    if state.error_at is not None:
        marks[state.error_at] = GLYPH_ERROR
    return marks
