import json

import pytest

from streamwatch.core.diagnose import End, StreamState, where
from tests import streams as s


def run(chunks, *, status=200, end=End.EOF, times=None, threshold=5.0, error=None, headers=None, end_t=None):
    state = StreamState(stall_threshold=threshold)
    state.response(status, headers or {"content-type": "text/event-stream"})
    for i, chunk in enumerate(chunks):
        state.chunk(chunk, None if times is None else times[i])
    if end_t is None and times:
        end_t = times[-1]
    state.end(end, end_t, error)
    return state, state.verdict()


def codes(verdict):
    return [a["code"] for a in verdict.anomalies]


def test_complete_text_stream():
    state, verdict = run(s.complete_text("Hello there, general."))
    assert verdict.complete is True
    assert verdict.termination == "message_stop"
    assert verdict.stop_reason == "end_turn"
    assert verdict.text == "Hello there, general."
    assert verdict.event_count == 11
    assert verdict.blocks == [
        {"index": 0, "type": "text", "complete": True, "name": None, "json_valid": None, "chars": 21}
    ]
    assert verdict.usage == {"input_tokens": 25, "output_tokens": 12}
    assert verdict.anomalies == []
    assert verdict.explanation.startswith("Complete: message_stop arrived (stop_reason end_turn); 11 events")


def test_verdict_json_has_exactly_the_documented_keys():
    _, verdict = run(s.complete_text())
    assert list(verdict.to_dict()) == [
        "complete", "termination", "stop_reason", "error", "http_status", "event_count", "blocks", "text",
        "stalls", "timing", "usage", "anomalies", "explanation", "session", "sdk", "body", "fault", "fault_unfired",
    ]
    assert list(verdict.timing) == ["ttfb", "ttft", "duration", "output_tps"]
    json.dumps(verdict.to_dict())


def test_every_block_and_delta_type_accumulates():
    citation = {"type": "char_location", "cited_text": "The grass is green.", "document_index": 0,
                "document_title": "Doc", "start_char_index": 0, "end_char_index": 20}
    chunks = [
        s.message_start(),
        s.block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        s.delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
        s.delta(0, {"type": "thinking_delta", "thinking": "think."}),
        s.delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}),
        s.block_stop(0),
        s.block_start(1, {"type": "redacted_thinking", "data": "EmwKAhgB"}),
        s.block_stop(1),
        s.block_start(2, {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}),
        s.delta(2, {"type": "input_json_delta", "partial_json": '{"query": "grass'}),
        s.delta(2, {"type": "input_json_delta", "partial_json": ' colour"}'}),
        s.block_stop(2),
        s.block_start(3, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": []}),
        s.block_stop(3),
        s.block_start(4, {"type": "text", "text": ""}),
        s.delta(4, {"type": "text_delta", "text": "Green."}),
        s.delta(4, {"type": "citations_delta", "citation": citation}),
        s.block_stop(4),
        s.message_delta("end_turn"),
        s.message_stop(),
    ]
    state, verdict = run(chunks)
    assert verdict.complete and verdict.anomalies == []
    assert [(b["type"], b["chars"], b["json_valid"]) for b in verdict.blocks] == [
        ("thinking", 13, None),
        ("redacted_thinking", 0, None),
        ("server_tool_use", 25, True),
        ("web_search_tool_result", 0, None),
        ("text", 6, None),
    ]
    assert state.blocks[0].thinking_text == "Let me think."
    assert state.blocks[0].signature == "EqQBCgIYAhIM"
    assert state.blocks[2].input == {"query": "grass colour"}
    assert state.blocks[4].citations == [citation]
    assert verdict.text == "Green."


def test_seed_case_clean_eof_inside_big_tool_input():
    tool_input = {"path": "notes.md", "content": "word " * 6400}
    chunks = [s.message_start(), *s.text_block(0, "I'll write the file."), *s.tool_block(1, "write_file", tool_input)]
    chunks = chunks[: -40]
    state, verdict = run(chunks)
    assert verdict.complete is False
    assert verdict.termination == "eof"
    assert verdict.stop_reason is None and verdict.error is None
    tool = verdict.blocks[1]
    assert tool["name"] == "write_file" and tool["complete"] is False and tool["json_valid"] is False
    assert "block_not_stopped" in codes(verdict)
    assert "inside tool_use `write_file` after 30.5 KB of input JSON" in verdict.explanation
    assert "stop_reason=None" in verdict.explanation
    assert state.blocks[1].json.valid


def test_a_clean_end_in_the_middle_of_an_event_says_so_instead_of_cleanly():
    body = b"".join(s.complete_text("A long answer that will be cut."))
    cut = body.index(b"data: {\"type\":\"content_block_stop\"") + 15
    state, verdict = run([body[:cut]], end=End.EOF)
    assert verdict.termination == "eof" and "incomplete_event" in codes(verdict)
    assert verdict.explanation.startswith(
        f"The body ended without an error but in the middle of an event ({len(state.incomplete.raw)} bytes of it "
        "never completed) and without message_stop, inside text block 0")
    assert "cleanly" not in verdict.explanation


def test_transport_error_cut_in_the_middle_of_an_event():
    body = b"".join(s.complete_text("A long answer that will be cut."))
    cut = body.index(b"data: {\"type\":\"content_block_stop\"") + 15
    error = {"type": "httpx2.RemoteProtocolError",
             "message": "peer closed connection without sending complete message body (incomplete chunked read)"}
    state, verdict = run([body[:cut]], end=End.TRANSPORT_ERROR, error=error)
    assert verdict.termination == "transport_error"
    assert verdict.error == error
    assert verdict.event_count == body[:cut].count(b"\n\n")
    assert "incomplete_event" in codes(verdict)
    assert state.incomplete.event == "content_block_stop"
    assert verdict.text == "A long answer that will be cut."
    assert "The connection broke inside text block 0 after 31 characters of text (10 events" in verdict.explanation


def test_error_event_after_content():
    chunks = [s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
              s.delta(0, {"type": "text_delta", "text": "Partial answ"}), s.error()]
    _, verdict = run(chunks)
    assert verdict.termination == "error_event"
    assert verdict.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert verdict.complete is False
    assert verdict.text == "Partial answ"
    assert "APIStatusError with status_code 200" in verdict.explanation


def test_http_529_with_json_body_and_retry_after():
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}'
    _, verdict = run([body], status=529, headers={"retry-after": "7"})
    assert verdict.termination == "http_error"
    assert verdict.http_status == 529
    assert verdict.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert verdict.event_count == 0 and verdict.anomalies == []
    assert "overloaded" in verdict.explanation and "7 s" in verdict.explanation


def test_http_error_with_a_non_json_body():
    _, verdict = run([b"<html>Bad Gateway</html>"], status=502)
    assert verdict.termination == "http_error"
    assert verdict.error == {"type": "http_502", "message": "<html>Bad Gateway</html>"}


def test_timeout_and_cancelled():
    chunks = [s.message_start(), s.block_start(0, {"type": "text", "text": ""})]
    _, verdict = run(chunks, end=End.TIMEOUT, error={"type": "httpx2.ReadTimeout", "message": "timed out"})
    assert verdict.termination == "timeout" and not verdict.complete
    assert "read timeout" in verdict.explanation
    _, verdict = run(chunks, end=End.CANCELLED)
    assert verdict.termination == "cancelled" and not verdict.complete


def test_stop_reason_without_message_stop():
    chunks = [s.message_start(), *s.text_block(0, "Done."), s.message_delta("end_turn")]
    _, verdict = run(chunks)
    assert verdict.termination == "eof"
    assert verdict.stop_reason == "end_turn"
    assert "no_message_stop" in codes(verdict)
    assert "after message_delta (stop_reason end_turn)" in verdict.explanation


def test_unknown_types_are_kept_counted_and_shown():
    chunks = [
        s.message_start(),
        s.event({"type": "shiny_new_event", "x": 1}),
        s.event({"type": "shiny_new_event", "x": 2}),
        s.block_start(0, {"type": "hologram", "data": "?"}),
        s.delta(0, {"type": "hologram_delta", "beam": "on"}),
        s.block_stop(0),
        s.event({"type": "content_block_delta", "index": 1}, "content_block_delta"),
        s.message_delta("end_turn"),
        s.message_stop(),
        b"event: weird\ndata: not json\n\n",
    ]
    state, verdict = run(chunks)
    assert verdict.termination == "message_stop"
    assert state.unknown == {"shiny_new_event": 2, "hologram": 1, "hologram_delta": 1, "?": 1}
    assert codes(verdict).count("unknown_event") == 4
    assert "unknown_index" in codes(verdict)
    assert "after_message_stop" in codes(verdict)
    assert "invalid_event_json" in codes(verdict)
    assert "Unknown types were kept" in verdict.explanation
    assert verdict.event_count == 10


def test_invalid_tool_json_at_block_stop():
    chunks = [s.message_start(), s.block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
              s.delta(0, {"type": "input_json_delta", "partial_json": '{"a": 1,}'}), s.block_stop(0),
              s.message_delta("tool_use"), s.message_stop()]
    _, verdict = run(chunks)
    assert verdict.blocks[0]["json_valid"] is False
    [anomaly] = [a for a in verdict.anomalies if a["code"] == "invalid_tool_json"]
    assert anomaly["at_event"] == 4


def test_tool_with_empty_input_is_valid():
    chunks = [s.message_start(), s.block_start(0, {"type": "tool_use", "id": "t", "name": "now", "input": {}}),
              s.delta(0, {"type": "input_json_delta", "partial_json": ""}), s.block_stop(0),
              s.message_delta("tool_use"), s.message_stop()]
    state, verdict = run(chunks)
    assert verdict.blocks[0]["json_valid"] is True and state.blocks[0].input == {}


def test_zero_bytes():
    _, verdict = run([])
    assert verdict.termination == "eof"
    assert codes(verdict) == ["zero_bytes"]
    assert "HTTP 200" in verdict.explanation


def test_stalls_silent_with_pings_and_before_first_byte():
    chunks = [s.message_start(), s.ping(), s.ping(), *s.text_block(0, "abcdefghij"), s.message_delta("end_turn"),
              s.message_stop()]
    times = [6.0, 7.0, 9.0, 13.0, 13.1, 13.2, 22.0, 22.1, 22.2, 22.3]
    _, verdict = run(chunks, times=times)
    assert verdict.complete
    assert verdict.stalls == [
        {"after_event": 0, "seconds": 6.0, "pings": 0},
        {"after_event": 1, "seconds": 7.0, "pings": 2},
        {"after_event": 6, "seconds": 8.8, "pings": 0},
    ]
    assert codes(verdict) == ["stall"] * 3
    assert "It stalled 3 times" in verdict.explanation
    _, relaxed = run(chunks, times=times, threshold=10)
    assert relaxed.stalls == []


def test_silence_before_the_end_is_a_stall():
    chunks = [s.message_start(), s.block_start(0, {"type": "text", "text": ""})]
    _, verdict = run(chunks, times=[0.5, 0.6], end=End.TRANSPORT_ERROR, end_t=60.6,
                     error={"type": "httpx2.RemoteProtocolError", "message": "peer closed"})
    assert verdict.stalls == [{"after_event": 2, "seconds": 60.0, "pings": 0}]


def test_live_silence_counts_from_the_last_content_event():
    state = StreamState()
    state.response(200, {})
    assert state.silence(3.0) == 3.0
    state.chunk(s.message_start(), 1.0)
    state.chunk(s.ping(), 4.0)
    assert state.silence(7.5) == 6.5
    assert state.pings_in_silence == 1
    assert state.termination is None


def test_burst_after_silence_is_a_buffering_proxy():
    chunks = s.complete_text("x" * 200)
    _, verdict = run([b"".join(chunks)], times=[30.0])
    assert "burst" in codes(verdict)
    assert "buffering" in verdict.explanation
    paced = [0.3 + 0.05 * i for i in range(len(chunks))]
    _, verdict = run(chunks, times=paced)
    assert "burst" not in codes(verdict)


SHORT = [s.message_start(), *s.text_block(0, "Hi."), s.message_delta("end_turn", 2), s.message_stop()]


def test_a_short_answer_in_one_read_after_a_silence_is_held_back():
    """Five events at once after 3 s: a buffering proxy, however short the answer."""
    assert len(SHORT) == 6
    _, verdict = run([b"".join(SHORT)], times=[3.0])
    [burst] = [a for a in verdict.anomalies if a["code"] == "burst"]
    assert burst["at_event"] == 1 and "all of the stream's 6 events came in its first read, after 3.0 s" in (
        burst["message"])
    assert "buffering" in verdict.explanation


def test_most_of_an_answer_in_its_first_read_after_a_silence_is_held_back():
    _, verdict = run([b"".join(SHORT[:4]), *SHORT[4:]], times=[2.0, 2.3, 2.6])
    [burst] = [a for a in verdict.anomalies if a["code"] == "burst"]
    assert "4 (66%) of the stream's 6 events came in its first read" in burst["message"]


@pytest.mark.parametrize(
    "times",
    [
        [1.5 * (i + 1) for i in range(6)],
        [0.2 + 0.004 * i for i in range(6)],
        [1.2, 1.2, 1.2, 1.9, 2.3, 2.3],
        [0.4, 2.5, 2.5, 2.5, 2.5, 2.5],
    ],
    ids=["steady slow", "fast", "half in the first read", "message_start, then the answer in one step"],
)
def test_streams_that_arrive_as_written_are_not_bursts(times):
    _, verdict = run(SHORT, times=times)
    assert "burst" not in codes(verdict)


def test_a_long_fast_stream_after_a_slow_first_byte_is_not_a_burst():
    chunks = s.complete_text("y" * 1000)
    times = [1.6 + 0.002 * i for i in range(len(chunks))]
    _, verdict = run(chunks, times=times)
    assert "burst" not in codes(verdict)


def test_timing():
    chunks = s.complete_text("0123456789" * 3)
    times = [0.4 + 0.1 * i for i in range(len(chunks))]
    _, verdict = run(chunks, times=times, end_t=times[-1] + 0.01)
    assert verdict.timing["ttfb"] == 0.4
    assert verdict.timing["ttft"] == 0.7
    assert verdict.timing["duration"] == round(times[-1] + 0.01, 3)
    assert verdict.timing["output_tps"] == round(12 / (times[-1] - 0.7), 1)


def test_megabyte_tool_input_accumulates_and_parses():
    tool_input = {"path": "big.bin.txt", "content": "0123456789abcdef" * 65536}
    chunks = [s.message_start(), *s.tool_block(0, "write_file", tool_input), s.message_delta("tool_use"),
              s.message_stop()]
    state, verdict = run(chunks)
    assert verdict.complete
    assert state.blocks[0].input == tool_input
    assert verdict.blocks[0]["chars"] == len(json.dumps(tool_input)) > 1_000_000
    assert verdict.blocks[0]["json_valid"] is True


def test_connection_failure_before_any_response():
    state = StreamState()
    state.end(End.TRANSPORT_ERROR, 0.01, {"type": "httpx2.ConnectError", "message": "[Errno 111] Connection refused"})
    verdict = state.verdict()
    assert verdict.termination == "transport_error" and verdict.http_status is None
    assert verdict.explanation.startswith("No response arrived: httpx2.ConnectError")
    assert "APIConnectionError" in verdict.explanation


def test_no_tokens_per_second_without_final_usage():
    chunks = [s.message_start(), *s.text_block(0, "cut short")]
    _, verdict = run(chunks, times=[0.1 * i for i in range(1, len(chunks) + 1)])
    assert verdict.timing["output_tps"] is None
    assert verdict.usage["output_tokens"] == 1


def test_tool_without_deltas_keeps_its_start_input():
    chunks = [s.message_start(), s.block_start(0, {"type": "tool_use", "id": "t", "name": "ping", "input": {"a": 1}}),
              s.block_stop(0), s.message_delta("tool_use"), s.message_stop()]
    state, verdict = run(chunks)
    assert state.blocks[0].input == {"a": 1} and verdict.blocks[0]["json_valid"] is None


def test_a_delta_that_is_not_json_makes_the_stream_not_complete_and_says_what_was_lost():
    chunks = s.complete_text("Hello world, all here.")
    assert b'"text":" worl"' in chunks[4]
    chunks[4] = broken = chunks[4].replace(b'"text":"', b'"text":"\\q')
    state, verdict = run(chunks)
    assert verdict.termination == "message_stop" and not verdict.complete
    assert verdict.text == "Hellod, all here."
    [bad] = [a for a in verdict.anomalies if a["code"] == "invalid_event_json"]
    assert bad["at_event"] == 5
    assert "event #5 (content_block_delta, block 0) cannot be read" in bad["message"]
    data = len(broken) - len("event: content_block_delta\ndata: ") - 2
    assert f"the {data} B of data it carried are missing" in bad["message"]
    assert verdict.explanation.startswith("Not clean: message_stop arrived")
    assert "json.JSONDecodeError at event #5, so your code gets 3 events" in verdict.explanation


@pytest.mark.parametrize("where", [1, 6, 10])
def test_any_unreadable_event_spoils_the_stream(where):
    chunks = s.complete_text("Some answer.")
    chunks.insert(where, b"event: content_block_delta\ndata: {not json\n\n")
    _, verdict = run(chunks)
    assert not verdict.complete and "invalid_event_json" in codes(verdict)


def test_a_second_message_start_is_out_of_order():
    first = s.complete_text("First answer.")
    chunks = [*first[:-1], s.message_start(), *s.text_block(0, "Second."), first[-1]]
    _, verdict = run(chunks)
    assert not verdict.complete
    [order] = [a for a in verdict.anomalies if a["code"] == "out_of_order"]
    assert order["at_event"] == len(first) and "a second message_start" in order["message"]
    assert "Out of order" in verdict.explanation


def test_a_second_message_after_message_stop_is_out_of_order():
    chunks = s.complete_text("First.") + s.complete_text("Second.")
    _, verdict = run(chunks)
    assert not verdict.complete and "out_of_order" in codes(verdict)
    assert "after message_stop" in next(a["message"] for a in verdict.anomalies if a["code"] == "out_of_order")


@pytest.mark.parametrize("first", ["message_stop", "content_block_start", "message_delta"])
def test_a_message_event_before_any_message_start_is_out_of_order(first):
    chunks = [c for c in s.complete_text("Hi.") if c != s.message_start()]
    chunks = chunks[[c.split(b"\n")[0] for c in chunks].index(f"event: {first}".encode()):]
    _, verdict = run(chunks)
    assert not verdict.complete
    [order] = [a for a in verdict.anomalies if a["code"] == "out_of_order"]
    assert order["at_event"] == 1 and f"{first} #1 came before any message_start" in order["message"]


def test_pings_and_errors_may_come_before_message_start():
    _, verdict = run([s.ping(), *s.complete_text("Fine.")])
    assert verdict.complete and verdict.anomalies == []


MESSAGE = {
    "id": "msg_01ABC", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "A whole answer."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}],
    "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 30, "output_tokens": 12},
}


@pytest.mark.parametrize("status", [200, None])
def test_a_non_streaming_message_is_said_to_be_one(status):
    body = json.dumps(MESSAGE).encode()
    state, verdict = run([body[:40], body[40:]], status=status, headers={"content-type": "application/json"})
    assert not verdict.complete and verdict.termination == "eof" and verdict.event_count == 0
    assert verdict.text == "A whole answer." and verdict.stop_reason == "tool_use"
    assert verdict.usage == {"input_tokens": 30, "output_tokens": 12}
    assert [(b["type"], b["complete"]) for b in verdict.blocks] == [("text", True), ("tool_use", True)]
    assert state.blocks[1].input == {"q": "x"}
    assert codes(verdict) == ["not_a_stream"]
    assert verdict.explanation.startswith("Not a stream: the body is a complete non-streaming Message (msg_01ABC")
    assert "truncated" not in verdict.explanation and "ended without" not in verdict.explanation


def _without_name(chunk: bytes) -> bytes:
    return chunk.split(b"\n", 1)[1]


def test_content_without_an_event_line_never_reaches_the_app_so_the_stream_is_not_complete():
    chunks = s.complete_text("Hello there, general.")
    chunks[3] = _without_name(chunks[3])  # the first text delta, as a gateway that drops `event:` lines sends it
    _, verdict = run(chunks)
    assert verdict.complete is False
    assert codes(verdict) == ["skipped_event"]
    assert verdict.anomalies[0]["at_event"] == 4
    assert "no `event:` line" in verdict.explanation and "your app never got it" in verdict.explanation


def test_content_named_ping_is_skipped_too():
    chunks = s.complete_text()
    chunks[3] = s.event(json.loads(chunks[3].split(b"data: ", 1)[1]), name="ping")
    _, verdict = run(chunks)
    assert verdict.complete is False
    assert "is named `ping`" in verdict.anomalies[0]["message"]


def test_a_name_that_disagrees_with_the_data_is_flagged_once_but_the_python_sdk_still_reads_it():
    chunks = s.complete_text()
    chunks[3:5] = [s.event(json.loads(c.split(b"data: ", 1)[1]), name="delta") for c in chunks[3:5]]
    _, verdict = run(chunks)
    assert verdict.complete is True
    assert codes(verdict) == ["event_name_mismatch"]
    assert "named `delta` but its data says content_block_delta" in verdict.anomalies[0]["message"]


def test_unnamed_events_are_what_the_python_sdk_skips(tmp_path):
    """The rule above is the SDK's: it yields nothing for an event without an `event:` line."""
    import anthropic
    import httpx2

    chunks = s.complete_text("Hello there, general.")
    body = b"".join(_without_name(c) if b"content_block_delta" in c else c for c in chunks)
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    client = anthropic.Anthropic(api_key="k", http_client=httpx2.Client(transport=transport), max_retries=0)
    seen = [e.type for e in client.messages.create(model="m", max_tokens=1, messages=[], stream=True)]
    assert "content_block_delta" not in seen and "message_stop" in seen
    _, verdict = run([body])
    assert verdict.complete is False and verdict.text == "Hello there, general."  # what the server sent


def test_a_transport_error_recorded_without_its_error_is_said_in_words_not_none():
    _, verdict = run(s.complete_text()[:4], end=End.TRANSPORT_ERROR)
    assert "None" not in verdict.explanation
    assert "no error was recorded" in verdict.explanation


def _answer(body: bytes, request: dict) -> StreamState:
    state = StreamState()
    state.response(200, {"content-type": "application/json"}, request=request)
    state.chunk(body, 0.1)
    state.end(End.EOF, 0.2)
    return state


@pytest.mark.parametrize("body, words", [(json.dumps(MESSAGE).encode(), "OK tool_use"),
                                         (b'{"input_tokens": 12}', "OK 200")])
def test_a_request_that_asked_for_no_stream_is_complete_with_its_json_answer(body, words):
    state = _answer(body, {"method": "POST", "url": "u", "headers": {}, "body": {"model": "m"}})
    verdict = state.verdict()
    assert verdict.complete and state.complete_words == words and codes(verdict) == []
    assert verdict.explanation.startswith("Complete: the request asked for no stream")
    assert verdict.termination == "answered" and where(state) == "after its whole JSON answer"


def test_a_request_that_asked_for_a_stream_and_got_json_is_still_not_a_stream():
    state = _answer(json.dumps(MESSAGE).encode(), {"method": "POST", "url": "u", "headers": {}, "body": {"stream": True}})
    assert not state.complete and codes(state.verdict()) == ["not_a_stream"]


def test_a_cut_json_answer_to_a_request_that_asked_for_no_stream_is_not_complete():
    state = _answer(json.dumps(MESSAGE).encode()[:40], {"method": "POST", "url": "u", "headers": {}, "body": {}})
    verdict = state.verdict()
    assert not verdict.complete and codes(verdict) == ["unreadable_json"]
    assert verdict.explanation.startswith("The request asked for no stream, and its JSON answer does not parse")


def test_prompt_cache_tokens_are_kept_apart_from_the_input_tokens():
    start = s.event({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [],
        "stop_reason": None, "usage": {"input_tokens": 4, "cache_read_input_tokens": 1800,
                                       "cache_creation_input_tokens": 120, "output_tokens": 1}}})
    state, _ = run([start, *s.text_block(0, "Hi"), s.message_delta("end_turn"), s.message_stop()])
    assert (state.input_tokens, state.cache_read_tokens, state.cache_creation_tokens) == (4, 1800, 120)
    plain, _ = run(s.complete_text())
    assert (plain.cache_read_tokens, plain.cache_creation_tokens) == (None, None)


def test_a_long_answers_pieces_read_back_as_they_streamed():
    pieces = [f"w{n} " for n in range(700)]  # more than two runs of joined pieces, and some open
    text = "".join(pieces)
    state = StreamState()
    state.response(200, {"content-type": "text/event-stream"})
    state.chunk(b"".join([s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
                          *[s.delta(0, {"type": "text_delta", "text": piece}) for piece in pieces]]), 0.5)
    block = state.blocks[0]
    assert len(block.pieces) == 700 and block.text == text
    assert block.pieces[:] == pieces and block.pieces[255:258] == pieces[255:258] and block.pieces[699:] == ["w699 "]
