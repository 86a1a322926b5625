"""Reading and validating a `POST /v1/messages` request, like the real API does for bad ones.

Headers the mock understands (all optional):

    x-streamwatch-scenario     a scenario name (see `streamwatch.mock.scenarios`)
    x-streamwatch-tool-bytes   size of the tool input JSON in tool scenarios (default 40000)
    x-streamwatch-fail-always  "1" or "true": the fault fires on every request, not just the first
    x-streamwatch-time-scale   overrides the server's time scale for this request
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamwatch.mock.conversation import (
    PREFILL_REFUSAL,
    Conversation,
    read_conversation,
    refuses_prefill,
    text_of,
)
from streamwatch.mock.scenarios import DEFAULT_SCENARIO, SCENARIOS, Scenario
from streamwatch.protocol import (
    FAIL_ALWAYS_HEADER,
    SCENARIO_HEADER,
    SCENARIO_MODEL_PREFIX,
    TIME_SCALE_HEADER,
    TOOL_BYTES_HEADER,
)

DEFAULT_TOOL_BYTES = 40_000
_TOOL_BYTES_RANGE = (100, 50_000_000)
_ROLES = ("user", "assistant")


TRAILING_WHITESPACE = "messages: final assistant content cannot end with trailing whitespace"


class InvalidRequest(ValueError):
    """The request is malformed: answered with 400 invalid_request_error and this message."""


@dataclass(frozen=True)
class MockRequest:
    model: str
    max_tokens: int
    stream: bool
    conversation: Conversation
    input_tokens: int
    scenario: Scenario
    tool_bytes: int
    fail_always: bool
    time_scale: float | None


def parse_request(raw: bytes, headers: Mapping[str, str]) -> MockRequest:
    """Validate the body and the mock's headers; raise InvalidRequest on anything wrong."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = _field(body, "model", str)
    messages = _field(body, "messages", list)
    max_tokens = _field(body, "max_tokens", int)
    system = body.get("system", "")
    stream = body.get("stream", False)
    if max_tokens < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    if not _is_content(system):
        raise InvalidRequest("system: Input should be a valid string or list of text blocks")
    if not isinstance(stream, bool):
        raise InvalidRequest("stream: Input should be a valid boolean")
    _check_messages(messages)
    if messages[-1]["role"] == "assistant":
        if refuses_prefill(model):
            raise InvalidRequest(PREFILL_REFUSAL)
        if text_of(messages[-1]["content"]) != text_of(messages[-1]["content"]).rstrip():
            raise InvalidRequest(TRAILING_WHITESPACE)
    return MockRequest(
        model=model,
        max_tokens=max_tokens,
        stream=stream,
        conversation=read_conversation(system, messages),
        input_tokens=_count_words(system, messages),
        scenario=_scenario(headers, model),
        tool_bytes=_tool_bytes(headers),
        fail_always=headers.get(FAIL_ALWAYS_HEADER, "").lower() in ("1", "true"),
        time_scale=_time_scale(headers),
    )


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    if name not in body:
        raise InvalidRequest(f"{name}: Field required")
    value = body[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidRequest(f"{name}: Input should be a valid {kind.__name__}")
    return value


def _check_messages(messages: list[Any]) -> None:
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if not _is_content(message.get("content")):
            raise InvalidRequest(
                f"messages.{i}.content: Input should be a valid string or list of content blocks"
            )


def _is_content(value: object) -> bool:
    """A string, or a list of blocks that each have a type (and text blocks a text)."""
    if isinstance(value, list):
        return all(_is_block(block) for block in value)
    return isinstance(value, str)


def _is_block(block: object) -> bool:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return False
    return block["type"] != "text" or isinstance(block.get("text"), str)


def _count_words(system: str | list[Any], messages: list[dict[str, Any]]) -> int:
    texts = [text_of(system), *(text_of(m["content"]) for m in messages)]
    return max(1, sum(len(t.split()) for t in texts))


def _scenario(headers: Mapping[str, str], model: str) -> Scenario:
    name = headers.get(SCENARIO_HEADER)
    if name is None:
        name = (
            model.removeprefix(SCENARIO_MODEL_PREFIX)
            if model.startswith(SCENARIO_MODEL_PREFIX)
            else DEFAULT_SCENARIO
        )
    if name not in SCENARIOS:
        raise InvalidRequest(
            f"Unknown streamwatch scenario {name!r}; choose one of: {', '.join(SCENARIOS)}."
        )
    return SCENARIOS[name]


def _tool_bytes(headers: Mapping[str, str]) -> int:
    raw = headers.get(TOOL_BYTES_HEADER)
    if raw is None:
        return DEFAULT_TOOL_BYTES
    low, high = _TOOL_BYTES_RANGE
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequest(f"{TOOL_BYTES_HEADER}: expected a whole number from {low} to {high}.")
    return int(raw)


def _time_scale(headers: Mapping[str, str]) -> float | None:
    raw = headers.get(TIME_SCALE_HEADER)
    if raw is None:
        return None
    try:
        scale = float(raw)
    except ValueError:
        scale = math.nan
    if not 0 <= scale < math.inf:
        raise InvalidRequest(f"{TIME_SCALE_HEADER}: expected a number of 0 or more.")
    return scale
