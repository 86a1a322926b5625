"""Running the mock: `MockServer` in a background thread, `serve()` in the foreground.

Both serve a fresh `MockApp` with `streamwatch.server`, which cuts the mock's open streams when it
stops.
"""

from __future__ import annotations

import math
import socket
from types import TracebackType

from streamwatch.mock.app import MockApp
from streamwatch.mock.plan import Pace
from streamwatch.protocol import MAX_TIME_SCALE
from streamwatch.server import BackgroundServer
from streamwatch.server import serve as serve_app

DEFAULT_PORT = 8719
FIRST_TOKEN_DELAY = Pace.first_token


class MockServer:
    """The mock Anthropic API on a free loopback port, served by a daemon thread.

    `time_scale` multiplies every duration (0.01 runs a 20 s scenario in 0.2 s); the first
    content arrives `first_token_delay` seconds (times the scale) after the request. With
    `require_key`, a request without a key gets the API's 401; with `stands_in`, it plays the retries
    and resumes of sessions a mock that has stopped recorded: no fault fires unless a request asks for
    it always (see `streamwatch.mock.app`).

        with MockServer(time_scale=0.01) as server:
            client = anthropic.Anthropic(base_url=server.base_url, api_key="any", max_retries=0)
    """

    def __init__(
        self,
        *,
        port: int = 0,
        time_scale: float = 1.0,
        first_token_delay: float = FIRST_TOKEN_DELAY,
        require_key: bool = False,
        stands_in: bool = False,
    ) -> None:
        self._pace = _pace(time_scale, first_token_delay)
        self._require_key = require_key
        self._stands_in = stands_in
        self._requested_port = port
        self._server: BackgroundServer | None = None

    @property
    def time_scale(self) -> float:
        return self._pace.scale

    @property
    def port(self) -> int:
        return self._running().port

    @property
    def base_url(self) -> str:
        return self._running().url

    def start(self) -> MockServer:
        """Bind the port and serve; returns once the server accepts connections."""
        if self._server is not None:
            raise RuntimeError("the mock server is already running")
        app = MockApp(self._pace, require_key=self._require_key, stands_in=self._stands_in)
        self._server = BackgroundServer(
            app, port=self._requested_port, on_shutdown=app.cut_streams, name="streamwatch-mock"
        ).start()
        return self

    def stop(self) -> None:
        """Cut the streams still open, close the port and wait for the thread to end."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _running(self) -> BackgroundServer:
        if self._server is None:
            raise RuntimeError("the mock server is not running")
        return self._server

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
    require_key: bool = False,
) -> None:
    """Serve the mock on a bound socket in the foreground until Ctrl+C, logging one line per request.

    The caller binds, so it knows the port before serving, even port 0's. Ctrl+C cuts the streams
    still open and returns.
    """
    app = MockApp(_pace(time_scale, first_token_delay), require_key=require_key)
    serve_app(app, sock, on_shutdown=app.cut_streams)


def _pace(time_scale: float, first_token_delay: float) -> Pace:
    if not 0 <= time_scale <= MAX_TIME_SCALE:
        raise ValueError(f"time_scale must be from 0 to {MAX_TIME_SCALE:g}")
    if not 0 <= first_token_delay < math.inf:
        raise ValueError("first_token_delay must be 0 or more seconds")
    return Pace(scale=time_scale, first_token=first_token_delay)
