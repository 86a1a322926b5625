"""The state keeps its events as columns: what a view reads back is what arrived, and a long stream
adds nothing for the garbage collector to walk."""

from __future__ import annotations

import gc
import gzip
import tracemalloc

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.events import parse_event
from streamwatch.core.playback import Player
from streamwatch.core.recording import Recording
from streamwatch.core.sse import SSEDecoder
from tests import streams as s

ODD_STREAM = (
    b"retry: 2500\nid: 41\n" + s.message_start()
    + s.ping()
    + b'event: content_block_start\ndata: {"type":"content_block_start","index":99999999999999999999999,'
    + b'"content_block":{"type":"text","text":""}}\n\n'
    + b"event: surprise\ndata: {\"type\": \"future_event\", \"index\": -3, \"x\": \"\xc3\xa9\xf0\x9f\x98\x80\"}\n\n"
    + b"data: not json at all\n\n"
    + b"id: 42\ndata: [1, 2]\n\n"
    + b"".join(s.text_block(0, "café ☕", 2))
)


def test_every_event_reads_back_as_it_arrived():
    expected = [parse_event(sse, n) for n, sse in enumerate(SSEDecoder().feed(ODD_STREAM, 1.25), 1)]
    for event in expected:
        event.release()
    state = StreamState()
    state.chunk(ODD_STREAM, 1.25)
    assert list(state.events) == expected
    assert state.events[-2:] == expected[-2:] and state.events[-1] == expected[-1]
    assert state.events[2].index == 99999999999999999999999 and state.events[3].index == -3
    assert state.events[4].parse_error and state.events[5].sse.id == "42" and state.events[0].sse.retry == 2500
    assert state.events[3].data["x"] == "é😀"
    assert state.events.kind(3) == ("future_event", None, None)


def test_times_read_back_and_a_capture_without_timing_has_none():
    timed = StreamState()
    for i, chunk in enumerate(s.complete_text()):
        timed.chunk(chunk, 0.5 + i)
    assert [timed.events.time(i) for i in range(3)] == [0.5, 1.5, 2.5]
    untimed = StreamState()
    untimed.chunk(b"".join(s.complete_text()))
    assert untimed.events[0].t is None and untimed.events.time(0) is None


def test_a_long_stream_adds_no_objects_for_the_collector():
    state = StreamState()
    body = b"".join(s.text_block(0, "word " * 20000, 5))
    gc.collect()
    before = len(gc.get_objects())
    state.chunk(s.message_start(), 0.1)
    for i in range(0, len(body), 4096):
        state.chunk(body[i : i + 4096], 0.2)
    state.end(End.EOF, 0.3)
    gc.collect()
    assert len(state.events) > 20000
    assert len(gc.get_objects()) - before < 200


def test_data_that_is_not_one_piece_of_the_wire_reads_back_too():
    stream = (
        b"data: {\"type\":\r\ndata: \"ping\"}\r\n\r\n"
        + b"event: odd\ndata: \xff\xfe not UTF-8\n\n"
        + b"data:\n\n"
        + s.ping()
    )
    expected = [parse_event(sse, n) for n, sse in enumerate(SSEDecoder().feed(stream), 1)]
    state = StreamState()
    state.chunk(stream)
    assert [event.sse.data for event in state.events] == [
        '{"type":\n"ping"}', "\ufffd\ufffd not UTF-8", "", '{"type":"ping"}'
    ]
    assert [event.sse for event in state.events] == [event.sse for event in expected]


def test_an_event_s_data_is_kept_once_with_its_wire_bytes():
    body = b"".join(s.delta(0, {"type": "text_delta", "text": "x" * 100_000}) for _ in range(40))
    state = StreamState()
    state.chunk(s.message_start() + s.block_start(0, {"type": "text", "text": ""}), 0.1)
    tracemalloc.start()
    try:
        state.chunk(body, 0.2)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The wire bytes once and the text once: not the data (nearly all of the wire) a second time.
    assert held < 2.3 * len(body)


def test_a_replay_reads_the_same_events_from_its_recording_without_a_second_copy_of_their_bytes():
    for headers, stream, body in (({}, b"\xef\xbb\xbf" + ODD_STREAM, b"\xef\xbb\xbf" + ODD_STREAM),
                                  ({"content-encoding": "gzip"}, ODD_STREAM, gzip.compress(ODD_STREAM))):
        expected = [parse_event(sse, n) for n, sse in enumerate(SSEDecoder().feed(stream, 1.25), 1)]
        for event in expected:
            event.release()
        rec = Recording(request={})
        rec.response(200, {"content-type": "text/event-stream", **headers}, 0.1)
        for start in range(0, len(body), 7):  # events split across chunks anywhere
            rec.chunk(body[start : start + 7], 1.25)
        rec.end(End.EOF, 1.3)
        player = Player(rec, 5.0)
        player.to_end()
        assert list(player.state.events) == expected
        # Without a content coding each event is a place in the recording's bytes; gzipped, a copy.
        copied = sum(len(event.sse.raw) for event in expected)
        assert len(player.state.events._raw) == (copied if headers else 0)
