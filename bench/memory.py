"""Memory: the peak of `streamwatch analyze` on big captures, as a whole process.

Two raw captures (SSE bodies as `curl -N` writes them): 10 MB of text in 40-character text_delta
events (~39 MB of SSE, ~250k events), and a 4 MB tool input in 100-byte input_json_delta events
(~11 MB of SSE). The peak is the process's maximum resident set (ru_maxrss), next to the same
process's size once streamwatch is imported, and to the file. Target: peak <= 3x the file + 80 MB.

Run: .venv/bin/python bench/memory.py [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, child_env, main  # noqa: E402
from tests import streams as s  # noqa: E402

MB = 1024 * 1024
PEAK = """
import io, json, resource, sys
from contextlib import redirect_stdout
from streamwatch.cli import main
imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with redirect_stdout(io.StringIO()):
    status = main(["analyze", sys.argv[1]])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([status, imported * 1024, peak * 1024]))
"""


def text_capture(path: Path, megabytes: float) -> Path:
    piece = "lorem ipsum dolor sit amet, consectetur "
    with path.open("wb") as out:
        out.write(s.message_start() + s.block_start(0, {"type": "text", "text": ""}))
        delta = s.delta(0, {"type": "text_delta", "text": piece})
        out.write(delta * int(megabytes * MB // len(piece)))
        out.write(s.block_stop(0) + s.message_delta("end_turn") + s.message_stop())
    return path


def tool_capture(path: Path, megabytes: float) -> Path:
    row = {"id": 0, "text": "lorem ipsum " * 3}
    rows = int(megabytes * MB // (len(json.dumps(row)) + 2))
    tool_input = {"path": "big.txt", "rows": [{**row, "id": i} for i in range(rows)]}
    parts = [s.message_start(), *s.tool_block(0, "write_file", tool_input, 100), s.message_delta("tool_use"),
             s.message_stop()]
    path.write_bytes(b"".join(parts))
    return path


def peak(path: Path) -> tuple[float, float]:
    env = child_env()
    done = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, env=env,
                          cwd=env["PYTHONPATH"], timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-2000:])
    status, imported, top = json.loads(done.stdout.splitlines()[-1])
    assert status == 0, "the capture did not analyze as complete"
    return imported / MB, top / MB


def rows(quick: bool) -> list[Row]:
    found = []
    scale = 0.25 if quick else 1.0
    with tempfile.TemporaryDirectory() as folder:
        for name, build, megabytes in (("text", text_capture, 10 * scale), ("tool input", tool_capture, 4 * scale)):
            path = build(Path(folder) / f"{name}.sse", megabytes)
            size = path.stat().st_size / MB
            imported, top = peak(path)
            label = f"analyze, {megabytes:g} MB of {name} ({size:.0f} MB of SSE): peak"
            found.append(Row(label, top, size, "file", unit="MB", limit=3 * size + 80,
                             note=f"{imported:.0f} MB once imported"))
            path.unlink()
    return found


if __name__ == "__main__":
    main(rows, __doc__)
