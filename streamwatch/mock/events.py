"""Anthropic Messages stream events, messages and error bodies, shaped like the real API's."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle
from typing import Any

from streamwatch.mock.tokens import count

Event = dict[str, Any]

_WORDS_PER_DELTA = (2, 3, 1, 4, 3)
_JSON_CHARS_PER_DELTA = (48, 96, 31, 120, 64)
SMALL_JSON_CHARS_PER_DELTA = (9, 14, 5, 17, 11)
"""For a short tool input: pieces of a key or a value, so even it streams as several deltas."""
_WORD_PIECES = re.compile(r"\s*\S+|\s+")


def sse(event: Event) -> bytes:
    """One event in wire form: `event: <type>\\ndata: <compact json>\\n\\n`."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int

    def as_json(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


@dataclass(frozen=True)
class TextBlock:
    text: str

    def opening(self) -> Event:
        return {"type": "text", "text": ""}

    def deltas(self) -> list[Event]:
        pieces = _WORD_PIECES.findall(self.text)
        return [{"type": "text_delta", "text": c} for c in _chunks(pieces, _WORDS_PER_DELTA)]

    def complete(self) -> Event:
        return {"type": "text", "text": self.text}

    def tokens(self) -> int:
        return count(self.text)

    def first_tokens(self, n: int) -> TextBlock | None:
        """The block cut after its first `n` tokens; None if nothing is left."""
        cut = _first_words(self.text, n)
        return TextBlock(cut) if cut else None


@dataclass(frozen=True)
class ThinkingBlock:
    thinking: str
    """Empty when the thinking is omitted: only the signature is sent."""
    signature: str

    def opening(self) -> Event:
        return {"type": "thinking", "thinking": "", "signature": ""}

    def deltas(self) -> list[Event]:
        pieces = _WORD_PIECES.findall(self.thinking)
        thinking = [
            {"type": "thinking_delta", "thinking": c} for c in _chunks(pieces, _WORDS_PER_DELTA)
        ]
        return [*thinking, {"type": "signature_delta", "signature": self.signature}]

    def complete(self) -> Event:
        return {"type": "thinking", "thinking": self.thinking, "signature": self.signature}

    def tokens(self) -> int:
        return count(self.thinking)

    def first_tokens(self, n: int) -> ThinkingBlock | None:
        """The thinking cut after its first `n` tokens, still signed; None if nothing is left."""
        cut = _first_words(self.thinking, n)
        return ThinkingBlock(cut, self.signature) if cut else None


@dataclass(frozen=True)
class ToolUseBlock:
    id: str
    name: str
    input_json: str
    piece_sizes: Sequence[int] = _JSON_CHARS_PER_DELTA
    """Characters of the input JSON per `input_json_delta`, cycling."""

    def opening(self) -> Event:
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": {}}

    def deltas(self) -> list[Event]:
        chunks = ["", *_chunks(self.input_json, self.piece_sizes)]
        return [{"type": "input_json_delta", "partial_json": c} for c in chunks]

    def complete(self) -> Event:
        return {
            "type": "tool_use",
            "id": self.id,
            "name": self.name,
            "input": json.loads(self.input_json),
        }

    def tokens(self) -> int:
        return count(self.input_json)

    def first_tokens(self, n: int) -> None:
        """A tool call is sent whole or not at all."""
        return None


Block = TextBlock | ThinkingBlock | ToolUseBlock


def message_start(message_id: str, model: str, input_tokens: int) -> Event:
    message = _message(message_id, model, [], None, Usage(input_tokens, 1))
    return {"type": "message_start", "message": message}


def ping() -> Event:
    return {"type": "ping"}


def block_events(index: int, block: Block) -> list[Event]:
    """content_block_start, its deltas, content_block_stop."""
    start = {"type": "content_block_start", "index": index, "content_block": block.opening()}
    deltas = [{"type": "content_block_delta", "index": index, "delta": d} for d in block.deltas()]
    return [start, *deltas, {"type": "content_block_stop", "index": index}]


def message_delta(stop_reason: str, stop_sequence: str | None, usage: Usage) -> Event:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": usage.as_json(),
    }


def message_stop() -> Event:
    return {"type": "message_stop"}


def message(
    message_id: str,
    model: str,
    blocks: Sequence[Block],
    stop: tuple[str, str | None],
    usage: Usage,
) -> Event:
    """The complete Message, as a non-streaming response returns it; `stop` is the stop reason and
    the stop sequence."""
    content = [b.complete() for b in blocks]
    return _message(message_id, model, content, stop[0], usage, stop_sequence=stop[1])


def error_body(error_type: str, text: str, request_id: str) -> Event:
    """An error, as an HTTP error body and as the data of `event: error`."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": text},
        "request_id": request_id,
    }


def _message(
    message_id: str,
    model: str,
    content: list[Event],
    stop_reason: str | None,
    usage: Usage,
    stop_sequence: str | None = None,
) -> Event:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage.as_json(),
    }


def _first_words(text: str, n: int) -> str:
    """`text` up to the end of its `n`-th word (all of it if it has fewer)."""
    words = list(re.finditer(r"\S+", text))
    if n <= 0 or not words:
        return ""
    return text[: words[min(n, len(words)) - 1].end()]


def _chunks(pieces: Sequence[str], sizes: Sequence[int]) -> list[str]:
    """Join consecutive `pieces` into chunks of `sizes[0]`, `sizes[1]`, ... pieces, cycling."""
    chunks: list[str] = []
    start = 0
    size = cycle(sizes)
    while start < len(pieces):
        end = start + next(size)
        chunks.append("".join(pieces[start:end]))
        start = end
    return chunks
