"""The mock answers the request as the API would, for any client: the official SDK, checking every
response and stream event against its own types (`_strict_response_validation`), three ways."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageTokensCount, ModelInfo

from streamwatch.mock import SCENARIOS, MockServer
from streamwatch.mock.tokens import count
from tests.mock.schema_check import problems

Answer = Callable[..., Message]

WEATHER = {
    "name": "get_weather",
    "description": "The weather at a place",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "hours": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 23}, "maxItems": 3},
        },
        "required": ["location", "unit"],
    },
}
ORDER = {
    "name": "place_order",
    "input_schema": {
        "type": "object",
        "properties": {
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"sku": {"type": "string", "maxLength": 12}, "qty": {"type": "integer", "minimum": 1}},
                    "required": ["sku", "qty"],
                },
            },
            "address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
        "required": ["lines", "address"],
    },
}
TOOLS = [WEATHER, ORDER]


@pytest.fixture
def strict(server: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.base_url, api_key="test-key", max_retries=0, _strict_response_validation=True
    )


def assembled(events: list[Any]) -> Message:
    """The Message that `create(stream=True)`'s events add up to."""
    message = events[0].message.model_dump()
    partial_json: dict[int, str] = {}
    for event in events[1:]:
        if event.type == "content_block_start":
            message["content"].append(event.content_block.model_dump())
        elif event.type == "content_block_delta":
            block, delta = message["content"][event.index], event.delta
            if delta.type == "input_json_delta":
                partial_json[event.index] = partial_json.get(event.index, "") + delta.partial_json
            else:
                field = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}[delta.type]
                block[field] += getattr(delta, field)
        elif event.type == "content_block_stop" and event.index in partial_json:
            message["content"][event.index]["input"] = json.loads(partial_json[event.index])
        elif event.type == "message_delta":
            message.update(event.delta.model_dump())
            message["usage"]["output_tokens"] = event.usage.output_tokens
    return Message.model_validate(message)


@pytest.fixture(params=["create", "create_stream", "stream_helper"])
def answer(request: pytest.FixtureRequest, strict: anthropic.Anthropic, prompt: str) -> Answer:
    """The final message of a request, got one of the SDK's three ways."""

    def answer(model: str = "claude-sonnet-4-6", max_tokens: int = 4096, **params: Any) -> Message:
        params = {"messages": [{"role": "user", "content": prompt}], **params}
        if request.param == "create":
            return strict.messages.create(model=model, max_tokens=max_tokens, **params)
        if request.param == "create_stream":
            events = list(strict.messages.create(model=model, max_tokens=max_tokens, stream=True, **params))
            assert [events[0].type, events[-1].type] == ["message_start", "message_stop"]
            return assembled(events)
        with strict.messages.stream(model=model, max_tokens=max_tokens, **params) as stream:
            return stream.get_final_message()

    return answer


def output_tokens(message: Message) -> int:
    """The mock's count (`streamwatch.mock.tokens`) of what the message holds."""
    pieces = {"text": "text", "thinking": "thinking"}
    return sum(
        count(json.dumps(block.input) if block.type == "tool_use" else getattr(block, pieces[block.type]))
        for block in message.content
    )


def text(message: Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def calls(message: Message) -> list[Any]:
    return [block for block in message.content if block.type == "tool_use"]


# max_tokens


def test_max_tokens_stops_the_answer_there(answer: Answer) -> None:
    full = answer()

    message = answer(max_tokens=20)

    assert full.stop_reason == "end_turn" and full.usage.output_tokens > 20
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 20 == output_tokens(message)
    assert text(full).startswith(text(message))


@pytest.mark.parametrize("max_tokens", [1, 7, 90, 310, 700, 2000])
@pytest.mark.parametrize("scenario", ["ok", "thinking", "tool_big", "max_tokens", "stall"])
def test_no_scenario_writes_more_than_max_tokens(strict: anthropic.Anthropic, prompt: str, scenario: str,
                                                 max_tokens: int) -> None:
    with strict.messages.stream(model=f"mock-{scenario}", max_tokens=max_tokens,
                                messages=[{"role": "user", "content": prompt}]) as stream:
        message = stream.get_final_message()

    assert message.usage.output_tokens == output_tokens(message) <= max_tokens
    if scenario == "max_tokens" or max_tokens < 300:  # every answer has 300 words or more
        assert message.stop_reason == "max_tokens"
    if scenario != "max_tokens" and max_tokens == 2000:
        assert message.stop_reason == ("tool_use" if scenario == "tool_big" else "end_turn")


def test_the_tool_scenario_fits_its_call_in_max_tokens_when_it_can(answer: Answer) -> None:
    message = answer("mock-tool_big", max_tokens=1024)

    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert 1000 < len(json.dumps(message.content[1].input)) < 40_000
    assert message.usage.output_tokens <= 1024


def test_a_call_that_cannot_fit_is_not_started(answer: Answer) -> None:
    message = answer("mock-tool_big", max_tokens=300)

    assert message.stop_reason == "max_tokens"
    assert calls(message) == []


# tools and tool_choice


def test_auto_answers_then_calls_a_declared_tool_with_input_that_fits_its_schema(answer: Answer) -> None:
    message = answer(tools=TOOLS)

    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]
    call = message.content[1]
    tool = next(tool for tool in TOOLS if tool["name"] == call.name)
    assert problems(call.input, tool["input_schema"]) == []
    assert call.id.startswith("toolu_")


@pytest.mark.parametrize("name", ["get_weather", "place_order"])
def test_a_named_tool_choice_calls_that_tool_at_once(answer: Answer, name: str) -> None:
    message = answer(tools=TOOLS, tool_choice={"type": "tool", "name": name})

    assert message.stop_reason == "tool_use"
    [call] = message.content
    assert call.type == "tool_use" and call.name == name
    assert problems(call.input, next(t for t in TOOLS if t["name"] == name)["input_schema"]) == []


def test_any_calls_one_of_the_declared_tools_at_once(answer: Answer) -> None:
    message = answer(tools=TOOLS, tool_choice={"type": "any"})

    [call] = message.content
    assert call.name in {"get_weather", "place_order"} and message.stop_reason == "tool_use"


def test_none_never_calls_a_tool(answer: Answer) -> None:
    message = answer(tools=TOOLS, tool_choice={"type": "none"})

    assert calls(message) == [] and message.stop_reason == "end_turn"


def test_the_answer_to_a_tool_result_is_text_so_an_agent_loop_ends(answer: Answer, prompt: str) -> None:
    first = answer(tools=[WEATHER])
    [call] = calls(first)
    history = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 21 C"}]},
    ]

    message = answer(tools=[WEATHER], messages=history)

    assert message.stop_reason == "end_turn" and calls(message) == [] and text(message)


def test_the_tool_input_streams_in_pieces(strict: anthropic.Anthropic, prompt: str) -> None:
    events = list(strict.messages.create(
        model="claude-sonnet-4-6", max_tokens=1024, stream=True, tools=[ORDER],
        tool_choice={"type": "tool", "name": "place_order"}, messages=[{"role": "user", "content": prompt}],
    ))

    pieces = [e.delta.partial_json for e in events if e.type == "content_block_delta"]
    assert pieces[0] == "" and len(pieces) >= 4
    assert problems(json.loads("".join(pieces)), ORDER["input_schema"]) == []


def test_a_tool_call_cut_by_the_scenario_is_a_call_of_the_caller_s_tool(
    strict: anthropic.Anthropic, prompt: str
) -> None:
    params = {"model": "mock-drop_eof", "max_tokens": 1024, "tools": [ORDER],
              "messages": [{"role": "user", "content": prompt}]}
    with strict.messages.stream(**params) as stream:
        cut = stream.get_final_message()
    with strict.messages.stream(**params) as stream:
        retried = stream.get_final_message()

    assert cut.stop_reason is None and cut.content[-1].type == "tool_use"
    assert cut.content[-1].name == "place_order"
    assert retried.stop_reason == "tool_use" and retried.content[-1].name == "place_order"
    assert problems(retried.content[-1].input, ORDER["input_schema"]) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tool_choice": {"type": "tool", "name": "nope"}, "tools": TOOLS}, "tool_choice.name: Tool 'nope' not found"),
        ({"tool_choice": {"type": "any"}}, "tool_choice may only be specified while providing tools"),
        ({"tool_choice": {"type": "sometimes"}, "tools": TOOLS}, "tool_choice.type: Input should be"),
        ({"tools": [{"name": "x"}]}, "tools.0.custom.input_schema: Field required"),
        ({"tools": [{"name": "x", "input_schema": {"type": "array"}}]}, "tools.0.custom.input_schema.type"),
        ({"tools": [WEATHER, WEATHER]}, "tools: Tool names must be unique"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1000}}, "thinking.enabled.budget_tokens: Input should be"),
        ({"thinking": {"type": "enabled", "budget_tokens": 4096}}, "`max_tokens` must be greater than"),
        ({"thinking": {"type": "adaptive"}, "tools": TOOLS, "tool_choice": {"type": "any"}},
         "Thinking may not be enabled when tool_choice forces tool use"),
        ({"stop_sequences": ["  "]}, "stop_sequences: each stop sequence must contain non-whitespace"),
    ],
)
def test_bad_tool_thinking_and_stop_fields_get_the_api_s_400(
    strict: anthropic.Anthropic, prompt: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        strict.messages.create(model="claude-sonnet-4-6", max_tokens=4096,
                               messages=[{"role": "user", "content": prompt}], **params)

    assert refused.value.type == "invalid_request_error"
    assert refused.value.api_message.startswith(message)


# thinking


def test_enabled_thinking_comes_first_signed_and_within_its_budget(answer: Answer) -> None:
    plain = answer()

    message = answer(max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024})

    assert [block.type for block in message.content] == ["thinking", "text"]
    thinking = message.content[0]
    assert 0 < count(thinking.thinking) <= 1024
    assert isinstance(thinking.signature, str) and len(thinking.signature) > 40
    assert text(message) == text(plain)
    assert message.usage.output_tokens == output_tokens(message) <= 2000


def test_thinking_streams_as_thinking_deltas_then_one_signature_delta(strict: anthropic.Anthropic, prompt: str) -> None:
    events = list(strict.messages.create(
        model="claude-sonnet-4-6", max_tokens=2000, stream=True, thinking={"type": "adaptive"},
        messages=[{"role": "user", "content": prompt}],
    ))

    block = [e for e in events if getattr(e, "index", None) == 0]
    assert block[0].content_block.type == "thinking"
    kinds = [e.delta.type for e in block if e.type == "content_block_delta"]
    assert kinds[:-1] == ["thinking_delta"] * (len(kinds) - 1) and len(kinds) > 5
    assert kinds[-1] == "signature_delta" and block[-1].type == "content_block_stop"


def test_omitted_thinking_sends_only_the_signature(answer: Answer) -> None:
    message = answer(max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024, "display": "omitted"})

    thinking = message.content[0]
    assert thinking.type == "thinking" and thinking.thinking == "" and thinking.signature


def test_thinking_counts_toward_max_tokens(answer: Answer) -> None:
    message = answer(max_tokens=40, thinking={"type": "adaptive"})

    assert [block.type for block in message.content] == ["thinking"]
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 40


def test_disabled_thinking_sends_none(answer: Answer) -> None:
    message = answer(thinking={"type": "disabled"})

    assert [block.type for block in message.content] == ["text"]


# stop_sequences


def test_a_stop_sequence_stops_the_text_before_it(answer: Answer) -> None:
    full = text(answer())
    words = full.split()
    sequence = f"{words[30]} {words[31]}"

    message = answer(stop_sequences=["never in the answer", sequence])

    assert message.stop_reason == "stop_sequence" and message.stop_sequence == sequence
    assert text(message) == full[: full.index(sequence)]
    assert message.usage.output_tokens == output_tokens(message)


def test_a_stop_sequence_beyond_max_tokens_is_not_reached(answer: Answer) -> None:
    full = text(answer())

    message = answer(max_tokens=10, stop_sequences=[full.split()[40]])

    assert message.stop_reason == "max_tokens" and message.stop_sequence is None


def test_a_stop_sequence_not_in_the_text_changes_nothing(answer: Answer) -> None:
    message = answer(tools=[WEATHER], stop_sequences=["never in the answer"])

    assert message.stop_reason == "tool_use" and message.stop_sequence is None


# count_tokens and models


def test_count_tokens_counts_what_usage_reports(strict: anthropic.Anthropic, prompt: str) -> None:
    params = {"system": "Be brief.", "tools": TOOLS,
              "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": "Sure"},
                           {"role": "user", "content": [{"type": "text", "text": "Go on, please."}]}]}

    counted = strict.messages.count_tokens(model="claude-sonnet-4-6", **params)
    used = strict.messages.create(model="claude-sonnet-4-6", max_tokens=50, **params).usage.input_tokens
    without_tools = strict.messages.count_tokens(model="claude-sonnet-4-6", messages=params["messages"])

    assert isinstance(counted, MessageTokensCount)
    assert counted.input_tokens == used
    assert 0 < without_tools.input_tokens < counted.input_tokens


def test_count_tokens_refuses_a_bad_body_like_messages_does(strict: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        strict.messages.count_tokens(model="claude-sonnet-4-6", messages=[])

    assert refused.value.api_message == "messages: at least one message is required"


def test_the_model_list_pages_through_every_scenario_model(strict: anthropic.Anthropic) -> None:
    first = strict.models.list(limit=5)

    assert first.has_more is True and first.first_id == "mock-ok" and first.last_id == first.data[-1].id
    every = [model.id for model in strict.models.list(limit=5)]
    assert every == [f"mock-{name}" for name in SCENARIOS]
    last = strict.models.list(after_id=every[-2])
    assert [m.id for m in last.data] == every[-1:] and last.has_more is False
    before = strict.models.list(before_id=every[3], limit=2)
    assert [m.id for m in before.data] == every[1:3] and before.has_more is True


@pytest.mark.parametrize("model_id", ["mock-drop_eof", "claude-sonnet-4-6"])
def test_a_model_the_mock_answers_is_found(strict: anthropic.Anthropic, model_id: str) -> None:
    model = strict.models.retrieve(model_id)

    assert isinstance(model, ModelInfo) and model.id == model_id and model.type == "model"


def test_an_unknown_mock_model_is_not_found(strict: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        strict.models.retrieve("mock-nonsense")

    assert missing.value.type == "not_found_error"


def test_a_bad_page_size_is_the_api_s_400(strict: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError):
        strict.models.list(limit=0)


# --require-key


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockServer]:
    with MockServer(time_scale=0.01, require_key=True) as running:
        yield running


BODY = {"model": "claude-sonnet-4-6", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
VERSION = {"anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens", "/v1/models"])
def test_with_require_key_a_request_without_a_key_gets_the_api_s_401(guarded: MockServer, path: str) -> None:
    method = "GET" if path == "/v1/models" else "POST"
    response = httpx.request(method, guarded.base_url + path, json=BODY, headers=VERSION)

    assert response.status_code == 401
    assert response.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "x-api-key header is required"},
        "request_id": response.headers["request-id"],
    }


@pytest.mark.parametrize("headers", [{"x-api-key": ""}, {"authorization": "Bearer"}, {"authorization": "Basic a2V5"}])
def test_with_require_key_an_empty_key_or_another_scheme_is_no_key(guarded: MockServer, headers: dict[str, str]) -> None:
    response = httpx.post(guarded.base_url + "/v1/messages", json=BODY, headers={**VERSION, **headers})

    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"


def test_with_require_key_a_request_without_a_version_gets_the_api_s_400(guarded: MockServer) -> None:
    response = httpx.post(guarded.base_url + "/v1/messages", json=BODY, headers={"x-api-key": "k"})

    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error",
                                        "message": "anthropic-version: header is required"}


@pytest.mark.parametrize("credentials", [{"api_key": "test-key"}, {"auth_token": "test-token"}])
def test_with_require_key_the_sdk_s_key_or_token_is_served(guarded: MockServer, credentials: dict[str, str]) -> None:
    client = anthropic.Anthropic(base_url=guarded.base_url, max_retries=0, **credentials)

    assert client.messages.create(**BODY).stop_reason == "max_tokens"


def test_the_sdk_raises_its_authentication_error_on_the_401(guarded: MockServer) -> None:
    no_key = {"x-api-key": anthropic.Omit(), "authorization": anthropic.Omit()}
    client = anthropic.Anthropic(base_url=guarded.base_url, api_key="k", max_retries=0, default_headers=no_key)

    with pytest.raises(anthropic.AuthenticationError) as refused:
        client.messages.create(**BODY)

    assert refused.value.type == "authentication_error"


def test_without_require_key_any_request_is_served(server: MockServer) -> None:
    response = httpx.post(server.base_url + "/v1/messages", json=BODY)

    assert response.status_code == 200 and response.json()["stop_reason"] == "max_tokens"
