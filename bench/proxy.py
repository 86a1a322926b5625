"""The latency the recording proxy adds to each event, against a direct connection and a raw relay, in the same run.

Three processes besides this one: the embedded mock playing its `ok` scenario at its real pace (an
event every ~30 ms, bench/_timed_mock.py), `streamwatch proxy` as the user runs it (forwarding to
that mock and recording every session to a temporary STREAMWATCH_HOME), and a raw TCP relay to the
same mock that parses and records nothing (bench/_relay.py: the floor of any proxy here, the extra
hop through the kernel and another process). The same requests are streamed by a client in this
process straight from the mock, through the relay and through the proxy, with 1 stream and then
with 20 at once, in interleaved rounds (3; 1 with --quick) so that a burst of load elsewhere on the
machine falls on all three alike. The client is an instrument, as light as it can be: an asyncio
protocol whose socket reads httptools parses in C, timing each read (an httpx client took 0.7 ms of
CPU per event, three times the proxy's, and on this 2-CPU machine the four processes take turns:
the client's own work was most of what every route's latency measured).

Per event, the latency is the time from the moment the mock hands the event's bytes to its server
(timed around the mock's ASGI `send`) to the moment the client has read its last byte, on the
machine's monotonic clock. Each event through the proxy (or the relay) is paired with the same event
of the same stream read directly: what it adds is the difference. The table gives, per stream
count, the median and p99 of the latencies (against the direct ones) and of the time the proxy adds,
against the time the raw relay adds and against the target (median < 1 ms, p99 < 5 ms).

The 20 streams start together and the mock paces them alike, so their events arrive in bursts of
20: the last of a burst waits for the 19 before it, in the proxy as in the relay.

Run: .venv/bin/python bench/proxy.py [--quick]   (1 and 20 streams; 1 and 5 with --quick)
On a loaded machine the numbers move: run it twice and look at both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httptools  # noqa: E402
import httpx  # noqa: E402

from bench._common import ROOT, Row, child_env  # noqa: E402
from bench._common import main as bench_main  # noqa: E402
from bench._timed_mock import STREAM_HEADER, WRITES_PATH  # noqa: E402

TARGET_MEDIAN_MS, TARGET_P99_MS = 1.0, 5.0
BASE_URL_LINE = "export ANTHROPIC_BASE_URL="
Reads = list[tuple[float, int]]


@dataclass
class Child:
    url: str
    pid: int

    def cpu(self) -> float:
        """Seconds of CPU (user and system) the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def child(args: list[str], env: dict[str, str] | None = None, says_on_stdout: bool = False) -> Iterator[Child]:
    """A process of `args` (python ...) until the block ends, with the URL it says it serves on (its
    first line on stdout, or the `export ANTHROPIC_BASE_URL=` line on stderr); its other output is dropped."""
    process = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE, text=True, env={**child_env(), **(env or {})}, cwd=ROOT,
        stdout=subprocess.PIPE if says_on_stdout else subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    stream = process.stdout if says_on_stdout else process.stderr
    assert stream is not None and process.stderr is not None
    try:
        url = next((line.strip().removeprefix(BASE_URL_LINE) for line in stream
                    if line.startswith(("http://", BASE_URL_LINE))), None)
        if url is None:
            raise SystemExit(f"{' '.join(args)} did not start (exit {process.wait()}): {process.stderr.read()[-2000:]}")
        yield Child(url, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


class Reader(asyncio.Protocol):
    """One stream on a connection of its own: (time of the socket read, body bytes so far) per piece of
    body, de-chunked by httptools; `done` is the list once the body has ended."""

    def __init__(self, request: bytes) -> None:
        self._request = request
        self._parser = httptools.HttpResponseParser(self)
        self._transport: Any = None
        self._now = 0.0
        self._total = 0
        self.reads: Reads = []
        self.done: asyncio.Future[Reads] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._now = time.perf_counter()
        self._parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self._total += len(body)
        self.reads.append((self._now, self._total))

    def on_message_complete(self) -> None:
        self._transport.close()
        if not self.done.done():
            self.done.set_result(self.reads)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"the stream was cut after {self._total} bytes: {exc}"))


async def read(url: str, key: str) -> Reads:
    """One stream: (arrival time, bytes so far) per read. The same answer for every way it goes."""
    body = json.dumps({"model": "mock-ok", "max_tokens": 1024, "stream": True,
                       "messages": [{"role": "user", "content": f"bench stream {key.rpartition('-')[2]}"}]}).encode()
    where = urlsplit(url)
    head = (f"POST /v1/messages HTTP/1.1\r\nhost: {where.netloc}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n{STREAM_HEADER.decode()}: {key}\r\nconnection: close\r\n\r\n")
    _, reader = await asyncio.get_running_loop().create_connection(lambda: Reader(head.encode() + body),
                                                                   where.hostname, where.port)
    return await reader.done


def latencies(writes: Reads, reads: Reads) -> list[float]:
    """Per write, milliseconds from its hand-over to the read that completed it."""
    out, at = [], 0
    for sent, end in writes:
        while reads[at][1] < end:
            at += 1
        out.append((reads[at][0] - sent) * 1000)
    return out


def streamed(mock: str, url: str, streams: int, label: str) -> list[list[float]]:
    """`streams` streams at once through `url`: each one's latency per event."""
    keys = [f"{label}-{n}" for n in range(streams)]

    async def run() -> list[Reads]:
        return await asyncio.gather(*(read(url, key) for key in keys))

    reads = asyncio.run(run())
    with httpx.Client() as client:
        return [latencies([tuple(w) for w in client.get(mock + WRITES_PATH + key).json()], got)
                for key, got in zip(keys, reads, strict=True)]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def flat(streams: list[list[float]]) -> list[float]:
    return [x for stream in streams for x in stream]


def added(direct: list[list[float]], via: list[list[float]]) -> list[float]:
    return [v - d for ds, vs in zip(direct, via, strict=True) for d, v in zip(ds, vs, strict=True)]


def rows(quick: bool) -> list[Row]:
    found = []
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as home, child(["bench/_timed_mock.py"], says_on_stdout=True) as served, \
            child(["bench/_relay.py", served.url]) as relay, \
            child(["-m", "streamwatch.cli", "proxy", "--listen", "127.0.0.1:0", "--upstream", served.url],
                  {"STREAMWATCH_HOME": home}) as proxy:
        mock = served.url
        for streams in (1, 5) if quick else (1, 20):
            direct, through_relay, through_proxy, relay_added, proxy_added = [], [], [], [], []
            relay_cpu = proxy_cpu = 0.0
            for n in range(rounds):
                straight = streamed(mock, mock, streams, f"direct-{streams}-{n}")
                before = relay.cpu()
                relayed = streamed(mock, relay.url, streams, f"relay-{streams}-{n}")
                relay_cpu += relay.cpu() - before
                before = proxy.cpu()
                proxied = streamed(mock, proxy.url, streams, f"proxy-{streams}-{n}")
                proxy_cpu += proxy.cpu() - before
                direct += flat(straight)
                through_relay += flat(relayed)
                through_proxy += flat(proxied)
                relay_added += added(straight, relayed)
                proxy_added += added(straight, proxied)
            label = f"proxy, {streams} stream{'s' if streams > 1 else ''} ({len(direct)} events)"
            for what, pick, limit in (("median", statistics.median, TARGET_MEDIAN_MS), ("p99", p99, TARGET_P99_MS)):
                found.append(Row(f"{label}: latency per event, {what}", pick(through_proxy) / 1000,
                                 pick(direct) / 1000, "direct"))
                found.append(Row(f"{label}: latency per event through the raw relay, {what}",
                                 pick(through_relay) / 1000, pick(direct) / 1000, "direct"))
                found.append(Row(f"{label}: added per event, {what}", pick(proxy_added) / 1000,
                                 pick(relay_added) / 1000, "raw relay", limit=limit / 1000))
            found.append(Row(f"{label}: CPU per event (forwarding, recording, analysis)", proxy_cpu / len(direct),
                             relay_cpu / len(direct), "raw relay"))
    return found


if __name__ == "__main__":
    bench_main(rows, __doc__)
