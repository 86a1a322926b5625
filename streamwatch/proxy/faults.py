"""Faults injected into real traffic by the recording proxy: `--fault SPEC`, and one armed from the flows view.

A spec names one fault, then, after `@`, which requests it hits (any number of selectors):

    cut:events=N              N whole events, then half of the next one, then the connection is cut
    cut:bytes=N               N bytes of the body, then the connection is cut
    end:events=N              N whole events, then the body ends cleanly (no error, no message_stop)
    end:tool_use              the body ends cleanly inside the next tool-use block, after the first
                              piece of its input JSON
    error:TYPE[,events=N]     an `event: error` of TYPE (overloaded_error, api_error, ...) after N
                              events (default: after the first content delta), then the body ends
    stall:S[,pings[=P]][,events=N]
                              S seconds of silence after N events (default: after the first content
                              delta), or with a `ping` every P seconds (default 3) meanwhile; then
                              the rest of the stream
    status:CODE[,retry-after=S]
                              answered here with the API's error for CODE (429, 529, 500, ...; 429 and
                              529 with `retry-after` and `retry-after-ms`, as the mock's http_429 and
                              http_529), the upstream never contacted
    buffer                    the whole answer held back, then sent at once

    @every                    every request (the default)
    @nth=N                    only the Nth request the fault's other selectors let through
    @fraction=F[,seed=S]      each request with probability F (0 < F <= 1); a seed makes the
                              choice repeatable
    @model=GLOB               only requests for a model matching GLOB (`*` for any characters)
    @path=GLOB                only requests to a path (without its query) matching GLOB

e.g. `cut:events=40@model=claude-sonnet-*@nth=2`, `status:429,retry-after=7@fraction=0.2,seed=7`.

The faults on events act on SSE event boundaries, counted as `streamwatch analyze` counts them
(every event, pings too, decoded by core/sse.py), of the identity-encoded body: their plans ask the
upstream for `accept-encoding: identity`. They apply to streaming requests only; `cut:bytes` and
`status` to any. With several faults, each counts the requests its selectors let through, and the
first that picks a request injects into it; a fault armed with `arm` comes before them, once.

A `FaultPlan` is what the proxy applies to one request (see streamwatch/proxy/app.py):
`label` (recorded in the session header as `fault`), `response()` (an answer made here: the fault
fired), `upstream_headers()` and `body(chunks, fired)` (wraps the upstream body: sleeps, inserts
events, ends early or raises `StreamCut`, and calls `fired()` first, the moment it changes the
body). A stream that ends before the point where its fault fires passes through as it came, and
`fired` is never called: the proxy records that the fault did not fire, and the flow is an ordinary
one. A plan is shared by every request it picks, so what happened to one request is never kept on it.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from typing import Any, Protocol

from streamwatch.core.events import DeltaType, EventType, count_text, delta_payload, parse_event
from streamwatch.core.sse import SSEDecoder, SSEEvent
from streamwatch.mock.events import error_body, ping, sse
from streamwatch.mock.scenarios import SCENARIOS, ErrorEvent, HttpError
from streamwatch.server import StreamCut

DEFAULT_PING_EVERY = 3.0
"""Seconds between the pings of `stall:S,pings`, as the mock spaces its pings."""
MAX_SECONDS = 86_400.0
"""The longest stall or ping interval a spec may ask for."""
_MOCK_HTTP = {s.fault.status: s.fault for s in SCENARIOS.values() if isinstance(s.fault, HttpError)}
_MOCK_EVENTS = {s.fault.error_type: s.fault for s in SCENARIOS.values() if isinstance(s.fault, ErrorEvent)}

STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "There was an issue with the format or content of your request."),
    401: ("authentication_error", "There's an issue with your API key."),
    402: ("billing_error", "There's an issue with your billing or payment information."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource was not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Your account has hit a rate limit."),
    500: ("api_error", "An unexpected error has occurred internal to Anthropic's systems."),
    504: ("timeout_error", "Request timed out while processing."),
    529: ("overloaded_error", "The API is temporarily overloaded."),
} | {status: (fault.error_type, fault.message) for status, fault in _MOCK_HTTP.items()}
"""The Messages API's error for each HTTP status it documents; 429 and 529 as the mock answers them."""
DEFAULT_RETRY_AFTER = {status: math.ceil(fault.retry_after) for status, fault in _MOCK_HTTP.items()}
"""`retry-after` (seconds) of a status fault that does not say: the mock's http_429 and http_529's."""
ERROR_MESSAGES = {error_type: message for error_type, message in STATUS_ERRORS.values()} | {
    error_type: fault.message for error_type, fault in _MOCK_EVENTS.items()
}
"""The message of an `error` event of each type; overloaded_error and api_error as the mock sends them."""


class Request(Protocol):
    """What a fault's selectors look at: the proxy's `Flow` has these."""

    @property
    def model(self) -> str | None: ...

    @property
    def path(self) -> str: ...

    @property
    def stream(self) -> bool: ...


class FaultPlan:
    """One fault as applied to one request; this base passes everything through untouched."""

    label: str
    """What was injected, in a few words starting `injected:` (the session header's `fault`)."""
    streams_only = True
    """Applies only to a request that asks for a stream."""

    def response(self) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """An answer made here, without contacting the upstream; None to forward the request."""
        return None

    def upstream_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The request headers to send upstream: asking for identity bytes, which the body counts in."""
        kept = [(name, value) for name, value in headers if name.lower() != "accept-encoding"]
        return [*kept, ("accept-encoding", "identity")]

    async def body(self, chunks: AsyncIterator[bytes], fired: Callable[[], None]) -> AsyncIterator[bytes]:
        """The body as the client gets it; `fired()` is called when the fault changes it, if it does."""
        async for chunk in chunks:
            yield chunk


class Then(Enum):
    """What becomes of the body at a fault's point."""

    CUT = "cut"
    """The connection is cut (`StreamCut`) half-way through the next event."""
    END = "end"
    """The body ends cleanly."""
    GO_ON = "go on"
    """The rest of the body follows as it comes."""


@dataclass(frozen=True)
class Point:
    """Where in a stream a fault fires: once `events` whole events are through, or else once the first
    event `first` names is through ("content": a content delta; "tool_use": an input JSON delta that
    carries some JSON, which only a tool-use block streams)."""

    events: int | None = None
    first: str = "content"

    def reached(self, raw: SSEEvent, seq: int) -> bool:
        if self.events is not None:
            return seq >= self.events
        event = parse_event(raw, seq)
        if event.type != EventType.CONTENT_BLOCK_DELTA:
            return False
        return self.first != "tool_use" or (event.delta_type == DeltaType.INPUT_JSON and delta_payload(event) != "")

    def words(self) -> str:
        if self.events is not None:
            return f"after {count_text(self.events, 'event')}"
        return "inside the next tool_use block" if self.first == "tool_use" else "after the first content"


@dataclass(frozen=True)
class PointFault(FaultPlan):
    """A fault that fires at a point of the stream: the body before it passes through untouched, then
    (after `pause` seconds, with a ping every `ping_every` seconds if set) an `error` event of that type
    if any, then the body goes as `then` says."""

    label: str
    point: Point
    then: Then
    pause: float = 0.0
    ping_every: float | None = None
    error: str | None = None

    async def body(self, chunks: AsyncIterator[bytes], fired: Callable[[], None]) -> AsyncIterator[bytes]:
        reader = _read(chunks)
        try:
            rest, later = b"", []
            if self.point.events != 0:
                async for chunk, done in reader:
                    found = next((i for i, (raw, seq, _) in enumerate(done) if self.point.reached(raw, seq)), None)
                    if found is None:
                        yield chunk
                        continue
                    at = done[found][2]
                    if at:
                        yield chunk[:at]
                    rest, later = chunk[at:], [(raw, end - at) for raw, _, end in done[found + 1:]]
                    break
                else:
                    return  # the body ended before the point: it went through as it came
            if self.then is Then.CUT:
                held = [rest]
                try:
                    later = await _until_whole(held, later, reader)
                except Exception:
                    if any(held):
                        yield b"".join(held)  # the body broke first: what came goes, then the same break
                    raise
                body = b"".join(held)
                if not later:  # the body ended before the next event was whole: as it came
                    if body:
                        yield body
                    return
                raw, end = later[0]
                half = end - len(raw.raw) + len(raw.raw) // 2
                fired()
                if half:
                    yield body[:half]
                raise StreamCut(self.label)
            fired()
            if self.pause and self.then is Then.GO_ON:
                late, pulling = _late(chunks, self.pause)  # read from the stall on: each chunk keeps its pace
                try:
                    async for beat in _pause(self.pause, self.ping_every):
                        yield beat
                    if self.error is not None:
                        yield _error_event(self.error)
                    if rest:
                        yield rest
                    async for chunk in late:
                        yield chunk
                finally:
                    pulling.cancel()  # the app left, or the proxy stopped, during the stall too
                return
            async for beat in _pause(self.pause, self.ping_every):
                yield beat
            if self.error is not None:
                yield _error_event(self.error)
            if self.then is Then.END:
                return
            if rest:
                yield rest
            async for chunk in chunks:
                yield chunk
        finally:
            await reader.aclose()


def _late(chunks: AsyncIterator[bytes], seconds: float) -> tuple[AsyncIterator[bytes], asyncio.Task[None]]:
    """The rest of the body `seconds` late, as after a stall upstream: read from now on (what upstream
    sends meanwhile waits, with the time it came), each chunk (or break) passed on at the time it
    came plus `seconds`. Passed on as soon as the stall ended, what piled up would arrive as one
    burst, the mark of a buffering proxy, which the stall is not. With the task reading upstream,
    which the caller cancels when it is done."""
    loop = asyncio.get_running_loop()
    came: asyncio.Queue[tuple[float, bytes | BaseException | None]] = asyncio.Queue()

    async def pull() -> None:
        try:
            async for chunk in chunks:
                came.put_nowait((loop.time() + seconds, chunk))
        except Exception as exc:
            came.put_nowait((loop.time() + seconds, exc))
        else:
            came.put_nowait((loop.time() + seconds, None))

    pulling = loop.create_task(pull())

    async def passed_on() -> AsyncIterator[bytes]:
        while True:
            due, what = await came.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if what is None:
                return
            if isinstance(what, BaseException):
                raise what
            yield what

    return passed_on(), pulling


async def _until_whole(
    held: list[bytes], later: list[tuple[SSEEvent, int]], reader: AsyncIterator[tuple[bytes, list[tuple[SSEEvent, int, int]]]]
) -> list[tuple[SSEEvent, int]]:
    """Read on into `held` until it completes an event (`later`, the events the held bytes complete
    so far, each with where it ends in them); those events, none if the body ended first. Holding
    the event back until it is whole puts a cut in the same place however the body was chunked."""
    size = sum(map(len, held))
    while not later:
        step = await anext(reader, None)
        if step is None:
            return later
        chunk, done = step
        later = [(raw, size + end) for raw, _, end in done]
        held.append(chunk)
        size += len(chunk)
    return later


async def _read(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[bytes, list[tuple[SSEEvent, int, int]]]]:
    """Each chunk with the events it completes: each event, its number in the stream (from 1, pings
    too, as `streamwatch analyze` numbers them) and where it ends in the chunk."""
    decoder = SSEDecoder()
    seq = offset = 0
    async for chunk in chunks:
        done = []
        for raw in decoder.feed(chunk):
            seq += 1
            done.append((raw, seq, raw.offset + len(raw.raw) - offset))
        offset += len(chunk)
        yield chunk, done


async def _pause(seconds: float, ping_every: float | None) -> AsyncIterator[bytes]:
    """Wait `seconds`, sending a ping every `ping_every` seconds meanwhile if set, none at the end
    (`stall:0.6,pings=0.2`: two). The pings are counted, not found by adding up times: 0.2 added
    three times to a clock's reading (uvloop's, in milliseconds) falls short of adding 0.6 on most
    readings, which made a third ping at the very end."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    pings = 0 if ping_every is None else math.ceil(round(seconds / ping_every, 9)) - 1
    for n in range(1, pings + 1):
        await asyncio.sleep(max(0.0, start + n * ping_every - loop.time()))
        yield _PING
    await asyncio.sleep(max(0.0, start + seconds - loop.time()))


_PING = sse(ping())


def _error_event(error_type: str) -> bytes:
    return sse(error_body(error_type, ERROR_MESSAGES[error_type], _request_id()))


def _request_id() -> str:
    """A request id for what the proxy answers itself, which says where it came from."""
    return f"req_injected_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class CutAfterBytes(FaultPlan):
    """`cut:bytes=N`: N bytes of the body, then the connection is cut."""

    size: int
    streams_only = False

    @property
    def label(self) -> str:
        return f"injected: cut after {count_text(self.size, 'byte')}"

    async def body(self, chunks: AsyncIterator[bytes], fired: Callable[[], None]) -> AsyncIterator[bytes]:
        left = self.size
        async for chunk in chunks:
            if len(chunk) >= left:
                fired()
                if left:
                    yield chunk[:left]
                raise StreamCut(self.label)
            left -= len(chunk)
            yield chunk


@dataclass(frozen=True)
class Buffer(FaultPlan):
    """`buffer`: the whole body held back and sent in one piece when it ends (as a buffering proxy
    does); a body that breaks sends what was held, then breaks the same way. It fires once it holds
    a piece back while another comes: a body that came in one piece came as it would have."""

    label = "injected: whole answer buffered, sent at once"

    async def body(self, chunks: AsyncIterator[bytes], fired: Callable[[], None]) -> AsyncIterator[bytes]:
        held = []
        try:
            async for chunk in chunks:
                held.append(chunk)
                if len(held) == 2:
                    fired()
        except Exception:
            if held:
                yield b"".join(held)
            raise
        if held:
            yield b"".join(held)


@dataclass(frozen=True)
class Status(FaultPlan):
    """`status:CODE`: the API's error answer for CODE, made here; the upstream is never contacted."""

    status: int
    retry_after: int | None
    streams_only = False

    @property
    def label(self) -> str:
        after = "" if self.retry_after is None else f", retry-after {self.retry_after} s"
        return f"injected: HTTP {self.status} {STATUS_ERRORS[self.status][0]}{after} (upstream not contacted)"

    def response(self) -> tuple[int, list[tuple[str, str]], bytes]:
        error_type, message = STATUS_ERRORS[self.status]
        request_id = _request_id()
        body = json.dumps(error_body(error_type, message, request_id), separators=(",", ":")).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(body))), ("request-id", request_id)]
        if self.retry_after is not None:
            headers += [("retry-after", str(self.retry_after)), ("retry-after-ms", str(self.retry_after * 1000))]
        return self.status, headers, body

    def upstream_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return headers


@dataclass
class Fault:
    """One parsed `--fault` spec: the plan it applies and which requests it picks."""

    spec: str
    plan: FaultPlan
    nth: int | None = None
    fraction: float | None = None
    seed: int | None = None
    model: str | None = None
    path: str | None = None
    seen: int = 0
    """Requests its selectors other than nth and fraction let through so far."""
    _draw: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._draw = random.Random(self.seed)

    def picks(self, request: Request) -> bool:
        """Whether it injects into `request` (each call counts one more request)."""
        if self.plan.streams_only and not request.stream:
            return False
        if self.model is not None and not (request.model is not None and fnmatchcase(request.model, self.model)):
            return False
        if self.path is not None and not fnmatchcase(request.path.partition("?")[0], self.path):
            return False
        self.seen += 1
        if self.nth is not None:
            return self.seen == self.nth
        if self.fraction is not None:
            return self._draw.random() < self.fraction
        return True


class Faults:
    """The faults given on the command line, and those armed for the next request; see the module doc."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults = list(faults)
        self._armed: list[Fault] = []
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Faults:
        """The faults `specs` say; ValueError (one line, naming the spec) for a bad one."""
        return cls(parse_fault(spec) for spec in specs)

    def arm(self, spec: str) -> str:
        """Inject the fault `spec` says into the next request its selectors pick, once (any thread);
        its label. ValueError (one line) for a bad spec."""
        fault = parse_fault(spec)
        with self._lock:
            self._armed.append(fault)
        return fault.plan.label

    @property
    def armed(self) -> list[str]:
        """The labels of the faults armed and not injected yet, first to go first."""
        with self._lock:
            return [fault.plan.label for fault in self._armed]

    def plan(self, request: Request) -> FaultPlan | None:
        """The fault to inject into `request`, if any (called once per request: it counts)."""
        with self._lock:
            picked = [fault.plan for fault in self._faults if fault.picks(request)]
            for fault in self._armed:
                if fault.picks(request):
                    self._armed.remove(fault)
                    return fault.plan
        return picked[0] if picked else None


def parse_fault(spec: str) -> Fault:
    """One spec (see the module doc) as a `Fault`; ValueError, one line naming the spec, if it is not one."""
    try:
        return _parse(spec)
    except _Bad as why:
        raise ValueError(f"bad fault {spec!r}: {why}") from None


class _Bad(Exception):
    """What is wrong with a spec, in a few words."""


FAULT_NAMES = ("cut", "end", "error", "stall", "status", "buffer")
_FORMS = {
    "cut": "cut:events=N or cut:bytes=N",
    "end": "end:events=N or end:tool_use",
    "error": "error:TYPE[,events=N]",
    "stall": "stall:SECONDS[,pings[=SECONDS]][,events=N]",
    "status": "status:CODE[,retry-after=SECONDS]",
    "buffer": "buffer, with nothing after it",
}


def _parse(spec: str) -> Fault:
    head, *selectors = spec.split("@")
    name, colon, rest = head.partition(":")
    if name not in FAULT_NAMES:
        raise _Bad(f"no fault named {name!r} (one of {', '.join(FAULT_NAMES)})")
    args = _Args(name, rest.split(",") if colon else [])
    plan = _PLANS[name](args)
    args.done()
    return Fault(spec, plan, **_selectors(selectors))


class _Args:
    """A fault's arguments (`word` or `key=value`, comma-separated), each taken once by its parser."""

    def __init__(self, name: str, items: list[str]) -> None:
        self.name = name
        self._items = items

    def word(self, what: str) -> str:
        """The first argument, which must be there and be a bare word."""
        if not self._items or "=" in self._items[0] or not self._items[0]:
            raise self.wrong(f"{self.name} needs {what} first")
        return self._items.pop(0)

    def key(self, key: str) -> str | None:
        """The value of `key=value`; "" for `key` alone; None without it."""
        found = [item for item in self._items if item.partition("=")[0] == key]
        if len(found) > 1:
            raise _Bad(f"{key} is given twice")
        if not found:
            return None
        self._items.remove(found[0])
        return found[0].partition("=")[2]

    def done(self) -> None:
        if self._items:
            raise self.wrong(f"{self._items[0]!r} is not an argument of {self.name}")

    def wrong(self, why: str) -> _Bad:
        return _Bad(f"{why} ({_FORMS[self.name]})")


def _whole(value: str | None, what: str, low: int = 0) -> int:
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 15 or int(value) < low:
        raise _Bad(f"{what} must be a whole number from {low}, not {value!r}")
    return int(value)


def _seconds(value: str | None, what: str) -> float:
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_SECONDS:
        raise _Bad(f"{what} must be a number of seconds above 0 and up to {MAX_SECONDS:g}, not {value!r}")
    return seconds


def _cut(args: _Args) -> FaultPlan:
    events, size = args.key("events"), args.key("bytes")
    if (events is None) == (size is None):
        raise args.wrong("cut needs one of events=N and bytes=N")
    if size is not None:
        return CutAfterBytes(_whole(size, "bytes"))
    n = _whole(events, "events")
    return PointFault(f"injected: cut after {count_text(n, 'event')}", Point(events=n), Then.CUT)


def _end(args: _Args) -> FaultPlan:
    events, tool = args.key("events"), args.key("tool_use")
    if (events is None) == (tool is None) or tool not in (None, ""):
        raise args.wrong("end needs one of events=N and tool_use")
    point = Point(first="tool_use") if events is None else Point(events=_whole(events, "events"))
    return PointFault(f"injected: clean end {point.words()}", point, Then.END)


def _error(args: _Args) -> FaultPlan:
    error_type = args.word("an error type")
    if error_type not in ERROR_MESSAGES:
        raise _Bad(f"no error type {error_type!r} (one of {', '.join(sorted(ERROR_MESSAGES))})")
    events = args.key("events")
    point = Point() if events is None else Point(events=_whole(events, "events"))
    return PointFault(f"injected: {error_type} event {point.words()}", point, Then.END, error=error_type)


def _stall(args: _Args) -> FaultPlan:
    seconds = _seconds(args.word("the seconds it lasts"), "a stall")
    pings, events = args.key("pings"), args.key("events")
    every = None if pings is None else DEFAULT_PING_EVERY if pings == "" else _seconds(pings, "pings")
    point = Point() if events is None else Point(events=_whole(events, "events"))
    how = "silent" if every is None else f"with a ping every {every:g} s"
    return PointFault(f"injected: {seconds:g} s stall ({how}) {point.words()}", point, Then.GO_ON,
                      pause=seconds, ping_every=every)


def _status(args: _Args) -> FaultPlan:
    code = args.word("an HTTP status")
    if not code.isdigit() or int(code) not in STATUS_ERRORS:
        raise _Bad(f"no API error with status {code!r} (one of {', '.join(map(str, STATUS_ERRORS))})")
    after = args.key("retry-after")
    status = int(code)
    return Status(status, DEFAULT_RETRY_AFTER.get(status) if after is None else _whole(after, "retry-after"))


def _buffer(args: _Args) -> FaultPlan:
    return Buffer()


_PLANS = {"cut": _cut, "end": _end, "error": _error, "stall": _stall, "status": _status, "buffer": _buffer}


def _selectors(selectors: list[str]) -> dict[str, Any]:
    """The `Fault` fields the `@` selectors set."""
    fields: dict[str, Any] = {}
    how = None
    for selector in selectors:
        key, _, value = selector.partition("=")
        if key in ("every", "nth", "fraction"):
            if how is not None:
                raise _Bad(f"@{how} and @{key} do not go together: a fault picks every request, the Nth, or a fraction")
            how = key
        if key == "every" and selector == "every":
            continue
        if key == "nth":
            fields["nth"] = _whole(value, "nth", low=1)
        elif key == "fraction":
            share, *more = value.split(",")
            try:
                fraction = float(share)
            except ValueError:
                fraction = math.nan
            if not 0 < fraction <= 1:
                raise _Bad(f"fraction must be a number above 0 and up to 1, not {share!r}")
            fields["fraction"] = fraction
            if more:
                name, _, seed = more[0].partition("=")
                if len(more) > 1 or name != "seed":
                    raise _Bad("a fraction takes only a seed after it (@fraction=F,seed=N)")
                fields["seed"] = _whole(seed, "seed")
        elif key in ("model", "path") and value:
            if key in fields:
                raise _Bad(f"@{key} is given twice")
            fields[key] = value
        else:
            raise _Bad(f"no selector {'@' + selector!r} (@every, @nth=N, @fraction=F[,seed=N], @model=GLOB, @path=GLOB)")
    return fields
