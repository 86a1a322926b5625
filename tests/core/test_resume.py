import datetime
import random

import pytest

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.resume import (
    BACKOFF_CAP,
    TAIL_CHARS,
    Strategy,
    choose_strategy,
    continued,
    interruption_note,
    is_prefill_refusal,
    prefill_supported,
    repaid,
    resume_request,
    retry_delay,
    retry_request,
    salvage,
    stitch,
)
from tests import streams as s

REFUSAL = (
    "This model does not support assistant message prefill. The conversation must end with a user message."
)
BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": "Be brief.",
    "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
    "stream": True,
    "messages": [{"role": "user", "content": "Tell me about rivers."}],
}


def state_of(*chunks: bytes | list[bytes], end: End = End.EOF) -> StreamState:
    state = StreamState()
    state.response(200, {"content-type": "text/event-stream"})
    for chunk in chunks:
        for piece in chunk if isinstance(chunk, list) else [chunk]:
            state.chunk(piece)
    state.end(end)
    return state


def open_text(index: int, text: str) -> list[bytes]:
    return s.text_block(index, text)[:-1]


def thinking(index: int, text: str, signature: str | None = "EqQBsig", stop: bool = True) -> list[bytes]:
    out = [
        s.block_start(index, {"type": "thinking", "thinking": "", "signature": ""}),
        s.delta(index, {"type": "thinking_delta", "thinking": text}),
    ]
    if signature:
        out.append(s.delta(index, {"type": "signature_delta", "signature": signature}))
    return out + ([s.block_stop(index)] if stop else [])


def server_search(index: int, stop: bool = True) -> list[bytes]:
    out = [
        s.block_start(index, {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}),
        s.delta(index, {"type": "input_json_delta", "partial_json": '{"query": "riv'}),
    ]
    if stop:
        out += [s.delta(index, {"type": "input_json_delta", "partial_json": 'ers"}'}), s.block_stop(index)]
    return out


SEARCH_RESULT = {
    "type": "web_search_tool_result",
    "tool_use_id": "srvtoolu_01",
    "content": [{"type": "web_search_result", "title": "W", "url": "https://example.com", "encrypted_content": "E"}],
}


# ----- retry_delay -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [529, 503, 500, 429, 408, 409])
def test_retryable_statuses_back_off_with_full_jitter_within_the_doubling_ceiling(status):
    delays = [retry_delay(status, {}, attempt, random.Random(7)) for attempt in (1, 2, 3, 4)]

    assert all(0 <= d < ceiling for d, ceiling in zip(delays, (1, 2, 4, 8), strict=True))
    assert delays == [retry_delay(status, {}, a, random.Random(7)) for a in (1, 2, 3, 4)]
    assert len({retry_delay(status, {}, 3, random.Random(seed)) for seed in range(20)}) == 20


def test_backoff_is_capped_at_sixty_seconds():
    rng = random.Random(1)
    delays = [retry_delay(529, {}, 200, rng) for _ in range(200)]

    assert max(delays) < BACKOFF_CAP
    assert max(delays) > 50


def test_retry_after_ms_wins_over_retry_after():
    assert retry_delay(529, {"Retry-After-Ms": "1500", "retry-after": "9"}, 1, random.Random(0)) == 1.5


def test_retry_after_seconds_is_honoured_as_is_even_when_long():
    assert retry_delay(429, {"retry-after": "2"}, 5, random.Random(0)) == 2.0
    assert retry_delay(429, {"retry-after": "120"}, 1, random.Random(0)) == 120.0


def test_retry_after_as_an_http_date_counts_from_now():
    later = "Fri, 15 Jan 2027 08:00:30 GMT"
    now = datetime.datetime(2027, 1, 15, 8, 0, 0, tzinfo=datetime.UTC).timestamp()

    assert retry_delay(529, {"retry-after": later}, 1, random.Random(0), now=now) == 30.0
    assert retry_delay(529, {"retry-after": later}, 1, random.Random(0), now=now + 100) == 0.0


def test_unreadable_retry_after_falls_back_to_backoff():
    for value in ("soon", "-5", "nan", ""):
        delay = retry_delay(529, {"retry-after": value, "retry-after-ms": value}, 1, random.Random(3))
        assert delay == retry_delay(529, {}, 1, random.Random(3))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_a_request_the_api_refused_is_not_retried(status):
    assert retry_delay(status, {"retry-after": "1"}, 1, random.Random(0)) is None


def test_x_should_retry_overrides_the_status():
    assert retry_delay(529, {"x-should-retry": "false", "retry-after": "1"}, 1, random.Random(0)) is None
    assert retry_delay(400, {"x-should-retry": "true", "retry-after": "3"}, 1, random.Random(0)) == 3.0


def test_an_error_event_mid_stream_is_judged_as_its_http_twin():
    assert retry_delay(200, {}, 1, random.Random(0), error_type="overloaded_error") is not None
    assert retry_delay(200, {}, 1, random.Random(0), error_type="api_error") is not None
    assert retry_delay(200, {}, 1, random.Random(0), error_type="invalid_request_error") is None


def test_a_broken_connection_is_retried_with_backoff():
    assert 0 <= retry_delay(None, None, 2, random.Random(0)) < 2
    assert 0 <= retry_delay(200, {}, 1, random.Random(0)) < 1


def test_attempt_counts_from_one():
    with pytest.raises(ValueError):
        retry_delay(529, {}, 0, random.Random(0))


# ----- strategy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "accepts"),
    [
        ("claude-opus-4-6", False),
        ("claude-sonnet-4-7", False),
        ("claude-opus-5", False),
        ("claude-sonnet-5-5", False),
        ("claude-haiku-4-6-20261001", False),
        ("claude-opus-4-10", False),
        ("anthropic.claude-sonnet-4-6-v1:0", False),
        ("claude-sonnet-4-6@20260101", False),
        ("anthropic/claude-sonnet-4.6", False),
        ("claude-sonnet-4-5", True),
        ("claude-sonnet-4-5-20250929", True),
        ("claude-opus-4-20250514", True),
        ("claude-opus-4-1", True),
        ("claude-3-7-sonnet-20250219", True),
        ("claude-3.5-sonnet", True),
        ("Claude-Sonnet-4-5", True),
        ("mock-drop_eof", True),
        ("sonnet", True),
    ],
)
def test_prefill_support_follows_the_claude_version(model, accepts):
    assert prefill_supported(model) is accepts


def test_auto_picks_prefill_where_the_model_takes_it_and_a_user_turn_elsewhere():
    assert choose_strategy("auto", "claude-sonnet-4-5", BODY) == "prefill"
    assert choose_strategy("auto", "mock-ok", BODY) == "prefill"
    assert choose_strategy("auto", "claude-sonnet-4-6", BODY) == "user-turn"


@pytest.mark.parametrize("thinking", [{"type": "enabled", "budget_tokens": 2048}, {"type": "adaptive"}])
def test_auto_avoids_prefill_when_thinking_is_on(thinking):
    assert choose_strategy("auto", "claude-sonnet-4-5", {**BODY, "thinking": thinking}) == "user-turn"
    assert choose_strategy("auto", "claude-sonnet-4-5", {**BODY, "thinking": {"type": "disabled"}}) == "prefill"


def test_an_explicit_strategy_is_taken_as_asked():
    assert choose_strategy("prefill", "claude-opus-5", BODY) is Strategy.PREFILL
    assert choose_strategy("user-turn", "claude-sonnet-4-5", BODY) is Strategy.USER_TURN
    with pytest.raises(ValueError):
        choose_strategy("retry", "claude-opus-5", BODY)
    with pytest.raises(ValueError):
        choose_strategy("sideways", "claude-opus-5", BODY)


def test_the_prefill_refusal_is_recognised_in_either_error_shape():
    error = {"type": "invalid_request_error", "message": REFUSAL}

    assert is_prefill_refusal(400, error)
    assert is_prefill_refusal(400, {"type": "error", "error": error, "request_id": "req_1"})
    assert not is_prefill_refusal(529, error)
    assert not is_prefill_refusal(400, {"type": "invalid_request_error", "message": "max_tokens: Field required"})
    assert not is_prefill_refusal(400, {"type": "api_error", "message": REFUSAL})
    assert not is_prefill_refusal(400, None)


# ----- salvage -----------------------------------------------------------------------------------


def test_a_text_answer_cut_off_keeps_its_partial_text():
    state = state_of(s.message_start(), open_text(0, "The river bends "), end=End.TRANSPORT_ERROR)

    found = salvage(state)

    assert found.kept == [{"type": "text", "text": "The river bends"}]
    assert (found.partial, found.trimmed, found.sent) == ("The river bends ", " ", "The river bends")
    assert found.dropped == []
    assert not found.acted_on_tool
    assert not found.empty
    assert found.kept_labels == ["text (block 0): 16 characters, cut off"]


def test_a_tool_call_cut_off_is_dropped_and_the_text_before_it_kept():
    state = state_of(
        s.message_start(),
        s.text_block(0, "I'll write the file."),
        s.tool_block(1, "write_file", {"path": "a.md", "content": "x" * 3000}, stop=False),
    )

    found = salvage(state)

    assert found.kept == [{"type": "text", "text": "I'll write the file."}]
    assert found.partial == "I'll write the file."
    assert found.tool_calls == []
    assert not found.acted_on_tool
    assert len(found.dropped) == 1
    assert found.dropped[0].startswith("tool_use `write_file` (block 1): cut off after 3.0 KB of input JSON")


def test_a_complete_tool_call_is_kept_aside_and_flags_that_the_app_may_have_acted():
    state = state_of(
        s.message_start(),
        s.text_block(0, "Checking the weather."),
        s.tool_block(1, "get_weather", {"location": "Paris"}),
        open_text(2, "While that runs"),
    )

    found = salvage(state)

    assert found.acted_on_tool
    assert found.tool_calls == [
        {"type": "tool_use", "id": "toolu_01T1x1", "name": "get_weather", "input": {"location": "Paris"}}
    ]
    assert found.kept == [{"type": "text", "text": "Checking the weather."}]
    assert found.partial == "Checking the weather."
    assert "check whether your app already ran it" in found.dropped[0]
    assert found.dropped[1] == "text (block 2): came after it, so it goes too"


def test_a_tool_call_with_broken_json_is_dropped_and_is_not_a_call_the_app_could_run():
    state = state_of(
        s.message_start(),
        s.text_block(0, "Here."),
        s.block_start(1, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
        s.delta(1, {"type": "input_json_delta", "partial_json": '{"a": tru'}),
        s.block_stop(1),
    )

    found = salvage(state)

    assert not found.acted_on_tool
    assert found.dropped == ["tool_use `f` (block 1): its input JSON is broken; the model makes the call again"]


def test_signed_thinking_and_redacted_thinking_go_back_whole():
    state = state_of(
        s.message_start(),
        thinking(0, "Let me think."),
        s.block_start(1, {"type": "redacted_thinking", "data": "EmwKAhgB"}),
        s.block_stop(1),
        open_text(2, "Rivers run"),
    )

    found = salvage(state)

    assert found.kept == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBsig"},
        {"type": "redacted_thinking", "data": "EmwKAhgB"},
        {"type": "text", "text": "Rivers run"},
    ]
    assert found.dropped == []


def test_thinking_cut_off_leaves_nothing_to_resume():
    found = salvage(state_of(s.message_start(), thinking(0, "Let me", signature=None, stop=False)))

    assert found.kept == []
    assert found.empty
    assert found.dropped == [
        "thinking (block 0): cut off before its signature; a thinking block cannot be partly recovered"
    ]


def test_unsigned_thinking_stops_the_salvage_there():
    found = salvage(state_of(s.message_start(), thinking(0, "Hm.", signature=None), open_text(1, "Yes")))

    assert found.kept == []
    assert found.dropped[0].startswith("thinking (block 0): stopped without a signature")
    assert found.dropped[1] == "text (block 1): came after it, so it goes too"


def test_thinking_alone_is_nothing_to_resume():
    assert salvage(state_of(s.message_start(), thinking(0, "All thought, no answer."))).empty


def test_a_server_tool_call_goes_back_with_its_result():
    state = state_of(
        s.message_start(),
        server_search(0),
        s.block_start(1, SEARCH_RESULT),
        s.block_stop(1),
        open_text(2, "According to"),
    )

    found = salvage(state)

    assert found.kept == [
        {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "rivers"}},
        SEARCH_RESULT,
        {"type": "text", "text": "According to"},
    ]
    assert not found.acted_on_tool


def test_a_server_tool_call_without_its_result_is_dropped():
    found = salvage(state_of(s.message_start(), s.text_block(0, "Searching."), server_search(1)))

    assert found.kept == [{"type": "text", "text": "Searching."}]
    assert found.dropped == [
        "server_tool_use `web_search` (block 1): its result never arrived; the model makes the call again"
    ]


def test_a_server_tool_call_cut_off_is_dropped():
    found = salvage(state_of(s.message_start(), server_search(0, stop=False)))

    assert found.empty
    assert "cut off after 14 B of input JSON" in found.dropped[0]


def test_a_result_block_that_never_finished_takes_its_server_tool_call_with_it():
    found = salvage(state_of(s.message_start(), server_search(0), s.block_start(1, SEARCH_RESULT)))

    assert found.dropped == [
        "server_tool_use `web_search` (block 0): its result never arrived; the model makes the call again",
        "web_search_tool_result (block 1): came after it, so it goes too",
    ]


def test_a_tool_call_without_input_deltas_keeps_its_starting_input():
    state = state_of(
        s.message_start(),
        s.block_start(0, {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}),
        s.block_stop(0),
    )

    assert salvage(state).tool_calls == [{"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}]


def test_redacted_thinking_that_never_stopped_is_dropped():
    found = salvage(state_of(s.message_start(), s.block_start(0, {"type": "redacted_thinking", "data": "Em"})))

    assert found.dropped == ["redacted_thinking (block 0): never finished"]


def test_an_unknown_block_type_stops_the_salvage():
    found = salvage(
        state_of(s.message_start(), s.text_block(0, "Hi."), s.block_start(1, {"type": "hologram"}), s.block_stop(1))
    )

    assert found.kept == [{"type": "text", "text": "Hi."}]
    assert found.dropped == ["hologram (block 1): streamwatch cannot send this kind of block back"]


def test_text_blocks_with_citations_keep_them_and_plain_neighbours_merge():
    citation = {"type": "char_location", "cited_text": "Rivers flow.", "document_index": 0,
                "document_title": "Doc", "start_char_index": 0, "end_char_index": 12}
    state = state_of(
        s.message_start(),
        s.text_block(0, "Intro."),
        s.text_block(1, "\n\n"),
        s.block_start(2, {"type": "text", "text": ""}),
        s.delta(2, {"type": "citations_delta", "citation": citation}),
        s.delta(2, {"type": "text_delta", "text": "Rivers flow"}),
        s.block_stop(2),
        open_text(3, " downhill,\n"),
    )

    found = salvage(state)

    assert found.kept == [
        {"type": "text", "text": "Intro.\n\n"},
        {"type": "text", "text": "Rivers flow", "citations": [citation]},
        {"type": "text", "text": " downhill,"},
    ]
    assert found.partial == "Intro.\n\nRivers flow downhill,\n"
    assert found.sent == "Intro.\n\nRivers flow downhill,"


def test_trailing_whitespace_is_trimmed_across_text_blocks():
    found = salvage(state_of(s.message_start(), s.text_block(0, "Done. "), open_text(1, "\n\n")))

    assert found.kept == [{"type": "text", "text": "Done."}]
    assert found.trimmed == " \n\n"


def test_an_http_error_leaves_nothing():
    state = StreamState()
    state.response(529, {"retry-after": "3"})
    state.chunk(b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    state.end(End.EOF)

    found = salvage(state)

    assert found.empty
    assert (found.kept, found.dropped, found.partial) == ([], [], "")


# ----- requests ----------------------------------------------------------------------------------


def partial_state(text: str = "Rivers carve valleys over ") -> StreamState:
    return state_of(s.message_start(), open_text(0, text), end=End.TRANSPORT_ERROR)


def test_a_retry_is_the_same_request_and_does_not_share_it():
    again = retry_request(BODY)

    assert again == BODY
    again["messages"].append({"role": "user", "content": "more"})
    assert len(BODY["messages"]) == 1


def test_a_prefill_resume_ends_with_the_trimmed_partial_and_keeps_everything_else():
    body = resume_request(BODY, salvage(partial_state()), "prefill")

    assert body["messages"] == [
        *BODY["messages"],
        {"role": "assistant", "content": [{"type": "text", "text": "Rivers carve valleys over"}]},
    ]
    assert {k: v for k, v in body.items() if k != "messages"} == {k: v for k, v in BODY.items() if k != "messages"}
    assert len(BODY["messages"]) == 1


def test_a_user_turn_resume_sends_the_partial_then_asks_to_continue_after_its_tail():
    body = resume_request(BODY, salvage(partial_state()), "user-turn")

    *history, answer, note = body["messages"]
    assert history == BODY["messages"]
    assert answer == {"role": "assistant", "content": [{"type": "text", "text": "Rivers carve valleys over"}]}
    assert note["role"] == "user"
    assert "interrupted" in note["content"]
    assert "<partial>Rivers carve valleys over</partial>" in note["content"]
    assert "Do not repeat" in note["content"]
    assert body["stream"] is True and body["tools"] == BODY["tools"] and body["system"] == "Be brief."


def test_the_quoted_tail_is_the_last_words_of_a_long_partial():
    words = " ".join(f"word{i}" for i in range(200))

    note = interruption_note(words)

    quoted = note.split("<partial>")[1].split("</partial>")[0]
    assert words.endswith(quoted)
    assert TAIL_CHARS - 10 <= len(quoted) <= TAIL_CHARS
    assert quoted.startswith("word")
    assert words[-len(quoted) - 1] == " "


def test_a_partial_that_contains_the_closing_tag_is_quoted_after_it():
    note = interruption_note("x <partial>a</partial> and more")

    assert note.count("</partial>") == 1
    assert "<partial> and more</partial>" in note


def test_a_user_turn_after_a_non_text_block_quotes_nothing():
    state = state_of(s.message_start(), server_search(0), s.block_start(1, SEARCH_RESULT), s.block_stop(1))

    note = resume_request(BODY, salvage(state), "user-turn")["messages"][-1]["content"]

    assert "interrupted" in note and "<partial>" not in note


def test_a_resume_never_sends_a_tool_use_without_its_result():
    state = state_of(
        s.message_start(),
        s.text_block(0, "Checking."),
        s.tool_block(1, "get_weather", {"location": "Paris"}),
        s.message_delta("tool_use"),
    )

    for strategy in ("prefill", "user-turn"):
        messages = resume_request(BODY, salvage(state), strategy)["messages"]
        blocks = [b for m in messages if isinstance(m["content"], list) for b in m["content"]]
        assert all(b["type"] != "tool_use" for b in blocks)


def test_nothing_salvaged_makes_the_resume_a_retry():
    state = state_of(s.message_start(), thinking(0, "Hm", signature=None, stop=False))

    assert resume_request(BODY, salvage(state), "prefill") == BODY
    assert resume_request(BODY, salvage(state_of(s.message_start(), open_text(0, "\n\n "))), "user-turn") == BODY


def test_a_conversation_that_already_ended_with_a_prefill_is_extended():
    body = {**BODY, "messages": [*BODY["messages"], {"role": "assistant", "content": "Rivers:"}]}

    messages = resume_request(body, salvage(partial_state(" they carve")), "prefill")["messages"]

    assert messages[-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Rivers:"}, {"type": "text", "text": " they carve"}],
    }
    assert len(messages) == 2


def test_resume_takes_only_the_resume_strategies():
    with pytest.raises(ValueError):
        resume_request(BODY, salvage(partial_state()), "auto")
    with pytest.raises(ValueError):
        resume_request(BODY, salvage(partial_state()), "retry")


# ----- stitching ---------------------------------------------------------------------------------


def test_an_exact_continuation_is_appended_at_the_seam():
    joined = stitch("The river", " bends east.")

    assert (joined.text, joined.seam, joined.repeated) == ("The river bends east.", 9, "")


def test_the_trimmed_whitespace_comes_back_when_the_continuation_lacks_it():
    joined = stitch("First paragraph.", "Second one.", "\n\n")

    assert joined.text == "First paragraph.\n\nSecond one."
    assert joined.seam == len("First paragraph.\n\n")


def test_the_continuation_s_own_whitespace_wins_over_the_trimmed_one():
    assert stitch("First paragraph.", " Second.", "\n\n").text == "First paragraph. Second."


def test_a_continuation_inside_a_word_is_glued():
    assert stitch("The riv", "er bends.").text == "The river bends."


def test_a_repeated_tail_is_removed():
    joined = stitch("Rivers carve deep valleys over time", "valleys over time, and canyons too.")

    assert joined.text == "Rivers carve deep valleys over time, and canyons too."
    assert joined.repeated == "valleys over time"
    assert joined.seam == len("Rivers carve deep valleys over time")


def test_a_repeat_that_finishes_a_word_cut_off_is_removed():
    assert stitch("It flows into the riv", "into the river and on.").text == "It flows into the river and on."


def test_a_repeat_of_the_whole_partial_is_removed_even_when_short():
    assert stitch("Rivers flow", "Rivers flow downhill.").text == "Rivers flow downhill."
    assert stitch("The", "The sea.").text == "The sea."
    assert stitch("Th", "The sea.").text == "The sea."


def test_whitespace_differences_inside_and_around_the_repeat_do_not_hide_it():
    joined = stitch("the sea.\nThen the   tide", "  Then the tide\n\nturned.", "\n")

    assert joined.text == "the sea.\nThen the   tide\n\nturned."
    assert joined.repeated == "  Then the tide"


def test_a_single_common_word_or_letters_are_not_taken_for_a_repeat():
    assert stitch("I know that", "that is true.", " ").text == "I know that that is true."
    assert stitch("ban", "ana split").text == "banana split"
    assert stitch("a b c d", "d e").text == "a b c dd e"
    assert stitch("x = 1 |---|---", "|---|").text == "x = 1 |---|---|---|"


def test_a_repeat_must_start_the_continuation():
    assert stitch("over the hills", "and over the hills").text == "over the hillsand over the hills"


def test_a_partial_word_only_grows_into_a_longer_word_when_nothing_was_trimmed():
    assert stitch("Go to the sea", "the seaside now.", " ").text == "Go to the sea the seaside now."
    assert stitch("Go to the sea", "the seaside now.").text == "Go to the seaside now."


def test_a_continuation_that_is_all_repeat_adds_nothing():
    joined = stitch("It ended here.", "ended here.")

    assert joined.text == "It ended here."
    assert joined.seam == len("It ended here.")


def test_an_empty_continuation_leaves_the_partial():
    assert stitch("All done.", "", "\n").text == "All done."
    assert stitch("", "Fresh start.").text == "Fresh start."


def test_a_long_restart_beyond_the_window_is_still_stitched_cleanly():
    partial = " ".join(f"w{i}" for i in range(1000))
    continuation = " ".join(f"w{i}" for i in range(700, 1200))

    assert stitch(partial, continuation).text == " ".join(f"w{i}" for i in range(1200))


def test_salvage_stitch_uses_the_trimmed_partial():
    found = salvage(partial_state("Rivers carve valleys\n\n"))

    assert found.stitch("Over time.").text == "Rivers carve valleys\n\nOver time."
    assert found.stitch("\n\nOver time.").text == "Rivers carve valleys\n\nOver time."



def test_a_second_resume_sends_back_the_whole_answer_so_far():
    earlier = salvage(state_of(s.message_start(), thinking(0, "Plan."), open_text(1, "Rivers carve ")))
    later = salvage(state_of(s.message_start(), open_text(0, "valleys over time\n")))

    both = continued(earlier, later)

    assert both.kept == [
        {"type": "thinking", "thinking": "Plan.", "signature": "EqQBsig"},
        {"type": "text", "text": "Rivers carve valleys over time"},
    ]
    assert (both.partial, both.trimmed) == ("Rivers carve valleys over time\n", "\n")
    assert resume_request(BODY, both, "prefill")["messages"][-1]["content"] == both.kept


def test_a_resume_that_broke_before_any_text_leaves_the_answer_so_far_as_it_was():
    earlier = salvage(partial_state("Rivers carve "))
    later = salvage(state_of(s.message_start(), s.tool_block(0, "get_weather", {"city": "Oslo"}, stop=False)))

    both = continued(earlier, later)

    assert (both.kept, both.partial, both.trimmed) == (earlier.kept, earlier.partial, earlier.trimmed)
    assert both.dropped == later.dropped and len(both.dropped) == 1

# ----- cost --------------------------------------------------------------------------------------


def test_a_retry_repays_the_input_and_regenerates_all_the_output():
    cost = repaid({"input_tokens": 500, "output_tokens": 300}, {"input_tokens": 500, "output_tokens": 900}, "retry")

    assert cost == {
        "strategy": "retry",
        "input_tokens": 500,
        "output_tokens": 300,
        "output_estimated": False,
        "total_tokens": 800,
    }


def test_a_retry_of_a_stream_that_never_reported_its_output_estimates_it_from_the_characters():
    broken = {"input_tokens": 12, "output_tokens": 1, "output_final": False, "output_chars": 784}
    cost = repaid(broken, {"input_tokens": 12, "output_tokens": 300, "output_final": True}, "retry")

    assert cost == {"strategy": "retry", "input_tokens": 12, "output_tokens": 196, "output_estimated": True,
                    "total_tokens": 208}
    assert repaid({**broken, "output_tokens": 250}, {"input_tokens": 12}, "retry")["output_tokens"] == 250
    assert repaid(broken, {"input_tokens": 800}, "user-turn")["output_estimated"] is False


@pytest.mark.parametrize("strategy", ["prefill", "user-turn"])
def test_a_resume_repays_the_input_but_none_of_the_kept_output(strategy):
    cost = repaid({"input_tokens": 500, "output_tokens": 300}, {"input_tokens": 820, "output_tokens": 600}, strategy)

    assert cost == {"strategy": strategy, "input_tokens": 820, "output_tokens": 0, "output_estimated": False,
                    "total_tokens": 820}


def test_unreported_usage_stays_unknown():
    cost = repaid({"input_tokens": 500, "output_tokens": None}, {"input_tokens": None, "output_tokens": None}, "retry")

    assert cost["input_tokens"] is None and cost["output_tokens"] is None and cost["total_tokens"] is None
    with pytest.raises(ValueError):
        repaid({}, {}, "auto")
