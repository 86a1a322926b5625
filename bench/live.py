"""A live run against the SDK's own: CPU and wall time per warm request, through the embedded mock.

The mock runs in its own process (`streamwatch mock --time-scale 0`, loopback), so this process's
CPU time is the client's alone. The SDK side is what an application runs: one `anthropic.Anthropic`
client, kept warm, each stream consumed to its end (`messages.create(stream=True)`). The streamwatch
side is one `LiveRun` per request (`run --headless` without its printer), without and with saving
the session. Sizes: a short text answer (`ok`) and a 1 MB tool input (`tool_big`). Target: within
1.2x of the SDK's own, in CPU and in wall time.

Run: .venv/bin/python bench/live.py [--quick]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, Timing, child_env, main  # noqa: E402

TARGET = 1.2
SIZES = (("short text", "ok", None), ("1 MB tool input", "tool_big", 1_000_000))


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


def per_request(send, repeat: int) -> tuple[Timing, Timing]:
    """CPU and wall seconds of one request, after one warm-up: min and median over `repeat`."""
    send()
    cpu, wall = [], []
    for _ in range(repeat):
        start_cpu, start = time.process_time(), time.perf_counter()
        send()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    cpu.sort()
    wall.sort()
    return Timing(cpu[0], cpu[len(cpu) // 2]), Timing(wall[0], wall[len(wall) // 2])


def rows(quick: bool) -> list[Row]:
    import anthropic

    from streamwatch.core.live import LiveRun, request_body
    from streamwatch.protocol import SCENARIO_HEADER, TOOL_BYTES_HEADER

    found: list[Row] = []
    with Mock() as base_url, tempfile.TemporaryDirectory() as folder:
        client = anthropic.Anthropic(base_url=base_url, api_key="bench", max_retries=0)
        body = request_body(prompt="bench")
        for label, scenario, tool_bytes in SIZES:
            headers = {SCENARIO_HEADER: scenario}
            if tool_bytes is not None:
                headers[TOOL_BYTES_HEADER] = str(tool_bytes)
            repeat = (3 if quick else 7) if tool_bytes else (10 if quick else 30)

            def sdk(headers=headers) -> None:
                stream = client.messages.create(
                    model=body["model"], max_tokens=body["max_tokens"], messages=body["messages"], stream=True,
                    extra_headers=headers,
                )
                for _ in stream:
                    pass

            def ours(headers=headers, save=False) -> None:
                result = LiveRun(body, base_url=base_url, headers=headers, save=save, directory=Path(folder)).run()
                assert result.verdict.complete, result.verdict.explanation

            sdk_cpu, sdk_wall = per_request(sdk, repeat)
            for how, save in (("", False), (", saving", True)):
                cpu, wall = per_request(lambda save=save: ours(save=save), repeat)
                for what, mine, theirs in (("CPU", cpu, sdk_cpu), ("wall", wall, sdk_wall)):
                    found.append(Row(f"live run, {label}{how}: {what} per request", mine.median, theirs.median,
                                     "SDK", TARGET, best=mine.best))
        client.close()
    return found


if __name__ == "__main__":
    main(rows, __doc__)
