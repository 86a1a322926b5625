"""The recording proxy's HTTP/1.1 server: the apps' side of each exchange, an asyncio `Protocol` that httptools parses for.

`HttpServer(handle, on_close)` is what a `ProtocolServer` (streamwatch/server.py) serves. Each
request read whole (head and body) becomes a `Request`, and `handle(request, reply)` runs as a task
of its own; `reply` is the answer on the app's connection:

- `start(status, headers)` writes the status line and the headers as given; the body is framed as
  they say: as is with a `content-length`, else chunked (`transfer-encoding: chunked` added), or
  until the connection closes for an HTTP/1.0 client; none for HEAD, 204 and 304.
- `write(data)` frames and writes at once, on the loop's thread, with no task between (the proxy calls
  it from its upstream socket's read); it returns whether the app's connection takes more now
  (False: its buffer is full, `await reply.writable()` waits until it drains).
- `end()` ends the body; the connection then reads the next request, or closes if either side
  asked (`connection: close`, HTTP/1.0 without keep-alive).
- `cut()` closes the connection mid-body, so the app sees the body unfinished, as a break upstream made it.
- `on_gone` is called once if the app's connection closes before the reply ended (a hang-up),
  `gone` says so; a reply to a gone app writes nothing.

Why not uvicorn: its ASGI `send` is a coroutine the flow's task has to be woken to call, so under 20
streams each chunk waited a turn of the loop behind the other flows' work (recordings included)
before it went out; here it goes out from the read that brought it.

A request it cannot parse (a header value with a control byte, a malformed request line or head)
is answered with a JSON 400 shaped like the API's `invalid_request_error`, as the SDKs read it, and
the connection closes. A CONNECT (an app told to tunnel through it, `HTTPS_PROXY`) is answered 405,
saying to use it as the base URL instead. A request asking to upgrade (`upgrade: h2c`) is answered as a plain one, its
body and all, over HTTP/1.1 (the upgrade declined). `expect: 100-continue` is answered at once (the body is always wanted), or, behind answers
pipelined before it, once they are sent.
Requests pipelined on one connection are answered in turn. `close()` (the server stopping) calls
`on_close` (which stops the open exchanges), waits for their tasks, then closes every connection;
from its start, no request is handled any more (one pipelined behind those stopped, or sent meanwhile,
closes its connection unanswered).
A handler answers every request it is given, whatever happens (the proxy's does); one that returns
or raises without ending its reply leaves the connection cut.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

import httptools

RawHeaders = list[tuple[bytes, bytes]]
NOT_A_TUNNEL = ("streamwatch proxy: CONNECT is not served here: this proxy is not one an app tunnels through "
                "(HTTPS_PROXY). Point the app at it as its API's base URL instead (ANTHROPIC_BASE_URL, as "
                "`streamwatch proxy` prints it) and leave HTTPS_PROXY unset for it")
BAD_REQUEST = ("streamwatch proxy: the request is not valid HTTP/1.1 (a header value with a control byte, or a "
               "malformed request line or header), so it was not forwarded")
_CLOSE_WAIT = 5.0
"""Seconds `close()` waits for the open exchanges to record their end."""


@dataclass
class Request:
    """One request as the app sent it: header names lower-cased, values as the bytes that came."""

    method: str
    path: bytes
    """The path as sent, undecoded (an absolute-form target's path only)."""
    query: bytes
    headers: RawHeaders
    body: bytes
    client: tuple[str, int] | None


def error_body(message: str, error_type: str = "api_error") -> bytes:
    """A JSON error body shaped like the API's."""
    return json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()


class Reply:
    """The answer to one request on the app's connection; see the module doc."""

    def __init__(self, connection: _Connection, method: str, keep_alive: bool, http_10: bool) -> None:
        self._connection = connection
        self._head_only = method == "HEAD"
        self._keep_alive = keep_alive
        self._http_10 = http_10
        self._chunked = False
        self.started = False
        self.ended = False
        self.gone = False
        self.on_gone: Callable[[], None] | None = None

    def start(self, status: int, headers: RawHeaders) -> None:
        assert not self.started
        self.started = True
        names = {name.lower() for name, _ in headers}
        bodyless = self._head_only or status in (204, 304) or status < 200
        if b"content-length" not in names and not bodyless:
            if self._http_10:
                self._keep_alive = False
            else:
                self._chunked = True
        try:
            reason = HTTPStatus(status).phrase.encode("ascii")
        except ValueError:
            reason = b""
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        head += [name + b": " + value + b"\r\n" for name, value in headers]
        if self._chunked:
            head.append(b"transfer-encoding: chunked\r\n")
        if not self._keep_alive:
            head.append(b"connection: close\r\n")
        elif self._http_10:  # an HTTP/1.0 client takes a connection to close unless told otherwise
            head.append(b"connection: keep-alive\r\n")
        head.append(b"\r\n")
        self._connection.send(b"".join(head))
        if bodyless:
            self._chunked = False
            self._head_only = True

    def write(self, data: bytes) -> bool:
        """Pass `data` on now; whether the connection takes more now."""
        if data and not self._head_only and not self.gone:
            self._connection.send(b"%x\r\n%b\r\n" % (len(data), data) if self._chunked else data)
        return not self._connection.paused

    async def writable(self) -> None:
        """Wait until the app's connection takes more (at once if it does, or if it is gone)."""
        await self._connection.drained()

    def end(self) -> None:
        """The body is complete: the connection goes on to the next request, or closes."""
        if self.ended:
            return
        self.ended = True
        if self._chunked and not self.gone:
            self._connection.send(b"0\r\n\r\n")
        self._connection.done(self, keep=self._keep_alive)

    def cut(self) -> None:
        """Close the connection with the body unfinished."""
        if not self.ended:
            self.ended = True
            self._connection.done(self, keep=False)

    def _lost(self) -> None:
        if not self.ended and not self.gone:
            self.gone = True
            if self.on_gone is not None:
                self.on_gone()


Handler = Callable[[Request, Reply], Awaitable[None]]


class HttpServer:
    """The app-facing HTTP/1.1 server of the proxy: a `Serving` for `ProtocolServer`; see the module doc."""

    def __init__(self, handle: Handler, on_close: Callable[[], None]) -> None:
        self._handle = handle
        self._on_close = on_close
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        """`close()` has begun: no request is handed on any more (its connection closes instead)."""

    def connection(self) -> asyncio.Protocol:
        return _Connection(self)

    async def close(self) -> None:
        self.closing = True
        self._on_close()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_CLOSE_WAIT)
        for connection in list(self._connections):
            connection.close()

    def _run(self, connection: _Connection, request: Request, reply: Reply) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(request, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request: Request, reply: Reply) -> None:
        try:
            await self._handle(request, reply)
        finally:  # a handler that did not end its reply (it raised, or was cancelled) leaves it cut
            reply.cut()


class _Connection(asyncio.Protocol):
    """One app connection: parses its requests, answers them in turn, writes and closes."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._client: tuple[str, int] | None = None
        self._waiting: deque[tuple[Request, Reply]] = deque()
        self._current: Reply | None = None
        self._closed = False
        self._bad: tuple[str, int] | None = None
        """What to answer once the answers before it are sent, then close: a request not to be served."""
        self._declined: RawHeaders | None = None
        """The headers of a request that asked to upgrade, while its body is read (see `_decline`)."""
        self._rest_head = b""
        self._continue = False
        """The request being read asked for `100 Continue` and has not had it yet."""
        self.paused = False
        self._drain: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: RawHeaders = []
        self._body: list[bytes] = []

    # ----- the loop's side --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None
        self._server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self._closed or self._bad:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self._rest_head:  # a declined upgrade: what follows its head is HTTP/1.1 still, its body first
                head, self._rest_head = self._rest_head, b""
                self._parser = httptools.HttpRequestParser(self)
                self.data_received(head + data[upgrade.args[0]:])
            # else a CONNECT: answered 405 and closed (see on_message_complete)
        except httptools.HttpParserError:
            self._bad_request()

    def eof_received(self) -> bool | None:
        return None  # the app closed its side: the connection closes (a hang-up, if an answer was under way)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._server._connections.discard(self)
        self._wake_drain()
        if self._current is not None:
            self._current._lost()
        self._waiting.clear()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake_drain()

    # ----- httptools' callbacks ---------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if self._declined is None and any(name == b"expect" and value.lower() == b"100-continue" for name, value in self._headers):
            self._continue = True
            self._send_continue()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        self._continue = False  # its body is in: the client sent it without waiting for the 100
        if parser.get_method() == b"CONNECT":
            self._bad_request(NOT_A_TUNNEL, 405)
            return
        if parser.should_upgrade():
            self._decline()
            return
        try:
            url = httptools.parse_url(self._url)
        except httptools.HttpParserError:
            self._bad_request()
            return
        headers = self._headers if self._declined is None else self._declined
        self._declined = None
        request = Request(parser.get_method().decode("latin-1"), url.path or b"/", url.query or b"", headers,
                          b"".join(self._body), self._client)
        keep = parser.should_keep_alive() and not parser.should_upgrade()
        reply = Reply(self, request.method, keep, parser.get_http_version() == "1.0")
        self._reset()
        self._waiting.append((request, reply))
        if len(self._waiting) > 1 and self._transport is not None:
            self._transport.pause_reading()  # pipelined requests wait: one in hand is enough
        if self._current is None and not self._closed:
            self._next()

    def _decline(self) -> None:
        """A request asking to upgrade (`curl --http2` on http:// asks for h2c): llhttp ends it at its head
        and leaves what follows to the new protocol, its body included. The proxy speaks HTTP/1.1 only,
        so the upgrade is declined: the rest is parsed again behind the same head without the upgrade
        (its request line, its body's framing and its `connection` less `upgrade`), and the request is
        answered as a plain one with the headers it came with."""
        parser = self._parser
        head = [b"%b %b HTTP/%b\r\n" % (parser.get_method(), self._url, parser.get_http_version().encode("ascii"))]
        for name, value in self._headers:
            if name == b"connection":
                value = b",".join(token for token in value.split(b",") if token.strip().lower() != b"upgrade")
            if name in (b"content-length", b"transfer-encoding", b"connection") and value:
                head.append(name + b": " + value + b"\r\n")
        self._rest_head = b"".join(head) + b"\r\n"
        self._declined = self._headers
        self._reset()

    # ----- the replies' side ------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if not self._closed and self._transport is not None:
            self._transport.write(data)

    async def drained(self) -> None:
        while self.paused and not self._closed:
            self._drain = asyncio.get_running_loop().create_future()
            await self._drain

    def done(self, reply: Reply, keep: bool) -> None:
        if reply is not self._current:
            return
        self._current = None
        if not keep or self._closed:
            self.close()
        elif self._waiting:
            self._next()
        elif self._bad:
            self._bad_request(*self._bad)
        else:
            self._send_continue()

    def close(self) -> None:
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()
        if self._current is not None:
            self._current._lost()

    def _next(self) -> None:
        if self._server.closing:  # a request behind the stopped ones, or sent meanwhile: not forwarded
            self.close()
            return
        request, self._current = self._waiting.popleft()
        if self._transport is not None and not self._closed and not self._bad:
            self._transport.resume_reading()
        self._server._run(self, request, self._current)

    def _send_continue(self) -> None:
        """`100 Continue` to a request waiting for it, once it is the connection's turn: an answer under
        way before it would take the interim answer for part of its body."""
        if self._continue and self._current is None and not self._waiting:
            self._continue = False
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _bad_request(self, message: str = BAD_REQUEST, status: int = 400) -> None:
        """Answer `status` with `message` and close, once the answers before it are sent (it may come
        pipelined behind them)."""
        self._bad = (message, status)
        if self._transport is not None:
            self._transport.pause_reading()
        if self._current is None and not self._waiting:
            body = error_body(message, "invalid_request_error")
            reason = HTTPStatus(status).phrase.encode("ascii")
            self.send(b"HTTP/1.1 %d %b\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                      b"connection: close\r\n\r\n%b" % (status, reason, len(body), body))
            self.close()

    def _wake_drain(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
