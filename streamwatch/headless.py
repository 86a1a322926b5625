"""The plain-text live view of a run: one line per event as it arrives, a note when a stall begins,
the report at the end. With recovery: a header per later attempt (why, what was dropped), a line
when a wait begins (and one more halfway through a long one), a line per finished attempt, and the
attempts and the stitched answer after the report. Every value it prints passes through `one_line`
and the session's `redact`. When its output's reader goes away (`| head -1`), it prints nothing more
and stops the run, whose session then says so (`cancelled`, OUTPUT_CLOSED), so that a closed pipe
is never taken for a network failure.
"""

from __future__ import annotations

import threading
from typing import TextIO

from streamwatch.core.diagnose import Anomaly, StreamState
from streamwatch.core.events import Event
from streamwatch.core.recovery import Attempt, Hold, OnFailure, Reason, Recovery, RecoveryObserver, Wait
from streamwatch.core.report import (
    attempt_line,
    live_status,
    recovery_lines,
    render_report,
    row_line,
    timeline_row,
)
from streamwatch.core.safe import one_line

WATCH_INTERVAL = 0.1
"""How often the stall watch looks at the clock, in seconds."""
LONG_WAIT = 4.0
"""A wait at least this long gets a second line when half of it is over."""
OUTPUT_CLOSED = "the output (stdout) was closed"


class HeadlessView(RecoveryObserver):
    def __init__(self, out: TextIO, label: str) -> None:
        self.label = label
        self._out = out
        self._recovery: Recovery | None = None
        self._lock = threading.Lock()
        self._previous_t: float | None = 0.0
        self._anomalies_shown = 0
        self._stall_noted = False
        self._wait_lines = 0
        self._stop = threading.Event()
        self.closed = False
        """The output's reader went away: nothing more is written, and the run was stopped."""

    def play(self, recovery: Recovery) -> Attempt:
        """Run it, printing as it streams, then print the report; the last attempt."""
        self._recovery = recovery
        watch = threading.Thread(target=self._watch, name="streamwatch-stall-watch", daemon=True)
        watch.start()
        try:
            last = recovery.run()
        finally:
            self._stop.set()
            watch.join()
        assert last.verdict is not None
        title = "Summary" if last.number == 1 else f"Summary of attempt {last.number}"
        lines = ["", render_report(last.state, last.verdict, self.label, tail=0, title=title)]
        if recovery.on_failure is not OnFailure.NONE or len(recovery.attempts) > 1:
            lines += ["", *recovery_lines(recovery)]
        self._write(lines)
        return last

    def on_attempt(self, attempt: Attempt) -> None:
        if attempt.number == 1:
            return
        how = attempt.reason.value
        if attempt.reason is Reason.RESUME and attempt.strategy is not None:
            how += f" ({attempt.strategy.value})"
        limit = self._recovery.max_attempts if self._recovery is not None else attempt.number
        of = f"/{limit}" if attempt.number <= limit else ""
        lines = ["", f"== attempt {attempt.number}{of}: {how}, replacing attempt {attempt.replaces}"]
        lines.append(one_line(f"   {attempt.about}"))
        lines.extend(one_line(f"   dropped: {note}") for note in attempt.dropped)
        self._write(lines)

    def on_wait(self, wait: Wait) -> None:
        if self._wait_lines == 0:
            self._wait_lines = 1
            self._write([one_line(f"  .. waiting {_seconds(wait.seconds)} before attempt {wait.before}: {wait.why}")])
        elif self._wait_lines == 1 and wait.left and wait.seconds >= LONG_WAIT and wait.left <= wait.seconds / 2:
            self._wait_lines = 2
            self._write([f"  .. {_seconds(wait.left)} left before attempt {wait.before}"])
        if wait.left == 0:
            self._wait_lines = 0
            if wait.skipped:
                self._write([f"  .. wait skipped: attempt {wait.before} goes now"])

    def on_attempt_end(self, attempt: Attempt) -> None:
        recovery = self._recovery
        if recovery is not None and (recovery.on_failure is not OnFailure.NONE or attempt.number > 1):
            self._write([f"  => {attempt_line(attempt)}"])

    def on_hold(self, hold: Hold) -> None:
        self._write([one_line(f"  !! {hold.reason}")])

    def on_request(self, method: str, url: str) -> None:
        self._previous_t = 0.0
        self._anomalies_shown = 0
        with self._lock:
            self._stall_noted = False
        self._write([one_line(f"streamwatch run: {self.label} · {method} {url}")])

    def on_response(self, state: StreamState) -> None:
        request_id = state.headers.get("request-id")
        self._write([one_line(f"HTTP {state.status}" + (f" · request-id {request_id}" if request_id else ""))])

    def on_events(self, state: StreamState, events: list[Event]) -> None:
        new = state.anomalies[self._anomalies_shown:]
        self._anomalies_shown = len(state.anomalies)
        lines: list[str] = []
        for event in events:
            here = [a for a in new if a.at_event == event.seq]
            stalled = any(a.code == "stall" for a in here)
            lines.append(row_line(timeline_row(event, self._previous_t)) + ("  !! STALL" if stalled else ""))
            lines.extend(_anomaly_line(a) for a in here)
            self._previous_t = event.t
        lines.extend(_anomaly_line(a) for a in new if a.at_event not in {e.seq for e in events})
        with self._lock:
            if any(e.is_content for e in events):
                self._stall_noted = False
        self._write(lines)

    def _watch(self) -> None:
        """Say so once when a silence crosses the stall threshold, while it is still going on."""
        recovery = self._recovery
        while recovery is not None and not self._stop.wait(WATCH_INTERVAL):
            attempt = recovery.current
            if attempt is None:
                continue
            now = attempt.run.now()
            state = attempt.state
            if now is None or state.ended is not None:
                continue
            kind, words = live_status(state, now)
            with self._lock:
                if kind != "stalled" or self._stall_noted:
                    continue
                self._stall_noted = True
            self._write([f"  .. {words}"])

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        if self._recovery is not None:
            text = self._recovery.redact(text)
        with self._lock:
            if self.closed:
                return
            try:
                self._out.write(text)
                self._out.flush()
            except BrokenPipeError:
                self.closed = True
        if self.closed and self._recovery is not None:
            self._recovery.cancel(OUTPUT_CLOSED)


def _anomaly_line(anomaly: Anomaly) -> str:
    return f"  !! {anomaly.code}: {one_line(anomaly.message)}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.2f} s"
