"""The recording proxy: forwards every request upstream and records each exchange.

`ProxyApp(upstream)` is served by its own HTTP/1.1 server (streamwatch/proxy/http.py) on a
`ProtocolServer`'s thread (streamwatch/server.py); `app.server(host, port)` makes it. For each
request, read whole (head and body), it makes the `Flow` (streamwatch/proxy/flow.py) and its `Recorder` (source `proxy`, with the
hooks `hooks_for(flow)` gives), records the request, announces the flow (`on_flow`), then forwards:

- **The request**, every method and path (messages, count_tokens, models, batches, files, ...),
  with its query, headers (as the bytes that came) and body as they came, less the hop-by-hop headers (`connection` and the
  headers it names, `keep-alive`, `proxy-*`, `te`, `trailer`, `transfer-encoding`, `upgrade`),
  `host` (the upstream's is sent) and `expect` (the body is already in). The body is read whole
  before it is sent on. Credentials go upstream as they came; the recorder keeps them off disk.
- **The response**: status and headers (less the hop-by-hop ones) as soon as they arrive, then the
  body, each piece passed to the client the moment it arrives, as the raw bytes upstream sent
  (streamwatch/proxy/upstream.py: de-chunked, never decoded, so a gzip or deflate body stays
  compressed; `content-length` only when upstream sent one and no fault plan wraps the body; what came in one socket read is one
  piece, written to the client from that read itself, `Answer.pipe`; a fault plan's body goes through
  the flow's task), and only then recorded, at the time it was passed on. The recording waits in a queue
  that one task (`_record_later`) works through, one chunk per turn of the loop, oldest first:
  when many streams' chunks arrive (a burst, or one after another), each goes to its client
  after one recording at most, never after every recording before it. A flow is at most one chunk
  ahead of its recordings (passing on a chunk, it records its previous one if still queued), and
  records all of them before its end (eof, a cut, a cancel). Non-streaming answers and errors go
  the same way.

Fidelity: the proxy never hides the failure it is there to show.

- The client hangs up mid-stream: the upstream response is closed; the session ends `cancelled`.
- Upstream cuts the body (a reset, an incomplete chunked read, fewer bytes than its
  content-length): the client's connection is cut the same way (`Reply.cut`, the body left
  unfinished); the session ends `transport_error` with what the proxy's HTTP client raised (named
  as httpx names it: `httpx.RemoteProtocolError`, `httpx.ReadError`). A fault
  plan's cut is recorded as the app sees it (`connection cut`: the proxy cut the connection, with
  the fault's label), never as the exception that made it.
- Upstream ends the body cleanly, early or not: the client's body ends cleanly too (`eof`).
- No response head at all (DNS, refused, TLS, a close before answering): the client gets a 502
  with a JSON body shaped like the API's error, which the session records as the response, so it
  reads `http_error` with the reason. (HTTP has no way to pass on "no answer" once the request was
  accepted; a gateway answers 502, and the official SDKs treat it as the API's own 502.)
- Anything else going wrong in the proxy itself: the session ends `transport_error` (`proxy_error`),
  the client gets a 502 with an API-shaped body (or, once its answer began, a cut); never a traceback.
- The proxy stops (`shutdown()`, Ctrl-C): every open stream is recorded `cancelled` (why: the proxy
  was stopped), and its client's connection is cut.

A request the proxy cannot parse is answered by its HTTP server with an API-shaped 400 and
recorded nowhere (there is no request to record). A request body that is not a JSON object (a file upload, an empty GET) is forwarded as it came and
recorded as `{}`, with `request_body` in the session header saying what it was (see
`flow.request_body`).

Faults (streamwatch/proxy/faults.py, when given): `faults.plan(flow)` once per flow; a plan's
`label` goes into the flow and the session header (`fault`), its `response()` answers instead of
upstream, its `upstream_headers` are the headers sent, its `body` wraps the upstream body (it may
end it early or raise `StreamCut`, which cuts the client as an upstream break does). The plan fired
when it answered, or when its body called `fired` (`flow.fault_fired`, from then on); the end record
says whether it did (`fault_fired`), so a flow whose fault never fired (its stream ended first, or
upstream failed before the fault's point) reads as the ordinary flow it was, upstream's failure and all.
The moment it fires is recorded too (a `fault_fired` record, the header saying `fault_fired_record`),
so a proxy killed before the flow's end (`kill -9`, power loss) leaves a file that says whether it had.

No read timeout: a stalled upstream stays a stall the client sees. One `Upstream` client per app
(streamwatch/proxy/upstream.py), with keep-alive, made on the server's loop. When the client's
connection cannot take more (a slow client), the upstream socket is not read until it can.

Threads: everything here runs on the server's event loop, the hooks and `on_flow` included; none of
them may block. The one exception is the session index: a finished flow's row is made on the loop
and written to the database by a thread of the app's own (it may wait for another writer). The per-chunk work is small: the bytes go to the client first, from
the upstream socket's read, then, a turn of the loop later, to the recorder.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD, End
from streamwatch.core.recorder import Hook, Recorder
from streamwatch.core.redact import Redactor
from streamwatch.core.transport import describe_exception, exception_name
from streamwatch.protocol import PROXY_SOURCE
from streamwatch.proxy.flow import Flow, make_flow, request_body
from streamwatch.proxy.http import HttpServer, RawHeaders, Reply, Request, error_body
from streamwatch.proxy.upstream import Upstream
from streamwatch.server import LOOPBACK, ProtocolServer, StreamCut

HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"})
"""Headers about one connection, never passed on (and every `proxy-*` one, and those `connection` names)."""
NOT_FORWARDED = HOP_BY_HOP | {"host", "expect"}
CLIENT_GONE = "the client closed its connection before the end; the proxy closed the upstream request"
PROXY_STOPPED = "the proxy was stopped"
INJECTED_CUT = "connection cut"
"""The error type a fault plan's cut is recorded with: what the app sees, not the exception that made it."""
Headers = list[tuple[str, str]]


class FaultPlan(Protocol):
    """What streamwatch/proxy/faults.py does to one flow (see the module doc)."""

    label: str

    def response(self) -> tuple[int, Headers, bytes] | None: ...

    def upstream_headers(self, headers: Headers) -> Headers: ...

    def body(self, chunks: AsyncIterator[bytes], fired: Callable[[], None]) -> AsyncIterator[bytes]: ...


class Faults(Protocol):
    def plan(self, flow: Flow) -> FaultPlan | None: ...


@dataclass(eq=False)
class _Exchange:
    """One request being forwarded: its flow, the task forwarding it, the reply to its client, and why that task was cancelled."""

    flow: Flow
    task: asyncio.Task[Any]
    plan: FaultPlan | None
    reply: Reply
    why: str | None = None
    failure: Exception | None = None
    """What recording one of its chunks raised, in `_record_later` (which cancels the task then)."""
    started: bool = False
    """The response head went to the client."""
    answered: bool = False
    """The response is complete on the client's side: its connection closing now is no hang-up."""
    unrecorded: deque[tuple[bytes, float]] = field(default_factory=deque)
    """Chunks passed on and not recorded yet, each with the time it was passed on."""

    def record(self, keep: int = 0) -> None:
        """Record the chunks passed on, oldest first, all but the newest `keep`."""
        while len(self.unrecorded) > keep:
            self.record_oldest()

    def record_oldest(self) -> None:
        if self.unrecorded:
            self.flow.recorder.chunk(*self.unrecorded.popleft())

    def end(self, kind: End, error: dict[str, Any] | None = None) -> None:
        """Its chunks recorded, end the recording as `kind`, unless it has ended already (a cancel or a
        break after its end), saying whether its fault plan fired."""
        self.record()
        if self.flow.recorder.state.ended is None:
            self.flow.recorder.end(kind, error, fault_fired=None if self.plan is None else self.flow.fault_fired)

    def fired(self) -> None:
        """Its fault plan changed what the client gets: recorded at once, after the chunks passed on
        before (a proxy killed before the end leaves a file that says so)."""
        if not self.flow.fault_fired:
            self.flow.fault_fired = True
            self.record()
            self.flow.recorder.fault_fired()

    def hung_up(self) -> None:
        """The client's connection closed before the response was complete: the forwarding stops."""
        if not self.answered and self.why is None:
            self.why = CLIENT_GONE
            self.task.cancel()

    def answer(self, status: int, headers: Headers, content: bytes) -> None:
        """Answer the client whole, here."""
        self.started = True
        self.reply.start(status, _encoded(headers))
        self.reply.write(content)
        self.answered = True
        self.reply.end()


class ProxyApp:
    """The recording proxy; see the module doc."""

    def __init__(
        self,
        upstream: str,
        *,
        hooks_for: Callable[[Flow], Iterable[Hook]] = lambda flow: (),
        on_flow: Callable[[Flow], None] | None = None,
        faults: Faults | None = None,
        directory: Path | None = None,
        stall_threshold: float = DEFAULT_STALL_THRESHOLD,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.shown_upstream = Redactor().url(self.upstream)
        """The upstream as it may be shown (user-info and query values redacted): every line and screen use this."""
        self._hooks_for = hooks_for
        self._on_flow = on_flow
        self._faults = faults
        self._directory = directory
        self._stall_threshold = stall_threshold
        self._client: Upstream | None = None
        self._open: set[_Exchange] = set()
        self._unrecorded: deque[_Exchange] = deque()
        """An exchange for each chunk passed on and not recorded yet, oldest first."""
        self._recording: asyncio.Task[None] | None = None
        self._index = ThreadPoolExecutor(1, thread_name_prefix="streamwatch-proxy-index")
        """Writes each finished flow's index row: the database may wait for another writer (a TUI, a
        `stats`), and this loop forwards every stream. Its work is done before the process exits."""

    async def handle(self, request: Request, reply: Reply) -> None:
        """Forward one request and record the exchange (`HttpServer`'s handler); the reply is always ended or cut."""
        task = asyncio.current_task()
        assert task is not None
        try:
            flow, plan, path, headers = self._begin(request)
        except Exception as exc:  # nothing to record it in: the client still gets an API-shaped answer
            reply.start(502, [(b"content-type", b"application/json")])
            reply.write(error_body(f"streamwatch proxy: {describe_exception(exc)}"))
            reply.end()
            return
        exchange = _Exchange(flow, task, plan, reply)
        reply.on_gone = exchange.hung_up
        self._open.add(exchange)
        try:
            await self._forward(exchange, path, headers, request.body)
        finally:
            self._open.discard(exchange)
            if flow.recorder.state.ended is not None:
                flow.recorder.finish()
            flow.done = True

    def server(self, host: str = LOOPBACK, port: int = 0) -> ProtocolServer:
        """The server to run it with (start it, or use it in a `with`): stopping it cuts and records the
        open flows (`shutdown`). No `date` or `server` header of its own: upstream's pass."""
        return ProtocolServer(HttpServer(self.handle, self.shutdown), host=host, port=port, name="streamwatch-proxy")

    def shutdown(self) -> None:
        """Stop every open stream (recorded `cancelled`, the client's connection cut) and close the
        upstream client; call on the server's loop (the `HttpServer`'s `on_close`)."""
        for exchange in list(self._open):
            exchange.why = PROXY_STOPPED
            exchange.task.cancel()
        if self._client is not None:
            client, self._client = self._client, None
            asyncio.get_running_loop().create_task(_close_after(client, [e.task for e in self._open]))

    # ----- one request ------------------------------------------------------------------------

    def _begin(self, request: Request) -> tuple[Flow, FaultPlan | None, str, Headers]:
        """The flow, its fault plan and recorder, the request recorded: its path (and query) and the headers it goes with."""
        received = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
        headers = _forwarded(received)
        shown = _readable(received)
        path = request.path.decode("latin-1")
        if request.query:
            path += "?" + request.query.decode("latin-1")
        body = request.body
        target = self.upstream + path
        content_type = next((value for name, value in shown if name == "content-type"), None)
        recorded, parsed, note = request_body(body, content_type)
        redactor = Redactor()
        redactor.learn(target, _readable(headers))
        client = request.client
        address = f"{client[0]}:{client[1]}" if client else None
        flow = make_flow(redactor, request.method, path, shown, parsed, self.upstream, address)
        plan = self._faults.plan(flow) if self._faults is not None else None
        if plan is not None:
            flow.fault = plan.label
            headers = plan.upstream_headers(headers)
        facts = {"client": flow.client_text, "upstream": flow.upstream, "path": flow.path,
                 "request_body": None if note is None else redactor.message(note), "fault": flow.fault,
                 "fault_fired_record": True if plan is not None else None}
        flow.recorder = Recorder(
            stall_threshold=self._stall_threshold, hooks=self._hooks_for(flow), source=PROXY_SOURCE,
            directory=self._directory, header={k: v for k, v in facts.items() if v is not None}, redactor=redactor,
            index_later=self._index.submit,
        )
        flow.recorder.request(flow.method, target, _readable(headers), recorded)
        if self._on_flow is not None:
            self._on_flow(flow)
        return flow, plan, path, headers

    async def _forward(self, exchange: _Exchange, path: str, headers: Headers, body: bytes) -> None:
        """Forward and record; how it ended is recorded once, whatever ends it."""
        try:
            await self._exchange(exchange, path, headers, body)
        except httpx.TransportError as exc:
            exchange.end(End.TRANSPORT_ERROR, {"type": exception_name(exc), "message": str(exc)})
            exchange.reply.cut()
        except StreamCut as exc:  # a fault plan's cut: recorded as what the app sees, a connection cut mid-body
            exchange.end(End.TRANSPORT_ERROR, {"type": INJECTED_CUT, "message": f"the proxy cut the connection ({exc})"})
            exchange.reply.cut()
        except asyncio.CancelledError:
            exchange.task.uncancel()
            if exchange.failure is not None:  # its recording failed in `_record_later`: as if here
                _failed(exchange, exchange.failure)
                return
            why = exchange.why or PROXY_STOPPED
            exchange.end(End.CANCELLED, {"type": "stopped_locally", "message": why})
            if why == CLIENT_GONE or exchange.started:
                exchange.reply.cut()
            else:
                exchange.answer(*_proxy_error(why))
        except Exception as exc:
            _failed(exchange, exc)

    async def _exchange(self, exchange: _Exchange, path: str, headers: Headers, body: bytes) -> None:
        recorder, plan, reply = exchange.flow.recorder, exchange.plan, exchange.reply
        answer = plan.response() if plan is not None else None
        if answer is not None:
            exchange.fired()
        else:
            try:
                response = await self._upstream().send(exchange.flow.method, path, headers, body)
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                answer = _unreachable(exchange.flow.upstream, describe_exception(exc))
        if answer is not None:
            exchange.answer(*answer)
            recorder.response(answer[0], answer[1])
            recorder.chunk(answer[2])
            exchange.end(End.EOF)
            return
        try:
            exchange.started = True
            passed = _response_headers(response.headers)
            if plan is not None:  # its body may end early or grow: upstream's length is not the app's any more
                passed = [(name, value) for name, value in passed if name != b"content-length"]
            reply.start(response.status, passed)
            recorder.response(response.status, _readable([(name.decode("latin-1"), value.decode("latin-1"))
                                                          for name, value in response.headers]))
            if plan is None:
                await response.pipe(lambda chunk: self._pass_on(exchange, chunk), reply.writable)
            else:
                async for chunk in plan.body(response.body(), exchange.fired):
                    if not self._pass_on(exchange, chunk):
                        await reply.writable()
            exchange.answered = True
            reply.end()
            exchange.end(End.EOF)
        finally:
            await response.aclose()

    def _pass_on(self, exchange: _Exchange, chunk: bytes) -> bool:
        """Pass a chunk of the body to the client, then have it recorded; whether the client takes more now."""
        more = exchange.reply.write(chunk)
        exchange.unrecorded.append((chunk, exchange.flow.recorder.t()))
        exchange.record(keep=1)  # the one before, if it is still waiting: a flow runs at most one ahead
        self._record_soon(exchange)
        return more

    def _record_soon(self, exchange: _Exchange) -> None:
        """Have the chunk `exchange` just passed on recorded by `_record_later`."""
        self._unrecorded.append(exchange)
        if self._recording is None:
            self._recording = asyncio.get_running_loop().create_task(self._record_later())

    async def _record_later(self) -> None:
        """Record the chunks passed on, one per turn of the loop, oldest first: a chunk that arrives
        meanwhile is passed on after one recording at most, never after a whole burst's."""
        try:
            while self._unrecorded:
                exchange = self._unrecorded.popleft()
                try:
                    exchange.record_oldest()
                except Exception as exc:  # its flow ends as if it had failed in the flow's own task
                    exchange.unrecorded.clear()
                    exchange.failure = exc
                    exchange.task.cancel()
                await asyncio.sleep(0)
        finally:
            self._recording = None

    def _upstream(self) -> Upstream:
        """The one upstream client, made on the server's loop (streamwatch/proxy/upstream.py)."""
        if self._client is None:
            self._client = Upstream(self.upstream)
        return self._client


def _failed(exchange: _Exchange, exc: BaseException) -> None:
    """A bug in the proxy: the session says so and the client gets an API-shaped answer (a cut once
    its answer began)."""
    reason = describe_exception(exc)
    exchange.end(End.TRANSPORT_ERROR, {"type": "proxy_error", "message": reason})
    if exchange.started:
        exchange.reply.cut()
    else:
        exchange.answer(*_proxy_error(reason))


def _forwarded(headers: Headers) -> Headers:
    """Request headers as they go upstream: all but the hop-by-hop ones, `host` and `expect`."""
    named = {token.strip().lower() for name, value in headers if name.lower() == "connection"
             for token in value.split(",")}
    return [(name, value) for name, value in headers if not _dropped(name.lower(), named, NOT_FORWARDED)]


def _response_headers(raw: RawHeaders) -> RawHeaders:
    named = {token.strip().lower().decode("latin-1") for name, value in raw if name.lower() == b"connection"
             for token in value.split(b",")}
    return [(name.lower(), value) for name, value in raw
            if not _dropped(name.lower().decode("latin-1"), named, HOP_BY_HOP)]


def _dropped(name: str, named: set[str], dropped: frozenset[str]) -> bool:
    return name in dropped or name in named or name.startswith("proxy-")


def _unreachable(upstream: str, reason: str) -> tuple[int, Headers, bytes]:
    return _proxy_error(f"cannot reach {upstream}: {reason}")


def _proxy_error(reason: str) -> tuple[int, Headers, bytes]:
    """The proxy's own 502, its body shaped like the API's errors."""
    return 502, [("content-type", "application/json")], error_body(f"streamwatch proxy: {reason}")


def _readable(headers: Headers) -> Headers:
    """Headers as a user reads them (recorded, shown): each value's bytes (held as latin-1, which keeps
    any bytes) read as UTF-8 where they are UTF-8 (`José`, not `JosÃ©`), else as they are."""
    return [(name, _utf8(value)) for name, value in headers]


def _utf8(value: str) -> str:
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode()
    except UnicodeDecodeError:
        return value


def _encoded(headers: Headers) -> RawHeaders:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _close_after(client: Upstream, tasks: list[asyncio.Task[Any]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()
