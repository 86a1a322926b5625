"""The timeline filter keeps the rows whose shown words match, and reads field terms; a bad term says why."""

from __future__ import annotations

import pytest

from streamwatch.core.diagnose import StreamState
from streamwatch.core.eventfilter import FilterError, parse_filter
from streamwatch.core.events import EventType, short_type, summarize
from streamwatch.core.safe import one_line
from tests import streams as s


def played(chunks: list[tuple[float, bytes]], stall_threshold: float = 5.0) -> StreamState:
    state = StreamState(stall_threshold)
    state.response(200, {"content-type": "text/event-stream"})
    for t, chunk in chunks:
        state.chunk(chunk, t)
    return state


def tool_stream() -> StreamState:
    """msg_start, ping, a text block of 5 deltas (index 0), a tool block (index 1), then an error after a
    3 s silence with no ping: a stall."""
    chunks = [s.message_start(), s.ping(), *s.text_block(0, "Hello there, world.", 4),
              *s.tool_block(1, "write_file", {"path": "a.md"}, 5)]
    timed = [(0.1 * n, chunk) for n, chunk in enumerate(chunks)]
    last = timed[-1][0]
    timed += [(last + 0.6, s.ping()), (last + 7.0, s.error())]
    return played(timed)


def kinds(state: StreamState, text: str) -> list[str]:
    return [state.events.kind(position)[0] for position in parse_filter(text).rows(state)]


def test_a_word_matches_the_shown_type_not_the_wire_name():
    state = tool_stream()
    deltas = sum(1 for position in range(len(state.events)) if state.events.kind(position)[0] == "content_block_delta")
    assert deltas > 5
    # `block` is part of content_block_delta on the wire, but the timeline shows those rows as `delta`.
    assert set(kinds(state, "block")) == {EventType.CONTENT_BLOCK_START, EventType.CONTENT_BLOCK_STOP}
    assert kinds(state, "delta") == ["content_block_delta"] * deltas
    assert kinds(state, "MSG") == ["message_start"]


def test_a_word_matches_the_word_a_summary_starts_with():
    state = tool_stream()
    text_deltas = [p for p in parse_filter("text").rows(state) if state.events.kind(p)[2] == "text_delta"]
    assert len(text_deltas) == 5
    json_rows = parse_filter("json").rows(state)
    assert json_rows and all(state.events.kind(p)[2] == "input_json_delta" for p in json_rows)
    assert [state.events.kind(p)[1] for p in parse_filter("tool_use").rows(state)] == ["tool_use"]


@pytest.mark.parametrize(("word", "kind"), [
    ("overloaded_error", "error"), ("overloaded", "error"), ("Overloaded", "error"),
    ("claude", "message_start"), ("sonnet-4-6", "message_start"), ("write_file", "content_block_start"),
])
def test_a_word_matches_any_part_of_the_summary_the_row_shows(word, kind):
    state = tool_stream()
    assert kinds(state, word) == [kind]


def test_field_terms_and_their_combination():
    state = tool_stream()
    assert {state.events.index_at(p) for p in parse_filter("index:1").rows(state)} == {1}
    assert kinds(state, "index:1 type:block_start") == ["content_block_start"]
    assert kinds(state, "type:content_block_stop") == ["content_block_stop"] * 2
    assert kinds(state, "type:block") == []
    assert kinds(state, "error") == ["error"]
    assert kinds(state, "gap>2s") == ["error"]
    assert kinds(state, "gap>6000ms") == ["error"]
    assert kinds(state, "gap>7s") == []
    assert len(parse_filter("gap<=0.5").rows(state)) == len(state.events) - 2
    assert kinds(state, "stall") == ["error"]
    assert kinds(state, "anomaly") == ["error"]
    assert kinds(state, "ping gap>0.5s") == ["ping"]
    assert kinds(state, "") == [state.events.kind(p)[0] for p in range(len(state.events))]


@pytest.mark.parametrize(("text", "says"), [
    ("index:x", "index: wants a block number"),
    ("gap>soon", "gap> or gap< and a time"),
    ("gap=2s", "gap> or gap< and a time"),
    ("type:", "type: wants a type"),
    ("size:2", "unknown filter term 'size:2'"),
])
def test_a_term_it_cannot_read_says_which_and_why(text, says):
    with pytest.raises(FilterError, match=says):
        parse_filter(f"delta {text}")


@pytest.mark.parametrize("word", ["text", "+4", "chars", "4", "json", "b", "+5", "s", "overloaded", "write", "stop",
                                  "delta", "nothing", "claude", "."])
def test_a_word_keeps_exactly_the_rows_whose_shown_type_or_summary_has_it(word):
    state = tool_stream()
    events = state.events
    shown = [position for position in range(len(events))
             if word in short_type(events[position].type).lower() or word in one_line(summarize(events[position])).lower()]
    assert parse_filter(word).rows(state) == shown


def test_a_word_is_decided_by_the_kind_of_most_events_without_building_them(monkeypatch):
    state = tool_stream()
    built = []
    original = type(state.events)._item
    monkeypatch.setattr(type(state.events), "_item", lambda log, position: built.append(position) or original(log, position))
    assert parse_filter("json").rows(state) and parse_filter("nothing").rows(state) == []
    # Only the events whose summary says more than their kind are read: msg_start, the block starts, the error.
    assert {state.events.kind(position)[0] for position in built} == {"message_start", "content_block_start", "error"}
