"""Reading and validating a `POST /v1/messages` request, like the real API does for bad ones.

Control headers the mock reads (all optional), each checked by `read_controls`:

    x-streamwatch-scenario     a scenario name (see `streamwatch.mock.scenarios`)
    x-streamwatch-tool-bytes   size of the write_file input JSON in tool scenarios: 100 to
                               50000000 (default 40000; less when max_tokens leaves less room)
    x-streamwatch-fail-always  1 or true: the fault fires on every request, not just the first
                               (0 or false: the default)
    x-streamwatch-time-scale   overrides the server's time scale for this request: 0 to 1000

A value that breaks its header's rule, a header given twice, or an `x-streamwatch-` header the mock
does not read (a typo would otherwise play the wrong scenario silently) is a 400 whose message names
the header and the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from streamwatch.mock.conversation import (
    PREFILL_REFUSAL,
    Conversation,
    read_conversation,
    refuses_prefill,
    text_of,
)
from streamwatch.mock.options import (
    InvalidRequest,
    Thinking,
    Tool,
    ToolChoice,
    read_stop_sequences,
    read_thinking,
    read_tool_choice,
    read_tools,
)
from streamwatch.mock.scenarios import DEFAULT_SCENARIO, SCENARIOS, Scenario
from streamwatch.mock.tokens import input_tokens
from streamwatch.protocol import (
    CONTROL_HEADER_PREFIX,
    FAIL_ALWAYS_HEADER,
    MAX_TIME_SCALE,
    SCENARIO_HEADER,
    SCENARIO_MODEL_PREFIX,
    TIME_SCALE_HEADER,
    TOOL_BYTES_HEADER,
)

DEFAULT_TOOL_BYTES = 40_000
MAX_OUTPUT_TOKENS = 128_000
"""The most output any model allows (the API refuses more with a 400): the mock's max_tokens
scenario writes that many words before it answers, so a larger value would hold the server."""
MIN_TOOL_BYTES = 100
"""The smallest write_file input JSON the mock writes."""
_TOOL_BYTES_RANGE = (MIN_TOOL_BYTES, 50_000_000)
_WHOLE = re.compile(r"[0-9]{1,9}")
_DECIMAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_SWITCH = {"1": True, "true": True, "0": False, "false": False}
_SHOWN = 40
_ROLES = ("user", "assistant")


TRAILING_WHITESPACE = "messages: final assistant content cannot end with trailing whitespace"


@dataclass(frozen=True)
class Controls:
    """What the control headers ask for; None: the header was not sent."""

    scenario: Scenario | None = None
    tool_bytes: int = DEFAULT_TOOL_BYTES
    fail_always: bool = False
    time_scale: float | None = None


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
    tools: tuple[Tool, ...]
    tool_choice: ToolChoice
    thinking: Thinking | None
    stop_sequences: tuple[str, ...]
    after_tool_result: bool
    """The last message carries a tool result: an `auto` answer is text alone."""


def parse_request(raw: bytes, headers: Iterable[tuple[str, str]]) -> MockRequest:
    """Validate the body and the control headers (every name, value pair, repeats included); raise
    InvalidRequest on anything wrong."""
    body = _json_object(raw)
    model, system, messages = _conversation_fields(body)
    max_tokens = _field(body, "max_tokens", int)
    stream = body.get("stream", False)
    if max_tokens < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    if max_tokens > MAX_OUTPUT_TOKENS:
        raise InvalidRequest(
            f"max_tokens: {max_tokens} > {MAX_OUTPUT_TOKENS}, which is the maximum allowed number of output tokens "
            f"for {model}"
        )
    if not isinstance(stream, bool):
        raise InvalidRequest("stream: Input should be a valid boolean")
    if messages[-1]["role"] == "assistant":
        if refuses_prefill(model):
            raise InvalidRequest(PREFILL_REFUSAL)
        if text_of(messages[-1]["content"]) != text_of(messages[-1]["content"]).rstrip():
            raise InvalidRequest(TRAILING_WHITESPACE)
    tools = read_tools(body.get("tools"))
    tool_choice = read_tool_choice(body.get("tool_choice"), tools)
    thinking = read_thinking(body.get("thinking"), max_tokens, tool_choice)
    stop_sequences = read_stop_sequences(body.get("stop_sequences"))
    controls = read_controls(headers)
    return MockRequest(
        model=model,
        max_tokens=max_tokens,
        stream=stream,
        conversation=read_conversation(system, messages),
        input_tokens=input_tokens(system, messages, list(body.get("tools") or [])),
        scenario=controls.scenario or _model_scenario(model),
        tool_bytes=controls.tool_bytes,
        fail_always=controls.fail_always,
        time_scale=controls.time_scale,
        tools=tools,
        tool_choice=tool_choice,
        thinking=thinking,
        stop_sequences=stop_sequences,
        after_tool_result=_has_tool_result(messages[-1]),
    )


def count_request_tokens(raw: bytes) -> int:
    """The input tokens of a `POST /v1/messages/count_tokens` body (see `streamwatch.mock.tokens`),
    checked as the API checks it; raise InvalidRequest on anything wrong."""
    body = _json_object(raw)
    _, system, messages = _conversation_fields(body)
    read_tool_choice(body.get("tool_choice"), read_tools(body.get("tools")))
    return input_tokens(system, messages, list(body.get("tools") or []))


def read_controls(headers: Iterable[tuple[str, str]]) -> Controls:
    """The control headers checked against their rules: the one place the mock reads them."""
    values: dict[str, Any] = {}
    for name, raw in headers:
        name = name.lower()
        if not name.startswith(CONTROL_HEADER_PREFIX):
            continue
        if name not in _CONTROLS:
            raise InvalidRequest(
                f"{name}: not a header the mock reads; it reads {', '.join(_CONTROLS)}."
            )
        control = _CONTROLS[name]
        if control.field in values:
            raise InvalidRequest(f"{name}: expected once, sent more than once.")
        value = control.parse(raw)
        if value is None:
            raise InvalidRequest(f"{name}: expected {control.rule}; got {_shown(raw)}.")
        values[control.field] = value
    return Controls(**values)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def _conversation_fields(body: dict[str, Any]) -> tuple[str, str | list[Any], list[dict[str, Any]]]:
    """The model, system prompt and messages, checked."""
    model = _field(body, "model", str)
    messages = _field(body, "messages", list)
    system = body.get("system", "")
    if not _is_content(system):
        raise InvalidRequest("system: Input should be a valid string or list of text blocks")
    _check_messages(messages)
    return model, system, messages


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


def _has_tool_result(message: dict[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and any(block["type"] == "tool_result" for block in content)


def _model_scenario(model: str) -> Scenario:
    if not model.startswith(SCENARIO_MODEL_PREFIX):
        return SCENARIOS[DEFAULT_SCENARIO]
    name = model.removeprefix(SCENARIO_MODEL_PREFIX)
    if name not in SCENARIOS:
        raise InvalidRequest(
            f"Unknown streamwatch scenario {name!r}; choose one of: {', '.join(SCENARIOS)}."
        )
    return SCENARIOS[name]


def _tool_bytes(raw: str) -> int | None:
    low, high = _TOOL_BYTES_RANGE
    size = int(raw) if _WHOLE.fullmatch(raw) else 0
    return size if low <= size <= high else None


def _time_scale(raw: str) -> float | None:
    scale = float(raw) if _DECIMAL.fullmatch(raw) else -1.0
    return scale if 0 <= scale <= MAX_TIME_SCALE else None


def _shown(raw: str) -> str:
    """The value as sent, quoted with any control character escaped, and cut if long."""
    return repr(raw) if len(raw) <= _SHOWN else f"{raw[:_SHOWN]!r}... ({len(raw)} characters)"


@dataclass(frozen=True)
class _Control:
    field: str
    """The `Controls` field the header sets."""
    rule: str
    parse: Callable[[str], Any]
    """The value, or None when the text breaks the rule."""


_CONTROLS = {
    SCENARIO_HEADER: _Control("scenario", f"one of {', '.join(SCENARIOS)}", SCENARIOS.get),
    TOOL_BYTES_HEADER: _Control(
        "tool_bytes",
        f"a whole number from {_TOOL_BYTES_RANGE[0]} to {_TOOL_BYTES_RANGE[1]}",
        _tool_bytes,
    ),
    FAIL_ALWAYS_HEADER: _Control(
        "fail_always", "1, true, 0 or false", lambda raw: _SWITCH.get(raw.lower())
    ),
    TIME_SCALE_HEADER: _Control(
        "time_scale", f"a number from 0 to {MAX_TIME_SCALE:g}", _time_scale
    ),
}
