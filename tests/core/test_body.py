"""Compressed and chunk-framed bodies: decoded inside StreamState, in any split, with what cannot be."""

import gzip
import zlib

import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.events import size_text
from tests import streams as s

TEXT = "Every word of this answer arrived, compressed."
BODY = b"".join(s.complete_text(TEXT))


def deflate(data, wbits):
    compressor = zlib.compressobj(wbits=wbits)
    return compressor.compress(data) + compressor.flush()


ENCODED = {
    "gzip": gzip.compress(BODY),
    "deflate": deflate(BODY, zlib.MAX_WBITS),
    "raw deflate": deflate(BODY, -zlib.MAX_WBITS),
}


def verdict_of(chunks, headers, capture=None, end=End.EOF):
    state = StreamState()
    state.response(200, {"content-type": "text/event-stream", **headers}, capture)
    for chunk in chunks:
        state.chunk(chunk, None)
    state.end(end, None)
    return state, state.verdict()


def codes(verdict):
    return [a["code"] for a in verdict.anomalies]


@pytest.mark.parametrize("name", list(ENCODED))
def test_a_compressed_body_byte_by_byte_is_the_complete_answer(name):
    wire = ENCODED[name]
    coding = "gzip" if name == "gzip" else "deflate"
    state, verdict = verdict_of([wire[i : i + 1] for i in range(len(wire))], {"Content-Encoding": coding})
    assert verdict.complete and verdict.text == TEXT and verdict.anomalies == []
    assert verdict.event_count == len(s.complete_text(TEXT))
    assert verdict.body == {"encoding": coding, "chunked": False, "wire_bytes": len(wire), "bytes": len(BODY),
                            "undecoded_bytes": 0}
    assert state.bytes_received == len(wire)
    assert f"{len(wire)} B of {coding} ({size_text(len(BODY))} decoded)" in verdict.explanation


def test_every_split_of_a_gzip_body_gives_the_same_events():
    wire = ENCODED["gzip"]
    for cut in range(1, 40):
        _, verdict = verdict_of([wire[:cut], wire[cut:]], {"content-encoding": "gzip"})
        assert verdict.complete and verdict.text == TEXT, cut


def test_a_gateway_flushing_each_event_is_decoded_as_each_arrives():
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    state = StreamState()
    state.response(200, {"content-encoding": "gzip"})
    counts = []
    for event in s.complete_text(TEXT):
        new = state.chunk(compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH), 1.0)
        counts.append(len(new))
    assert counts == [1] * len(counts), "each event is there as soon as its compressed bytes are"
    state.chunk(compressor.flush(), 1.1)
    state.end(End.EOF, 1.1)
    assert state.complete


def test_a_corrupt_gzip_stream_keeps_what_came_before_and_is_not_complete():
    events = s.complete_text("word " * 400)
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    head = b"".join(compressor.compress(e) + compressor.flush(zlib.Z_SYNC_FLUSH) for e in events[:5])
    tail = compressor.compress(b"".join(events[5:])) + compressor.flush()
    _, verdict = verdict_of([head, b"\xff" * 8 + tail], {"content-encoding": "gzip"})
    assert not verdict.complete and verdict.termination == "eof"
    assert verdict.event_count == 5
    [broken] = [a for a in verdict.anomalies if a["code"] == "undecodable_body"]
    assert "gzip stream is corrupt" in broken["message"] and "DecodingError" in broken["message"]
    assert verdict.body["undecoded_bytes"] == 8 + len(tail)
    assert "never became events" in verdict.explanation


def test_a_gzip_stream_cut_short_says_so():
    wire = gzip.compress(b"".join(s.complete_text(" ".join(str(n) for n in range(2000)))))
    _, verdict = verdict_of([wire[: len(wire) // 2]], {"content-encoding": "gzip"})
    assert not verdict.complete and verdict.termination == "eof" and verdict.event_count > 0
    assert "truncated_body" in codes(verdict)


def test_a_coding_the_sdk_cannot_decode_reads_no_event_and_says_why():
    _, verdict = verdict_of([b"\x8b\x05\x80not brotli"], {"content-encoding": "br"})
    assert not verdict.complete and verdict.event_count == 0
    [broken] = [a for a in verdict.anomalies if a["code"] == "undecodable_body"]
    assert "content-encoding br" in broken["message"]


def test_bytes_after_the_gzip_stream_are_not_made_into_events():
    wire = gzip.compress(b"".join(s.complete_text(TEXT)[:-1])) + s.message_stop()
    _, verdict = verdict_of([wire], {"content-encoding": "gzip"})
    assert not verdict.complete and verdict.termination == "eof"
    assert any("came after the end of the gzip stream" in a["message"] for a in verdict.anomalies)


def test_two_codings_are_undone_in_reverse_order():
    wire = deflate(gzip.compress(BODY), zlib.MAX_WBITS)
    _, verdict = verdict_of([wire], {"content-encoding": "gzip, deflate"})
    assert verdict.complete and verdict.text == TEXT and verdict.body["encoding"] == "gzip, deflate"


def chunked(data, size):
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@pytest.mark.parametrize("size", [1, 7, 100, 5000])
def test_a_captures_chunk_framing_is_undone(size):
    wire = chunked(BODY, size)
    _, verdict = verdict_of([wire[i : i + 3] for i in range(0, len(wire), 3)], {}, capture={})
    assert verdict.complete and verdict.text == TEXT and verdict.anomalies == []
    assert verdict.body["chunked"] and verdict.body["bytes"] == len(BODY)


def test_a_capture_chunked_and_compressed():
    wire = chunked(ENCODED["gzip"], 9)
    _, verdict = verdict_of([wire], {"content-encoding": "gzip", "transfer-encoding": "chunked"}, capture={})
    assert verdict.complete and verdict.text == TEXT
    assert verdict.body | {"wire_bytes": 0} == {"encoding": "gzip", "chunked": True, "wire_bytes": 0,
                                                 "bytes": len(BODY), "undecoded_bytes": 0}


def test_a_capture_written_decoded_under_its_gzip_header_is_read_as_it_is():
    """curl --compressed -i keeps `content-encoding: gzip` and writes the body decompressed."""
    _, verdict = verdict_of([BODY], {"content-encoding": "gzip"}, capture={})
    assert verdict.complete and verdict.text == TEXT and verdict.body is None


def test_a_live_body_is_never_taken_for_chunk_framing():
    """Wire bytes from a live tap were de-chunked by the HTTP client: a body that looks framed is the body."""
    _, verdict = verdict_of([chunked(BODY, 50)], {"transfer-encoding": "chunked"})
    assert not verdict.complete and verdict.body is None


def test_a_capture_whose_chunk_framing_stops_early_was_cut():
    wire = chunked(BODY, 64)
    cut = wire[: wire.index(b"message_stop") - 20]
    _, verdict = verdict_of([cut], {}, capture={})
    assert not verdict.complete and verdict.termination == "transport_error"
    assert "truncated_body" in codes(verdict)
    assert verdict.sdk["points_to"] == "cut" and verdict.sdk["raised"].startswith("httpx2.RemoteProtocolError")


def test_broken_chunk_framing_is_undecodable_from_there():
    wire = chunked(BODY, 64)
    broken = wire[:200] + b"zz\r\n" + wire[200:]
    _, verdict = verdict_of([broken], {}, capture={})
    assert not verdict.complete
    assert any(a["code"] == "undecodable_body" and "chunk" in a["message"] for a in verdict.anomalies)


def test_a_decompression_bomb_is_decoded_no_further_than_the_limit(monkeypatch):
    import streamwatch.core.body

    monkeypatch.setattr(streamwatch.core.body, "MAX_DECODED", 64 * 1024)
    events = b"".join(s.complete_text("word " * 100))
    bomb = gzip.compress(events + b": " + b"0" * (8 * 1024 * 1024) + b"\n\n")
    state, verdict = verdict_of([bomb[:1000], bomb[1000:]], {"content-encoding": "gzip"})
    assert not verdict.complete
    [broken] = [a for a in verdict.anomalies if a["code"] == "undecodable_body"]
    assert "decodes to more than 64.0 KB (a decompression bomb?)" in broken["message"]
    assert verdict.text == "word " * 100
    assert state.body.bytes <= 64 * 1024


def test_bytes_after_a_whole_gzip_answer_are_noted_but_the_answer_is_complete():
    _, verdict = verdict_of([ENCODED["gzip"] + b"garbage"], {"content-encoding": "gzip"})
    assert verdict.complete and verdict.text == TEXT
    [after] = [a for a in verdict.anomalies if a["code"] == "bytes_after_body"]
    assert after["message"] == "7 B came after the end of the gzip stream: clients drop them unread"
