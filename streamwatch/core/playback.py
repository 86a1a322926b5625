"""Driving a `StreamState` from a recording: at its original pace, faster, stepwise, or live.

`Player` feeds one attempt's recorded bytes into a fresh state as a clock advances. The clock is
passed in (`tick(now)`), so the same code serves a live run (the recording grows while it plays, and
`live=True` feeds each chunk as soon as it is there), a timed replay, an attach to a file another
process is writing (`Follower` grows the recording), and tests with a fixed clock.

`SessionPlayer` plays a whole session the same way, one recording after another on the session's
clock: each attempt at its recorded pace, then the time until the next attempt's request (a wait,
or the user deciding), scaled like the rest, skipped at max speed. As it goes it keeps the attempts
as the live run knew them (`log`, see core/attempts.py): the stitched answer, each attempt's verdict
and what it paid again, each as of the moment played.

`OnePass` plays a session's recordings to their ends as a file is read (`analyze`, the session list),
`replay_attempts` a whole session at once; both fire the hooks a live run fired (core/recorder.py),
so whatever listens to a live run (an exporter, a printer) can be given a file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from streamwatch.core.attempts import Attempt, AttemptLog, attempt_count
from streamwatch.core.diagnose import StreamState
from streamwatch.core.files import open_regular
from streamwatch.core.recorder import Hook, Hooks
from streamwatch.core.recording import (
    Recording,
    Session,
    SessionError,
    SessionLoader,
    apply_record,
    parse_time,
    writer_running,
)
from streamwatch.protocol import PROXY_SOURCE

SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, None)


class Player:
    """Feeds one recording into a fresh state, as far as its clock (`position`, seconds on the
    recording's own clock) has got. With `live=True` the recording may still grow (a live run, a
    followed file) and `tick` feeds what there is as it comes; otherwise it is whole (a replay, which
    `SessionPlayer` paces), and one without an end record ends where it was cut off
    (`Recording.final_end`), as `analyze` reads it. A replay whose file is still being read
    (`reading()` true) waits at the last chunk read so far, ended or not, until it is all read."""

    def __init__(
        self, recording: Recording, stall_threshold: float, live: bool = False,
        reading: Callable[[], bool] | None = None,
    ) -> None:
        self.recording = recording
        self.live = live
        self.reading = reading or _never
        self.state = StreamState(stall_threshold, recording.fault, body=recording.chunks.buffer)
        self.position = 0.0
        self._fed_t: float | None = None
        """When the last chunk fed arrived, on the recording's clock."""
        self._clock: float | None = None
        self._next = 0
        self._responded = False

    @property
    def stall_threshold(self) -> float:
        return self.state.stall_threshold

    @property
    def finished(self) -> bool:
        """Every recorded byte has been fed and the recording says how it ended."""
        return self.state.ended is not None

    def tick(self, now: float, budget: float = 0.015) -> bool:
        """Keep the clock on `now` (seconds, any monotonic clock) and feed everything recorded so far,
        for at most `budget` seconds of CPU time, so a screen stays responsive while a long recording
        pours in; the rest is fed on the next tick. True if anything changed."""
        if self._clock is not None and not self.finished:
            self.position += now - self._clock
        self._clock = now
        return self._feed(None, time.perf_counter() + budget)

    def _feed(self, limit: float | None, deadline: float | None = None, until_events: int | None = None) -> bool:
        recording, state = self.recording, self.state
        changed = False
        whole = not self.live and not self.reading()
        if not self._responded and (whole or recording.status is not None or recording.chunks or recording.ending):
            state.response(recording.status, recording.headers, recording.capture, recording.request)
            self._responded = changed = True
        chunks = recording.chunks
        while self._next < len(chunks):
            if deadline is not None and self._next % 64 == 0 and time.perf_counter() > deadline:
                if not self.live and self._fed_t is not None:
                    # Behind the clock with chunks due: a replay's state stays at the last chunk shown, so a
                    # stream shown late never reads as silent (a SessionPlayer's clock moves it on again).
                    self.position = min(self.position, self._fed_t)
                return changed
            t, data = chunks[self._next]
            rel = recording.relative(t)
            if limit is not None and rel is not None and rel > limit:
                return changed
            if until_events is not None and len(state.events) >= until_events:
                return changed
            state.chunk(data, rel)
            self._next += 1
            changed = True
            if rel is not None:
                self._fed_t = rel
                self.position = max(self.position, rel)
        ended = recording.ending is not None if self.live else whole
        if self._next == len(chunks) and ended and not self.finished:
            if until_events is not None and len(state.events) >= until_events:
                return changed
            _, end_t, _ = recording.final_end()
            if limit is None or end_t is None or end_t <= limit:
                recording.end_state(state)
                if end_t is not None:
                    self.position = max(self.position, end_t)
                changed = True
        return changed

    def play_to(self, position: float, everything: bool = False, deadline: float | None = None) -> bool:
        """Move the clock on to `position` (it never goes back) and feed what was recorded up to it, or
        `everything` recorded so far; until `deadline` (`time.perf_counter`) at most. True if anything changed."""
        self.position = max(self.position, position)
        return self._feed(None if everything else self.position, deadline)

    def step(self) -> None:
        """Show exactly one more event (or the end)."""
        self._feed(None, until_events=len(self.state.events) + 1)

    def to_end(self, deadline: float | None = None) -> None:
        """Feed everything recorded so far (until `deadline`, `time.perf_counter`, at most)."""
        self._feed(None, deadline)

    def to_next_anomaly(self, deadline: float | None = None) -> bool | None:
        """Feed until a new anomaly appears (or the end); True if one was found, False if none came, None
        if it stopped looking before the end: at `deadline` (`time.perf_counter`), or at the last chunk
        of a file still being read."""
        seen = len(self.state.anomalies)
        while len(self.state.anomalies) == seen and not self.finished:
            if deadline is not None and time.perf_counter() > deadline:
                return None
            if not self._feed(None, until_events=len(self.state.events) + 1):
                return None if self.reading() else False
        return len(self.state.anomalies) > seen


def _never() -> bool:
    return False


def _next_speed(speed: float | None, direction: int) -> float | None:
    index = SPEEDS.index(speed) if speed in SPEEDS else 1
    return SPEEDS[max(0, min(len(SPEEDS) - 1, index + direction))]


class Follower:
    """Follows a session file that another process is appending to, growing a `Session` in memory.

    The file is opened once, as `core/files.py` opens a file the user named (a regular file only, a
    link to one followed), and read from there on: the writer appends to that same file, whatever
    is later put at its name. What it held when opened is read behind the first frame, as a replay's
    file is (`loader`: the run screen runs its `load()` on a worker thread); `poll` reads on from
    there once that is done. Each poll reads at most `POLL_BYTES`, so a file that grows faster than
    it is read is taken in a piece per frame."""

    POLL_BYTES = 8 << 20

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._file = open_regular(self.path)
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
        self.loader = SessionLoader(self.path, opened=self._file)
        self.session = self.loader.session
        self._offset: int | None = None
        self._lines = 0
        self._partial = b""
        self.lost: str | None = None

    @property
    def loading(self) -> bool:
        """What the file held when it was opened is still being read (`loader`)."""
        return not self.loader.done

    @property
    def ended(self) -> bool:
        return self.session.latest.ending is not None

    def poll(self) -> bool:
        """Read what was appended since the last poll (nothing while `loading`); True if new records
        arrived. A file that went away or shrank (rotated, truncated) is `lost`: said once
        (SessionError), then left alone."""
        if self.lost is not None or self.loading:
            return False
        if self._offset is None:
            self._offset, self._lines = self.loader.read, self.loader.lines
        try:
            data = self._file.grown(self._offset, self.POLL_BYTES)
        except OSError as exc:
            self.lost = f"cannot read {self.path}: {exc.strerror or exc}"
            raise SessionError(self.lost) from None
        if data is None:
            size = self._file.size
            self.lost = f"{self.path} shrank to {size} bytes (truncated or replaced): showing what was read before"
            raise SessionError(self.lost)
        if not data:
            return False
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._lines += 1
            if line.strip():
                apply_record(self.session, line, self._lines)
        return bool(lines)

    def writer_running(self) -> bool | None:
        """Whether the process writing the file still runs (`recording.writer_running`)."""
        return writer_running(self.session.header)

    def writer_elapsed(self) -> float | None:
        """How far the session's own clock has gone by now, when its writer runs on this machine (its
        `started` read on this machine's clock), so that a stream attached in the middle of a stall shows
        the stall's whole length, not the time since attaching; None when that cannot be told."""
        started = self.session.header.get("started")
        moment = parse_time(started) if isinstance(started, str) else None
        if moment is None or self.writer_running() is not True:
            return None
        return max(0.0, time.time() - moment.timestamp())

    def over(self, complete: bool) -> bool:
        """Whether nothing more will be read, as far as can be told: the file is lost, the writer is gone, or the last
        attempt ended and its answer is `complete` (recovery never goes on after that) or its writer
        cannot be checked, or its writer is the proxy, which never sends another. While any other writer
        runs, a broken attempt may still be followed by another: the writer may be waiting to send it,
        or waiting for its user to press retry or resume."""
        running = self.writer_running()
        single = self.session.header.get("source") == PROXY_SOURCE
        return self.lost is not None or running is False or (self.ended and (complete or single or running is None))


class SessionPlayer:
    """A session's recordings played one after another on the session's clock; see the module doc.

    It is steered as a `Player` is (tick, toggle, speed, step, start, end, next anomaly). `state`,
    `recording` and `position` are the current recording's (`position` on its attempt's clock),
    `elapsed` and `duration` the session's. With `live=True` it follows a session that grows
    (`Follower`): everything recorded is fed at once, and a new recording is taken up as it appears.
    """

    def __init__(
        self, session: Session, stall_threshold: float, speed: float | None = 1.0, live: bool = False
    ) -> None:
        self.session = session
        self.stall_threshold = stall_threshold
        self.speed = speed
        self.live = live
        self.playing = True
        self._clock: float | None = None
        self._anomaly_counts: list[int] | None = None
        self._restart()

    def _restart(self) -> None:
        on_failure = self.session.header.get("on_failure")
        self.log = AttemptLog(on_failure if isinstance(on_failure, str) else None)
        self.elapsed = 0.0
        self.ending = False
        """Asked to go to the end (`to_end`), and not there yet: each tick feeds what it can towards it."""
        self._index = -1
        self._marks: list[list[int]] = []
        """The events each recording played before the current one marked as anomalies."""
        self._take_next()

    def stop_following(self) -> None:
        """The session will not grow any more (its writer is gone): everything it holds is shown, as
        following it showed what there was (the last recording ends where it was cut off when it
        has no end record), fed a tick's budget at a time (`ending`), and it stays as a replay, paused
        at its end."""
        self.live = self.player.live = False
        self.playing = False
        self.ending = True

    def _take_next(self) -> None:
        if self._index >= 0:
            self._marks.append(self.state.anomaly_events)
        self._index += 1
        index, session = self._index, self.session
        self.player = Player(session.attempts[index], self.stall_threshold, live=self.live,
                             reading=lambda: session.reading and index + 1 == len(session.attempts))
        self.attempt: Attempt = self.log.record(self.player.recording, self.player)

    @property
    def state(self) -> StreamState:
        return self.player.state

    @property
    def recording(self) -> Recording:
        return self.player.recording

    @property
    def position(self) -> float:
        return self.player.position

    @property
    def total(self) -> int:
        """How many attempts the session holds (so far, when it grows)."""
        return attempt_count(self.session.attempts)

    @property
    def finished(self) -> bool:
        """The last recording has been played to its end (and the file is all read)."""
        return self.player.finished and not self._has_next() and not self.session.reading

    @property
    def duration(self) -> float:
        """Seconds from the session's first request to its last recording's end."""
        last = self.session.latest
        _, end_t, _ = last.final_end()
        return last.started_t + (end_t or 0.0)

    @property
    def next_in(self) -> float | None:
        """Between two attempts: session seconds until the next one's request, else None."""
        if not (self.player.finished and self._has_next()):
            return None
        return max(0.0, self.session.attempts[self._index + 1].started_t - self.elapsed)

    def tick(self, now: float, budget: float = 0.015) -> bool:
        """As `Player.tick`, across recordings."""
        elapsed = 0.0 if self._clock is None else now - self._clock
        self._clock = now
        if self.playing and not self.finished:
            self.elapsed += elapsed if self.live or self.speed is None else elapsed * self.speed
        if self.session.reading:  # the clock waits for the file: no silence where it was not read yet
            self.elapsed = min(self.elapsed, self.session.last_t)
        return self._play(time.perf_counter() + budget)

    @property
    def _unpaced(self) -> bool:
        """Everything recorded goes in at once: following a file, going to the end, or playing at max
        speed (not paused)."""
        return self.live or self.ending or (self.speed is None and self.playing)

    def _has_next(self) -> bool:
        return self._index + 1 < len(self.session.attempts)

    def _play(self, deadline: float | None) -> bool:
        changed = False
        while True:
            fed = self.player.play_to(self.elapsed - self.recording.started_t, self._unpaced, deadline)
            changed = fed or changed
            self._settle()
            if not (self.player.finished and self._has_next()):
                self.ending = self.ending and not self.finished
                return changed
            if not self._unpaced and self.session.attempts[self._index + 1].started_t > self.elapsed:
                return changed
            self._take_next()
            changed = True

    def _settle(self) -> None:
        """Keep the session clock up with what was fed; finish the attempt once its recording ended,
        and say why recovery stopped after it, if it did, until the next attempt (live, the user saw
        that while deciding to press retry or resume); attached, the file says so a moment after the end."""
        self.elapsed = max(self.elapsed, self.recording.started_t + self.player.position)
        if self.player.finished and not self.attempt.finished:
            session = None if self.session.path is None else str(self.session.path)
            self.log.finish(self.attempt, self.state.verdict(session=session))
        self.log.stopped = self.recording.stopped if self.player.finished else None

    def catch_up(self, elapsed: float) -> None:
        """Move the session clock on to `elapsed` (never back): where a followed writer's clock stands."""
        self.elapsed = max(self.elapsed, elapsed)

    def toggle(self) -> None:
        self.playing = not self.playing
        self.ending = False

    def faster(self) -> None:
        self.speed = _next_speed(self.speed, 1)

    def slower(self) -> None:
        self.speed = _next_speed(self.speed, -1)

    def step(self) -> None:
        """Pause and show exactly one more event (or the end), into the next attempt after an end."""
        self.playing = self.ending = False
        if self.player.finished and self._has_next():
            self._take_next()
        self.player.step()
        self._settle()

    def to_start(self) -> None:
        self._restart()

    def to_end(self, deadline: float | None = None) -> None:
        """Everything recorded, fed at once; with a `deadline` (`time.perf_counter`), what can be fed until
        then, the rest by the next ticks (`ending` says so until the end is reached, which a file still
        being read reaches once it is all read)."""
        self.ending = True
        self._play(deadline)

    def to_next_anomaly(self, deadline: float | None = None) -> bool | None:
        """Feed until a new anomaly appears; pause there. True if one was found, False if none is left,
        None if it stopped looking first (as `Player.to_next_anomaly` says). A whole session (not one
        still followed) with no anomaly left is not played on to its end: nothing moves."""
        self.playing = self.ending = False
        if not self.live and not self._anomaly_ahead():
            return False
        while True:
            found = self.player.to_next_anomaly(deadline)
            self._settle()
            if found is not False or not (self.player.finished and self._has_next()):
                return found
            self._take_next()

    def _anomaly_ahead(self) -> bool:
        """Whether the rest of the session holds an anomaly not shown yet: the session is played once,
        on the side, to count each recording's anomalies; while the file is still being read, there may be."""
        if self.session.reading:
            return True
        if self._anomaly_counts is None:
            scratch = SessionPlayer(self.session, self.stall_threshold, speed=None)
            counts = []
            while True:
                scratch.player.to_end()
                scratch._settle()
                counts.append(len(scratch.state.anomalies))
                if not scratch._has_next():
                    break
                scratch._take_next()
            self._anomaly_counts = counts
        shown = len(self.state.anomalies)
        return self._anomaly_counts[self._index] > shown or any(self._anomaly_counts[self._index + 1:])

    def to_previous_anomaly(self) -> int | None:
        """Back to the last anomaly of the recordings before the current one: the session played again
        from its start to the end of that recording, paused there. The event it marks, or None (and
        nothing moves) if no earlier recording had one."""
        earlier = [i for i, marks in enumerate(self._marks) if marks]
        if not earlier:
            return None
        index = earlier[-1]
        seq = self._marks[index][-1]
        self._restart()
        self.playing = False
        while True:
            self.player.to_end()
            self._settle()
            if self._index == index:
                return seq
            self._take_next()


@dataclass
class _Replayed:
    """One recording as a replay to its end reads it: the `run` of its attempt."""

    state: StreamState
    recording: Recording

    def now(self) -> float | None:
        """A recorded attempt is over: no clock runs on it (a live attempt's `now`)."""
        return None


class OnePass:
    """A session's recordings played to their ends as they are read (give `take` to `parse_session` as
    `on_record`, then `finish` the session it returns), or all at once (`replay_attempts`), firing the
    hooks a live run fired (core/recorder.py): `on_header` (the file's), `on_attempt` (for a `RecoveryObserver`), `on_request`,
    `on_response` (when a response head was recorded), `on_events` once per recorded chunk with the
    events it completed, `on_attempt_end` with the attempt's verdict once its last recording (after a
    redirect) has ended, then `on_session_end`. A file holds no wait's countdown and no hold but its
    `stopped` line: `on_wait` and `on_hold` do not come.

    With `keep=False` each chunk is let go once it is fed (all but a recording's last, whose time is
    where a recording cut off ends): memory holds the streams' states, not their recordings as well."""

    def __init__(self, stall_threshold: float, hooks: Hooks | Iterable[Hook] = (), keep: bool = True) -> None:
        self.stall_threshold = stall_threshold
        self.hooks = hooks if isinstance(hooks, Hooks) else Hooks(hooks)
        self.keep = keep
        self.log = AttemptLog()
        self._where: str | None = None
        self._index = -1
        self._run: _Replayed | None = None
        self._attempt: Attempt | None = None
        self._responded = False
        self._fed = 0

    def take(self, session: Session) -> None:
        """Feed everything the session holds so far: a recording is played to its end once the next one begins."""
        if self._index < 0:
            self.hooks.fire("on_header", session.header)
            on_failure = session.header.get("on_failure")
            self.log.on_failure = on_failure if isinstance(on_failure, str) else None
            self._where = None if session.path is None else str(session.path)
        recordings = session.attempts
        while True:
            if self._run is not None:
                self._feed(whole=False)
            if self._index + 1 == len(recordings):
                return
            if self._run is not None:
                self._end(ends_attempt=bool(recordings[self._index + 1].link))
            self._start(recordings[self._index + 1])

    def finish(self, session: Session) -> AttemptLog:
        """The session is whole: play out what it holds (a recording with no end record ends where it was cut off)."""
        self.take(session)
        self._end(ends_attempt=True)
        self.log.stopped = session.latest.stopped
        self.hooks.fire("on_session_end", self.log)
        return self.log

    def _start(self, recording: Recording) -> None:
        self._index += 1
        self._run = _Replayed(StreamState(self.stall_threshold, recording.fault), recording)
        previous = self.log.current
        self._attempt = self.log.record(recording, self._run)
        if self._attempt is not previous:
            self.hooks.fire("on_attempt", self._attempt)
        request = recording.request
        self.hooks.fire("on_request", str(request.get("method", "")), str(request.get("url", "")))
        self._responded, self._fed = False, 0

    def _feed(self, whole: bool) -> None:
        """The recording's chunks not fed yet, after its response head once it is known (or `whole`)."""
        assert self._run is not None
        state, recording = self._run.state, self._run.recording
        if not self._responded and (whole or recording.status is not None or recording.chunks or recording.ending):
            state.response(recording.status, recording.headers, recording.capture, recording.request)
            if recording.status is not None:
                self.hooks.fire("on_response", state)
            self._responded = True
        chunks = recording.chunks
        for t, data in chunks[self._fed:]:
            self.hooks.fire("on_events", state, state.chunk(data, recording.relative(t)))
        self._fed = len(chunks)
        if not self.keep and self._fed > 1:
            del chunks[: self._fed - 1]
            self._fed = 1

    def _end(self, ends_attempt: bool) -> None:
        assert self._run is not None and self._attempt is not None
        self._feed(whole=True)
        state, recording = self._run.state, self._run.recording
        recording.end_state(state)
        self.log.finish(self._attempt, state.verdict(session=self._where))
        if ends_attempt:
            self.hooks.fire("on_attempt_end", self._attempt)


def replay_attempts(session: Session, stall_threshold: float, hooks: Hooks | Iterable[Hook] = ()) -> AttemptLog:
    """The session's attempts as the live run knew them, each played to its end at once, firing the
    hooks as the live run fired them (see `OnePass`)."""
    return OnePass(stall_threshold, hooks).finish(session)
