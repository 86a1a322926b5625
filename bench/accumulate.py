"""The core against its floor: one stream's body bytes to its verdict, text and tool input.

- streamwatch: `StreamState.chunk()` on 4 KB chunks (content decoding, SSE, typed events, blocks,
  the tool input's valid-prefix check), then `end()` and the parsed tool input.
- floor: the SDK's SSE decoder + `json.loads` per event, nothing else (what any reader pays).
- SDK accumulation: the same + `accumulate_event()`, what `messages.stream()` runs per event (it
  re-parses the whole tool JSON on every delta: quadratic, so only run on the smaller inputs).
Tool inputs arrive in 20-byte input_json_delta events, text in 40-character text_delta events, as
the API sends them. Inputs are built once; each side is timed `repeat` times. Target: within 3x
of the floor at every size (and so linear as the floor is).

Run: .venv/bin/python bench/accumulate.py [--quick]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anthropic._streaming import SSEDecoder  # noqa: E402
from anthropic.lib.streaming._messages import accumulate_event  # noqa: E402

from bench._common import Row, row, timed  # noqa: E402
from bench._common import main as bench_main  # noqa: E402
from streamwatch.core.diagnose import End, StreamState  # noqa: E402
from tests import streams as s  # noqa: E402

CHUNK = 4096
TARGET = 3.0
SDK_UP_TO = 100
"""KB of tool input up to which the (quadratic) SDK accumulation is run."""
ROW = {"id": 0, "text": "lorem ipsum " * 3}


def tool_body(kilobytes: int) -> tuple[list[bytes], dict]:
    """A tool_use stream whose input JSON is about `kilobytes` KB, cut in 4 KB chunks."""
    row_size = len(json.dumps(ROW)) + 2
    tool_input = {"path": "big.txt", "rows": [{**ROW, "id": i} for i in range(kilobytes * 1024 // row_size)]}
    parts = [s.message_start(), *s.tool_block(0, "write_file", tool_input), s.message_delta("tool_use"), s.message_stop()]
    return chunks(b"".join(parts)), tool_input


def text_body(kilobytes: int) -> tuple[list[bytes], str]:
    text = ("lorem ipsum dolor sit amet, consectetur " * (kilobytes * 1024 // 40 + 1))[: kilobytes * 1024]
    parts = [s.message_start(), *s.text_block(0, text, 40), s.message_delta("end_turn"), s.message_stop()]
    return chunks(b"".join(parts)), text


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def ours(body: list[bytes], expected: object) -> None:
    state = StreamState()
    state.response(200, {})
    for chunk in body:
        state.chunk(chunk)
    state.end(End.EOF)
    assert state.complete
    block = state.blocks[0]
    assert (block.input if block.type == "tool_use" else block.text) == expected


def sdk(body: list[bytes], expected: object) -> None:
    snapshot, bufs = None, {}
    for sse in SSEDecoder().iter_bytes(iter(body)):
        snapshot = accumulate_event(event=json.loads(sse.data), current_snapshot=snapshot, json_bufs=bufs)
    block = snapshot.content[0]
    assert (block.input if block.type == "tool_use" else block.text) == expected


def floor(body: list[bytes]) -> None:
    for sse in SSEDecoder().iter_bytes(iter(body)):
        json.loads(sse.data)


def rows(quick: bool) -> list[Row]:
    found: list[Row] = []
    cases = [("tool input", kb, tool_body) for kb in ((25, 100, 1000) if quick else (25, 100, 1000, 4000))]
    cases += [("text", kb, text_body) for kb in ((1000,) if quick else (1000, 10_000))]
    for kind, kb, build in cases:
        body, expected = build(kb)
        repeat = 3 if kb >= 1000 or quick else 5
        base = timed(lambda body=body: floor(body), repeat)
        mine = timed(lambda body=body, expected=expected: ours(body, expected), repeat)
        events = sum(chunk.count(b"\n\n") for chunk in body)
        size = f"{kb // 1000} MB" if kb >= 1000 else f"{kb} KB"
        found.append(row(f"{kind} {size} ({events} events): streamwatch", mine, base, "floor", TARGET))
        if kind == "tool input" and kb <= SDK_UP_TO:
            theirs = timed(lambda body=body, expected=expected: sdk(body, expected), 1 if kb >= SDK_UP_TO else 2)
            found.append(row(f"{kind} {size}: SDK accumulation (messages.stream())", theirs, mine, "streamwatch"))
    return found


if __name__ == "__main__":
    bench_main(rows, __doc__)
