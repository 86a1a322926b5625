"""The request fields that shape an answer: `tools`, `tool_choice`, `thinking`, `stop_sequences`.

Each reader checks its field as the API does and raises `InvalidRequest` (a 400
invalid_request_error) with a message naming the field; `streamwatch.mock.plan` acts on the result:

    tools           every declared tool may be called; one without an `input_schema` (a server
                    tool) is called with `{}`
    tool_choice     auto (the default with tools): the text, then a call, unless the conversation
                    ends with a tool result (then the text alone); any / tool: only the call (of a
                    tool picked from the conversation, or of the named one); none: no call
    thinking        enabled (`budget_tokens` from 1024 to below max_tokens) and adaptive: a signed
                    thinking block first, of at most the budget; `display: omitted` sends it empty,
                    with only its signature; disabled (and between_tools): none
    stop_sequences  the text stops before the first one it would contain
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

MIN_THINKING_BUDGET = 1024


class InvalidRequest(ValueError):
    """The request is malformed: answered with 400 invalid_request_error and this message."""


class Choice(Enum):
    AUTO = "auto"
    ANY = "any"
    TOOL = "tool"
    NONE = "none"


@dataclass(frozen=True)
class Tool:
    name: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolChoice:
    choice: Choice
    name: str | None = None
    """The tool to call, for `Choice.TOOL`."""

    @property
    def forced(self) -> bool:
        return self.choice in (Choice.ANY, Choice.TOOL)


@dataclass(frozen=True)
class Thinking:
    budget: int | None
    """`budget_tokens`, or None (adaptive)."""
    omitted: bool
    """`display: omitted`: the block carries no thinking text, only the signature."""


def read_tools(raw: Any) -> tuple[Tool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("tools: Input should be a valid list")
    tools = tuple(_tool(i, tool) for i, tool in enumerate(raw))
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise InvalidRequest("tools: Tool names must be unique.")
    return tools


def read_tool_choice(raw: Any, tools: tuple[Tool, ...]) -> ToolChoice:
    if raw is None:
        return ToolChoice(Choice.AUTO)
    kinds = [choice.value for choice in Choice]
    if not isinstance(raw, dict) or raw.get("type") not in kinds:
        raise InvalidRequest(f"tool_choice.type: Input should be {_one_of(kinds)}")
    choice = Choice(raw["type"])
    if choice is Choice.TOOL and not isinstance(raw.get("name"), str):
        raise InvalidRequest("tool_choice.tool.name: Field required")
    if choice in (Choice.ANY, Choice.TOOL) and not tools:
        raise InvalidRequest("tool_choice may only be specified while providing tools.")
    if choice is Choice.TOOL and raw["name"] not in {tool.name for tool in tools}:
        raise InvalidRequest(f"tool_choice.name: Tool '{raw['name']}' not found in provided tools")
    return ToolChoice(choice, raw.get("name") if choice is Choice.TOOL else None)


def read_thinking(raw: Any, max_tokens: int, tool_choice: ToolChoice) -> Thinking | None:
    if raw is None:
        return None
    kinds = ["enabled", "disabled", "adaptive", "between_tools"]
    if not isinstance(raw, dict) or raw.get("type") not in kinds:
        raise InvalidRequest(f"thinking.type: Input should be {_one_of(kinds)}")
    if raw["type"] in ("disabled", "between_tools"):
        return None
    display = raw.get("display")
    if display not in (None, "summarized", "omitted"):
        raise InvalidRequest("thinking.display: Input should be 'summarized' or 'omitted'")
    budget = raw.get("budget_tokens") if raw["type"] == "enabled" else None
    if raw["type"] == "enabled":
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise InvalidRequest("thinking.enabled.budget_tokens: Field required")
        if budget < MIN_THINKING_BUDGET:
            raise InvalidRequest(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
            )
        if budget >= max_tokens:
            raise InvalidRequest("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if tool_choice.forced:
        raise InvalidRequest("Thinking may not be enabled when tool_choice forces tool use.")
    return Thinking(budget, display == "omitted")


def read_stop_sequences(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise InvalidRequest("stop_sequences: Input should be a valid list of strings")
    if not all(s.strip() for s in raw):
        raise InvalidRequest("stop_sequences: each stop sequence must contain non-whitespace")
    return tuple(raw)


def _tool(i: int, raw: Any) -> Tool:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise InvalidRequest(f"tools.{i}.name: Field required")
    if raw.get("type", "custom") != "custom":
        return Tool(raw["name"], {"type": "object"})
    schema = raw.get("input_schema")
    if not isinstance(schema, dict):
        raise InvalidRequest(f"tools.{i}.custom.input_schema: Field required")
    if schema.get("type") != "object":
        raise InvalidRequest(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
    return Tool(raw["name"], schema)


def _one_of(kinds: list[str]) -> str:
    quoted = [f"'{kind}'" for kind in kinds]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"
