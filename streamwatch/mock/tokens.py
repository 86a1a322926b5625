"""How the mock counts tokens: one token per whitespace-separated word.

Output: the words of each text block's text, each thinking block's thinking and each tool call's
input JSON as sent. `max_tokens` bounds that sum, and `usage.output_tokens` reports it.

Input (`usage.input_tokens` and `POST /v1/messages/count_tokens`): the words of the system prompt's
text, of each message's text blocks (a string content is one text block), of the JSON of each of its
other blocks (tool calls, tool results, thinking, images, ...), and of the JSON of each declared tool;
at least 1.
"""

from __future__ import annotations

import json
from typing import Any


def count(text: str) -> int:
    """The tokens in a piece of output text."""
    return len(text.split())


def input_tokens(system: str | list[Any], messages: list[dict[str, Any]], tools: list[Any]) -> int:
    total = _content_tokens(system) + sum(_content_tokens(m["content"]) for m in messages)
    total += sum(count(_json(tool)) for tool in tools)
    return max(1, total)


def _content_tokens(content: str | list[Any]) -> int:
    if isinstance(content, str):
        return count(content)
    return sum(count(b["text"] if b["type"] == "text" else _json(b)) for b in content)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
