"""One session as it is recorded: the clock, the redaction, and the fan-out of every fact to its sinks.

A source (the SDK tap in core/live.py; the recording proxy, when it comes) drives a `Recorder` with what it sees
of each HTTP exchange, as it happens: `request` (the first starts the session, each later one is
another attempt of it, with the `link` facts saying why it was made), `response` (the head),
`chunk` (body bytes as they came off the socket), `fault_fired` (the fault the header says fired:
the proxy's), `end` (how the body ended, and what the client raised), and, after an attempt, `stop`
(why recovery did not go on). The recorder owns the clocks
(monotonic: the session's, from its first request, and the attempt's, from its own) and passes
every fact through `core/redact.py` where it enters (the request as sent, the response headers, the
body through one `BodyScrubber` per response, so a secret split across reads or the model's content
deltas is caught whole (what it holds back is recorded later, at the time it came), and
error messages), then hands it, in this order, to the sinks:

- the in-memory `Recording` of the attempt;
- the session file (`SessionWriter`), when saving: the same records, one line each, on disk when
  the call returns;
- the attempt's `StreamState` (decoding, diagnosis, verdict);
- the hooks, told on the source's thread: `on_header` (the session file's header, once written),
  `on_request`, `on_response`, `on_events` (the events each chunk completed, maybe none);
- when saving, the session index (core/index.py): the session's row, made from the attempts'
  states each time the session ends (`on_session_end`), so nothing reads the file again to list it,
  and written there or by the thread `index_later` hands it to.

A `Hook` is anything that listens to a session: the headless printer, the run screen's watch, the
recovery observers, the exporters to come. Its other two calls come from whoever knows attempts:
`on_attempt_end` (an `Attempt` with its verdict: core/recovery.py live, a replay from a file, or
`Recorder.finish` for a source that sends one attempt per session, the proxy) and
`on_session_end` (the `AttemptLog`: recovery goes no further by itself; a retry the user asks for
later makes more calls). A replay of a saved session (`core/playback.replay_attempts`) fires the same
calls from the file, as loading a flow file in mitmproxy replays it through the live add-ons.

`Hooks` is the ordered list they are called through: each call goes to every hook in turn. A hook
that raises (an Exception) is dropped from the list, so it sees nothing more of the session, and
one line saying so is kept in `Hooks.failures`; the recording, the state and the other hooks go on
as if it had never been there. (A hook that half-sees a stream would show something false.)

Threads: one source thread calls everything but `now()`, which any thread may read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from streamwatch.core.attempts import Attempt, AttemptLog
from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.events import Event
from streamwatch.core.index import note_session
from streamwatch.core.recording import Recording, SessionWriter
from streamwatch.core.redact import Redactor


class Hook:
    """Told about a session's progress, on the thread that records it. Override what you need."""

    def on_header(self, header: Mapping[str, Any]) -> None:
        """The session file's header, as written (before the first `on_request`; a session not saved has
        none) or read (a replay): what names the session (`id`, `started`, `host`)."""

    def on_request(self, method: str, url: str) -> None:
        """A request is being sent (again, for each attempt); `url` redacted."""

    def on_response(self, state: StreamState) -> None:
        """The response head arrived (`state.status`, `state.headers`)."""

    def on_events(self, state: StreamState, events: list[Event]) -> None:
        """A body chunk arrived; `events` are the events it completed (maybe none)."""

    def on_attempt_end(self, attempt: Attempt) -> None:
        """The attempt finished: `verdict`, `repaid` and `answer` are final."""

    def on_session_end(self, log: AttemptLog) -> None:
        """Recovery goes no further by itself (`log.stopped` says why, if the answer is not complete)."""


class Hooks:
    """Hooks called in order; one that raises is dropped (see the module doc)."""

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self._hooks = list(hooks)
        self.failures: list[str] = []
        """One line per hook dropped: which, in which call, what it raised (not redacted)."""

    def __bool__(self) -> bool:
        """Whether any hook is listening (a stream's chunks skip the calls when none is)."""
        return bool(self._hooks)

    def fire(self, name: str, *args: Any) -> None:
        """Call `name` on every hook that has it, in order."""
        for hook in list(self._hooks):
            method = getattr(hook, name, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception as exc:
                self._hooks.remove(hook)
                self.failures.append(f"{type(hook).__name__}.{name} raised {type(exc).__name__}: {exc}; dropped")

    def add(self, hook: Hook) -> None:
        """Call `hook` too, after the others."""
        self._hooks.append(hook)


class _IndexRow(Hook):
    """The saved session's row in the session index (core/index.py), written each time it ends."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def on_session_end(self, log: AttemptLog) -> None:
        recorder = self._recorder
        if recorder.session_path is not None and recorder.session_header is not None:
            note_session(recorder.session_path, recorder.session_header, log.attempts, recorder.stall_threshold,
                         recorder.index_later)


class Recorder:
    """One session's recording, attempt after attempt; see the module doc.

    `save`: write the session file (in `directory`, else the sessions folder), whose header says
    `source` and `header` (more facts: the client, `on_failure`, and `fault`, what the first attempt has
    injected on purpose, which its state and recording say too). `redactor`: one that already knows
    the session's secrets (a source that shows facts of the request before it is recorded).
    `index_later`: where the index row is written when the session ends (a source whose thread must
    never wait on the database hands it to a thread of its own); by default, here."""

    def __init__(
        self,
        *,
        stall_threshold: float,
        hooks: Hooks | Iterable[Hook] = (),
        save: bool = True,
        source: str = "live",
        directory: Path | None = None,
        header: Mapping[str, Any] | None = None,
        redactor: Redactor | None = None,
        index_later: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        self.stall_threshold = stall_threshold
        self.index_later = index_later
        """Who writes the session's index row (see core/index.py `note_session`); None: this thread."""
        self.hooks = hooks if isinstance(hooks, Hooks) else Hooks(hooks)
        if save:
            self.hooks.add(_IndexRow(self))
        self.redactor = redactor or Redactor()
        self._header = dict(header or {})
        self._fault = self._header.get("fault")
        """What the first attempt has injected on purpose (the header's `fault`), which its state and recording say."""
        self.state = StreamState(stall_threshold, self._fault)
        """The current attempt's state (a new one for each attempt after the first)."""
        self.recording: Recording | None = None
        """The current attempt as the session file holds it, kept in memory even with `save=False`."""
        self.session_path: Path | None = None
        self.session_header: dict[str, Any] | None = None
        """The session file's header, as written."""
        self._save = save
        self._source = source
        self._directory = directory
        self._writer: SessionWriter | None = None
        self._scrubber = self.redactor.body_scrubber()
        self._session_t0: float | None = None
        self._attempt_t0 = 0.0
        self._chunk_t = 0.0

    def now(self) -> float | None:
        """Seconds since the current attempt was sent (None before the first is), on the state's clock."""
        return None if self._session_t0 is None else time.monotonic() - self._attempt_t0

    # ----- what the source reports (on its thread) --------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: Any,
        link: Mapping[str, Any] | None = None,
    ) -> None:
        """A request goes out: the session's first, or another attempt (`link`: why it was made; none
        for one the client made by itself, a redirect). The attempt before it must have ended."""
        now = time.monotonic()
        self._attempt_t0 = now  # first of all: `now()` is read from other threads
        headers = list(headers)
        self.redactor.learn(url, headers, body)
        recorded = self.redactor.request(method, url, headers, body)
        first = self._session_t0 is None
        if first:
            self._session_t0 = now
        else:
            self.state = StreamState(self.stall_threshold)
        facts = {} if first else dict(link or {})
        t = round(now - self._session_t0, 6)
        self.recording = Recording(request=recorded, started_t=t, link=facts, fault=self._fault if first else None)
        self._chunk_t = 0.0
        self._scrubber = self.redactor.body_scrubber()
        if first and self._save:
            self._writer = SessionWriter.create(self._source, recorded, directory=self._directory, **self._header)
            self.session_path, self.session_header = self._writer.path, self._writer.header
            self.hooks.fire("on_header", self.session_header)
        elif not first and self.session_path is not None:
            self._writer = SessionWriter.reopen(self.session_path)
            self._writer.attempt(recorded, t, **facts)
        self.hooks.fire("on_request", method, recorded["url"])

    def response(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        t = self.t()
        redacted = self.redactor.headers(headers)
        self._scrubber = self.redactor.body_scrubber(redacted.get("content-encoding"), redacted.get("content-type"))
        self.state.response(status, redacted, request=None if self.recording is None else self.recording.request)
        for sink in self._sinks():
            sink.response(status, redacted, self._session_t(t))
        self.hooks.fire("on_response", self.state)

    def chunk(self, data: bytes, t: float | None = None) -> list[Event]:
        """Body bytes as they came (at `t` on the attempt's clock, if that is not now); the events they completed."""
        t = self._chunk_t = self.t() if t is None else t
        return self._pass(self._scrubber.feed(data, t))

    def end(
        self,
        kind: End,
        error: dict[str, Any] | None = None,
        *,
        sdk: dict[str, Any] | None = None,
        t: float | None = None,
        fault_fired: bool | None = None,
    ) -> None:
        """The body ended as `kind` (at `t` on the attempt's clock, if it is not now); `error` and what
        the client raised (`sdk`, see `live.sdk_outcome`) are redacted here; `fault_fired`: whether the
        fault the header says fired (the source that injects it knows). The attempt is closed."""
        if self._session_t0 is None:
            return
        held = self._scrubber.flush()
        if held:  # what the scrubber held until the end, as one more read
            self._pass(held)
        t = self.t() if t is None else t
        if error is not None and isinstance(error.get("message"), str):
            error = {**error, "message": self.redactor.message(error["message"])}
        if sdk is not None:
            sdk = {**sdk, "chain": [self.redactor.message(line) for line in sdk["chain"]]}
            for key in ("raised", "seen"):
                if sdk[key] is not None:
                    sdk[key] = self.redactor.message(sdk[key])
        self.state.end(kind, t, error, sdk=sdk, fault_fired=fault_fired)
        extra: dict[str, Any] = {} if sdk is None else {"sdk": sdk}
        if fault_fired is not None:
            extra["fault_fired"] = fault_fired
        for sink in self._sinks():
            sink.end(kind, self._session_t(t), error, **extra)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def fault_fired(self) -> None:
        """The fault the header says (`fault`) fired, now: recorded at once, as a chunk is, so the file
        says it even when the source dies before `end` (killed). The source records the chunks it
        passed on before it first."""
        t = self._chunk_t = self.t()  # what the scrubber holds back goes after it, at the end, not before
        for sink in self._sinks():
            sink.fault_fired(self._session_t(t))

    def finish(self) -> AttemptLog:
        """For a source that makes one attempt per session and recovers nothing itself (the proxy),
        once the attempt has ended: its `Attempt` and `AttemptLog`, built as a replay builds them from
        the file (`AttemptLog.record`), told to the hooks (`on_attempt_end`, `on_session_end`)."""
        assert self.recording is not None and self.state.ended is not None, "finish() comes after end()"
        log = AttemptLog()
        attempt = log.record(self.recording, self)
        log.finish(attempt, self.state.verdict(session=None if self.session_path is None else str(self.session_path)))
        self.hooks.fire("on_attempt_end", attempt)
        self.hooks.fire("on_session_end", log)
        return log

    def stop(self, why: str) -> None:
        """Note, after an attempt, why recovery does not go on from it: in its recording and its file."""
        if self.recording is None:
            return
        why = self.redactor.message(why)
        self.recording.stop(why)
        if self.session_path is not None:
            try:
                with SessionWriter.reopen(self.session_path) as writer:
                    writer.stop(why, self._session_t(self.t()))
            except OSError:
                pass  # the file was removed since the attempt ended: the screen still says why

    # ----- the clock and the sinks ------------------------------------------------------------

    def t(self) -> float:
        """Now on the attempt's clock, to the microsecond the session file keeps, so a replay matches."""
        return round(time.monotonic() - self._attempt_t0, 6)

    def _session_t(self, t: float) -> float:
        return round(self._attempt_t0 - (self._session_t0 or 0.0) + t, 6)

    def _pass(self, pieces: list[tuple[bytes, float]]) -> list[Event]:
        """The scrubbed pieces of what was read (what the scrubber held before among them, each at
        the time it came) delivered, and told to the hooks once (`on_events`); the events they completed."""
        events = [event for piece, at in pieces for event in self._deliver(piece, at)]
        if self.hooks:
            self.hooks.fire("on_events", self.state, events)
        return events

    def _deliver(self, data: bytes, t: float) -> list[Event]:
        """Scrubbed body bytes (maybe none: the scrubber may hold a chunk back) to the recording, the
        file and the state; the events they completed."""
        if not data:
            return []
        session_t = self._session_t(t)
        if self.recording is not None:
            self.recording.chunk(data, session_t)
        if self._writer is not None:
            self._writer.chunk(data, session_t)
        return self.state.chunk(data, t)

    def _sinks(self) -> list[Recording | SessionWriter]:
        """Where each fact is recorded: the in-memory recording of this attempt, and the file if saving."""
        sinks: list[Recording | SessionWriter] = [] if self.recording is None else [self.recording]
        return sinks if self._writer is None else [*sinks, self._writer]
