"""The plain-text live view of a run: one line per event as it arrives, a note when a stall begins,
the report at the end. Everything it prints passes through `printable` and the run's `redact`.
"""

from __future__ import annotations

import threading
from typing import TextIO

from streamwatch.core.diagnose import Anomaly, StreamState
from streamwatch.core.events import Event
from streamwatch.core.live import LiveObserver, LiveResult, LiveRun
from streamwatch.core.report import live_status, printable, render_report, row_line, timeline_row

WATCH_INTERVAL = 0.1
"""How often the stall watch looks at the clock, in seconds."""


class HeadlessView(LiveObserver):
    def __init__(self, out: TextIO, label: str) -> None:
        self.label = label
        self._out = out
        self._run: LiveRun | None = None
        self._lock = threading.Lock()
        self._previous_t: float | None = 0.0
        self._anomalies_shown = 0
        self._stall_noted = False
        self._stop = threading.Event()

    def play(self, run: LiveRun) -> LiveResult:
        """Run it, printing as it streams, then print the report; the run's result."""
        self._run = run
        watch = threading.Thread(target=self._watch, name="streamwatch-stall-watch", daemon=True)
        watch.start()
        try:
            result = run.run()
        finally:
            self._stop.set()
            watch.join()
        report = render_report(result.state, result.verdict, self.label, tail=0, title="Summary")
        self._write(["", report])
        return result

    def on_request(self, method: str, url: str) -> None:
        self._previous_t = 0.0
        self._anomalies_shown = 0
        self._write([printable(f"streamwatch run: {self.label} · {method} {url}")])

    def on_response(self, state: StreamState) -> None:
        request_id = state.headers.get("request-id")
        self._write([printable(f"HTTP {state.status}" + (f" · request-id {request_id}" if request_id else ""))])

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
        run = self._run
        while run is not None and not self._stop.wait(WATCH_INTERVAL):
            now = run.now()
            state = run.state
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
        if self._run is not None:
            text = self._run.redact(text)
        with self._lock:
            self._out.write(text)
            self._out.flush()


def _anomaly_line(anomaly: Anomaly) -> str:
    return f"  !! {anomaly.code}: {printable(anomaly.message)}"
