"""The flows screen: every request the recording proxy passed on, live, newest first.

The proxy runs on the server's thread; each flow's `RowHook` (streamwatch/proxy/rows.py) snapshots
its row there as a value nobody changes afterwards, and this screen reads the latest rows from the
`FlowBook` on its own clock (`REFRESH_SECONDS`). It never touches a flow's `StreamState` and is never
called from the server's thread. `/` filters the rows (every word must appear in some column, or
in an injected fault's label: `injected` finds them all), `enter` opens a flow in the run screen
(following its session file while it streams, as `streamwatch attach` does, else replayed from its
end), `f` arms a fault for the next request (`Faults.arm`), shown in the header until a flow takes it
(`Faults.armed`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from streamwatch.core.recording import SessionError
from streamwatch.core.safe import one_line
from streamwatch.proxy.faults import Faults, parse_fault
from streamwatch.proxy.rows import FlowBook, FlowRow
from streamwatch.tui.launch import attach_feed, replay_feed
from streamwatch.tui.screens.run import RunScreen
from streamwatch.tui.widgets.flowtable import FlowTable

REFRESH_SECONDS = 0.1
FAULT_SPECS = (
    "cut:events=40", "cut:bytes=2000", "end:events=20", "end:tool_use", "error:overloaded_error", "error:api_error",
    "stall:30", "stall:30,pings", "status:529", "status:429,retry-after=7", "buffer",
)
"""The faults the picker offers, each with its label (streamwatch/proxy/faults.py says every spec); any
other can be typed."""


class FaultPicker(ModalScreen[str | None]):
    """A fault for the next request: one of `FAULT_SPECS`, or a spec typed in. It is armed here
    (`arm`); a spec `arm` refuses keeps the picker open, saying why. Dismissed with the spec armed."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="fault.cancel")]

    def __init__(self, arm: Callable[[str], object], specs: Sequence[str] = FAULT_SPECS) -> None:
        super().__init__()
        self.arm = arm
        self.specs = specs

    def compose(self) -> ComposeResult:
        with Vertical(id="fault-dialog"):
            yield Static(Text("Inject a fault into the next request", style="bold"))
            yield OptionList(
                *(Option(Text.assemble((spec, "bold"), "\n  ", (_what(spec), "dim")), id=spec) for spec in self.specs),
                id="fault-choices",
            )
            yield Input(placeholder="or type a spec, e.g. cut:events=5@model=*haiku*", id="fault-spec", compact=True)
            yield Static(id="fault-error")
            yield Static(Text("enter to arm · tab to type a spec · esc to cancel", style="dim"))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, message: OptionList.OptionSelected) -> None:
        if message.option.id is not None:
            self._try(message.option.id)

    @on(Input.Submitted, "#fault-spec")
    def _typed(self, message: Input.Submitted) -> None:
        if message.value.strip():
            self._try(message.value.strip())

    def _try(self, spec: str) -> None:
        try:
            self.arm(spec)
        except ValueError as exc:
            self.query_one("#fault-error", Static).update(Text(one_line(str(exc))))
            return
        self.dismiss(spec)


def _what(spec: str) -> str:
    """What a fault spec does, in the words its label says it."""
    return parse_fault(spec).plan.label.removeprefix("injected: ")


class FlowRunScreen(RunScreen):
    """A flow on the run screen: q and esc come back to the list; ctrl+c stops the proxy, as on the list."""

    BINDINGS = [Binding("ctrl+c", "app.quit", "Quit", id="flow_run.quit", show=False, priority=True)]


class FlowsScreen(Screen[None]):
    AUTO_FOCUS = "FlowTable"  # the filter box takes keys only once `/` opens it, even those typed while starting
    BINDINGS = [
        # Priority, so that what is typed right after `/` reaches the box, not the list (a key is handed to the
        # focused widget before bindings without priority are tried); they stand aside while the box has focus.
        Binding("slash", "filter", "Filter", id="flows.filter", key_display="/", priority=True),
        Binding("f", "pick_fault", "Arm a fault", id="flows.fault", priority=True),
        Binding("escape", "clear_filter", "Clear filter", id="flows.clear_filter"),
        Binding("ctrl+c", "app.quit", "Quit", id="flows.quit", show=False, priority=True),
    ]

    def __init__(
        self,
        book: FlowBook,
        *,
        listen: str,
        upstream: str,
        faults: Faults | None,
        stall_threshold: float,
        clock: Callable[[], float],
        tz: datetime.tzinfo | None = None,
        warning: str | None = None,
    ) -> None:
        """`listen`: the URL an app on this machine uses; `upstream`: where the proxy forwards (redacted);
        `faults`: what `f` arms (None: the proxy injects none); `clock`: the monotonic clock the rows'
        running durations are read on; `tz`: the time zone of the Time column (local); `warning`: said
        when the screen opens (the proxy listens beyond loopback)."""
        super().__init__()
        self.book = book
        self.listen = listen
        self.upstream = upstream
        self.faults = faults
        self.stall_threshold = stall_threshold
        self.clock = clock
        self.tz = tz
        self.warning = warning
        self._seen_version = -1
        self._rows: list[FlowRow] = []
        self._status = Text()

    def compose(self) -> ComposeResult:
        yield Static(id="flows-status")
        yield Input(placeholder="/ filter: words to find in any column; esc clears", id="flows-filter", compact=True)
        yield FlowTable(self.clock, self.tz, id="flows")
        yield Static(self._empty_text(), id="flows-empty")
        yield Static(id="flows-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)
        if self.warning is not None:
            self.notify(self.warning, title="Warning", severity="warning", timeout=30)

    def _empty_text(self) -> Text:
        text = Text("No requests yet. Point an app at the proxy:\n\n", style="bold")
        text.append(f"    export ANTHROPIC_BASE_URL={one_line(self.listen)}\n\n", style="bold")
        text.append("then run it: each request shows here as it streams, forwarded to ")
        text.append(one_line(self.upstream))
        text.append(".\nAn SDK client takes base_url= too; `f` arms a fault for the next request.")
        return text

    # ----- the rows, on the screen's clock ----------------------------------------------------

    def refresh_rows(self) -> None:
        """Take the latest rows when any changed, or while one runs (its duration grows)."""
        version = self.book.version
        if version == self._seen_version and not any(row.running for row in self._rows):
            self._show_status()
            return
        self._seen_version = version
        self._rows = self.book.rows()
        self._fill()

    def _fill(self) -> None:
        now = self.clock()
        words = self.query_one("#flows-filter", Input).value.strip()
        shown = [row for row in self._rows if row.matches(words, now, self.tz)] if words else self._rows
        table = self.query_one(FlowTable)
        table.show(shown)
        table.display = bool(self._rows)
        self.query_one("#flows-empty").display = not self._rows
        self._show_status()
        self._show_detail()

    def _show_status(self) -> None:
        """The flows (how many stream, how many the filter lets through), the faults armed and not
        injected yet, and the proxy's two ends (last: they are also on the empty screen)."""
        total = len(self._rows)
        running = sum(row.running for row in self._rows)
        line = Text(f"{total} flow{'s' if total != 1 else ''}", no_wrap=True, overflow="ellipsis")
        if running:
            line.append(f", {running} streaming")
        words = self.query_one("#flows-filter", Input).value.strip()
        if words:
            line.append(f" · {len(self.query_one(FlowTable).rows)} match {one_line(words)!r}")
        for label in [] if self.faults is None else self.faults.armed:
            line.append(" · ")
            line.append(f"ARMED {one_line(label.removeprefix('injected: '))}", style="reverse")
        line.append(f" · PROXY {one_line(self.listen)} → {one_line(self.upstream)}")
        if line != self._status:
            self._status = line
            self.query_one("#flows-status", Static).update(line)

    @on(FlowTable.Highlighted)
    def _show_detail(self) -> None:
        row = self.query_one(FlowTable).highlighted
        detail = Text(no_wrap=True, overflow="ellipsis")
        if row is not None:
            detail.append(f"{row.id} · {row.origin}")
            if row.fault is not None:
                detail.append(" · ")
                detail.append(row.fault, style="bold")
            elif row.fault_unfired is not None:
                detail.append(f" · fault armed, not fired: {row.fault_unfired.removeprefix('injected: ')}")
            if row.session_path is not None:
                detail.append(f"\n{one_line(str(row.session_path))}")
        self.query_one("#flows-detail", Static).update(detail)

    # ----- opening a flow ---------------------------------------------------------------------

    @on(FlowTable.Selected)
    def _open(self, message: FlowTable.Selected) -> None:
        """The flow on the run screen: followed while it streams, else replayed from its end."""
        row = message.row
        if row.session_path is None:
            self.notify("This flow was not recorded: nothing to open", severity="warning")
            return
        try:
            if row.running:
                feed = attach_feed(row.session_path, self.stall_threshold)
            else:
                feed = replay_feed(row.session_path, self.stall_threshold, speed=1.0)
                feed.player.to_end()
        except SessionError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(FlowRunScreen(feed, self.app.clock))  # type: ignore[attr-defined]

    # ----- the filter -------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Open the filter box and focus it now (`focus()` would wait for the keys queued behind `/`)."""
        box = self.query_one("#flows-filter", Input)
        box.display = True
        self.set_focus(box)
        self.refresh_bindings()

    @on(Input.Changed, "#flows-filter")
    def _filter_changed(self) -> None:
        self._fill()

    @on(Input.Submitted, "#flows-filter")
    def _filter_submitted(self) -> None:
        self.query_one(FlowTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#flows-filter", Input)
        box.value = ""
        box.display = False
        self.query_one(FlowTable).focus()
        self._fill()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        box = self.query_one("#flows-filter", Input)
        if action == "clear_filter":
            return box.display
        if action in ("filter", "pick_fault"):
            return not box.has_focus
        return True

    # ----- faults -----------------------------------------------------------------------------

    def action_pick_fault(self) -> None:
        if self.faults is None:
            self.notify("This proxy injects no faults", severity="warning")
            return
        self.app.push_screen(FaultPicker(self.faults.arm), self._armed)

    def _armed(self, spec: str | None) -> None:
        if spec is not None:
            self.notify(f"{spec}: armed for the next request", title="Fault", timeout=4)
            self._show_status()
