from hypothesis import given, settings
from hypothesis import strategies as st

from streamwatch.core.sse import SSEDecoder
from tests.streams import complete_text


def decode(chunks, t=None):
    decoder = SSEDecoder()
    events = []
    for i, chunk in enumerate(chunks):
        events += decoder.feed(chunk, t if t is not None else float(i))
    return events, decoder.finish()


def fields(events):
    return [(e.event, e.data, e.id, e.retry) for e in events]


WIRE = b"event: a\ndata: one\ndata: two\n\n: a comment\nid: 7\nretry: 3000\ndata:three\n\nevent: b\ndata: {\"x\": \"\xc3\xa9\xf0\x9f\x98\x80\"}\n\n"
EXPECTED = [
    ("a", "one\ntwo", None, None),
    (None, "three", "7", 3000),
    ("b", '{"x": "é😀"}', "7", 3000),
]


def test_fields_comments_and_multiline_data():
    events, pending = decode([WIRE])
    assert fields(events) == EXPECTED
    assert pending is None


def test_crlf_and_lone_cr_line_endings_decode_the_same():
    for ending in (b"\r\n", b"\r"):
        events, pending = decode([WIRE.replace(b"\n", ending)])
        assert fields(events) == EXPECTED, ending
        assert pending is None


def test_every_split_point_gives_the_same_events():
    for ending in (b"\n", b"\r\n", b"\r"):
        wire = WIRE.replace(b"\n", ending)
        for cut in range(1, len(wire)):
            events, pending = decode([wire[:cut], wire[cut:]])
            assert fields(events) == EXPECTED, (ending, cut)
            assert pending is None


def test_byte_by_byte_keeps_utf8_characters_whole():
    events, _ = decode([WIRE[i : i + 1] for i in range(len(WIRE))])
    assert fields(events) == EXPECTED
    assert "\ufffd" not in events[2].data


def test_crlf_split_across_chunks_is_one_line_end():
    events, _ = decode([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert fields(events) == [(None, "a\nb", None, None)]


def test_event_time_is_when_its_last_byte_arrived():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: ping\ndata: {}", 1.0) == []
    assert decoder.feed(b"\n", 2.0) == []
    [event] = decoder.feed(b"\n", 3.5)
    assert event.t == 3.5
    assert event.raw == b"event: ping\ndata: {}\n\n"


def test_event_without_blank_line_is_incomplete_not_received():
    events, pending = decode([b"event: ping\ndata: {}\n\nevent: content_block_delta\ndata: {\"type\":\"content_bl"])
    assert [e.event for e in events] == ["ping"]
    assert pending.event == "content_block_delta"
    assert pending.data == '{"type":"content_bl'
    assert pending.raw.startswith(b"event: content_block_delta")


def test_last_data_line_complete_but_blank_line_missing_is_incomplete():
    events, pending = decode([b"data: {\"a\": 1}\n"])
    assert events == []
    assert pending.data == '{"a": 1}'


def test_bom_is_skipped_even_split():
    events, _ = decode([b"\xef\xbb", b"\xbfdata: x\n\n"])
    assert fields(events) == [(None, "x", None, None)]


def test_data_only_with_no_space_and_unknown_fields():
    events, _ = decode([b"data\nfoo: bar\ndata:x\nretry: soon\n\n"])
    assert fields(events) == [(None, "\nx", None, None)]


def test_an_absurd_retry_is_ignored_and_decoding_goes_on():
    events, _ = decode([b"retry: 1500\ndata: a\n\nretry: " + b"9" * 5000 + b"\ndata: b\n\n"])
    assert fields(events) == [(None, "a", None, 1500), (None, "b", None, 1500)]


def test_blank_lines_without_data_dispatch_nothing():
    events, pending = decode([b"\n\n: keepalive\n\nevent: x\n\n"])
    assert events == []
    assert pending is None


def test_offsets_and_raw_bytes_cover_the_body():
    body = b"".join(complete_text())
    events, _ = decode([body[i : i + 7] for i in range(0, len(body), 7)])
    assert b"".join(e.raw for e in events) == body
    assert [e.offset for e in events] == [body.index(e.raw) for e in events]


def test_a_long_line_in_many_chunks_is_one_event_with_every_byte():
    decoder = SSEDecoder()
    pieces = [b"event: content_block_delta\r", b"\ndata: ", *[f"{n:05d}".encode() for n in range(20_000)], b"\r", b"\n\r\n"]
    events = [event for piece in pieces for event in decoder.feed(piece)]
    assert fields(events) == [("content_block_delta", "".join(f"{n:05d}" for n in range(20_000)), None, None)]
    assert events[0].raw == b"".join(pieces) and decoder.finish() is None


LINES = st.sampled_from([
    b"event: content_block_delta", b"event:ping", b"event: \xc3\xa9", b"event: a:b", b"event", b"data: {\"x\": 1}",
    b"data:", b"data: two: words", b"data: \xff\xfe", b"id: 42", b"id: 4\x002", b"retry: 3000", b"retry: x",
    b": a comment", b"", b"", b"", b"datum: no", b"\xef\xbb\xbfdata: bom",
])
ENDINGS = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r"])


def cut(body, cuts):
    bounds = sorted({cut % (len(body) + 1) for cut in cuts} | {0, len(body)})
    return [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def byte_by_byte(body):
    return decode([body[i : i + 1] for i in range(len(body))], t=1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(LINES, ENDINGS), max_size=40), st.lists(st.integers(min_value=0, max_value=10**6), max_size=10))
def test_any_body_cut_anywhere_decodes_to_the_fields_it_has_a_byte_at_a_time(lines, cuts):
    body = b"".join(line + ending for line, ending in lines)

    events, pending = decode(cut(body, cuts), t=1.0)
    one_by_one, pending_one_by_one = byte_by_byte(body)

    assert fields(events) == fields(one_by_one)
    assert (pending is None) == (pending_one_by_one is None)
    if pending is not None:
        assert (pending.event, pending.data) == (pending_one_by_one.event, pending_one_by_one.data)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, max_size=40), st.lists(st.integers(min_value=0, max_value=10**6), max_size=10))
def test_a_body_of_lf_lines_cut_anywhere_gives_each_event_the_same_bytes_and_offset(lines, cuts):
    body = b"".join(line + b"\n" for line in lines)

    assert decode(cut(body, cuts), t=1.0) == byte_by_byte(body)


def test_api_shaped_events_in_one_chunk_keep_their_bytes_offsets_and_the_last_id():
    body = b"id: 9\n\n" + b"event: a\ndata: 1\n\nevent:b\ndata:2\n\n" * 3
    events, pending = decode([body])
    assert [(e.event, e.data, e.id, e.offset) for e in events] == [
        ("a", "1", "9", 7), ("b", "2", "9", 25), ("a", "1", "9", 41), ("b", "2", "9", 59), ("a", "1", "9", 75),
        ("b", "2", "9", 93),
    ]
    assert b"".join(e.raw for e in events) == body[7:] and pending is None
