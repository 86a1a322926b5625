"""The official SDK against the mock: what a user of `anthropic` sees in each scenario."""

import json
import logging
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import Message

from streamwatch.mock import MockServer

Ask = Callable[..., Message]


def test_ok_streams_a_complete_text_answer(ask: Ask) -> None:
    message = ask("mock-ok")

    assert message.id.startswith("msg_mock_")
    assert message.model == "mock-ok"
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert len(message.content[0].text.split()) >= 300
    assert message.usage.output_tokens == len(message.content[0].text.split())


@pytest.mark.parametrize(
    "scenario", ["stall", "slow_first_token", "buffered", "keepalive_only", "thinking", "tool_big"]
)
def test_slow_or_richer_scenarios_still_give_the_ok_text(ask: Ask, scenario: str) -> None:
    reference = ask("mock-ok").content[0].text

    message = ask(f"mock-{scenario}")

    texts = [block.text for block in message.content if block.type == "text"]
    assert texts == [reference]
    assert message.stop_reason == ("tool_use" if scenario == "tool_big" else "end_turn")


@pytest.mark.parametrize("size", [40_000, 5_000])
def test_tool_big_ends_with_a_write_file_call_of_the_requested_size(ask: Ask, size: int) -> None:
    options = {} if size == 40_000 else {"extra_headers": {"x-streamwatch-tool-bytes": str(size)}}

    message = ask("mock-tool_big", max_tokens=16_000, **options)

    tool = message.content[-1]
    assert tool.type == "tool_use"
    assert tool.name == "write_file"
    assert tool.id.startswith("toolu_mock_")
    assert set(tool.input) == {"path", "content"}
    assert len(json.dumps(tool.input)) == size


def test_thinking_comes_first_and_is_signed(ask: Ask) -> None:
    message = ask("mock-thinking")

    assert [block.type for block in message.content] == ["thinking", "text"]
    assert len(message.content[0].thinking.split()) >= 80
    assert message.content[0].signature


def test_max_tokens_cuts_the_text_at_that_many_words(ask: Ask) -> None:
    full = ask("mock-ok").content[0].text

    message = ask("mock-max_tokens", max_tokens=25)

    cut = message.content[0].text
    assert message.stop_reason == "max_tokens"
    assert len(cut.split()) == 25
    assert full.startswith(cut)
    assert message.usage.output_tokens == 25


def test_max_tokens_is_reached_even_above_the_usual_answer_s_length(ask: Ask) -> None:
    full = ask("mock-ok").content[0].text
    message = ask("mock-max_tokens", max_tokens=1024)

    assert len(full.split()) < 1024
    assert message.stop_reason == "max_tokens" and len(message.content[0].text.split()) == 1024
    assert message.content[0].text.startswith(full)


def test_drop_eof_gives_a_partial_message_and_no_error(ask: Ask) -> None:
    complete = ask("mock-tool_big")

    message = ask("mock-drop_eof")

    assert message.stop_reason is None
    assert message.content[0].text == complete.content[0].text
    tool = message.content[1]
    assert tool.type == "tool_use"
    # The SDK's partial JSON parse drops the unfinished "content" string altogether.
    assert tool.input == {"path": complete.content[1].input["path"]}


def test_drop_abrupt_raises_the_raw_httpx2_error_quietly(
    ask: Ask, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        ask("mock-drop_abrupt")

    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("scenario", "error_type"),
    [("error_overloaded", "overloaded_error"), ("error_stream", "api_error")],
)
def test_error_event_raises_api_status_error_with_status_200(
    ask: Ask, scenario: str, error_type: str
) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        ask(f"mock-{scenario}")

    assert raised.value.type == error_type
    assert raised.value.status_code == 200
    assert not isinstance(raised.value, anthropic.InternalServerError)
    assert raised.value.request_id.startswith("req_mock_")


def test_http_529_is_an_overloaded_status_error_with_retry_after(ask: Ask) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        ask("mock-http_529")

    assert raised.value.status_code == 529
    assert isinstance(raised.value, anthropic.OverloadedError)
    assert raised.value.type == "overloaded_error"
    assert raised.value.response.headers["retry-after"] == "1"
    assert raised.value.request_id.startswith("req_mock_")


def test_http_429_is_a_rate_limit_error(ask: Ask) -> None:
    with pytest.raises(anthropic.RateLimitError) as raised:
        ask("mock-http_429")

    assert raised.value.type == "rate_limit_error"
    assert "retry-after" in raised.value.response.headers


STALL_LONGER_THAN_TIMEOUT = {
    "timeout": 0.3,
    "extra_headers": {"x-streamwatch-time-scale": "0.1"},  # a 0.8 s stall
}


@pytest.mark.parametrize(
    ("scenario", "error", "options"),
    [
        ("drop_abrupt", httpx2.RemoteProtocolError, {}),
        ("error_overloaded", anthropic.APIStatusError, {}),
        ("http_529", anthropic.InternalServerError, {}),
        ("stall", httpx2.ReadTimeout, STALL_LONGER_THAN_TIMEOUT),
    ],
)
def test_the_retry_of_a_faulty_conversation_succeeds(
    ask: Ask, scenario: str, error: type[Exception], options: dict[str, Any]
) -> None:
    reference = ask("mock-ok").content[0].text
    with pytest.raises(error):
        ask(f"mock-{scenario}", **options)

    message = ask(f"mock-{scenario}", **options)

    assert message.stop_reason == "end_turn"
    assert message.content[0].text == reference


def test_the_sdk_retries_a_529_by_itself_and_succeeds(server: MockServer, prompt: str) -> None:
    client = anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=1)

    message = client.messages.create(
        model="mock-http_529", max_tokens=1024, messages=[{"role": "user", "content": prompt}]
    )

    assert message.stop_reason == "end_turn"


def test_fail_always_keeps_failing(ask: Ask) -> None:
    for _ in range(3):
        with pytest.raises(httpx2.RemoteProtocolError):
            ask("mock-drop_abrupt", extra_headers={"x-streamwatch-fail-always": "1"})


def test_non_streaming_request_returns_the_whole_message(
    client: anthropic.Anthropic, ask: Ask, prompt: str
) -> None:
    streamed = ask("mock-tool_big")

    message = client.messages.create(
        model="mock-tool_big", max_tokens=4096, messages=[{"role": "user", "content": prompt}]
    )

    assert message.stop_reason == "tool_use"
    assert message.content[0].text == streamed.content[0].text
    assert message.content[1].input == streamed.content[1].input


def test_missing_max_tokens_is_a_bad_request(client: anthropic.Anthropic, prompt: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.post(
            "/v1/messages",
            body={"model": "mock-ok", "messages": [{"role": "user", "content": prompt}]},
            cast_to=object,
        )

    assert raised.value.type == "invalid_request_error"
    assert "max_tokens" in raised.value.api_message


def test_max_tokens_over_what_any_model_allows_is_refused_as_the_api_does(ask: Ask) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        ask("mock-max_tokens", max_tokens=10**8)
    assert refused.value.status_code == 400
    assert "max_tokens: 100000000 > 128000, which is the maximum allowed number of output tokens" in str(refused.value)
