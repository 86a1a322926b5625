"""The run screen: one stream, live or replayed, event by event.

A `Feed` says where the bytes come from (a live run, a replay, a file another process is writing);
the screen drives its `Player` on a clock of at most 20 frames a second and renders the state the
core computed. It never parses, decodes or classifies anything itself.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Collapsible, Footer, Input, Static

from streamwatch.core.events import BlockType, Event
from streamwatch.core.playback import Follower, Player
from streamwatch.core.live import LiveError
from streamwatch.core.recording import Recording, SessionError
from streamwatch.core.report import printable
from streamwatch.tui.widgets.panes import StatusLine, ToolPane, VerdictPanel, text_pieces
from streamwatch.tui.widgets.textview import TextView
from streamwatch.tui.widgets.timeline import Timeline

FRAME_SECONDS = 1 / 20
REPLAY_ACTIONS = frozenset({"speed", "step", "to_start", "to_end"})


class LiveSource(Protocol):
    """A request being sent now (core.live.LiveRun): the screen runs it in a worker thread."""

    recording: Recording | None
    session_path: Path | None

    def run(self) -> object: ...

    def now(self) -> float | None: ...

    def cancel(self) -> None: ...


@dataclass
class Feed:
    """Where a run screen's bytes come from: a recording played back, a file followed, or a live run."""

    kind: str
    player: Player
    session_path: Path | None = None
    follower: Follower | None = None
    owner: str = ""
    live: LiveSource | None = None
    title: str = ""

    @property
    def is_replay(self) -> bool:
        return self.kind == "replay" or (self.follower is not None and self.follower.ended and self.player.finished)

    def outcome(self) -> str | None:
        """What the application's code got from the SDK, when the recording says."""
        sdk = (self.player.recording.ending or {}).get("sdk")
        return str(sdk.get("seen")) if isinstance(sdk, dict) and sdk.get("seen") else None

    def follow_live(self) -> None:
        """Switch to the live run's current attempt, and keep the clock on its request time."""
        live = self.live
        if live is None:
            return
        recording = live.recording
        if recording is not None and recording is not self.player.recording:
            self.player = Player(recording, self.player.stall_threshold, live=True)
        self.session_path = live.session_path
        now = live.now()
        if now is not None and not self.player.finished:
            self.player.position = now


class RawEventScreen(ModalScreen[None]):
    """One event as it was on the wire, and as parsed JSON."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="raw.close")]

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        wire = self.event.sse.raw.decode("utf-8", "replace")
        parsed = json.dumps(self.event.data, indent=2, ensure_ascii=False) if self.event.data else "(not JSON)"
        body = Text(f"Event #{self.event.seq} · {self.event.type} · t={self.event.t}\n\n", style="bold")
        body.append("Wire\n", style="bold")
        body.append(printable(wire).replace("\\x0a", "\n") + "\n")
        body.append("Parsed\n", style="bold")
        body.append(printable(parsed))
        with Vertical(id="raw-dialog"):
            yield Static(body, id="raw-body")
            yield Static(Text("esc to close", style="dim"))


class RunScreen(Screen[None]):
    BINDINGS = [
        Binding("space", "toggle", "Pause/follow", id="run.toggle"),
        Binding("n", "anomaly(1)", "Next anomaly", id="run.next_anomaly"),
        Binding("N", "anomaly(-1)", "Prev anomaly", id="run.prev_anomaly", key_display="N"),
        Binding("slash", "filter", "Filter", id="run.filter", key_display="/"),
        Binding("e", "export", "Export", id="run.export"),
        Binding("plus,equals_sign", "speed(1)", "Faster", id="replay.faster", key_display="+"),
        Binding("minus", "speed(-1)", "Slower", id="replay.slower", key_display="-"),
        Binding("full_stop", "step", "Step", id="replay.step", key_display="."),
        Binding("less_than_sign", "to_start", "Start", id="replay.start", key_display="<"),
        Binding("greater_than_sign", "to_end", "End", id="replay.end", key_display=">"),
        Binding("escape", "close_filter", "Close filter", show=False),
    ]

    def __init__(self, feed: Feed, clock: Callable[[], float]) -> None:
        super().__init__()
        self.feed = feed
        self.clock = clock
        self._verdict_key: tuple[object, ...] = ()
        self._was_replay = feed.is_replay
        self._state_id = 0

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="main"):
            yield Timeline(id="timeline")
            with Vertical(id="side"):
                with Collapsible(title="Thinking", collapsed=False, id="thinking-box"):
                    yield TextView(id="thinking")
                yield TextView(id="text")
                yield ToolPane(id="tools")
        yield Input(placeholder="filter by event type (e.g. delta, ping, error); enter to apply", id="filter")
        yield VerdictPanel(id="verdict")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#text", TextView).border_title = "Text"
        self.query_one("#tools", ToolPane).border_title = "Tool input"
        self.query_one("#verdict", VerdictPanel).border_title = "Verdict"
        self.query_one("#filter", Input).display = False
        self.query_one("#thinking-box").display = False
        self.query_one(Timeline).focus()
        self.refresh_frame()
        self.set_interval(FRAME_SECONDS, self.refresh_frame)
        if self.feed.live is not None:
            self.run_worker(self._run_live, thread=True, exit_on_error=False, name="live-run")

    def _run_live(self) -> None:
        live = self.feed.live
        assert live is not None
        try:
            live.run()
        except LiveError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Cannot send", severity="error", timeout=30, markup=False)

    def on_unmount(self) -> None:
        if self.feed.live is not None:
            self.feed.live.cancel()

    # ----- the frame clock --------------------------------------------------------------------

    def refresh_frame(self) -> None:
        feed = self.feed
        if feed.follower is not None:
            try:
                feed.follower.poll()
            except SessionError as exc:
                self.notify(str(exc), severity="error", markup=False)
        feed.player.tick(self.clock())
        feed.follow_live()
        player = feed.player
        state = player.state
        if id(state) != self._state_id:
            self._state_id = id(state)
            for pane in self.query(TextView):
                pane.reset()
            self.query_one(ToolPane).reset()
        replay = feed.is_replay
        if replay != self._was_replay:
            self._was_replay = replay
            self.refresh_bindings()
        kind = self.query_one(StatusLine).show_status(state, player.position, self._prefix())
        stall = None
        if kind == "stalled":
            alive = f"{state.pings_in_silence} pings, no content" if state.pings_in_silence else "nothing at all"
            stall = f"silent for {state.silence(player.position):.1f} s: {alive}"
        self.query_one(Timeline).update_state(state, stall)
        thinking = text_pieces(state, BlockType.THINKING)
        if thinking:
            self.query_one("#thinking-box").display = True
            self.query_one("#thinking", TextView).append_from(thinking)
        self.query_one("#text", TextView).append_from(text_pieces(state, BlockType.TEXT))
        self.query_one(ToolPane).update_state(state)
        key = (id(state), len(state.anomalies), state.ended, feed.session_path)
        if key != self._verdict_key:
            self._verdict_key = key
            path = str(feed.session_path) if feed.session_path else None
            self.query_one(VerdictPanel).show_verdict(state, feed.outcome(), path)

    def _prefix(self) -> str:
        feed = self.feed
        if feed.kind == "replay" or feed.is_replay:
            player = feed.player
            speed = "max" if player.speed is None else f"{player.speed:g}x"
            mode = "PLAY" if player.playing and not player.finished else "PAUSED"
            position = min(player.position, player.duration)
            return f"REPLAY {mode} {speed} {position:.1f}/{player.duration:.1f}s · "
        if feed.kind == "attach":
            return f"ATTACHED {feed.owner} · "
        return f"{feed.title} · " if feed.title else ""

    # ----- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay controls exist only where there is a recording to steer."""
        if action in REPLAY_ACTIONS:
            return self.feed.is_replay
        return True

    def action_toggle(self) -> None:
        if self.feed.is_replay:
            self.feed.player.toggle()
        else:
            timeline = self.query_one(Timeline)
            timeline.follow = not timeline.follow
        self.refresh_frame()

    def action_speed(self, direction: int) -> None:
        player = self.feed.player
        player.faster() if direction > 0 else player.slower()
        self.refresh_frame()

    def action_step(self) -> None:
        self.feed.player.step()
        self.refresh_frame()

    def action_to_start(self) -> None:
        self.feed.player.to_start()
        self.query_one(Timeline).follow = True
        self.refresh_frame()

    def action_to_end(self) -> None:
        self.feed.player.to_end()
        self.refresh_frame()

    def action_anomaly(self, direction: int) -> None:
        timeline = self.query_one(Timeline)
        current = timeline.event_at(timeline.cursor)
        seq = current.seq if current else 0
        marks = sorted({a.at_event for a in self.feed.player.state.anomalies if a.at_event is not None})
        targets = [m for m in marks if (m > seq if direction > 0 else m < seq)]
        if not targets and direction > 0 and self.feed.is_replay and not self.feed.player.finished:
            if self.feed.player.to_next_anomaly():
                self.refresh_frame()
                marks = [a.at_event for a in self.feed.player.state.anomalies if a.at_event is not None]
                targets = [m for m in marks if m > seq]
        if not targets:
            self.notify("No further anomaly" if direction > 0 else "No earlier anomaly")
            return
        timeline.move_to_seq(targets[0] if direction > 0 else targets[-1])

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(Timeline).set_filter("")
            self.query_one(Timeline).focus()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, message: Input.Submitted) -> None:
        timeline = self.query_one(Timeline)
        timeline.set_filter(message.value)
        message.input.display = bool(message.value)
        timeline.focus()

    def action_export(self) -> None:
        source = self.feed.session_path
        if source is None:
            self.notify("This run was not saved (--no-save): nothing to export", severity="warning")
            return
        target = Path.cwd() / source.name
        try:
            if target.resolve() != source.resolve():
                shutil.copyfile(source, target)
                os.chmod(target, 0o600)
        except OSError as exc:
            self.notify(f"Export failed: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.notify(f"Session exported to {target}", title="Export", timeout=8, markup=False)

    @on(Timeline.Selected)
    def show_raw(self, message: Timeline.Selected) -> None:
        self.app.push_screen(RawEventScreen(message.event))
