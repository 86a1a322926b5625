"""The recording proxy's HTTP/1.1 client for its upstream: an asyncio `Protocol` that httptools parses for.

`Upstream(base)` is made on the server's loop, one per app. `await upstream.send(method, path,
headers, body)` sends a request (`path` with its query goes after the base URL's own path; the
headers as the bytes that came, read as latin-1) and returns an `Answer` once the response head is
in: its `status`, its `headers` (raw bytes), `body()` (the body as upstream sent it: de-chunked, never
decoded, so a gzip body stays gzip) or `pipe(write, writable)` (the same pieces handed to `write`
from the socket's read itself, with no task to wake between: the proxy's way to its client), `aclose()`. Why not httpx: under 20 streams its reading of the
body (httpcore's h11 state machine, anyio's streams) was ~40% of the proxy's CPU per event, which
put the last stream of a burst milliseconds behind; here a socket read is parsed in C and its body
waits for the flow's task in a list, all of it joined into one piece when the task takes it.

- **Connections** are kept alive: an answer read to its end whose connection both sides keep
  returns it to the idle ones (at most `MAX_IDLE`), the next request takes the newest one still
  open. An answer closed before its end closes its connection (the upstream sees the client go).
  `https` is TLS through asyncio's own `ssl` (httpx's certificate store: certifi, or the
  environment's `SSL_CERT_FILE`/`SSL_CERT_DIR`). The connect timeout is `CONNECT_TIMEOUT`; there is
  no read timeout (a stall stays a stall).
- **Failures** are raised as httpx's exceptions with httpx's messages, so a session names them as
  the SDK source names the same break: no connection (DNS, refused, TLS) `httpx.ConnectError`
  (`ConnectTimeout`); closed or garbled before the head `httpx.RemoteProtocolError`; `body()` raises
  `httpx.RemoteProtocolError` for a body closed before its end (incomplete chunked read, fewer
  bytes than its content-length) and `httpx.ReadError` for a reset, after the bytes that came. A
  body that ends where the connection does (no length, not chunked) ends cleanly there.
- **Through an environment proxy** (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` less `NO_PROXY`, for
  an upstream off this machine) the request goes by httpx, which knows proxies, with the same `Answer`.
- A request's bytes: the request line, `Host` (the upstream's), `Content-Length` when the headers
  have none and there is a body (or the method is POST, PUT or PATCH), the headers, the body; a
  base URL with user-info sends it as `Authorization: Basic`, in place of the request's own.

Everything runs on the loop that made it.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote, urlsplit

import httptools
import httpx

from streamwatch.core.transport import is_loopback

CONNECT_TIMEOUT = 10.0
MAX_IDLE = 100
"""Idle keep-alive connections kept for the next requests."""
HIGH_WATER = 1 << 20
"""Bytes of body waiting for the flow's task past which the socket is not read (its client is slow)."""
RawHeaders = list[tuple[bytes, bytes]]


Write = Callable[[bytes], bool]
"""Takes a piece of the body; returns whether it takes more now."""
Writable = Callable[[], Awaitable[None]]
"""Waits until the writer takes more."""


class Answer:
    """A response whose head is in; read `body()` or `pipe()` once, then `aclose()` (always, even after a failure)."""

    def __init__(self, status: int, headers: RawHeaders, body: AsyncIterator[bytes],
                 close: Callable[[], Awaitable[None]],
                 pipe: Callable[[Write, Writable], Awaitable[None]] | None = None) -> None:
        self.status = status
        self.headers = headers
        self._body = body
        self._close = close
        self._pipe = pipe

    def body(self) -> AsyncIterator[bytes]:
        return self._body

    async def pipe(self, write: Write, writable: Writable) -> None:
        """Hand each piece of the body to `write` as it arrives; while `write` takes no more, the socket
        is not read until `writable()` returns. Returns at the body's end; raises as `body()` does,
        and what `write` raised."""
        if self._pipe is not None:
            await self._pipe(write, writable)
            return
        async for chunk in self._body:
            if not write(chunk):
                await writable()

    async def aclose(self) -> None:
        await self._close()


class Upstream:
    """The client of one upstream base URL; see the module doc."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._base = base.rstrip("/")
        self._scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError as exc:
            raise httpx.InvalidURL(str(exc)) from None
        if self._scheme not in ("http", "https") or not parts.hostname:
            raise httpx.InvalidURL(f"not an http or https URL: {base}")
        self._host = parts.hostname
        default = 443 if self._scheme == "https" else 80
        self._port = port or default
        shown = f"[{self._host}]" if ":" in self._host else self._host.encode("idna").decode("ascii")
        self._host_header = (shown if self._port == default else f"{shown}:{self._port}").encode("ascii")
        self._prefix = parts.path.rstrip("/").encode("latin-1")
        self._auth = None
        if parts.username is not None or parts.password is not None:
            pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
            self._auth = b"Basic " + base64.b64encode(pair)
        self._tls: ssl.SSLContext | None = None
        self._idle: list[_Connection] = []
        self._httpx: httpx.AsyncClient | None = None
        if not is_loopback(base) and _environment_proxy(self._scheme, self._host):
            self._httpx = httpx.AsyncClient(
                timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT), follow_redirects=False, trust_env=True,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=MAX_IDLE),
            )

    async def send(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        """Send one request; its `Answer` once the head is in (see the module doc for what it raises)."""
        if self._httpx is not None:
            raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            request = httpx.Request(method, self._base + path, headers=raw, content=body)
            response = await self._httpx.send(request, stream=True)
            return Answer(response.status_code, response.headers.raw, response.aiter_raw(), response.aclose)
        connection = await self._connection()
        try:
            connection.transport.write(self._request(method, path, headers, body))
            return await connection.answer(method)
        except BaseException:
            connection.transport.close()
            raise

    async def aclose(self) -> None:
        """Close the idle connections (those of open answers close with them)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.transport.close()
        if self._httpx is not None:
            await self._httpx.aclose()

    def _request(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
        head = [method.encode("latin-1"), b" ", self._prefix, path.encode("latin-1"), b" HTTP/1.1\r\nHost: ",
                self._host_header, b"\r\n"]
        if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers) and (
            body or method in ("POST", "PUT", "PATCH")
        ):
            head += [b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n"]
        for name, value in headers:
            if self._auth is None or name.lower() != "authorization":
                head += [name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n"]
        if self._auth is not None:
            head += [b"Authorization: ", self._auth, b"\r\n"]
        head += [b"\r\n", body]
        return b"".join(head)

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.lost:
                return connection
        loop = asyncio.get_running_loop()
        tls = None
        if self._scheme == "https":
            if self._tls is None:
                self._tls = httpx.create_ssl_context(trust_env=True)
                self._tls.set_alpn_protocols(["http/1.1"])
            tls = self._tls
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self._release), self._host, self._port, ssl=tls,
                    server_hostname=self._host if tls is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection within {CONNECT_TIMEOUT:g} s") from None
        except OSError as exc:  # DNS, refused, unreachable, TLS (ssl.SSLError is one)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return connection

    def _release(self, connection: _Connection) -> None:
        if len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.transport.close()


class _Connection(asyncio.Protocol):
    """One connection to upstream, answering one request at a time; httptools' callbacks come here."""

    def __init__(self, release: Callable[[_Connection], None]) -> None:
        self._release = release
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made
        self.lost = False
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reset("GET")

    def _reset(self, method: str) -> None:
        self._method = method
        self._status: int | None = None
        self._headers: RawHeaders = []
        self._chunks: list[bytes] = []
        self._waiting = 0
        self._paused = False
        self._complete = False
        self._write: Write | None = None
        self._held = False
        self._to_close = False
        self._keep = False
        self._received = 0
        self._error: Exception | None = None

    # ----- the flow's side --------------------------------------------------------------------

    async def answer(self, method: str) -> Answer:
        """The answer to the request just written, once its head is in."""
        self._reset(method)
        self._parser = httptools.HttpResponseParser(self)
        while self._status is None:
            if self._error is not None:
                raise self._error
            await self._wait()
        return Answer(self._status, self._headers, self._body(), self._close, self._pipe)

    async def _body(self) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks, self._waiting = [], 0
                if self._paused and not self.lost:
                    self._paused = False
                    self.transport.resume_reading()
                yield data
            elif self._error is not None:
                raise self._error
            elif self._complete:
                return
            else:
                await self._wait()

    async def _pipe(self, write: Write, writable: Writable) -> None:
        """`Answer.pipe`: `data_received` hands each read's body to `write` itself."""
        self._write = write
        try:
            while True:
                if self._chunks:  # what came with the head, or since
                    data = b"".join(self._chunks)
                    self._chunks, self._waiting = [], 0
                    self._held = not write(data)
                    if self._held and not self.lost:
                        self.transport.pause_reading()
                if self._error is not None:
                    raise self._error
                if self._complete:
                    return
                if self._held:
                    await writable()
                    self._held = False
                    if not self.lost:
                        self.transport.resume_reading()
                else:
                    await self._wait()
        finally:
            self._write = None

    async def _close(self) -> None:
        self._write = None
        self._parser = None
        if self._complete and self._keep and not self._chunks and not self.lost:
            self._release(self)
        else:
            self.transport.close()

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # ----- the loop's side --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._parser is None or self._error is not None:
            self.transport.close()  # bytes nobody asked for: the connection is no use any more
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._error = httpx.RemoteProtocolError(f"upstream sent what is not HTTP/1.1: {exc}")
            self.transport.close()
        if self._write is not None:
            self._hand_on(self._write)
            return
        if self._waiting > HIGH_WATER and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def _hand_on(self, write: Write) -> None:
        """`pipe`: this read's body to `write` now; the piping task is woken only at the end, on a
        failure, or to wait for `write` to take more (the socket not read meanwhile)."""
        if self._chunks:
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._chunks, self._waiting = [], 0
            try:
                more = write(data)
            except Exception as exc:  # the writer's failure ends the body: the piping task raises it
                self._error = exc
                self.transport.close()
                self._wake()
                return
            if not more:
                self._held = True
                self.transport.pause_reading()
                self._wake()
        if self._complete or self._error is not None:
            self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._parser is not None and not self._complete and self._error is None:
            if self._status is None:
                self._error = (httpx.ReadError(str(exc) or type(exc).__name__) if exc is not None
                               else httpx.RemoteProtocolError("Server disconnected without sending a response."))
            elif exc is not None:
                self._error = httpx.ReadError(str(exc) or type(exc).__name__)
            elif self._to_close:
                self._complete = True
            else:
                self._error = httpx.RemoteProtocolError(
                    f"peer closed connection without sending complete message body: {self._missing()}")
        self._wake()

    def on_header(self, name: bytes, value: bytes | None) -> None:
        self._headers.append((name, value or b""))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if status < 200:  # an interim answer (103 Early Hints): the final one follows
            self._headers = []
            return
        self._status = status
        self._keep = self._parser.should_keep_alive()  # known now: llhttp forgets it once the body is through
        names = {name.lower(): value for name, value in self._headers}
        chunked = b"chunked" in names.get(b"transfer-encoding", b"").lower()
        if self._method == "HEAD":
            self._complete = True
        self._to_close = not chunked and b"content-length" not in names and status not in (204, 304)

    def on_body(self, body: bytes) -> None:
        if not self._complete:
            self._chunks.append(body)
            self._waiting += len(body)
            self._received += len(body)

    def on_message_complete(self) -> None:
        if self._status is not None:
            self._complete = True

    def _missing(self) -> str:
        names = {name.lower(): value for name, value in self._headers}
        length = names.get(b"content-length")
        if length is None:
            return "incomplete chunked read"
        return f"received {self._received} bytes, expected {length.decode('latin-1').strip()}"


def _environment_proxy(scheme: str, host: str) -> bool:
    """Whether the environment names a proxy for this scheme that does not exempt `host`."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(host, proxies)
