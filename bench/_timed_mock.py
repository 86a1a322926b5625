"""The embedded mock at its real pace, noting the time each body write is handed to its server.

bench/proxy.py runs it in a process of its own, so that its writes and the bench's client reads never
wait on each other's GIL (in one process, a client woken by a read waited up to the 5 ms switch
interval while the mock's thread held the GIL: the direct connection's own p99 was 5-18 ms). Times
are `time.perf_counter()`, CLOCK_MONOTONIC on Linux: one clock for every process of the machine.

`GET /bench-writes/KEY` answers the writes of the stream sent with `x-bench-stream: KEY` as JSON
`[[time, bytes so far], ...]`. It stops when its stdin closes.

Run: python bench/_timed_mock.py   (prints the mock's URL on stdout)
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamwatch.mock.app import MockApp  # noqa: E402
from streamwatch.mock.plan import Pace  # noqa: E402
from streamwatch.server import LOOPBACK, bind, url_of  # noqa: E402

STREAM_HEADER = b"x-bench-stream"
WRITES_PATH = "/bench-writes/"


class TimedMock:
    """The mock, with the time each body write is handed to the server and where it ends in the body."""

    def __init__(self) -> None:
        self._app = MockApp(Pace())
        self.writes: dict[str, list[tuple[float, int]]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WRITES_PATH):
            body = json.dumps(self.writes.get(scope["path"].removeprefix(WRITES_PATH), [])).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        writes = self.writes.setdefault(dict(scope.get("headers", [])).get(STREAM_HEADER, b"").decode(), [])
        total = 0

        async def timed(message: dict[str, Any]) -> None:
            nonlocal total
            if message["type"] == "http.response.body" and message.get("body"):
                total += len(message["body"])
                writes.append((time.perf_counter(), total))
            await send(message)

        await self._app(scope, receive, timed)


def main() -> None:
    """Serve until stdin closes, with uvicorn's C parser on uvloop, at a lower priority (nice 10): the
    mock stands for the API's servers, whose work is not done on the user's machine, so its share of
    this machine's 2 CPUs is load on what is measured, not part of it (with h11 on asyncio, which the
    embedded mock uses, it took 0.25 ms of CPU per event, as much as the proxy)."""
    os.nice(10)
    sock = bind(LOOPBACK, 0)
    server = uvicorn.Server(uvicorn.Config(TimedMock(), http="httptools", loop="uvloop", interface="asgi3",
                                           lifespan="off", log_level="warning", access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    print(url_of(sock.getsockname()), flush=True)
    sys.stdin.read()
    server.should_exit = True


if __name__ == "__main__":
    main()
