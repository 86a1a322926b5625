"""The latency the recording proxy adds to each event, against a direct connection, in the same run.

The embedded mock plays its `ok` scenario at its real pace (an event every ~30 ms) in this process;
`streamwatch proxy` runs as the user runs it, in a process of its own, forwarding to that mock and
recording every session (to a temporary STREAMWATCH_HOME). The same requests are streamed first
straight from the mock, then through the proxy, with 1 stream and then with 20 at once, by a raw
httpx client in this process.

Per event, the latency is the time from the moment the mock hands the event's bytes to its server
(timed around the mock's ASGI `send`) to the moment the client has read its last byte, both on this
process's `perf_counter`. Each event through the proxy is paired with the same event of the same
stream read directly: what the proxy adds is the difference. The table gives the median and p99 of
the latencies and of the added time, against the target (median < 1 ms, p99 < 5 ms).

Run: .venv/bin/python bench/proxy.py [--quick]   (1 and 20 streams; 1 and 5 with --quick)
On a loaded machine the numbers move: run it twice and look at both.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench._common import Row, child_env  # noqa: E402
from bench._common import main as bench_main  # noqa: E402
from streamwatch.mock.app import MockApp  # noqa: E402
from streamwatch.mock.plan import Pace  # noqa: E402
from streamwatch.server import BackgroundServer  # noqa: E402

TARGET_MEDIAN_MS, TARGET_P99_MS = 1.0, 5.0
STREAM_HEADER = b"x-bench-stream"


class TimedMock:
    """The mock, with the time each body write is handed to the server and where it ends in the body."""

    def __init__(self) -> None:
        self._app = MockApp(Pace())
        self.writes: dict[bytes, list[tuple[float, int]]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        writes = self.writes.setdefault(dict(scope["headers"]).get(STREAM_HEADER, b""), [])
        total = 0

        async def timed(message: dict[str, Any]) -> None:
            nonlocal total
            if message["type"] == "http.response.body" and message.get("body"):
                total += len(message["body"])
                writes.append((time.perf_counter(), total))
            await send(message)

        await self._app(scope, receive, timed)


async def read(client: httpx.AsyncClient, url: str, key: str, scale: float) -> list[tuple[float, int]]:
    """One stream: (arrival time, bytes so far) per read. The same answer for direct and proxied."""
    body = {"model": "mock-ok", "max_tokens": 1024, "stream": True,
            "messages": [{"role": "user", "content": f"bench stream {key.partition('-')[2]}"}]}
    headers = {STREAM_HEADER.decode(): key, "x-streamwatch-time-scale": str(scale)}
    reads, total = [], 0
    async with client.stream("POST", url + "/v1/messages", json=body, headers=headers) as response:
        async for chunk in response.aiter_raw():
            total += len(chunk)
            reads.append((time.perf_counter(), total))
    return reads


def latencies(writes: list[tuple[float, int]], reads: list[tuple[float, int]]) -> list[float]:
    """Per write, milliseconds from its hand-over to the read that completed it."""
    out, at = [], 0
    for sent, end in writes:
        while reads[at][1] < end:
            at += 1
        out.append((reads[at][0] - sent) * 1000)
    return out


async def run(url: str, mock: TimedMock, streams: int, scale: float, label: str) -> list[list[float]]:
    keys = [f"{label}-{streams}-{n}" for n in range(streams)]
    async with httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_connections=None)) as client:
        reads = await asyncio.gather(*(read(client, url, key, scale) for key in keys))
    return [latencies(mock.writes[key.encode()], got) for key, got in zip(keys, reads, strict=True)]


def start_proxy(upstream: str, home: str) -> tuple[subprocess.Popen[str], str]:
    env = {**child_env(), "STREAMWATCH_HOME": home}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamwatch.cli", "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("export ANTHROPIC_BASE_URL="):
            return process, line.strip().split("=", 1)[1]
    raise SystemExit(f"streamwatch proxy did not start (exit {process.wait()})")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def rows(quick: bool) -> list[Row]:
    mock = TimedMock()
    found = []
    with tempfile.TemporaryDirectory() as home, BackgroundServer(mock, name="bench-mock") as server:
        proxy, proxy_url = start_proxy(server.url, home)
        try:
            for streams in (1, 5) if quick else (1, 20):
                direct = asyncio.run(run(server.url, mock, streams, 1.0, "direct"))
                proxied = asyncio.run(run(proxy_url, mock, streams, 1.0, "proxy"))
                added = [p - d for ds, ps in zip(direct, proxied, strict=True) for d, p in zip(ds, ps, strict=True)]
                flat_direct = [x for stream in direct for x in stream]
                flat_proxied = [x for stream in proxied for x in stream]
                label = f"proxy, {streams} stream{'s' if streams > 1 else ''} ({len(flat_direct)} events)"
                for what, pick, limit in (("median", statistics.median, TARGET_MEDIAN_MS),
                                          ("p99", p99, TARGET_P99_MS)):
                    found.append(Row(f"{label}: latency per event, {what}",
                                     pick(flat_proxied) / 1000, pick(flat_direct) / 1000, "direct"))
                    found.append(Row(f"{label}: added per event, {what}", pick(added) / 1000, limit=limit / 1000))
        finally:
            proxy.send_signal(signal.SIGTERM)
            proxy.wait(30)
    return found


if __name__ == "__main__":
    bench_main(rows, __doc__)
