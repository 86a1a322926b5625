"""The flows list's rows: one immutable summary per proxied flow, made on the server's thread.

A view of the proxy (the TUI's flows screen) must never read a `StreamState` the server's thread is
changing, nor be called from that thread. So each flow gets a `RowHook` (`FlowBook.hooks_for`, the
proxy's `hooks_for`), which, on the server's thread, each time the flow's recorder tells it
something (request, response head, events, end), snapshots what a list shows into a frozen
`FlowRow` and hands it to the `FlowBook`. The view reads `FlowBook.rows()` on its own clock: a
list of values nobody changes, newest first, and `FlowBook.version` says whether anything did.

A row says how the flow stands as the core says it (`catalog.verdict_badge`: `STREAMING`, `COMPLETE end_turn`,
`OK end_turn` for a request that asked for no stream and got its answer, `ABNORMAL eof`, `HTTP 529`). A running one grows its duration and says `STALLED` once nothing came
for the stall threshold, which `FlowRow.cells(now)` works out from the row and the view's clock.
Every text in a row is made terminal-safe (`one_line`) here: it comes from the client or the wire.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamwatch.core.catalog import short_model, verdict_badge
from streamwatch.core.diagnose import StreamState
from streamwatch.core.events import Event
from streamwatch.core.recorder import Hook
from streamwatch.core.safe import one_line

if TYPE_CHECKING:
    from streamwatch.core.attempts import Attempt, AttemptLog
    from streamwatch.proxy.flow import Flow

CELL_WIDTH = 60
"""The most of one client-given value (a path, a model, a user agent) a row keeps."""
COLUMNS = ("time", "client", "method", "path", "model", "status", "ttft", "took", "events", "verdict")


@dataclass(frozen=True)
class FlowRow:
    """What the flows list shows of one flow, as of its last snapshot."""

    id: str
    started: datetime.datetime
    client: str
    """`python 0.40.0` (the SDK's language and version), else the user agent's first word, else `-`."""
    method: str
    path: str
    model: str
    sent: float
    """When the request came in, on the monotonic clock: a running flow's duration counts from it."""
    running: bool = True
    status: int | None = None
    ttft: float | None = None
    duration: float | None = None
    """Seconds from the request to the end (or to the last byte so far)."""
    events: int = 0
    verdict: str = "WAITING"
    complete: bool | None = None
    quiet_since: float | None = None
    """When content last came (or the request went out), on the monotonic clock, while it runs."""
    stall_threshold: float = 0.0
    origin: str = ""
    """Who sent it, in full: `Anthropic/Python 0.75.0 from 127.0.0.1:50412`."""
    fault: str | None = None
    """The label of the fault injected into it, once it fired."""
    fault_unfired: str | None = None
    """The label of a fault armed for it that has not fired (and never did, once it has ended)."""
    session_path: Path | None = None

    def cells(self, now: float, tz: datetime.tzinfo | None = None) -> dict[str, str]:
        """The row's text per column (`COLUMNS`) at `now` (the monotonic clock), times in `tz` (local)."""
        duration = self.duration
        verdict = self.verdict
        if self.running:
            duration = max(0.0, now - self.sent)
            silent = None if self.quiet_since is None else now - self.quiet_since
            if silent is not None and self.stall_threshold and silent > self.stall_threshold:
                verdict = f"STALLED {silent:.0f}s"
        return {
            "time": self.started.astimezone(tz).strftime("%H:%M:%S"),
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "model": self.model,
            "status": "-" if self.status is None else str(self.status),
            "ttft": _seconds(self.ttft),
            "took": _seconds(duration),
            "events": str(self.events),
            "verdict": verdict,
        }

    @property
    def kind(self) -> str:
        """`running`, `complete` or `abnormal`: how the list colours it."""
        if self.running:
            return "running"
        return "complete" if self.complete else "abnormal"

    def matches(self, words: str, now: float, tz: datetime.tzinfo | None = None) -> bool:
        """Every word of `words` is in some column (even one too narrow a screen leaves out), or in the
        injected fault's label (`injected` finds them all)."""
        cells = list(self.cells(now, tz).values())
        if self.fault is not None:
            cells += ["injected", self.fault]
        haystack = "\n".join(cells).lower()
        return all(word in haystack for word in words.lower().split())


def client_text(client: dict[str, Any]) -> str:
    """The client in a word or two: the SDK's language and version, else the user agent's first word."""
    lang, version, agent = client.get("lang"), client.get("package_version"), client.get("user_agent")
    if lang:
        text = f"{lang} {version}" if version else str(lang)
    elif agent and str(agent).split():
        text = str(agent).split()[0]
    else:
        text = "-"
    return _cell(text)


def origin_text(flow: Flow) -> str:
    """The client in full (`Flow.client_text`) and the address it came from."""
    address = (flow.client or {}).get("address")
    return (flow.client_text or "an unnamed client") + (f" from {address}" if address else "")


def _cell(value: str) -> str:
    text = one_line(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}s" if value < 10 else f"{value:.1f}s" if value < 100 else f"{value:.0f}s"


class RowHook(Hook):
    """One flow's row, snapshotted on the server's thread each time its recorder says something."""

    def __init__(self, flow: Flow, book: FlowBook) -> None:
        self.flow = flow
        self.book = book
        self._row: FlowRow | None = None

    def first(self) -> FlowRow:
        """The flow's row before anything came back; the same row when asked again."""
        if self._row is None:
            flow, sent = self.flow, time.monotonic()
            self._row = FlowRow(
                id=flow.id,
                started=flow.started,
                client=client_text(flow.client or {}),
                method=_cell(flow.method),
                path=_cell(flow.path),
                model=_cell(short_model(flow.model) or "-"),
                sent=sent,
                quiet_since=sent,
                origin=_cell(origin_text(flow)),
                session_path=flow.recorder.session_path,
                stall_threshold=self.book.stall_threshold,
            )
            self.book.publish(self._row)
        return self._row

    def on_request(self, method: str, url: str) -> None:
        self.first()

    def on_response(self, state: StreamState) -> None:
        self._snapshot(state, running=True)

    def on_events(self, state: StreamState, events: list[Event]) -> None:
        self._snapshot(state, running=True)

    def on_attempt_end(self, attempt: Attempt) -> None:
        self._snapshot(attempt.state, running=False)

    def on_session_end(self, log: AttemptLog) -> None:
        if log.current is not None:
            self._snapshot(log.current.state, running=False)

    def _verdict(self, state: StreamState) -> str:
        if state.status is None:
            return "WAITING"
        return one_line(verdict_badge(state))

    def _snapshot(self, state: StreamState, running: bool) -> None:
        row = self.first()
        running = running and state.ended is None
        quiet = None
        if running and state.last_t is not None:
            quiet = row.sent + state.last_t - state.silence(state.last_t)
        model = row.model
        if model == "-" and isinstance(state.message.get("model"), str):
            model = _cell(short_model(state.message["model"]) or "-")
        fault, fired = self.flow.fault, self.flow.fault_fired
        self._row = replace(
            row,
            running=running,
            status=state.status,
            ttft=state.ttft,
            duration=state.end_t if state.end_t is not None else state.last_t,
            events=len(state.events),
            verdict=self._verdict(state),
            complete=None if running else state.complete,
            quiet_since=quiet if quiet is not None else row.quiet_since,
            model=model,
            fault=None if fault is None or not fired else _cell(fault),
            fault_unfired=None if fault is None or fired else _cell(fault),
            session_path=self.flow.recorder.session_path,
        )
        self.book.publish(self._row)


class FlowBook:
    """The rows of every flow so far; written on the server's thread, read from any other.

    Give the proxy `hooks_for` (a `RowHook` per flow) and `on_flow` (its first row)."""

    def __init__(self, stall_threshold: float) -> None:
        self.stall_threshold = stall_threshold
        self._lock = threading.Lock()
        self._rows: dict[str, FlowRow] = {}
        self._hooks: dict[str, RowHook] = {}
        self.version = 0
        """Grows with every change: a reader that saw this number has seen every row as it is."""

    def hooks_for(self, flow: Flow) -> Iterable[Hook]:
        hook = RowHook(flow, self)
        with self._lock:
            self._hooks[flow.id] = hook
        return [hook]

    def on_flow(self, flow: Flow) -> None:
        with self._lock:
            hook = self._hooks.pop(flow.id, None)
        if hook is not None:
            hook.first()

    def publish(self, row: FlowRow) -> None:
        with self._lock:
            self._rows[row.id] = row
            self.version += 1

    def rows(self) -> list[FlowRow]:
        """Every flow's latest row, newest first."""
        with self._lock:
            return list(reversed(self._rows.values()))

    def recorded(self) -> list[Path]:
        """The session files the flows were recorded in, oldest first."""
        with self._lock:
            return [row.session_path for row in self._rows.values() if row.session_path is not None]
