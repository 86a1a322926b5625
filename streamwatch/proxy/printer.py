"""The proxy's plain-text output: `FlowPrinter` writes one line per flow when its session ends.

A line says the time, the client, the method and path, the model, the status, the time to first
token, the duration, the events and the verdict (`flow_line`); with `json_lines`, one JSON object
instead: the `analyze --json` verdict (its `fault`, or `fault_unfired` for a fault armed that never
fired), with the flow's `method`, `path`, `client`, `model`, `upstream`, `id` and `started`
(`session` is the file). Each flow's values pass its
recorder's redaction, and text lines `core/safe.py`'s `one_line`. When the reader goes away
(`| head -1`), it writes nothing more and calls `on_closed`. Its hooks are told on the proxy's loop:
writing a line is all they do.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TextIO

from streamwatch.core.attempts import AttemptLog
from streamwatch.core.catalog import verdict_badge
from streamwatch.core.diagnose import StreamState
from streamwatch.core.recorder import Hook
from streamwatch.core.safe import one_line
from streamwatch.proxy.flow import Flow


class FlowPrinter:
    """The proxy's finished flows, one line (or JSON object) each; see the module doc."""

    def __init__(self, out: TextIO, json_lines: bool = False, on_closed: Callable[[], None] = lambda: None) -> None:
        self._out = out
        self._json = json_lines
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self.closed = False
        self.count = 0
        """Flows written so far."""

    def hooks_for(self, flow: Flow) -> list[Hook]:
        return [_FlowEnd(self, flow)]

    def finished(self, flow: Flow, log: AttemptLog) -> None:
        redactor = flow.recorder.redactor
        if self._json:
            facts = {"id": flow.id, "started": flow.started.isoformat(timespec="milliseconds"), "method": flow.method,
                     "path": flow.path, "client": flow.client, "model": flow.model, "upstream": flow.upstream}
            line = json.dumps(redactor.value({**log.verdict(), **facts}), ensure_ascii=True)
        else:
            line = redactor.text(flow_line(flow, log.attempts[-1].state))
        with self._lock:
            if self.closed:
                return
            try:
                self._out.write(line + "\n")
                self._out.flush()
                self.count += 1
            except BrokenPipeError:
                self.closed = True
        if self.closed:
            self._on_closed()


class _FlowEnd(Hook):
    def __init__(self, printer: FlowPrinter, flow: Flow) -> None:
        self._printer, self._flow = printer, flow

    def on_session_end(self, log: AttemptLog) -> None:
        self._printer.finished(self._flow, log)


def flow_line(flow: Flow, state: StreamState) -> str:
    """`14:02:11  Anthropic/Python 2.14.0  POST /v1/messages  claude-sonnet-4-6  200  ttft 0.41 s  2.35 s
    143 events  COMPLETE end_turn`, terminal-safe; `-` for what is not known."""
    cells = [
        flow.started.astimezone().strftime("%H:%M:%S"),
        flow.client_text or "-",
        f"{flow.method} {flow.path}",
        flow.model or "-",
        "-" if state.status is None else str(state.status),
        "ttft -" if state.ttft is None else f"ttft {_seconds(state.ttft)}",
        "-" if state.end_t is None else _seconds(state.end_t),
        f"{len(state.events)} events",
        verdict_badge(state),
    ]
    if state.fault:
        cells.append(f"fault: {state.fault}")
    elif state.fault_unfired:
        cells.append(f"fault armed, never fired: {state.fault_unfired.removeprefix('injected: ')}")
    return one_line("  ".join(cells))


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.2f} s"
