"""Running the mock: `MockServer` in a background thread, `serve()` in the foreground."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from streamwatch.mock.app import MockApp, hide_stream_cuts
from streamwatch.mock.plan import Pace

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8719
FIRST_TOKEN_DELAY = Pace.first_token
_STOP_TIMEOUT = 10.0


class MockServer:
    """The mock Anthropic API on a free loopback port, served by a daemon thread.

    `time_scale` multiplies every duration (0.01 runs a 20 s scenario in 0.2 s); the first
    content arrives `first_token_delay` seconds (times the scale) after the request.

        with MockServer(time_scale=0.01) as server:
            client = anthropic.Anthropic(base_url=server.base_url, api_key="any", max_retries=0)
    """

    def __init__(
        self,
        *,
        port: int = 0,
        time_scale: float = 1.0,
        first_token_delay: float = FIRST_TOKEN_DELAY,
    ) -> None:
        self._pace = _pace(time_scale, first_token_delay)
        self._requested_port = port
        self._port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def time_scale(self) -> float:
        return self._pace.scale

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the mock server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> MockServer:
        """Bind the port and serve; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the mock server is already running")
        sock = socket.create_server((LOOPBACK, self._requested_port))
        app = MockApp(self._pace)
        server = _Server(_config(app, log_level="warning", access_log=False, log_config=None), app)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="streamwatch-mock", daemon=True
        )
        thread.start()
        while not server.ready.wait(0.05):
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("the mock server failed to start")
        self._port = sock.getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Cut the streams still open, close the port and wait for the thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(_STOP_TIMEOUT)
        self._server = self._thread = self._port = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    sock: socket.socket,
    *,
    time_scale: float = 1.0,
    first_token_delay: float = FIRST_TOKEN_DELAY,
) -> None:
    """Serve the mock on a bound socket in the foreground until Ctrl+C, logging one line per request.

    The caller binds (`socket.create_server`), so it knows the port before serving, even port 0's.
    Ctrl+C cuts the streams still open and returns.
    """
    host, port = sock.getsockname()[:2]
    app = MockApp(_pace(time_scale, first_token_delay))
    server = _Server(_config(app, host=host, port=port, log_level="info"), app)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


class _Server(uvicorn.Server):
    """uvicorn that cuts the mock's open streams on shutdown instead of waiting for them."""

    def __init__(self, config: uvicorn.Config, app: MockApp) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._app = app
        logging.getLogger("uvicorn.error").addFilter(hide_stream_cuts)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._app.cut_streams()
        await super().shutdown(sockets)


def _config(app: MockApp, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, http="h11", interface="asgi3", lifespan="off", server_header=False, **options
    )


def _pace(time_scale: float, first_token_delay: float) -> Pace:
    if time_scale < 0 or first_token_delay < 0:
        raise ValueError("time_scale and first_token_delay must be 0 or more")
    return Pace(scale=time_scale, first_token=first_token_delay)
