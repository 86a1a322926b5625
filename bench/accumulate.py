"""Tool-input accumulation: streamwatch's core against the official SDK's, on the same bytes.

Both sides start from the raw body bytes of one stream (a tool_use block whose input JSON arrives in
20-byte input_json_delta events, as the API sends it) and end with the parsed tool input.
- streamwatch: `StreamState.chunk()` (SSE decode, typed events, linear valid-prefix tracking).
- SDK: `anthropic._streaming.SSEDecoder` + `json.loads` + `accumulate_event()` (what
  `messages.stream()` runs per event: it re-parses the whole JSON buffer on every delta).
- floor: the SDK's SSE decoder + `json.loads` alone, no accumulation at all.

Run: .venv/bin/python bench/accumulate.py [--sizes 25,50,100,200] [--core-sizes 1000,4000]
The SDK is skipped above the largest --sizes value (it is quadratic: 1 MB takes minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anthropic._streaming import SSEDecoder  # noqa: E402
from anthropic.lib.streaming._messages import accumulate_event  # noqa: E402

from streamwatch.core.diagnose import End, StreamState  # noqa: E402
from tests import streams as s  # noqa: E402

CHUNK = 4096


def body(kilobytes: int) -> tuple[bytes, dict]:
    tool_input = {"path": "big.txt", "rows": [{"id": i, "text": "lorem ipsum " * 3} for i in range(kilobytes * 20)]}
    text = json.dumps(tool_input)
    while len(text) > kilobytes * 1024:
        tool_input["rows"].pop()
        text = json.dumps(tool_input)
    parts = [s.message_start(), *s.tool_block(0, "write_file", tool_input), s.message_delta("tool_use"), s.message_stop()]
    return b"".join(parts), tool_input


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def ours(data: bytes, expected: dict) -> float:
    start = time.perf_counter()
    state = StreamState()
    state.response(200, {})
    for chunk in chunks(data):
        state.chunk(chunk)
    state.end(End.EOF)
    elapsed = time.perf_counter() - start
    assert state.complete and state.blocks[0].input == expected
    return elapsed


def sdk(data: bytes, expected: dict) -> float:
    start = time.perf_counter()
    snapshot, bufs = None, {}
    for sse in SSEDecoder().iter_bytes(iter(chunks(data))):
        snapshot = accumulate_event(event=json.loads(sse.data), current_snapshot=snapshot, json_bufs=bufs)
    elapsed = time.perf_counter() - start
    assert snapshot.content[0].input == expected
    return elapsed


def floor(data: bytes) -> float:
    start = time.perf_counter()
    for sse in SSEDecoder().iter_bytes(iter(chunks(data))):
        json.loads(sse.data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100,200", help="KB sizes run on every side")
    parser.add_argument("--core-sizes", default="1000,4000", help="KB sizes run without the (quadratic) SDK")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    core_sizes = [int(x) for x in args.core_sizes.split(",") if x]
    print(f"{'input':>8} {'events':>8} {'floor s':>9} {'streamwatch s':>14} {'SDK s':>9} {'SDK/streamwatch':>16} {'ev/s (ours)':>12}")
    for kb in sizes + core_sizes:
        data, expected = body(kb)
        events = data.count(b"\n\n")
        base = floor(data)
        mine = ours(data, expected)
        theirs = sdk(data, expected) if kb in sizes else None
        ratio = f"{theirs / mine:.1f}x" if theirs else "-"
        theirs_text = f"{theirs:.3f}" if theirs else "skipped"
        print(f"{kb:>6}KB {events:>8} {base:>9.3f} {mine:>14.3f} {theirs_text:>9} {ratio:>16} {events / mine:>12,.0f}")


if __name__ == "__main__":
    main()
