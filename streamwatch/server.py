"""The servers' threads: an ASGI app with uvicorn (`BackgroundServer`, the mock's), asyncio protocols of a
server's own (`ProtocolServer`, the proxy's), each in a daemon thread, and `serve()` in the foreground.

Shared by the mock and the recording proxy: each hands over what it serves, this module binds, serves,
says where and stops. Where it listens is decided here and nowhere else:

- `bind(host, port)` binds like a server: '' is every interface, a name is looked up, an IPv6
  address binds IPv6 ('::' takes IPv4 too where the system allows).
- `url_of(address)` is the URL of a bound address (`http://[::1]:8719` for IPv6), `local_url` the
  one a client on this machine uses (loopback for a wildcard).
- `exposure(address)` says, when the address is not loopback, that other machines can reach it.

A response body may raise `StreamCut` to close the connection mid-body on purpose; the server does
not log it as an error. A server on a thread logs nothing at all (uvicorn's warnings, such as a
malformed request, or the loop's `socket.send() raised exception.`, would land in the middle of a TUI
or a headless printer's lines). `on_shutdown` runs on the server's loop before it stops (the mock cuts its
open streams there, so stopping never waits for a long stream); a `ProtocolServer` closes its
`Serving`, which does the same.

uvicorn parses and writes HTTP with h11, which takes any header value a client sends (the mock answers a
bad control header itself, naming it), on asyncio's loop. A `ProtocolServer` runs on uvloop where it
is installed (not on Windows): its socket reads, writes and callbacks are in C, and the loop is the
server thread's own (no process-wide policy), so the TUI's loop and the mock's stay asyncio's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, Self

import uvicorn

LOOPBACK = "127.0.0.1"
ASGIApp = Callable[..., Awaitable[None]]
_STOP_TIMEOUT = 10.0


class StreamCut(Exception):
    """Raised in a response body so that the server closes the connection without ending the body."""


class BindError(Exception):
    """`bind` cannot listen there: the message says where and why, on one line."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host` ('' for every interface) and `port` (0 for a free one).

    An IPv6 address may come in brackets, as in a URL. A name that resolves to several addresses
    binds the first that works.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return _bind(bare, port)
    except UnicodeError:  # from the name's IDNA encoding: an empty label or one over 63 characters
        reason = "not a valid host name"
    except OSError as error:
        reason = error.strerror or str(error)
    where = f"[{bare}]" if ":" in bare else bare or "*"
    raise BindError(f"cannot listen on {where}:{port}: {reason}")


def url_of(address: tuple[Any, ...]) -> str:
    """`http://host:port` for a bound address (a socket's `getsockname()`), IPv6 in brackets."""
    host, port = address[:2]
    if ":" in host:
        host = "[" + host.replace("%", "%25") + "]"
    return f"http://{host}:{port}"


def local_url(address: tuple[Any, ...]) -> str:
    """The URL a client on this machine uses: the bound one, or loopback for a wildcard address."""
    if _is_wildcard(address):
        return url_of(("::1" if ":" in address[0] else LOOPBACK, address[1]))
    return url_of(address)


def exposure(
    address: tuple[Any, ...], risk: str = "use it without a key", keep: str = "--host 127.0.0.1"
) -> str | None:
    """None for a loopback address; else one sentence saying that other machines can reach it and
    `risk` (what they can do then), and the option that `keep`s it to this machine."""
    ip = _ip(address)
    if ip.is_loopback:
        return None
    where = "every network interface" if ip.is_unspecified else address[0]
    return f"listening on {where}, so other machines can connect and {risk}; {keep} keeps it to this machine"


class _Thread:
    """A server on its own daemon thread, bound before it starts: where it listens, start and stop."""

    def __init__(self, host: str, port: int, name: str) -> None:
        self._host, self._requested_port = host, port
        self._name = name
        self._address: tuple[Any, ...] | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[Any, ...]:
        if self._address is None:
            raise RuntimeError(f"{self._name} is not running")
        return self._address

    @property
    def port(self) -> int:
        return int(self.address[1])

    @property
    def url(self) -> str:
        return url_of(self.address)

    def start(self) -> Self:
        """Bind and serve; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        sock = bind(self._host, self._requested_port)
        ready = threading.Event()
        thread = threading.Thread(target=self._quietly, args=(sock, ready), name=self._name, daemon=True)
        thread.start()
        while not ready.wait(0.05):
            if not thread.is_alive():
                sock.close()
                raise RuntimeError(f"{self._name} failed to start")
        self._address = sock.getsockname()
        self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving (the open exchanges cut) and wait for the thread to end."""
        if self._thread is None:
            return
        self._stop()
        self._thread.join(_STOP_TIMEOUT)
        self._thread = self._address = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _quietly(self, sock: socket.socket, ready: threading.Event) -> None:
        _background.quiet = True
        for name in ("uvicorn.error", "asyncio"):
            logging.getLogger(name).addFilter(_hide_stream_cuts)
        self._serve(sock, ready)

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        """Serve on `sock` (on this thread) until `_stop`; set `ready` once connections are accepted."""
        raise NotImplementedError

    def _stop(self) -> None:
        """Make `_serve` return (from another thread)."""
        raise NotImplementedError


class BackgroundServer(_Thread):
    """The ASGI `app` served by uvicorn on `host`:`port` (default: a free loopback port), on a daemon thread.

        with BackgroundServer(app) as server:
            httpx.get(server.url + "/path")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        on_shutdown: Callable[[], None] | None = None,
        name: str = "streamwatch-server",
    ) -> None:
        super().__init__(host, port, name)
        self._app = app
        self._on_shutdown = on_shutdown
        self._server: _Server | None = None

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        config = _config(self._app, log_level="warning", access_log=False, log_config=None)
        self._server = _Server(config, self._on_shutdown, ready)
        self._server.run(sockets=[sock])

    def _stop(self) -> None:
        assert self._server is not None
        self._server.should_exit = True


class Serving(Protocol):
    """What a `ProtocolServer` serves: a protocol per connection, and how it stops."""

    def connection(self) -> asyncio.Protocol:
        """The protocol of a new connection."""
        ...

    async def close(self) -> None:
        """Stop every exchange under way and close every connection (the listening socket is closed already)."""
        ...


class ProtocolServer(_Thread):
    """`serving`'s connections, asyncio protocols of its own, on a daemon thread's event loop: uvloop
    where it is installed (not on Windows), whose socket reads, writes and callbacks are in C. The
    loop is the thread's own (no process-wide policy), so the TUI's loop and the mock's stay asyncio's.
    The recording proxy runs on one (streamwatch/proxy/http.py)."""

    def __init__(self, serving: Serving, *, host: str = LOOPBACK, port: int = 0, name: str = "streamwatch-server") -> None:
        super().__init__(host, port, name)
        self._serving = serving
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        try:
            import uvloop
        except ImportError:
            self._loop = asyncio.new_event_loop()
        else:
            self._loop = uvloop.new_event_loop()
        try:
            self._loop.run_until_complete(self._main(sock, ready))
        finally:
            self._loop.close()

    async def _main(self, sock: socket.socket, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.get_running_loop().create_server(self._serving.connection, sock=sock)
        ready.set()
        await self._stopping.wait()
        server.close()
        await self._serving.close()
        others = asyncio.all_tasks() - {asyncio.current_task()}
        if others:  # what the exchanges left to finish (closing their upstream connections)
            await asyncio.wait(others, timeout=_STOP_TIMEOUT / 2)

    def _stop(self) -> None:
        assert self._loop is not None and self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)


def serve(
    app: ASGIApp, sock: socket.socket, *, on_shutdown: Callable[[], None] | None = None
) -> None:
    """Serve `app` on a bound socket in the foreground until Ctrl+C, logging one line per request.

    The caller binds (`bind`), so it knows the port before serving, even port 0's. Ctrl+C runs
    `on_shutdown`, closes the socket and returns.
    """
    host, port = sock.getsockname()[:2]
    # Plain log lines: they pass the command line's output guard, which would show colours as escapes.
    server = _Server(_config(app, host=host, port=port, log_level="info", use_colors=False), on_shutdown)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


_background = threading.local()


def _hide_stream_cuts(record: logging.LogRecord) -> bool:
    """Logging filter for uvicorn's error logger and asyncio's: a deliberate cut is not an application
    error, and a `BackgroundServer` logs nothing, not even its loop's warnings (`socket.send() raised
    exception.` when a client hung up mid-body): it runs beside a TUI or a headless printer, which own
    the terminal, and Python prints an unhandled warning to stderr."""
    if getattr(_background, "quiet", False):
        return False
    return not (record.exc_info and isinstance(record.exc_info[1], StreamCut))


class _Server(uvicorn.Server):
    """uvicorn that says when it accepts connections and runs `on_shutdown` before it stops."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None,
                 ready: threading.Event | None = None) -> None:
        super().__init__(config)
        self.ready = ready or threading.Event()
        self._on_shutdown = on_shutdown
        logging.getLogger("uvicorn.error").addFilter(_hide_stream_cuts)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:
            self._on_shutdown()
        await super().shutdown(sockets)


def _config(app: ASGIApp, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, http="h11", loop="asyncio", interface="asgi3", lifespan="off", server_header=False, **options
    )


def _ip(address: tuple[Any, ...]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address[0].partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_wildcard(address: tuple[Any, ...]) -> bool:
    return _ip(address).is_unspecified


def _bind(host: str, port: int) -> socket.socket:
    found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    failure: OSError | None = None
    for family, _, _, _, address in found:
        both = family == socket.AF_INET6 and _is_wildcard(address) and socket.has_dualstack_ipv6()
        try:
            return socket.create_server(address, family=family, dualstack_ipv6=both)
        except OSError as error:
            failure = error
    assert failure is not None, "getaddrinfo returns an address or raises"
    raise failure
