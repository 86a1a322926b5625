"""Typed Anthropic Messages stream events.

Every SSE event becomes an `Event`: its JSON parsed once, its kind classified against the event,
block and delta types the Messages API is known to stream. Unknown types are kept with `known=False`
(the API adds new ones over time); a body that is not JSON, or JSON nested more than MAX_DEPTH deep,
is kept with `parse_error` set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from streamwatch.core.sse import SSEEvent


class EventType(StrEnum):
    MESSAGE_START = "message_start"
    CONTENT_BLOCK_START = "content_block_start"
    CONTENT_BLOCK_DELTA = "content_block_delta"
    CONTENT_BLOCK_STOP = "content_block_stop"
    MESSAGE_DELTA = "message_delta"
    MESSAGE_STOP = "message_stop"
    PING = "ping"
    ERROR = "error"


class BlockType(StrEnum):
    TEXT = "text"
    THINKING = "thinking"
    REDACTED_THINKING = "redacted_thinking"
    TOOL_USE = "tool_use"
    SERVER_TOOL_USE = "server_tool_use"
    MCP_TOOL_USE = "mcp_tool_use"
    WEB_SEARCH_TOOL_RESULT = "web_search_tool_result"
    WEB_FETCH_TOOL_RESULT = "web_fetch_tool_result"
    CODE_EXECUTION_TOOL_RESULT = "code_execution_tool_result"
    BASH_CODE_EXECUTION_TOOL_RESULT = "bash_code_execution_tool_result"
    TEXT_EDITOR_CODE_EXECUTION_TOOL_RESULT = "text_editor_code_execution_tool_result"
    TOOL_SEARCH_TOOL_RESULT = "tool_search_tool_result"
    CONTAINER_UPLOAD = "container_upload"
    MCP_TOOL_RESULT = "mcp_tool_result"
    MCP_TOOL_LISTING = "mcp_tool_listing"
    COMPACTION = "compaction"
    FALLBACK = "fallback"
    ADVISOR_TOOL_RESULT = "advisor_tool_result"


class DeltaType(StrEnum):
    TEXT = "text_delta"
    INPUT_JSON = "input_json_delta"
    THINKING = "thinking_delta"
    SIGNATURE = "signature_delta"
    CITATIONS = "citations_delta"
    COMPACTION = "compaction_delta"


_PING, _BLOCK_START, _BLOCK_DELTA = EventType.PING, EventType.CONTENT_BLOCK_START, EventType.CONTENT_BLOCK_DELTA
_TEXT, _INPUT_JSON, _THINKING, _SIGNATURE = DeltaType.TEXT, DeltaType.INPUT_JSON, DeltaType.THINKING, DeltaType.SIGNATURE
"""What every event is compared with, looked up once: on Python 3.11 each `EventType.X` goes through
the enum metaclass's `__getattr__` hook, and a dozen of them an event cost as much as its JSON."""
_PAYLOAD_KEYS: dict[str | None, str] = {_TEXT: "text", _INPUT_JSON: "partial_json", _THINKING: "thinking", _SIGNATURE: "signature"}
"""The field of each kind of delta that holds the text it adds."""
TOOL_BLOCK_TYPES = frozenset({BlockType.TOOL_USE, BlockType.SERVER_TOOL_USE, BlockType.MCP_TOOL_USE})
_EVENT_TYPES = frozenset(EventType)
_BLOCK_TYPES = frozenset(BlockType)
_DELTA_TYPES = frozenset(DeltaType)


@dataclass(slots=True)
class Event:
    """One complete SSE event of a Messages stream, numbered from 1 in arrival order.

    Its parsed JSON is dropped once the state has taken it in (`release()`) and parsed again from
    the wire text the first time a view asks; the state keeps its events in an `EventLog`, as columns."""

    seq: int
    type: str
    t: float | None
    sse: SSEEvent
    parsed: dict[str, Any] | None = None
    parse_error: str | None = None
    index: int | None = None
    block_type: str | None = None
    delta_type: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self.parsed is None and not self.parse_error:
            data = _load_json(self.sse.data)
            self.parsed = data if isinstance(data, dict) else {}
        return self.parsed or {}

    def release(self) -> None:
        self.parsed = None

    @property
    def known(self) -> bool:
        if self.type not in _EVENT_TYPES:
            return False
        if self.block_type is not None and self.block_type not in _BLOCK_TYPES:
            return False
        return self.delta_type is None or self.delta_type in _DELTA_TYPES

    @property
    def is_content(self) -> bool:
        """Everything but a ping carries the response forward; pings only prove the line is alive."""
        return self.type != _PING

    @property
    def delta(self) -> dict[str, Any]:
        value = self.data.get("delta")
        return value if isinstance(value, dict) else {}

    @property
    def block(self) -> dict[str, Any]:
        value = self.data.get("content_block")
        return value if isinstance(value, dict) else {}

    @property
    def error(self) -> dict[str, Any]:
        value = self.data.get("error")
        return value if isinstance(value, dict) else {}


NOT_JSON = "data is not JSON: "
MAX_DEPTH = 200
"""How deeply JSON read from outside (a stream event, a line of a session file) may nest: far past
anything real, and shallow enough for whatever walks it (JSON dumps, the screens) to keep clear of
Python's recursion limit."""


def nested_deeper_than(text: str, value: Any, depth: int = MAX_DEPTH) -> bool:
    """Whether `value`, read from the JSON `text`, nests more than `depth` lists and objects deep."""
    if text.count("[") + text.count("{") <= depth:
        return False
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(depth):
        level = [
            child for item in level for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return True


class _TooDeep(ValueError):
    pass


def _load_json(text: str) -> Any:
    """JSON text as Python values; _TooDeep when it nests more than MAX_DEPTH deep."""
    value = json.loads(text)
    if nested_deeper_than(text, value):
        raise _TooDeep(f"data is JSON nested more than {MAX_DEPTH} deep")
    return value


def parse_event(sse: SSEEvent, seq: int) -> Event:
    try:
        data = _load_json(sse.data)
        error = None if isinstance(data, dict) else "data is not a JSON object"
    except _TooDeep as exc:
        data, error = None, str(exc)
    except ValueError as exc:
        data, error = None, f"{NOT_JSON}{exc}"
    except RecursionError:
        data, error = None, "data is JSON nested too deeply to read"
    if not isinstance(data, dict):
        return Event(seq=seq, type=sse.event or "message", t=sse.t, sse=sse, parse_error=error)
    kind = data.get("type")
    if not isinstance(kind, str):
        kind = sse.event or "message"
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        index = None
    block_type = delta_type = None
    if kind == _BLOCK_DELTA:
        delta_type = _type_of(data.get("delta"))
    elif kind == _BLOCK_START:
        block_type = _type_of(data.get("content_block"))
    return Event(seq, kind, sse.t, sse, data, None, index, block_type, delta_type)


def _type_of(value: Any) -> str:
    """The `type` of a delta or a content block, `?` when it has none (or is not an object)."""
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else "?"


def not_json(event: Event) -> str | None:
    """Why the event's data is not JSON at all, in json.JSONDecodeError's words; None if it is."""
    error = event.parse_error
    return error.removeprefix(NOT_JSON) if error is not None and error.startswith(NOT_JSON) else None


def delta_payload(event: Event) -> str:
    """The text a content_block_delta adds to its block (empty for non-text deltas)."""
    key = _PAYLOAD_KEYS.get(event.delta_type)
    value = None if key is None else event.delta.get(key)
    return value if isinstance(value, str) else ""


SHORT_TYPE: dict[str, str] = {
    EventType.MESSAGE_START: "msg_start",
    EventType.CONTENT_BLOCK_START: "block_start",
    EventType.CONTENT_BLOCK_DELTA: "delta",
    EventType.CONTENT_BLOCK_STOP: "block_stop",
    EventType.MESSAGE_DELTA: "msg_delta",
    EventType.MESSAGE_STOP: "msg_stop",
}
"""Compact names for narrow timelines; the wire name is always one key away (the raw view)."""

SHORT_DELTA: dict[str, str] = {
    DeltaType.TEXT: "text",
    DeltaType.THINKING: "thinking",
    DeltaType.CITATIONS: "citation",
    DeltaType.INPUT_JSON: "json",
    DeltaType.SIGNATURE: "signature",
}


def short_type(kind: str) -> str:
    """The name a timeline shows for an event type (its own name when it has no shorter one)."""
    return SHORT_TYPE.get(kind, kind)


def shown_label(kind: str, block_type: str | None, delta_type: str | None) -> str:
    """The word a timeline row's summary starts with: a delta's kind (`text`, `json`...), a block's type."""
    if kind == EventType.CONTENT_BLOCK_DELTA:
        return SHORT_DELTA.get(delta_type or "", delta_type or "")
    if kind == EventType.CONTENT_BLOCK_START:
        return block_type or ""
    return ""


def count_text(n: int, noun: str) -> str:
    """`1 event`, `2 events`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def utf8_size(text: str) -> int:
    """The bytes the text takes as UTF-8; a lone surrogate (which a JSON escape such as \\udc9b can
    put in any string from the wire) counted as the three bytes it would take, not raised on."""
    return len(text.encode("utf-8", "surrogatepass"))


def delta_size(event: Event) -> str:
    """What a delta added, the end of its `summarize` line: `+96 B` of tool JSON, `+12 chars` of text,
    `412 chars` of signature; empty for any other event."""
    if event.type != EventType.CONTENT_BLOCK_DELTA or event.parse_error or event.delta_type == DeltaType.CITATIONS:
        return ""
    payload = delta_payload(event)
    if event.delta_type == DeltaType.INPUT_JSON:
        return f"+{size_text(utf8_size(payload))}"
    return f"{len(payload)} chars" if event.delta_type == DeltaType.SIGNATURE else f"+{len(payload)} chars"


def summarize(event: Event) -> str:
    """A short, one-line description of an event for timelines and reports."""
    if event.parse_error:
        return event.parse_error
    data = event.data
    match event.type:
        case EventType.MESSAGE_START:
            message = data.get("message") if isinstance(data.get("message"), dict) else {}
            usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
            return f"{message.get('model', '?')} {message.get('id', '')} in={usage.get('input_tokens', '?')}"
        case EventType.CONTENT_BLOCK_START:
            name = event.block.get("name")
            return f"{event.block_type}" + (f" {name}" if isinstance(name, str) else "")
        case EventType.CONTENT_BLOCK_DELTA:
            if event.delta_type == DeltaType.CITATIONS:
                citation = event.delta.get("citation")
                cited = citation.get("cited_text", "") if isinstance(citation, dict) else ""
                return f"{shown_label(event.type, None, event.delta_type)} of {len(str(cited))} chars"
            return f"{shown_label(event.type, None, event.delta_type)} {delta_size(event)}"
        case EventType.MESSAGE_DELTA:
            stop = event.delta.get("stop_reason")
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            return f"stop_reason={stop} out={usage.get('output_tokens', '?')}"
        case EventType.ERROR:
            error = event.error
            return f"{error.get('type', '?')}: {error.get('message', '')}"
        case EventType.CONTENT_BLOCK_STOP | EventType.MESSAGE_STOP | EventType.PING:
            return ""
    return f"unknown event type {event.type!r}"
