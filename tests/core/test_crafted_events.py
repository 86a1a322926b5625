"""Crafted stream events (from a server, a proxy or a session file's chunks): every field of every event
type given every JSON type, through the state, its verdict and the report. Nothing raises."""

from __future__ import annotations

import json

import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.report import live_status, render_report, short_where
from tests import crafted
from tests import streams as s

EVENTS = [
    json.loads(chunk.split(b"data: ", 1)[1])
    for chunk in [s.message_start(), s.ping(), *s.text_block(0, "hi there", 3),
                  *s.tool_block(1, "write_file", {"path": [1, 2]}, 5), s.message_delta("end_turn"), s.message_stop(),
                  s.error()]
]


def _fields(value, path=()):
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [path, *(field for key, child in children for field in _fields(child, (*path, key)))]


FIELDS = [(number, *path) for number, event in enumerate(EVENTS) for path in _fields(event) if path]
_PLACE = json.dumps("\u2063crafted\u2063")


def stream(field: tuple, raw: str | None) -> list[bytes]:
    events = json.loads(json.dumps(EVENTS))
    parent = events[field[0]]
    for key in field[1:-1]:
        parent = parent[key]
    if raw is None:
        del parent[field[-1]]
    else:
        parent[field[-1]] = "\u2063crafted\u2063"
    return [f"event: {event.get('type', 'x')}\ndata: {json.dumps(event).replace(_PLACE, raw or '')}\n\n"
            .encode("utf-8", "surrogatepass") for event in events]


@pytest.mark.parametrize("value", sorted({**crafted.VALUES, **crafted.DAMAGE}))
def test_every_field_of_every_event_given_every_json_type(value):
    raw = {**crafted.VALUES, **crafted.DAMAGE}[value]
    for field in FIELDS:
        state = StreamState()
        state.response(200, {"content-type": "text/event-stream"})
        for number, chunk in enumerate(stream(field, raw)):
            state.chunk(chunk, 0.1 * number)
        state.end(End.EOF, 9.0)
        verdict = state.verdict()
        json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
        render_report(state, verdict, "crafted")
        live_status(state, 9.0)
        short_where(state)


def test_a_token_count_out_of_range_is_no_count():
    state = StreamState()
    state.response(200, {})
    usage = {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"input_tokens": -3, "output_tokens": 10**400}}
    for number, chunk in enumerate([s.message_start(), *s.text_block(0, "hi there", 3), s.event(usage),
                                    s.message_stop()]):
        state.chunk(chunk, 0.1 * number)
    state.end(End.EOF, 1.0)
    verdict = state.verdict()
    assert verdict.usage == {"input_tokens": 25, "output_tokens": 1}


def test_an_event_nested_past_the_limit_is_kept_unread_so_no_view_runs_out_of_stack():
    data = '{"type":"ping","x":' + "[" * 900 + "]" * 900 + "}"
    state = StreamState()
    state.response(200, {})
    state.chunk(f"event: ping\ndata: {data}\n\n".encode(), 0.1)
    state.end(End.EOF, 1.0)
    assert state.events[0].parse_error == "data is JSON nested more than 200 deep"
    assert state.events[0].data == {} and [a.code for a in state.anomalies][:1] == ["invalid_event_json"]
