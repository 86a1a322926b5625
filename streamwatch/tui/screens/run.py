"""The run screen: one stream, live or replayed, event by event.

A `Feed` says where the bytes come from (a live run, a replay, a file another process is writing);
the screen drives its player (the live attempt's `Player`, or a saved session's `SessionPlayer`,
attempt after attempt) on a clock of at most 20 frames a second and renders the state the core
computed. It never parses, decodes or classifies anything itself.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import Notification, Notify
from textual.screen import ModalScreen, Screen
from textual.widgets import Collapsible, Input, Static
from textual.worker import Worker

from streamwatch.core.attempts import Attempt, AttemptLog, Part, Reason
from streamwatch.core.catalog import skipped_text
from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.events import BlockType, Event, count_text
from streamwatch.core.files import write_private
from streamwatch.core.live import LiveError, LiveRun
from streamwatch.core.playback import Follower, Player, SessionPlayer
from streamwatch.core.rawevent import raw_event
from streamwatch.core.recording import SessionError, SessionLoader
from streamwatch.core.recovery import Hold, NothingSent, Phase, Recovery, RecoveryError, RecoveryObserver
from streamwatch.core.report import continues_line, exit_line, head_facts, repaid_words, request_target
from streamwatch.core.resume import CONTINUABLE_STOPS
from streamwatch.core.safe import one_line, printable
from streamwatch.export import FORMATS, ExportError, export_beside
from streamwatch.tui.screens.export import ExportScreen
from streamwatch.tui.widgets.keys import KeyLine
from streamwatch.tui.widgets.panes import HeadLine, StatusLine, ToolPane, VerdictPanel, text_pieces
from streamwatch.tui.widgets.textview import TextView
from streamwatch.tui.widgets.timeline import Timeline

FRAME_SECONDS = 1 / 20
FEED_SLICE = 0.005
FEED_SLICES = 3
"""A frame feeds the player for at most three 5 ms slices and lets the loop run between them: a key
press travels through several message queues, and each hop waits for whatever runs before it."""
KEY_SECONDS = 0.05
"""The most a key that plays a replay on (`>`, `n`) feeds before it is answered on screen; the rest follows."""
REPLAY_ACTIONS = frozenset({"play", "speed", "step", "to_start", "to_end"})
RECOVERY_ACTIONS = frozenset({"recover", "not_offered", "skip_wait", "cancel", "attempts"})
RECOVER_KEYS = (("c", Reason.RESUME, "continue the answer"), ("r", Reason.RETRY, "the same request again"))
"""The recovery keys, in the order the verdict's advice names them, with what each does."""
TOUR_PAUSE = 4.0


class LiveWatch(RecoveryObserver):
    """What a recovery running on a worker thread tells the screen; the screen reads it each frame."""

    def __init__(self) -> None:
        self.hold: Hold | None = None

    def on_attempt(self, attempt: Attempt) -> None:
        self.hold = None

    def on_hold(self, hold: Hold) -> None:
        self.hold = hold


@dataclass
class Feed:
    """Where a run screen's bytes come from: a session played back, a file followed, or a live run.

    A live run's `player` plays its current attempt's recording; a replay's or an attach's plays the
    whole session (`SessionPlayer`), attempt after attempt."""

    kind: str
    player: Player | SessionPlayer
    session_path: Path | None = None
    follower: Follower | None = None
    owner: str = ""
    live: Recovery | None = None
    watch: LiveWatch | None = None
    title: str = ""
    then: Callable[[], Feed] | None = None
    """The next feed of a tour, shown a few seconds after this one ends."""
    attempt: Attempt | None = None
    go_on: Callable[[LiveWatch], Recovery] | None = None
    """A replay's (or a finished attach's) way to go on live: the recovery that sends its next attempt
    (`Recovery.going_on`), built with the hook the screen reads."""
    loader: SessionLoader | None = None
    """A replay's file, or what an attached file held when opened, read behind the first frame: the
    screen runs it on a worker thread."""
    caught_up: bool = False
    """An attach's clock was put where its writer's stands, once the file as it was had been read."""

    @property
    def log(self) -> AttemptLog | None:
        """The attempts so far: the live recovery's, or those of the session played up to now."""
        if self.live is not None:
            return self.live
        return self.player.log if isinstance(self.player, SessionPlayer) else None

    @property
    def has_attempts(self) -> bool:
        """Whether there are attempts to list: a live run's, or a played session's when it holds several."""
        return self.live is not None or (isinstance(self.player, SessionPlayer) and self.player.total > 1)

    @property
    def is_replay(self) -> bool:
        """A replay, or an attach to a session that will not grow any more."""
        stopped_following = self.follower is not None and not self.player.live
        return self.kind == "replay" or stopped_following or self._followed_to_the_end(over=True)

    @property
    def awaits_attempt(self) -> bool:
        """Attached to a session whose last attempt broke while its writer still runs: another may come."""
        return self._followed_to_the_end(over=False)

    def _followed_to_the_end(self, over: bool) -> bool:
        """A followed file played to its last record, and, as `over` says, over or not (`Follower.over`)."""
        follower, log = self.follower, self.log
        if follower is None or log is None or not self.player.finished:
            return False
        return follower.over(log.complete) is over

    def poll(self) -> None:
        """Read what the followed file gained. Once its writer is gone (killed mid-stream, say), read
        what it wrote last and play out what the file holds instead of waiting for more; the same
        when the file is lost (SessionError, said once), and once the session is over (its answer
        complete), so that it is steered as a replay."""
        follower = self.follower
        assert follower is not None
        if follower.loading:
            return
        if not self.caught_up:
            # Once what the file held is in: a stall already under way shows its whole length.
            self.caught_up = True
            writer_elapsed = follower.writer_elapsed()
            if writer_elapsed is not None and not follower.ended and isinstance(self.player, SessionPlayer):
                self.player.catch_up(writer_elapsed)
        try:
            follower.poll()
            if follower.writer_running() is False:
                follower.poll()
                self._stop_following()
            elif self.is_replay:
                self._stop_following()
        except SessionError:
            self._stop_following()
            raise

    def _stop_following(self) -> None:
        if isinstance(self.player, SessionPlayer) and self.player.live:
            self.player.stop_following()

    @property
    def skipped(self) -> list[str]:
        """What the reader left out of the session file played (so far, when it grows), line by line."""
        return self.player.session.skipped if isinstance(self.player, SessionPlayer) else []

    def outcome(self) -> str | None:
        """What the application's code got from the SDK, when the recording says, once it is played to its end."""
        if self.player.state.ended is None:
            return None
        sdk = (self.player.recording.ending or {}).get("sdk")
        return str(sdk.get("seen")) if isinstance(sdk, dict) and sdk.get("seen") else None

    def follow_live(self) -> bool:
        """Switch to the live recovery's current attempt and keep the clock on its request time.

        True when a new attempt began. A played session (a replay, a followed file) moves on to its
        next attempt by itself: this keeps `attempt` on it."""
        if isinstance(self.player, SessionPlayer):
            began = self.player.attempt is not self.attempt
            self.attempt = self.player.attempt
            return began
        live = self.live
        attempt = None if live is None else live.current
        if attempt is None or not isinstance(attempt.run, LiveRun):  # not sent yet after a replay's attempts
            return False
        recording = attempt.run.recording
        began = False
        if recording is not None and recording is not self.player.recording:
            # A second reading of the attempt's recorded bytes, on the UI thread: the worker thread owns
            # the run's StreamState and changes it while the screen draws, so the screen keeps its own
            # (no lock, and a live run shows exactly what its replay will). The cost: each chunk is
            # decoded twice.
            self.player = Player(recording, self.player.stall_threshold, live=True)
            self.attempt, began = attempt, True
        self.session_path = attempt.run.session_path or self.session_path
        now = attempt.run.now()
        if now is not None and not self.player.finished:
            self.player.position = now
        return began


class RawEventScreen(ModalScreen[None]):
    """One event as it was on the wire, and as parsed JSON: the core's `raw_event`, cut when it is long."""

    BINDINGS = [
        Binding("escape,enter,q", "dismiss", "Close", id="raw.close"),
        Binding("w", "write", "Write to a file", id="raw.write"),
    ]

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def on_mount(self) -> None:
        self.query_one("#raw-scroll").focus()

    def compose(self) -> ComposeResult:
        view = raw_event(self.event)
        body = Text(f"{view.title}\n\n", style="bold")
        body.append("Wire\n", style="bold")
        body.append(view.wire + "\n")
        if view.cut:
            body.append(view.cut + "\n", style="bold")
        body.append("Parsed\n", style="bold")
        body.append(view.parsed)
        with Vertical(id="raw-dialog"):
            with VerticalScroll(id="raw-scroll"):
                yield Static(body, id="raw-body")
            yield Static(Text("↑↓ PgUp PgDn scroll · w write it to a file · esc to close", style="dim"))

    def action_write(self) -> None:
        """The event's wire bytes, all of them, in a new private file in the working directory, written on a
        worker thread: an event of many megabytes does not freeze the screen."""
        seq, raw = self.event.seq, self.event.sse.raw

        def write() -> None:
            try:
                path = write_private(Path.cwd(), f"event-{seq}.sse", [raw])
            except OSError as exc:
                self.app.call_from_thread(
                    self.notify, f"Cannot write the event: {exc.strerror or exc}", severity="error", markup=False
                )
                return
            self.app.call_from_thread(
                self.notify, f"Event #{seq} written to {path}", title="Raw event", timeout=8, markup=False
            )

        self.run_worker(write, thread=True, group="write", exit_on_error=False)


class ResponseHeadScreen(ModalScreen[None]):
    """The request's model and target, and the whole response head: status, request-id, retry-after,
    every rate limit and the other headers recorded (the core's `head_facts`)."""

    BINDINGS = [Binding("escape,h,q", "dismiss", "Close", id="head.close")]

    def __init__(self, request: dict[str, object], state: StreamState) -> None:
        super().__init__()
        self.request = request
        self.state = state

    def on_mount(self) -> None:
        self.query_one("#raw-scroll").focus()

    def compose(self) -> ComposeResult:
        model, target = request_target(self.request)
        body = Text("Response head\n\n", style="bold")
        body.append(f"model: {model or '?'}\ntarget: {target or '?'}\n\n")
        facts = head_facts(self.state)
        if not facts:
            body.append("No response head yet.\n")
        for name, value, _ in facts:
            body.append(f"{name}: ", style="bold")
            body.append(value + "\n")
        with Vertical(id="raw-dialog"):
            with VerticalScroll(id="raw-scroll"):
                yield Static(body, id="raw-body")
            yield Static(Text("↑↓ PgUp PgDn scroll · esc to close", style="dim"))


class ConfirmScreen(ModalScreen[bool]):
    """Recovery held: the broken attempt had a complete tool call the app may already have run."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, go on", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, hold: Hold) -> None:
        super().__init__()
        self.hold = hold

    def compose(self) -> ComposeResult:
        names = ", ".join(str(call.get("name", "?")) for call in self.hold.tool_calls) or "a tool"
        body = Text(f"{self.hold.action.value.capitalize()} attempt {self.hold.attempt}?\n\n", style="bold")
        body.append(printable(self.hold.reason) + "\n\n")
        body.append(printable(f"Tool calls that completed: {names}. Going on may make the model call them again.\n\n"))
        body.append("y: go on   n: stop here", style="bold")
        with Vertical(id="confirm-dialog"):
            yield Static(body)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AttemptsScreen(ModalScreen[None]):
    """Every attempt of the session: why it was sent, what it sent (secrets redacted), what it cost."""

    BINDINGS = [Binding("escape,a,q", "dismiss", "Close", id="attempts.close")]

    def __init__(self, attempt_log: AttemptLog) -> None:
        super().__init__()
        self.attempt_log = attempt_log

    def on_mount(self) -> None:
        self.query_one("#raw-scroll").focus()

    def compose(self) -> ComposeResult:
        body = Text()
        for attempt in self.attempt_log.attempts:
            body.append(f"Attempt {attempt.number}: {attempt.how}\n", style="bold")
            if attempt.about:
                body.append(printable(attempt.about) + "\n")
            for note in attempt.dropped:
                body.append(printable(f"dropped: {note}") + "\n")
            if attempt.repaid:
                body.append(printable(f"re-paid {repaid_words(attempt.repaid, bool(attempt.dropped))}") + "\n")
            request = attempt.request
            if request is not None:
                sent = json.dumps(request.get("body"), indent=2, ensure_ascii=False)
                line = one_line(f"{request.get('method', 'POST')} {request.get('url', '')}")
                body.append(line + "\n", style="dim")
                body.append(self.attempt_log.redact(printable(sent)) + "\n\n")
        with Vertical(id="raw-dialog"):
            with VerticalScroll(id="raw-scroll"):
                yield Static(body, id="raw-body")
            yield Static(Text("↑↓ PgUp PgDn scroll · esc to close", style="dim"))


# Keys shown together in the footer under one word, so the footer has room for more of them at 80 columns.
ANOMALY = Binding.Group("Anomaly", compact=True)
SPEED = Binding.Group("Speed", compact=True)
JUMP = Binding.Group("Start/End", compact=True)


class RunScreen(Screen[None]):
    # Priority, like the timeline's: a key acts when it arrives instead of after bubbling back up from
    # the focused widget. While the filter box has focus they stand aside (check_action) and type.
    BINDINGS = [
        Binding("r", "recover('retry')", "Retry", id="run.retry", priority=True),
        Binding("c", "recover('resume')", "Resume", id="run.resume", priority=True),
        # The same keys when the screen does not offer them: one notice says why, instead of nothing.
        Binding("r", "not_offered('retry')", "", id="run.retry_why", show=False, priority=True),
        Binding("c", "not_offered('resume')", "", id="run.resume_why", show=False, priority=True),
        Binding("s", "skip_wait", "Skip wait", id="run.skip_wait", priority=True),
        Binding("x", "cancel", "Cancel", id="run.cancel", priority=True),
        Binding("space", "follow", "Pause/follow", id="run.toggle", priority=True),
        Binding("space", "play", "Play/pause", id="replay.toggle", priority=True),
        Binding("n", "anomaly(1)", "Next anomaly", id="run.next_anomaly", group=ANOMALY, priority=True),
        Binding("N", "anomaly(-1)", "Prev anomaly", id="run.prev_anomaly", key_display="N", group=ANOMALY,
                priority=True),
        Binding("slash", "filter", "Filter", id="run.filter", key_display="/", priority=True),
        Binding("a", "attempts", "Attempts", id="run.attempts", priority=True),
        Binding("e", "export", "Export", id="run.export", priority=True),
        Binding("h", "head", "Response head", id="run.head", priority=True),
        Binding("v", "verdict", "Verdict: scroll it with ↑↓", id="run.verdict", show=False, priority=True),
        Binding("plus,equals_sign", "speed(1)", "Faster", id="replay.faster", key_display="+", group=SPEED,
                priority=True),
        Binding("minus", "speed(-1)", "Slower", id="replay.slower", key_display="-", group=SPEED, priority=True),
        Binding("full_stop", "step", "Step", id="replay.step", key_display=".", priority=True),
        Binding("less_than_sign", "to_start", "Start", id="replay.start", key_display="<", group=JUMP, priority=True),
        Binding("greater_than_sign", "to_end", "End", id="replay.end", key_display=">", group=JUMP, priority=True),
        Binding("ctrl+f", "search", "Search the text pane, or the focused pane", id="run.search", show=False,
                priority=True),
        Binding("right_square_bracket", "match(1)", "Next match", id="run.next_match", key_display="]", show=False,
                priority=True),
        Binding("left_square_bracket", "match(-1)", "Previous match", id="run.prev_match", key_display="[",
                show=False, priority=True),
        Binding("p", "tool_view", "Tool input: pretty / raw JSON", id="run.tool_view", show=False, priority=True),
        Binding("escape", "close_filter", "Close filter / search / back", id="run.close_filter"),
        Binding("q", "back", "Back to the list", id="run.back", show=False),
    ]

    def __init__(self, feed: Feed, clock: Callable[[], float]) -> None:
        super().__init__()
        self.feed = feed
        self.clock = clock
        self._verdict_key: tuple[object, ...] = ()
        self._state_id = 0
        self._bindings_key: tuple[object, ...] = ()
        self._hold_asked: Hold | None = None
        self._ended_at: float | None = None
        self._tour_shown: Notification | None = None
        self._skipped_said = 0
        self._work: Worker[None] | None = None
        self._reader: Worker[None] | None = None
        self._offered: tuple[Reason, ...] = ()
        self._offers_key: tuple[object, ...] = ()
        self._offered_now: tuple[Reason, ...] = ()
        self._going_live = False
        self._searched: TextView | ToolPane | None = None
        """The pane the search box searches, or has searched (its matches marked), if any."""

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield HeadLine(id="head")
        with Horizontal(id="main"):
            yield Timeline(id="timeline")
            with Vertical(id="side"):
                with Collapsible(title="Thinking", collapsed=False, id="thinking-box"):
                    yield TextView(id="thinking")
                yield TextView(id="text")
                yield ToolPane(id="tools")
        yield Input(placeholder="filter: delta ping text index:1 gap>2s error stall anomaly type:NAME; enter applies", id="filter")
        yield Input(placeholder="search the pane; enter finds, ] next, [ previous, escape clears", id="search")
        yield VerdictPanel(id="verdict")
        yield KeyLine()

    def on_mount(self) -> None:
        self.query_one("#text", TextView).border_title = "Text"
        self.query_one("#tools", ToolPane).border_title = "Tool input"
        self.query_one("#verdict", VerdictPanel).border_title = "Verdict"
        self.query_one("#filter", Input).display = False
        self.query_one("#search", Input).display = False
        self.query_one("#thinking-box").display = False
        self.query_one(Timeline).focus()
        self.refresh_frame()
        self.set_interval(FRAME_SECONDS, self._frame)
        if self.feed.live is not None:
            self._start(self.feed.live.run)

    def _start(self, call: Callable[[], object]) -> None:
        """Run a blocking recovery call on a worker thread; the frame clock shows its progress."""

        def work() -> None:
            try:
                call()
            except NothingSent as exc:
                self.app.call_from_thread(self._nothing_sent, str(exc))
            except (LiveError, RecoveryError) as exc:
                self.app.call_from_thread(
                    self.notify, str(exc), title="Cannot send", severity="error", timeout=15, markup=False
                )

        self._work = self.run_worker(work, thread=True, exit_on_error=False, group="live", exclusive=False)

    def _nothing_sent(self, why: str) -> None:
        """Cancelled before the request went out (the SDK still loading): the screen waiting for it
        says so and stops counting the wait as a stall."""
        self.feed.player.recording.end(End.CANCELLED, None, {"type": "stopped_locally", "message": why})
        self.feed.player.play_to(self.feed.player.position, everything=True)
        self.refresh_frame()

    @property
    def stream_running(self) -> bool:
        """A live request is being sent or streams, or the next attempt's wait counts down: leaving stops it."""
        work = self._work
        return work is not None and not work.is_finished and self._phase() in (Phase.BUSY, Phase.WAITING)

    def exit_line(self) -> str:
        """What the terminal is told when the app closes on this screen: the verdict so far and the session."""
        feed = self.feed
        stopped = self.stream_running
        if feed.live is not None:
            # Quit before the screen drew the attempt under way, or all it received: said as the file holds it.
            feed.follow_live()
            feed.player.play_to(feed.player.position, everything=True)
        path = str(feed.session_path) if feed.session_path else None
        saving = feed.live is None or feed.live.saves
        line = exit_line(feed.player.state, feed.player.position, path, stopped=stopped, saving=saving)
        return line if feed.live is None else str(feed.live.redact(line))

    def on_unmount(self) -> None:
        if self.feed.live is not None:
            self.feed.live.cancel()
        if self.feed.loader is not None:
            self.feed.loader.cancel()

    # ----- the frame clock --------------------------------------------------------------------

    async def _frame(self) -> None:
        loader = self.feed.loader
        if loader is not None and not loader.done and self._reader is None:
            # On the first tick, when the first frame is drawn: reading the file takes turns with drawing.
            self._reader = self.run_worker(loader.load, thread=True, group="load")
        for _ in range(FEED_SLICES - 1):
            if not self.feed.player.tick(self.clock(), FEED_SLICE):
                break
            await asyncio.sleep(0)
        self.refresh_frame()

    def refresh_frame(self) -> None:
        feed = self.feed
        if feed.follower is not None:
            try:
                feed.poll()
            except SessionError as exc:
                self.notify(str(exc), severity="error", markup=False)
        self._say_skipped()
        now = self.clock()
        feed.player.tick(now, FEED_SLICE)
        feed.follow_live()
        player = feed.player
        state = player.state
        text = self.query_one("#text", TextView)
        if id(state) != self._state_id:
            self._state_id = id(state)
            self.query_one(Timeline).follow = True  # another attempt: its tail, not where the last one was paused
            for pane in self.query(TextView):
                pane.reset()
            self.query_one(ToolPane).reset()
            if feed.attempt is not None and feed.attempt.base is not None:
                before = feed.attempt.base_answer
                self._show_answer(text, before.text, before.parts[1:], seam_at_end=True)
        self._offered = self._offers()
        bindings_key = (feed.is_replay, self._phase(), feed.has_attempts, self._offered)
        if bindings_key != self._bindings_key:
            self._bindings_key = bindings_key
            self.refresh_bindings()
        prefix = self._prefix()
        kind = self.query_one(StatusLine).show_status(state, player.position, prefix)
        wait = feed.live.wait if feed.live is not None else None
        sending = feed.live.sending if feed.live is not None else None
        if wait is not None:
            self.query_one(StatusLine).show_wait(wait, prefix)
        elif sending is not None and sending.number > 1:
            self.query_one(StatusLine).show_sending(sending.number, prefix)
        stall = None
        if kind == "stalled":
            alive = f"{count_text(state.pings_in_silence, 'ping')}, no content" if state.pings_in_silence else "nothing at all"
            stall = f"silent for {state.silence(player.position):.1f} s: {alive}"
        self.query_one(Timeline).update_state(state, stall)
        searched = self._searched
        if isinstance(searched, TextView) and searched.finding:
            searched.find_more()
            self._say_match()
        self.query_one(HeadLine).show_head(*request_target(player.recording.request), head_facts(state),
                                          ended=state.ended is not None)
        thinking = text_pieces(state, BlockType.THINKING)
        if thinking:
            self.query_one("#thinking-box").display = True
            self.query_one("#thinking", TextView).append_from(thinking)
        attempt = feed.attempt
        if attempt is not None and attempt.base is not None and attempt.finished and text.stitched is not attempt:
            text.reset()
            text.stitched = attempt
            answer = attempt.answer
            self._show_answer(text, answer.text, answer.parts[1:])
        elif text.stitched is None:
            text.append_from(text_pieces(state, BlockType.TEXT))
        self.query_one(ToolPane).update_state(state)
        log = feed.log
        attempts = len(log.attempts) if log is not None else 0
        stopped = log.stopped if log is not None else None
        key = (id(state), len(state.anomalies), state.ended, feed.session_path, attempts, attempt and attempt.finished,
               stopped, self._offered)
        if key != self._verdict_key:
            self._verdict_key = key
            path = str(feed.session_path) if feed.session_path else None
            keys = [(key, f"{how.value}: {what}") for key, how, what in RECOVER_KEYS if how in self._offered]
            self.query_one(VerdictPanel).show_verdict(state, feed.outcome(), path, self._attempt_lines(), keys)
        self._ask_hold()
        self._next_in_tour(now)

    def _say_skipped(self) -> None:
        """Damaged lines of the session file, said once each as the reader meets them (a replay's all
        together, once its file is read)."""
        loader = self.feed.loader
        if loader is not None and not loader.done:
            return
        skipped = self.feed.skipped
        if len(skipped) <= self._skipped_said:
            return
        new, self._skipped_said = skipped[self._skipped_said:], len(skipped)
        more = f" (and {len(new) - 1} more: streamwatch analyze lists them)" if len(new) > 1 else ""
        self.notify(new[0] + more, title=skipped_text(len(new)).capitalize(), severity="warning", timeout=10)

    @staticmethod
    def _show_answer(text: TextView, answer: str, parts: tuple[Part, ...], seam_at_end: bool = False) -> None:
        """The answer stitched across attempts, each seam marked where a continuation begins (the core's
        `Answer.seams`, which analyze reports); `seam_at_end`: where the attempt streaming now begins."""
        start = 0
        for part in parts:
            text.append(answer[start : part.start])
            text.mark_seam()
            start = part.start
        text.append(answer[start:])
        if seam_at_end:
            text.mark_seam()

    def _attempt_lines(self) -> list[str]:
        player = self.feed.player
        header = player.session.header if isinstance(player, SessionPlayer) else {}
        continues = continues_line(header)
        lines = [] if continues is None else [continues]
        log = self.feed.log
        if log is None or len(log.attempts) < 2 and log.stopped is None:
            return lines
        for attempt in log.attempts:
            verdict = attempt.verdict
            outcome = "running" if verdict is None else (
                f"cut at {verdict.stop_reason}" if verdict.complete and verdict.stop_reason in CONTINUABLE_STOPS
                else "complete" if verdict.complete else f"{verdict.termination}"
            )
            line = f"Attempt {attempt.number}: {attempt.how} → {outcome}"
            if attempt.repaid:
                line += f"; re-paid {repaid_words(attempt.repaid, bool(attempt.dropped))}"
            lines.append(line)
            lines.extend(f"  dropped: {note}" for note in attempt.dropped)
        if log.stopped:
            lines.append(f"Recovery stopped: {log.stopped}")
        return lines

    def _ended_log(self) -> AttemptLog | None:
        """The attempts a retry or resume would go on from, once the stream has ended: a live run's
        (broken, or done), a replay's played to its end."""
        feed = self.feed
        if feed.live is not None:
            return feed.live if self._phase() in (Phase.BROKEN, Phase.DONE) else None
        return feed.log if feed.is_replay and feed.player.finished else None

    def _not_ended_yet(self) -> str | None:
        """Why a retry or resume waits, while the stream it would go on from has not ended: a live one
        still streaming, a replay not played to its end (None when neither)."""
        feed = self.feed
        if feed.live is not None:
            return "the stream has not ended yet (x cancels it)" if self._phase() is Phase.BUSY else None
        if feed.is_replay and feed.go_on is not None and not feed.player.finished:
            return "the replay has not reached the end of the stream yet (> plays it to the end)"
        return None

    def _offers(self) -> tuple[Reason, ...]:
        """The one place that says which of retry and resume this screen offers now: the footer shows
        them and the verdict's advice names their keys. A live run offers each once its stream ended,
        when it makes sense (`AttemptLog.cannot`)."""
        log = self._ended_log()
        if log is None or self.feed.live is None and (self.feed.go_on is None or self._going_live):
            return ()
        current = log.current
        # Asked every frame and on each key: worked out again only when the attempts have changed.
        key = (id(log), len(log.attempts), id(current and current.state), current is not None and current.finished)
        if key != self._offers_key:
            self._offers_key = key
            self._offered_now = tuple(how for _, how, _ in RECOVER_KEYS if log.cannot(how) is None)
        return self._offered_now

    def _phase(self) -> Phase | None:
        """Where the live recovery stands; None when there is no live run."""
        return None if self.feed.live is None else self.feed.live.phase

    def _ask_hold(self) -> None:
        watch = self.feed.watch
        hold = watch.hold if watch is not None else None
        if hold is None or hold is self._hold_asked:
            return
        self._hold_asked = hold

        def answered(yes: bool | None) -> None:
            if yes and self.feed.live is not None:
                self._start(self.feed.live.proceed)

        self.app.push_screen(ConfirmScreen(hold), answered)

    def _next_in_tour(self, now: float) -> None:
        feed = self.feed
        if feed.then is None or self._phase() not in (Phase.DONE, Phase.BROKEN):
            return
        if self._ended_at is None:
            self._ended_at = now
        left = TOUR_PAUSE - (now - self._ended_at)
        if left > 0:
            self._tour_notice(f"Next in the tour in {math.ceil(left)} s")
            return
        self._tour_notice(None)
        follow = feed.then
        feed.then = None
        self.app.switch_screen(RunScreen(follow(), self.clock))

    def _tour_notice(self, words: str | None) -> None:
        """The tour's countdown notice, replaced as the seconds left change on the app's clock (None: gone)."""
        shown = self._tour_shown
        if shown is not None and shown.message == words:
            return
        if shown is not None:
            self.app._unnotify(shown)
        self._tour_shown = None if words is None else Notification(words, "", "information", TOUR_PAUSE, markup=False)
        if self._tour_shown is not None:
            self.app.post_message(Notify(self._tour_shown))

    def _prefix(self) -> str:
        feed, player = self.feed, self.feed.player
        if not isinstance(player, SessionPlayer):
            number = feed.attempt.number if feed.attempt is not None else 1
            return (f"{feed.title} · " if feed.title else "") + (f"attempt {number} · " if number > 1 else "")
        number = player.attempt.number
        loader = feed.loader
        loading = f"LOADING {loader.progress:.0%} · " if loader is not None and not loader.done else ""
        if feed.is_replay:
            speed = "max" if player.speed is None else f"{player.speed:g}x"
            mode = "TO END" if player.ending else "PLAY" if player.playing and not player.finished else "PAUSED"
            position = min(player.elapsed, player.duration)
            prefix = f"REPLAY {mode} {speed} {position:.1f}/{player.duration:.1f}s · {loading}"
            if player.total < 2:
                return prefix
            gap = player.next_in
            then = "" if gap is None else f", attempt {number + 1} in {gap:.1f} s"
            return f"{prefix}attempt {number}/{player.total}{then} · "
        if feed.awaits_attempt:
            return f"ATTACHED {feed.owner} · waiting for attempt {number + 1} · "
        return f"ATTACHED {feed.owner} · {loading}" + (f"attempt {number} · " if number > 1 else "")

    # ----- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay controls exist only where there is a recording to steer; retry and resume where `_offers`
        says (a live run, or a replay that can go on live), the rest of the recovery keys only on a live
        run; none while the filter or search box takes typing."""
        if action == "close_filter":
            return self.query_one("#filter").display or self._searched is not None or len(self.app.screen_stack) > 2
        if action == "back":  # else q quits, as everywhere
            return len(self.app.screen_stack) > 2 and not (self.focused is not None and self.focused.id in ("filter", "search"))
        if self.focused is not None and self.focused.id in ("filter", "search"):
            return False
        if action == "match":
            return self._searched is not None and bool(self._searched.matches)
        if action == "tool_view":
            return self.query_one(ToolPane).display
        if action in REPLAY_ACTIONS:
            return self.feed.is_replay
        if action == "follow":
            return not self.feed.is_replay
        if action in RECOVERY_ACTIONS:
            phase = self._phase()
            if action in ("recover", "not_offered"):
                # Asked afresh, not from the last frame: a key may come between a tick that ends the
                # stream and the frame that redraws it.
                offered = Reason(parameters[0]) in self._offers()
                return offered if action == "recover" else not offered and (
                    self._ended_log() is not None or self._not_ended_yet() is not None)
            if action == "skip_wait":
                return phase is Phase.WAITING
            if action == "cancel":
                return phase in (Phase.BUSY, Phase.WAITING)
            return self.feed.has_attempts
        return True

    def action_recover(self, how: str) -> None:
        live = self.feed.live
        if live is None:
            self._go_live(Reason(how))
            return
        self._hold_asked = None
        self._start(live.retry if how == "retry" else live.resume)

    def _go_live(self, how: Reason) -> None:
        """A retry or resume in a replay: a new live attempt from the recorded request, in a new session
        linked to this one. Made and checked on a worker thread (it reads the file, and tries the
        target); a demo whose embedded mock stopped with its run goes on against the app's own
        (`StreamwatchApp.embedded_mock`), at the pace its request asks for. When it cannot be sent, one notice says why and the replay stays as it was."""
        make = self.feed.go_on
        if make is None:
            return
        self._going_live = True
        watch = LiveWatch()

        def work() -> None:
            try:
                recovery = make(watch)
                self.app.exported(recovery)  # type: ignore[attr-defined]
                if recovery.mock_gone():
                    recovery.play_on(self.app.embedded_mock())
                recovery.preflight()
            except (LiveError, RecoveryError, SessionError, OSError) as exc:
                self.app.call_from_thread(self._not_live, str(exc))
                return
            self.app.call_from_thread(self._become_live, recovery, watch)
            try:
                recovery.retry() if how is Reason.RETRY else recovery.resume()
            except (LiveError, RecoveryError) as exc:
                self.app.call_from_thread(
                    self.notify, str(exc), title="Cannot send", severity="error", timeout=15, markup=False
                )

        self.run_worker(work, thread=True, exit_on_error=False, group="live", exclusive=False)

    def _not_live(self, why: str) -> None:
        self._going_live = False
        self.notify(why, title="Cannot send", severity="error", timeout=15, markup=False)

    def _become_live(self, recovery: Recovery, watch: LiveWatch) -> None:
        """The screen follows the new live attempt from now on, as a live run's screen does."""
        self._going_live = False
        continues = recovery.continues or {}
        # Until the new attempt is sent, the attempt it goes on from stays on screen.
        waiting = Player(self.feed.player.recording, self.feed.player.stall_threshold, live=True)
        self.feed = Feed(kind="live", player=waiting, live=recovery, watch=watch,
                         title=f"LIVE after {continues.get('session') or 'a replay'}")
        self._hold_asked = None
        self.refresh_frame()

    def action_not_offered(self, how: str) -> None:
        """r or c where this screen does not offer it: why, in one notice; nothing is sent."""
        log = self._ended_log()
        why = self._not_ended_yet() if log is None else log.cannot(Reason(how))
        if self._going_live:
            why = "a new attempt is already on its way"
        elif why is None:
            why = "this screen cannot send a request"
        self.notify(f"Nothing to {how}: {why}", severity="warning", timeout=6)

    def action_skip_wait(self) -> None:
        if self.feed.live is not None:
            self.feed.live.skip_wait()

    def action_cancel(self) -> None:
        if self.feed.live is not None:
            self.feed.live.cancel()

    def action_attempts(self) -> None:
        log = self.feed.log
        if log is not None:
            self.app.push_screen(AttemptsScreen(log))

    def action_follow(self) -> None:
        timeline = self.query_one(Timeline)
        timeline.follow = not timeline.follow
        self.refresh_frame()

    def action_play(self) -> None:
        player = self.feed.player
        if player.finished:
            player.to_start()
            player.playing = True
            self.query_one(Timeline).follow = True
        else:
            player.toggle()
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
        """What can be fed in a key's time, the rest on the next frames (a long stream, or a file still
        being read, whose end it reaches once it is all read): the status line says TO END meanwhile."""
        self.feed.player.to_end(time.perf_counter() + KEY_SECONDS)
        self.refresh_frame()

    def action_anomaly(self, direction: int) -> None:
        timeline = self.query_one(Timeline)
        current = timeline.event_at(timeline.cursor)
        if current is not None:
            seq = current.seq
        else:  # on a row after the events (the end, a stall): n starts from the top, N from the bottom
            seq = 0 if direction > 0 else len(self.feed.player.state.events) + 1
        marks = self.feed.player.state.anomaly_events
        targets = [m for m in marks if (m > seq if direction > 0 else m < seq)]
        if not targets and direction > 0 and self.feed.is_replay and not self.feed.player.finished:
            state = self.feed.player.state
            found = self.feed.player.to_next_anomaly(time.perf_counter() + KEY_SECONDS)
            self.refresh_frame()
            if found:
                if self.feed.player.state is not state:
                    seq = 0
                targets = [m for m in self.feed.player.state.anomaly_events if m > seq]
            elif found is None:
                shown = len(self.feed.player.state.events)
                self.notify(f"No anomaly up to event #{shown} so far: n looks on from there")
                return
        if not targets and direction < 0 and self.feed.is_replay and isinstance(self.feed.player, SessionPlayer):
            earlier = self.feed.player.to_previous_anomaly()
            if earlier is not None:
                self.refresh_frame()
                targets = [earlier]
        if not targets:
            self.notify("No further anomaly" if direction > 0 else "No earlier anomaly")
            return
        timeline.move_to_seq(targets[0] if direction > 0 else targets[-1])

    def action_head(self) -> None:
        self.app.push_screen(ResponseHeadScreen(self.feed.player.recording.request, self.feed.player.state))

    def action_verdict(self) -> None:
        self.query_one(VerdictPanel).focus()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        self._type_in(box)

    def action_search(self) -> None:
        """Open the search box for the focused pane (the text, thinking or tool pane; else the text pane)."""
        focused = self.focused
        pane = focused if isinstance(focused, (TextView, ToolPane)) else self.query_one("#text", TextView)
        self._clear_search()
        self._searched = pane
        box = self.query_one("#search", Input)
        box.value = ""
        box.display = True
        self._type_in(box)

    def _type_in(self, box: Input) -> None:
        """Focus the box now, not after what is queued (as `focus()` does): keys typed right after `/` or
        `ctrl+f` are the box's, not commands (a `c` in a filter word must not resume)."""
        self.set_focus(box)
        self.refresh_bindings()

    @on(Input.Submitted, "#search")
    def apply_search(self, message: Input.Submitted) -> None:
        pane = self._searched
        if pane is None:
            return
        message.input.display = False
        found = pane.search(message.value)
        pane.focus()
        self._say_match()
        if message.value and not found and not self._finding():
            self.notify(f"No match for {message.value!r} in this pane", timeout=3)
        self.refresh_bindings()

    def action_match(self, direction: int) -> None:
        if self._searched is not None:
            self._searched.step_match(direction)
            self._say_match()

    def _say_match(self) -> None:
        """The pane's border says where the search stands: `search 'word': 3/12`."""
        pane = self._searched
        if pane is None:
            return
        if not pane.query:
            pane.border_subtitle = ""
            return
        count = f"{pane.current + 1}/{len(pane.matches)}" if pane.matches else "no match"
        count += " so far" if self._finding() else ""
        pane.border_subtitle = one_line(f"search {pane.query!r}: {count} · ] next [ previous")

    def _finding(self) -> bool:
        """The text pane searched is still searching (a long text: a piece each frame)."""
        return isinstance(self._searched, TextView) and self._searched.finding

    def _clear_search(self) -> None:
        pane, self._searched = self._searched, None
        if pane is not None:
            pane.search("")
            pane.border_subtitle = ""
        box = self.query_one("#search", Input)
        box.display = False

    def action_tool_view(self) -> None:
        pane = self.query_one(ToolPane)
        pane.toggle_pretty()
        pane.update_state(self.feed.player.state)
        if self._searched is pane and pane.query:
            pane.search(pane.query)
            self._say_match()

    def action_close_filter(self) -> None:
        """Escape: close the filter or the search (clearing its marks) if one is open, else go back to the
        screen this one was opened from."""
        box = self.query_one("#filter", Input)
        if self._searched is not None and not box.display:
            pane = self._searched
            self._clear_search()
            pane.focus()
            self.refresh_bindings()
        elif box.display:
            box.value = ""
            box.display = False
            self.query_one(Timeline).set_filter("")
            self.query_one(Timeline).focus()
            self.refresh_bindings()
        elif len(self.app.screen_stack) > 2 and self.app.may_stop_stream("back", "esc"):  # type: ignore[attr-defined]
            self.app.pop_screen()

    def action_back(self) -> None:
        """q on a run opened from a list (the sessions, the proxy's flows): back to the list (a live
        stream asks first, as esc does)."""
        if self.app.may_stop_stream("back", "q"):  # type: ignore[attr-defined]
            self.app.pop_screen()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, message: Input.Submitted) -> None:
        timeline = self.query_one(Timeline)
        timeline.set_filter(message.value)
        if timeline.filter_error is not None:  # the border has room for its start only
            self.notify(f"Filter: {one_line(timeline.filter_error)}", severity="warning", markup=False)
        message.input.display = bool(message.value)
        timeline.focus()
        self.refresh_bindings()

    def action_export(self) -> None:
        """Ask which format (`ExportScreen`), then write the session in it to a new private file in the
        working directory under a free name (never over a file or through a link there), on a worker
        thread: a big file does not freeze the screen. One notice says where it went."""
        source = self.feed.session_path
        if source is None:
            self.notify("This run was not saved (--no-save): nothing to export", severity="warning")
            return
        threshold = self.feed.player.stall_threshold

        def export(name: str) -> None:
            try:
                target = export_beside(source, Path.cwd(), name, threshold)
            except OSError as exc:
                folder = Path.cwd()
                where = Path(exc.filename) if isinstance(exc.filename, str) else folder
                why = f"{where}: {exc.strerror or exc}"
                if where.parent == folder or where == folder:
                    why += ". Start in a folder you can write, or use streamwatch export -o FILE"
                self.app.call_from_thread(self.notify, why, title="Export failed", severity="error", markup=False)
                return
            except (SessionError, ExportError) as exc:
                self.app.call_from_thread(self.notify, str(exc), title="Export failed", severity="error", markup=False)
                return
            self.app.call_from_thread(
                self.notify, f"{FORMATS[name].title} exported to {target}", title="Export", timeout=8, markup=False
            )

        def picked(name: str | None) -> None:
            if name is not None:
                self.run_worker(lambda: export(name), thread=True, group="export", exit_on_error=False)

        self.app.push_screen(ExportScreen(), picked)

    @on(Timeline.Selected)
    def show_raw(self, message: Timeline.Selected) -> None:
        self.app.push_screen(RawEventScreen(message.event))
