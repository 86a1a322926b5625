"""Serving an ASGI app with uvicorn: `BackgroundServer` in a daemon thread, `serve()` in the foreground.

Shared by the mock and the proxy: each hands over its app, this module binds, serves, says where and
stops.

A response body may raise `StreamCut` to close the connection mid-body on purpose; the server does
not log it as an error. `on_shutdown` runs on the server's loop before it stops (the mock cuts its
open streams there, so stopping never waits for a long stream).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"
ASGIApp = Callable[..., Awaitable[None]]
_STOP_TIMEOUT = 10.0


class StreamCut(Exception):
    """Raised in a response body so that the server closes the connection without ending the body."""


class BackgroundServer:
    """`app` served on `host`:`port` (default: a free loopback port) by a daemon thread.

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
        self._app = app
        self._host, self._requested_port = host, port
        self._on_shutdown = on_shutdown
        self._name = name
        self._address: tuple[Any, ...] | None = None
        self._server: _Server | None = None
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
        host, port = self.address[:2]
        return f"http://{host}:{port}"

    def start(self) -> BackgroundServer:
        """Bind and serve; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        sock = socket.create_server((self._host, self._requested_port))
        config = _config(self._app, log_level="warning", access_log=False, log_config=None)
        server = _Server(config, self._on_shutdown)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        thread.start()
        while not server.ready.wait(0.05):
            if not thread.is_alive():
                sock.close()
                raise RuntimeError(f"{self._name} failed to start")
        self._address = sock.getsockname()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Run `on_shutdown`, close the port and wait for the thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(_STOP_TIMEOUT)
        self._server = self._thread = self._address = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    app: ASGIApp, sock: socket.socket, *, on_shutdown: Callable[[], None] | None = None
) -> None:
    """Serve `app` on a bound socket in the foreground until Ctrl+C, logging one line per request.

    The caller binds (`socket.create_server`), so it knows the port before serving, even port 0's.
    Ctrl+C runs `on_shutdown`, closes the socket and returns.
    """
    host, port = sock.getsockname()[:2]
    server = _Server(_config(app, host=host, port=port, log_level="info"), on_shutdown)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def _hide_stream_cuts(record: logging.LogRecord) -> bool:
    """Logging filter for uvicorn's error logger: a deliberate cut is not an application error."""
    return not (record.exc_info and isinstance(record.exc_info[1], StreamCut))


class _Server(uvicorn.Server):
    """uvicorn that says when it accepts connections and runs `on_shutdown` before it stops."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.ready = threading.Event()
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
        app, http="h11", interface="asgi3", lifespan="off", server_header=False, **options
    )
