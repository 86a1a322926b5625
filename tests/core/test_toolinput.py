"""A tool input as the tool pane shows it: pretty (strings as their text, the valid prefix only) or raw."""

from __future__ import annotations

import json

import pytest

from streamwatch.core.diagnose import StreamState
from streamwatch.core.report import ToolInput
from tests import streams as s

INPUT = {"path": "notes/a.md", "content": 'line one\nline "two"\tcafé 😀 \\ end', "n": [1, 2.5, None]}


def tool_state(text: str, piece: int) -> StreamState:
    state = StreamState()
    state.response(200, {"content-type": "text/event-stream"})
    chunks = [s.message_start(), s.block_start(0, {"type": "tool_use", "id": "toolu_01", "name": "w", "input": {}})]
    chunks += [s.delta(0, {"type": "input_json_delta", "partial_json": text[i : i + piece]})
               for i in range(0, len(text), piece)]
    for t, chunk in enumerate(chunks):
        state.chunk(chunk, float(t))
    return state


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
def test_pretty_shows_strings_as_their_text_whatever_the_pieces(piece):
    text = json.dumps(INPUT)  # ensure_ascii: é and the emoji arrive as \u escapes, split anywhere
    view = ToolInput(keep=10_000)
    view.take(tool_state(text, piece).blocks[0])
    pretty, hidden = view.shown(pretty=True)
    assert pretty == (
        '{\n  "path": "notes/a.md",\n  "content": "line one\nline "two"\tcafé 😀 \\ end",\n'
        '  "n": [\n    1,\n    2.5,\n    null\n  ]\n}'
    )
    assert view.shown(pretty=False) == (text, 0) and hidden == 0 and view.broken is None


def test_pretty_stops_where_the_json_breaks_off_and_raw_keeps_everything():
    text = '{"a": [1, 2}, "b": "after"}'
    view = ToolInput(keep=10_000)
    view.take(tool_state(text, 4).blocks[0])
    assert view.shown(pretty=True)[0] == '{\n  "a": [\n    1,\n    2'
    assert view.broken is not None and "at character 11" in view.broken
    assert view.shown(pretty=False)[0] == text


def test_each_view_keeps_its_tail_and_counts_what_went_before():
    text = json.dumps({"content": "x" * 5000})
    view = ToolInput(keep=1000)
    block = tool_state(text, 10).blocks[0]
    view.take(block)
    raw, hidden = view.shown(pretty=False)
    assert raw == text[-1000:] and hidden == len(text) - 1000
    pretty, hidden = view.shown(pretty=True)
    assert len(pretty) == 1000 and hidden + 1000 == len('{\n  "content": "' + "x" * 5000 + '"\n}')
