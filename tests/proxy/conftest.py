"""The proxy in front of the embedded mock, both on free loopback ports, sessions saved under tmp_path."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from streamwatch.core.recorder import Hook
from streamwatch.core.recording import Session, load_session
from streamwatch.mock import MockServer
from streamwatch.mock.plan import Ids
from streamwatch.proxy.app import ProxyApp
from streamwatch.proxy.faults import Faults
from streamwatch.proxy.flow import Flow
from streamwatch.proxy.rows import FlowBook

TIME_SCALE = 0.01
WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock's ids the same for every request, so two answers to one request are the same bytes."""
    ids = Ids("req_mock_fixed", "msg_mock_fixed", "toolu_mock_fixed")
    monkeypatch.setattr(Ids, "fresh", classmethod(lambda cls: ids))


class Proxy:
    """A running ProxyApp: its URL, the flows it announced, and a wait for flows to be done."""

    def __init__(self, upstream: str, directory: Path, faults: Faults | None = None, book: FlowBook | None = None) -> None:
        """`book`: a FlowBook that also gets every flow, its row hooks told before the end is counted."""
        self.directory = directory
        self.flows: list[Flow] = []
        self._ended = 0
        self._changed = threading.Condition()
        proxy = self

        class Ended(Hook):
            def on_session_end(self, log: Any) -> None:
                with proxy._changed:
                    proxy._ended += 1
                    proxy._changed.notify_all()

        def hooks_for(flow: Flow) -> list[Hook]:
            return [*(book.hooks_for(flow) if book is not None else ()), Ended()]

        def on_flow(flow: Flow) -> None:
            if book is not None:
                book.on_flow(flow)
            self.flows.append(flow)

        self.app = ProxyApp(upstream, hooks_for=hooks_for, on_flow=on_flow, directory=directory, faults=faults)
        self.server = self.app.server()

    @property
    def url(self) -> str:
        return self.server.url

    def wait(self, count: int = 1) -> list[Flow]:
        """The flows, once `count` of them have been recorded to their end and told to their hooks."""
        with self._changed:
            assert self._changed.wait_for(lambda: self._ended >= count, WAIT_SECONDS), f"{self._ended} of {count} flows ended"
        return self.flows

    def sessions(self, count: int = 1) -> list[Session]:
        """The session files of the first `count` flows, in the order the flows came."""
        flows = self.wait(count)
        return [load_session(flow.recorder.session_path) for flow in flows[:count]]


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []

    def start(upstream: str, faults: Faults | None = None, book: FlowBook | None = None) -> Proxy:
        proxy = Proxy(upstream, tmp_path / "sessions", faults, book)
        proxy.directory.mkdir(exist_ok=True)
        proxy.server.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.server.stop()


@pytest.fixture
def proxy(start_proxy: Callable[[str], Proxy], mock: MockServer) -> Proxy:
    return start_proxy(mock.base_url)


class Capture(httpx2.HTTPTransport):
    """An SDK transport that keeps every response body's bytes as they came off the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytearray] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        body = bytearray()
        self.bodies.append(body)
        inner = response.stream

        class Kept(httpx2.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                for chunk in inner:
                    body.extend(chunk)
                    yield chunk

            def close(self) -> None:
                inner.close()

        response.stream = Kept()
        return response


class AsyncCapture(httpx2.AsyncHTTPTransport):
    """As `Capture`, for the async client."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytearray] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        body = bytearray()
        self.bodies.append(body)
        inner = response.stream

        class Kept(httpx2.AsyncByteStream):
            async def __aiter__(self) -> Any:
                async for chunk in inner:
                    body.extend(chunk)
                    yield chunk

            async def aclose(self) -> None:
                await inner.aclose()

        response.stream = Kept()
        return response


def _read(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


class Running:
    """`streamwatch proxy ...` in a subprocess (SIGINT as a terminal's Ctrl-C), its output read as it comes."""

    def __init__(self, home: Path, *options: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        env["STREAMWATCH_HOME"] = str(home)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamwatch.cli", "proxy", "--listen", "127.0.0.1:0", *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self._readers = [threading.Thread(target=_read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()
        self.said: list[str] = []
        self.base_url = self.line_starting("export ANTHROPIC_BASE_URL=").split("=", 1)[1]

    def line_starting(self, prefix: str) -> str:
        while True:
            line = self.err.get(timeout=WAIT_SECONDS).rstrip("\n")
            self.said.append(line)
            if line.startswith(prefix):
                return line

    def printed(self) -> str:
        return self.out.get(timeout=WAIT_SECONDS).rstrip("\n")

    def interrupt(self) -> int:
        """Ctrl-C; the exit status, once everything it wrote to stderr is in `said`."""
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(WAIT_SECONDS)
        for reader in self._readers:
            reader.join(WAIT_SECONDS)
        while not self.err.empty():
            self.said.append(self.err.get().rstrip("\n"))
        return status

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_proxy(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start `streamwatch proxy OPTIONS...` in a subprocess; each is killed at the end if still running."""
    started: list[Running] = []

    def start(*options: str) -> Running:
        started.append(Running(tmp_path, *options))
        return started[-1]

    yield start
    for running in started:
        running.stop()
