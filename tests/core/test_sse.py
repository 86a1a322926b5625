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
