"""A live run against the SDK's own: CPU and wall time per warm request, through the embedded mock.

The mock runs in its own process (`streamwatch mock --time-scale 0`, loopback), so this process's
CPU time is the client's alone. The SDK side is what an application pays to stream the same request
with the SDK's normal streaming API: one `anthropic.Anthropic` client, kept warm (its connection
kept alive from request to request), each stream consumed to its end with
`messages.create(stream=True)`, its events built as the SDK's models. That is the cheaper of the
SDK's two streaming calls (`messages.stream()` also accumulates the message, re-parsing the tool
input as it grows), so the baseline is the one a live run is hardest pressed to match. The
streamwatch side is one `LiveRun` per request (`run --headless` without its printer: its own client
and connection, the tap, the recording, the diagnosis), without and with saving the session. The
three take turns, request after request, so a change in the machine's load weighs on each alike.
Sizes: a short text answer (`ok`, 123 events) and a big tool input (`tool_big` at the most
max_tokens allows: 0.93 MB of input JSON, 13 000 events, 2.6 MB of SSE). Target: within 1.2x of the
SDK's own, in CPU and in wall time.

Run: .venv/bin/python bench/live.py [--quick]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, Timing, child_env, main  # noqa: E402
from streamwatch.mock.request import MAX_OUTPUT_TOKENS  # noqa: E402

TARGET = 1.2
KEY = "bench"
"""Both sides are given the same key (without one, every client the SDK builds looks for a profile's
credentials on disk, ~1 ms of the live run's own client and none of the warm client's)."""
SIZES = (("short text", "ok", None, 1024), ("1 MB tool input", "tool_big", 1_000_000, MAX_OUTPUT_TOKENS))
"""(label, scenario, tool input bytes asked for, max_tokens): the mock writes a tool input only as long as
max_tokens leaves, so the big one asks for the most any model allows."""


class Mock:
    """`streamwatch mock` in a child process on a free loopback port."""

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamwatch.cli", "mock", "--port", "0", "--time-scale", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env(), cwd=child_env()["PYTHONPATH"],
        )
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found is None:
            self.process.kill()
            raise RuntimeError(f"the mock did not start: {line}")
        return found.group(0)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait()


def per_request(sends: list[Callable[[], None]], repeat: int) -> list[tuple[Timing, Timing]]:
    """CPU and wall seconds of one request of each way to send it, after one warm-up each: min and median
    over `repeat`. The ways take turns, request after request, so a machine whose load changes during
    the run weighs on each alike (run one after the other, a busy minute fell on one of them only)."""
    for send in sends:
        send()
    cpu: list[list[float]] = [[] for _ in sends]
    wall: list[list[float]] = [[] for _ in sends]
    for _ in range(repeat):
        for i, send in enumerate(sends):
            start_cpu, start = time.process_time(), time.perf_counter()
            send()
            cpu[i].append(time.process_time() - start_cpu)
            wall[i].append(time.perf_counter() - start)
    return [(_timing(c), _timing(w)) for c, w in zip(cpu, wall, strict=True)]


def _timing(seconds: list[float]) -> Timing:
    seconds = sorted(seconds)
    return Timing(seconds[0], seconds[len(seconds) // 2])


def rows(quick: bool) -> list[Row]:
    import anthropic

    from streamwatch.core.live import LiveRun, request_body
    from streamwatch.protocol import SCENARIO_HEADER, TOOL_BYTES_HEADER

    found: list[Row] = []
    with Mock() as base_url, tempfile.TemporaryDirectory() as folder:
        client = anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0)
        for label, scenario, tool_bytes, max_tokens in SIZES:
            body = request_body(prompt="bench", max_tokens=max_tokens)
            headers = {SCENARIO_HEADER: scenario}
            if tool_bytes is not None:
                headers[TOOL_BYTES_HEADER] = str(tool_bytes)
            repeat = (3 if quick else 7) if tool_bytes else (10 if quick else 30)

            def sdk(headers=headers, body=body) -> None:
                stream = client.messages.create(
                    model=body["model"], max_tokens=body["max_tokens"], messages=body["messages"], stream=True,
                    extra_headers=headers,
                )
                for _ in stream:
                    pass

            def ours(headers=headers, body=body, save=False) -> None:
                result = LiveRun(body, base_url=base_url, api_key=KEY, headers=headers, save=save,
                                 directory=Path(folder)).run()
                assert result.verdict.complete, result.verdict.explanation

            (sdk_cpu, sdk_wall), *runs = per_request([sdk, ours, partial(ours, save=True)], repeat)
            for how, (cpu, wall) in zip(("", ", saving"), runs, strict=True):
                for what, mine, theirs in (("CPU", cpu, sdk_cpu), ("wall", wall, sdk_wall)):
                    found.append(Row(f"live run, {label}{how}: {what} per request", mine.median, theirs.median,
                                     "SDK", TARGET, best=mine.best))
        client.close()
    return found


if __name__ == "__main__":
    main(rows, __doc__)
