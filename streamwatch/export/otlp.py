"""Streams as OpenTelemetry traces, sent to the team's collector over OTLP/HTTP.

`Exporter` owns a `TracerProvider` of the official SDK (the `otel` extra: `opentelemetry-sdk` and
`opentelemetry-exporter-otlp-proto-http`, imported here only, when an export is asked for) and a
`BatchSpanProcessor`: spans are queued by the thread that records the stream and sent by the
processor's own thread, so a slow or dead collector never holds a stream up. `hook()` gives the
`Hook` (core/recorder.py) for one session; the same hook hears a live run, a proxied flow or a saved
session played again (`replay_attempts`: the backfill of `streamwatch export --format otlp`), and it
builds its spans from the facts the core computed (the attempt, its `StreamState` and verdict), never
from bytes.

The trace of a session, following the OpenTelemetry GenAI semantic conventions (the Anthropic page):

- one span per attempt, i.e. per stream: `chat {model}`, kind CLIENT, `gen_ai.provider.name`
  `anthropic`, the request's model and parameters, `server.address`/`server.port`, the response's model,
  id, finish reasons and usage (`gen_ai.usage.input_tokens` counts the cached input tokens too, as the
  convention says for Anthropic), `error.type` and status ERROR when the stream is not complete; and
  streamwatch's own facts under `streamwatch.*` (termination, TTFB, TTFT, bytes, events, stalls, the
  injected fault, the source, the client), with an event per stall, anomaly, error, and the end;
- its parent, one INTERNAL span per session (`session chat {model}`), from the first request to the
  last attempt's end, saying how many attempts it took, whether the answer is complete and why
  recovery stopped. The convention asks a GenAI span to cover automatic retries; streamwatch's
  attempts are each a stream with its own verdict and tokens paid, so each is the GenAI span, and
  the session groups them without repeating their usage (a backend that sums tokens counts each once).
  A retry or resume links to the attempt it replaces (a span link saying why); attempts made after
  the session span ended (the user pressed retry later) start a new session span linked to the first.

A saved session's ids are its own: the trace id and the session span's id are worked out from the
session header's `id`, `started`, `host` and `pid` and the place in the file of the span's first
attempt, each attempt's span id from the same and its place (`SessionIds`: the first attempt the
file holds is 1, also in a session that goes on from another, whose attempts go on numbering), and
the spans' times from its `started`. A re-export of a session, and the backfill of a session exported live, send the same
trace, with the same spans, which a backend takes as one. (A session not saved gets random ids.)

No prompt or answer text is sent unless `content` is asked for (`--otel-content`): then the request's
messages and system prompt and the answer go in `gen_ai.input.messages`, `gen_ai.system_instructions`
and `gen_ai.output.messages` (JSON strings in the convention's shape). Headers are never sent; the
request it reads is the recorded one, whose secrets were redacted when it was recorded.

A collector that refuses the spans or does not answer costs one warning (`on_warning`, or `warning`
once the exporter is closed); the SDK's own log lines are kept off the terminal (a screen may be
drawn on it). `close()` waits a bounded time for what is queued.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from streamwatch.core.attempts import Attempt, AttemptLog, Reason, how_it_failed
from streamwatch.core.diagnose import StreamState, Termination
from streamwatch.core.recorder import Hook
from streamwatch.core.recording import parse_time
from streamwatch.core.redact import split_url

INSTALL = "pip install 'streamwatch[otel]'"
TRACES_PATH = "/v1/traces"
FLUSH_SECONDS = 4.0
"""The longest `close()` waits for queued spans to be sent."""
SEND_TIMEOUT = 3.0
"""Each send, retries included, unless OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT says otherwise."""
SEND_EVERY_MS = 1000
"""How often the processor sends what has ended (the SDK's default is 5 s): a stream's spans reach the
collector about a second after it ends, and little is left to send at exit."""
PROVIDER = "anthropic"


class OtlpUnavailable(Exception):
    """The export cannot be set up (the extra is not installed, a bad URL); the message is one line."""


def traces_endpoint(url: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """Where spans go: `url` (--otlp) or the OpenTelemetry variables, as the specification reads them: the
    traces endpoint as it is, the generic one with `/v1/traces` appended; None when nothing says.
    OtlpUnavailable for a URL that is not http(s), or variables that ask for another protocol (gRPC)."""
    if url is None:
        protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        if protocol and protocol != "http/protobuf" and any(environ.get(f"OTEL_EXPORTER_OTLP{kind}_ENDPOINT")
                                                            for kind in ("", "_TRACES")):
            raise OtlpUnavailable(f"the OTLP protocol asked for is {protocol}: streamwatch sends http/protobuf "
                                  "only (OTLP/HTTP, a collector's port 4318)")
        traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or None
        generic = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
        if traces is None and generic is None:
            return None
        return _http(traces) if traces is not None else _with_traces_path(_http(generic))
    return _with_traces_path(_http(url))


def _http(url: str) -> str:
    """The URL as given, if it is an http(s) one with a host; OtlpUnavailable, quoting it, otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OtlpUnavailable(f"the OTLP endpoint must be an http:// or https:// URL (OTLP/HTTP), not {shown(url)!r}")
    return url


def _with_traces_path(url: str) -> str:
    """A collector's base URL with `/v1/traces` appended to its path (its query kept where it was)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return url if path.endswith(TRACES_PATH) else urlunsplit(parts._replace(path=path + TRACES_PATH))


def shown(url: str) -> str:
    """A URL as it may be said: no user or password, no query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url.partition("?")[0]


class Exporter:
    """The SDK set up to send spans to `endpoint` (see the module doc). OtlpUnavailable when the `otel`
    extra is not installed."""

    def __init__(self, endpoint: str, *, content: bool = False,
                 on_warning: Callable[[str], None] | None = None) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            raise OtlpUnavailable(f"sending to OpenTelemetry needs the otel extra: {INSTALL}") from None
        _quiet_sdk_logs()
        self.endpoint = endpoint
        self.content = content
        self.warning: str | None = None
        """Why spans were lost, once some were (one line)."""
        self.sent = 0
        self.lost = 0
        self._on_warning = on_warning
        self._lock = threading.Lock()
        timed = any(os.environ.get(f"OTEL_EXPORTER_OTLP{kind}_TIMEOUT") for kind in ("", "_TRACES"))
        self._sender = _Sender(OTLPSpanExporter(endpoint=endpoint, timeout=None if timed else SEND_TIMEOUT), self)
        self._processor = BatchSpanProcessor(self._sender, schedule_delay_millis=SEND_EVERY_MS)
        self.ids = SessionIds()
        self._provider = TracerProvider(resource=_resource(), id_generator=self.ids)
        self._provider.add_span_processor(self._processor)
        self.tracer = self._provider.get_tracer("streamwatch", _version())

    def hook(self, **facts: Any) -> SessionSpans:
        """The hook that makes one session's spans. `facts`: `source`, `client`, `upstream` (what the
        session header says)."""
        return SessionSpans(self, {f"streamwatch.{name}": value for name, value in facts.items()
                                   if isinstance(value, str) and value})

    def flush(self) -> None:
        """Send what is queued now, on this thread (a backfill, between sessions)."""
        self._processor.force_flush()

    def close(self, wait: float = FLUSH_SECONDS) -> None:
        """Send what is queued, waiting `wait` seconds at most (less when the collector already failed)."""
        closing = threading.Thread(target=self._provider.shutdown, name="streamwatch-otlp-close", daemon=True)
        closing.start()
        closing.join(min(wait, 0.5) if self.warning else wait)
        if closing.is_alive():
            self._sender.abort()

    def _sent(self, count: int, ok: bool) -> None:
        """On the processor's thread: a batch was sent, or lost."""
        with self._lock:
            if ok:
                self.sent += count
                return
            self.lost += count
            if self.warning is not None:
                return
            self.warning = (f"the OpenTelemetry collector at {shown(self.endpoint)} did not take the spans (not "
                            "running, or it refused them)")
        if self._on_warning is not None:
            self._on_warning(self.warning)


def _quiet_sdk_logs() -> None:
    """The SDK logs each failed send with a traceback on stderr (through logging's last resort), over any
    screen: its loggers get a handler that drops it; `Exporter` says it once instead."""
    logger = logging.getLogger("opentelemetry")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _resource() -> Any:
    """The SDK's resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), named `streamwatch` when they name nothing."""
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({"service.version": _version()})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "streamwatch"}))
    return resource


def _version() -> str:
    from streamwatch.export.source import streamwatch_version

    return streamwatch_version()


class _Sender:
    """The OTLP exporter as the processor calls it (duck-typed: the SDK is imported lazily), counting
    what it sent and what it lost, on the processor's thread."""

    def __init__(self, inner: Any, owner: Exporter) -> None:
        self._inner = inner
        self._owner = owner
        self._lock = threading.Lock()
        self._stopped = False

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            result = self._inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        self._owner._sent(len(spans), result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self.abort()

    def abort(self) -> None:
        """Stop sending: a send under way gives up its retries (the SDK's exporter shuts down once)."""
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class SessionIds:
    """The provider's id generator (duck-typed, as `_Sender`): the ids planned for the span that starts
    on this thread (`planned`), else random ones as the SDK's own generator makes them."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        self._random = RandomIdGenerator()
        self._local = threading.local()

    @contextmanager
    def planned(self, seed: str | None, span: str, trace: str | None = None) -> Iterator[None]:
        """Within it, a span started on this thread gets the span id `seed` (a session's, `session_seed`)
        makes with `span`, and, a root span, the trace id it makes with `trace`; random ones without a seed."""
        if seed is None:
            self._local.ids = None
        else:
            self._local.ids = (None if trace is None else _id(seed, trace, 128), _id(seed, span, 64))
        try:
            yield
        finally:
            self._local.ids = None

    def generate_trace_id(self) -> int:
        ids = getattr(self._local, "ids", None)
        return self._random.generate_trace_id() if ids is None or ids[0] is None else ids[0]

    def generate_span_id(self) -> int:
        ids = getattr(self._local, "ids", None)
        return self._random.generate_span_id() if ids is None else ids[1]

    def is_trace_id_random(self) -> bool:
        """A hash's bits are as uniform as random ones, which a ratio sampler needs."""
        return True


def session_seed(header: Mapping[str, Any]) -> str | None:
    """What names a saved session for good, from its header (None when it has no id)."""
    if not isinstance(header.get("id"), str):
        return None
    return json.dumps([header.get(key) for key in ("id", "started", "host", "pid")])


def _id(seed: str, what: str, bits: int) -> int:
    """A nonzero id of `bits` bits, the same for the same seed and `what` on every machine."""
    digest = hashlib.sha256(f"{seed}/{what}".encode()).digest()
    return int.from_bytes(digest[: bits // 8]) or 1


class SessionSpans(Hook):
    """One session's spans (see the module doc), made as its attempts end, on the recording's thread."""

    def __init__(self, exporter: Exporter, facts: dict[str, str]) -> None:
        self._exporter = exporter
        self._origin: int | None = None
        self._seed: str | None = None
        """What names the session (`session_seed`), its ids are made from; None: random ones."""
        self._ended = 0
        """The attempts of this session file that have ended: the place of the next in it, less one."""
        self._continues: Mapping[str, Any] = {}
        """The header's `continues`: the session this one goes on from (a retry or resume pressed in its replay)."""
        self._before = 0
        """The attempts before this file's that its attempts' numbers leave out: a replay of a file that goes
        on from another numbers them from 1, where the live run that wrote it went on numbering."""
        self._facts = facts
        self._session: Any = None
        self._session_end = 0
        self._earlier: Any = None
        """The span context of the session span that ended, which a later one links to."""
        self._spans: dict[int, Any] = {}
        """Each attempt's span context, by number: a retry or resume links to the one it replaces."""

    def on_header(self, header: Mapping[str, Any]) -> None:
        """The session's own ids and clock, and the facts the hook was not given: its header's (see
        the module doc)."""
        self._seed = session_seed(header)
        continues = header.get("continues")
        self._continues = continues if isinstance(continues, dict) else {}
        for name in ("source", "client", "upstream"):
            value = header.get(name)
            if isinstance(value, str) and value:
                self._facts.setdefault(f"streamwatch.{name}", value)
        started = header.get("started")
        moment = parse_time(started) if isinstance(started, str) else None
        if moment is not None:
            self._origin = int(moment.timestamp() * 1e9)

    def on_request(self, method: str, url: str) -> None:
        if self._origin is None:
            self._origin = time.time_ns()

    def on_attempt_end(self, attempt: Attempt) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import Link, SpanKind

        tracer = self._exporter.tracer
        self._ended += 1
        went_on = self._continues.get("attempt")
        if self._ended == 1 and attempt.reason is Reason.FIRST and isinstance(went_on, int):
            self._before = went_on
        recording = attempt.run.recording
        start = self._at(0.0 if recording is None else recording.started_t)
        state = attempt.state
        end = start + _ns(state.end_t if state.end_t is not None else state.last_t)
        if self._session is None:
            self._start_session(attempt, start)
        links = []
        replaced = self._spans.get(attempt.replaces) if attempt.replaces is not None else None
        if replaced is not None:
            links.append(Link(replaced, {"streamwatch.link.reason": attempt.reason.value}))
        with self._exporter.ids.planned(self._seed, f"attempt {self._ended}"):
            span = tracer.start_span(
                f"chat {_model(_sent(attempt))}", context=trace.set_span_in_context(self._session),
                kind=SpanKind.CLIENT, attributes=self._attributes(attempt), links=links, start_time=start,
            )
        for name, t, attributes in _events(state):
            span.add_event(name, attributes, timestamp=start + _ns(t))
        if not state.complete:
            _failed(span, state)
        span.end(end_time=max(start, end))
        self._spans[attempt.number] = span.get_span_context()
        self._session_end = max(self._session_end, end)

    def on_session_end(self, log: AttemptLog) -> None:
        session = self._session
        if session is None:
            return
        current = log.current
        session.set_attributes(_clean({
            "streamwatch.session.attempts": len(log.attempts) + self._before,
            "streamwatch.session.complete": log.complete,
            "streamwatch.session.stopped": log.stopped,
            "streamwatch.on_failure": log.on_failure if log.on_failure != "none" else None,
        }))
        if current is not None and not log.complete:
            _failed(session, current.state)
        session.end(end_time=self._session_end)
        self._earlier, self._session = session.get_span_context(), None

    # ----- the spans' facts -------------------------------------------------------------------

    def _at(self, seconds: float) -> int:
        """A time of the session's clock as nanoseconds since the epoch."""
        if self._origin is None:
            self._origin = time.time_ns()
        return self._origin + _ns(seconds)

    def _start_session(self, attempt: Attempt, start: int) -> None:
        from opentelemetry.context import Context
        from opentelemetry.trace import Link, SpanKind

        links = [] if self._earlier is None else [Link(self._earlier, {"streamwatch.link.reason": "continued"})]
        self._session_end = start
        first = self._ended
        with self._exporter.ids.planned(self._seed, f"session {first}", trace=f"trace {first}"):
            self._session = self._exporter.tracer.start_span(
                f"session chat {_model(_sent(attempt))}", context=Context(), kind=SpanKind.INTERNAL,
                attributes=_clean({**_request_attributes(attempt), **self._facts}), links=links, start_time=start,
            )

    def _attributes(self, attempt: Attempt) -> dict[str, Any]:
        state, verdict = attempt.state, attempt.verdict
        message = state.message
        stalls = state.stalls
        session = None if verdict is None or verdict.session is None else Path(verdict.session).name
        cached = [n for n in (state.cache_read_tokens, state.cache_creation_tokens) if n is not None]
        attributes = {
            **_request_attributes(attempt),
            "gen_ai.response.model": message.get("model"),
            "gen_ai.response.id": message.get("id"),
            "gen_ai.response.finish_reasons": [state.stop_reason] if state.stop_reason else None,
            "gen_ai.response.time_to_first_chunk": _seconds(state.ttfb),
            "gen_ai.usage.input_tokens": None if state.input_tokens is None else state.input_tokens + sum(cached),
            "gen_ai.usage.output_tokens": state.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": state.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens": state.cache_creation_tokens,
            "http.response.status_code": state.status,
            "error.type": None if state.complete else _error_type(state),
            "streamwatch.termination": None if state.termination is None else state.termination.value,
            "streamwatch.complete": state.complete,
            "streamwatch.ttfb": _seconds(state.ttfb),
            "streamwatch.ttft": _seconds(state.ttft),
            "streamwatch.duration": _seconds(state.end_t if state.end_t is not None else state.last_t),
            "streamwatch.bytes": state.bytes_received,
            "streamwatch.events": len(state.events),
            "streamwatch.stalls": len(stalls),
            "streamwatch.stall.longest": _seconds(max((s.seconds for s in stalls), default=None)),
            "streamwatch.anomalies": len(state.anomalies),
            "streamwatch.fault": state.fault,
            "streamwatch.fault_unfired": state.fault_unfired,
            "streamwatch.sdk.raised": (state.sdk or {}).get("raised"),
            "streamwatch.session.file": session,
            **self._numbers(attempt),
            **self._facts,
        }
        if self._exporter.content:
            attributes.update(_content(attempt))
        return _clean(attributes)


    def _numbers(self, attempt: Attempt) -> dict[str, Any]:
        """Its number, why it was sent and what it replaces, counted across the sessions it goes on from
        (the first attempt of a file that goes on from another is the retry or resume its header says)."""
        reason = attempt.reason.value
        strategy = None if attempt.strategy is None else attempt.strategy.value
        replaces = None if attempt.replaces is None else attempt.replaces + self._before
        if self._before and attempt.reason is Reason.FIRST:
            reason, strategy, replaces = self._continues.get("reason"), self._continues.get("strategy"), self._before
        return {
            "streamwatch.attempt.number": attempt.number + self._before,
            "streamwatch.attempt.reason": reason,
            "streamwatch.attempt.strategy": strategy,
            "streamwatch.attempt.replaces": replaces,
        }


def _request_attributes(attempt: Attempt) -> dict[str, Any]:
    """What the request says, known when it is sent (what a sampler may look at)."""
    request = attempt.request or {}
    body = _sent(attempt)
    url = split_url(request.get("url"))
    try:
        port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    except ValueError:
        port = None
    stops = body.get("stop_sequences")
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": _model(body),
        "gen_ai.request.stream": body.get("stream") is True,
        "gen_ai.request.max_tokens": _number(body.get("max_tokens"), int),
        "gen_ai.request.temperature": _number(body.get("temperature"), float),
        "gen_ai.request.top_p": _number(body.get("top_p"), float),
        "gen_ai.request.top_k": _number(body.get("top_k"), float),
        "gen_ai.request.stop_sequences": [s for s in stops if isinstance(s, str)] if isinstance(stops, list) else None,
        "server.address": url.hostname,
        "server.port": port if url.hostname else None,
    }


def _sent(attempt: Attempt) -> Mapping[str, Any]:
    """The request body as recorded (secrets redacted), live as from a file; empty before it was sent."""
    body = (attempt.request or {}).get("body")
    return body if isinstance(body, dict) else {}


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) and model else "unknown"


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes without the facts that are not known (OpenTelemetry takes no null)."""
    return {key: value for key, value in attributes.items() if value is not None}


def _seconds(value: float | None) -> float | None:
    """Seconds to the microsecond the recording keeps: a later attempt's times, read back from a file as
    differences of session times, are then the very values its live export sent."""
    return None if value is None else round(value, 6)


def _ns(seconds: float | None) -> int:
    return 0 if seconds is None else max(0, round(seconds * 1e9))


def _error_type(state: StreamState) -> str:
    """How a stream failed, in a low-cardinality word: the API's error type, the HTTP status, the SDK's
    exception, else streamwatch's termination (`eof`: the body ended early without an error) or the damage."""
    termination = state.termination
    error = state.error or state.end_error or {}
    kind = error.get("type")
    if termination is Termination.HTTP_ERROR:
        return kind if isinstance(kind, str) and not kind.startswith("http_") else str(state.status)
    if isinstance(kind, str) and kind:
        return kind
    if termination is Termination.MESSAGE_STOP and state.damage:
        return state.damage[0].code
    return "_OTHER" if termination is None else termination.value


def _failed(span: Any, state: StreamState) -> None:
    from opentelemetry.trace import Status, StatusCode

    if state.termination is Termination.MESSAGE_STOP and state.damage:
        why = f"damaged: {state.damage[0].message}"
    else:
        why = how_it_failed(state)
    span.set_attribute("error.type", _error_type(state))
    span.set_status(Status(StatusCode.ERROR, why))


def _events(state: StreamState) -> list[tuple[str, float | None, dict[str, Any]]]:
    """The span's events: (name, seconds into the attempt, attributes), in the order they happened."""
    end = state.end_t if state.end_t is not None else state.last_t
    found: list[tuple[str, float | None, dict[str, Any]]] = []
    for stall in state.stalls:
        found.append(("streamwatch.stall", stall.start, {
            "streamwatch.stall.seconds": _seconds(stall.seconds), "streamwatch.stall.after_event": stall.after_event,
            "streamwatch.stall.pings": stall.pings,
        }))
    for anomaly in state.anomalies:
        if anomaly.code == "stall":
            continue
        found.append(("streamwatch.anomaly", _event_time(state, anomaly.at_event, end), _clean({
            "streamwatch.anomaly.code": anomaly.code, "streamwatch.anomaly.message": anomaly.message,
            "streamwatch.anomaly.event": anomaly.at_event,
        })))
    error = state.error or state.end_error
    if error:
        found.append(("streamwatch.error", _event_time(state, state.error_at, end), _clean({
            "error.type": _error_type(state), "streamwatch.error.message": error.get("message") or None,
            "streamwatch.error.event": state.error_at,
        })))
    termination = state.termination
    found.append(("streamwatch.end", end, _clean({
        "streamwatch.termination": None if termination is None else termination.value,
        "streamwatch.complete": state.complete, "streamwatch.stop_reason": state.stop_reason,
    })))
    found.sort(key=lambda item: -1.0 if item[1] is None else item[1])
    return found


def _event_time(state: StreamState, seq: int | None, otherwise: float | None) -> float | None:
    if seq is None or not 1 <= seq <= len(state.events):
        return otherwise
    t = state.events.time(seq - 1)
    return otherwise if t is None else t


# ----- content, only when asked for (--otel-content) ------------------------------------------

def _content(attempt: Attempt) -> dict[str, str]:
    """The request's messages and system prompt and the answer, as the convention's JSON strings."""
    body, state = _sent(attempt), attempt.state
    out: dict[str, str] = {}
    messages = body.get("messages")
    if isinstance(messages, list):
        out["gen_ai.input.messages"] = _json([
            {"role": str(m.get("role")), "parts": _parts(m.get("content"))} for m in messages if isinstance(m, dict)
        ])
    system = body.get("system")
    if system:
        out["gen_ai.system_instructions"] = _json(_parts(system))
    finish = state.stop_reason or (state.termination.value if state.termination else "unknown")
    answer = [_output_part(block) for block in state.blocks.values()]
    out["gen_ai.output.messages"] = _json([{"role": "assistant", "parts": answer, "finish_reason": finish}])
    return out


def _parts(content: Any) -> list[dict[str, Any]]:
    """A Messages API content (a string, or blocks) as the convention's message parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": block.get("thinking", "")})
        elif kind in ("tool_use", "server_tool_use"):
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name"),
                          "arguments": block.get("input")})
        elif kind == "tool_result":
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id"),
                          "result": block.get("content")})
        else:
            parts.append({"type": str(kind)})
    return parts


def _output_part(block: Any) -> dict[str, Any]:
    if block.type == "text":
        return {"type": "text", "content": block.text}
    if block.type == "thinking":
        return {"type": "reasoning", "content": block.thinking_text}
    if block.type in ("tool_use", "server_tool_use"):
        arguments = block.input if block.complete and block.input_error is None else block.json_text
        return {"type": "tool_call", "id": block.start.get("id"), "name": block.name, "arguments": arguments}
    return {"type": block.type}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
