"""Builders of Messages API stream bytes, shaped exactly as the API puts them on the wire."""

from __future__ import annotations

import json
from typing import Any


def event(data: dict[str, Any], name: str | None = None) -> bytes:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name or data['type']}\ndata: {body}\n\n".encode()


def message_start(model: str = "claude-sonnet-4-6", input_tokens: int = 25) -> bytes:
    return event(
        {
            "type": "message_start",
            "message": {
                "id": "msg_01XYZ",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
    )


def ping() -> bytes:
    return event({"type": "ping"})


def block_start(index: int, block: dict[str, Any]) -> bytes:
    return event({"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, payload: dict[str, Any]) -> bytes:
    return event({"type": "content_block_delta", "index": index, "delta": payload})


def block_stop(index: int) -> bytes:
    return event({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str | None, output_tokens: int = 10) -> bytes:
    return event(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )


def message_stop() -> bytes:
    return event({"type": "message_stop"})


def error(kind: str = "overloaded_error", message: str = "Overloaded") -> bytes:
    return event({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CZ"})


def text_block(index: int, text: str, piece: int = 5) -> list[bytes]:
    out = [block_start(index, {"type": "text", "text": ""})]
    out += [delta(index, {"type": "text_delta", "text": text[i : i + piece]}) for i in range(0, len(text), piece)]
    return out + [block_stop(index)]


def tool_block(index: int, name: str, tool_input: Any, piece: int = 20, stop: bool = True) -> list[bytes]:
    text = json.dumps(tool_input)
    out = [block_start(index, {"type": "tool_use", "id": "toolu_01T1x1", "name": name, "input": {}})]
    out.append(delta(index, {"type": "input_json_delta", "partial_json": ""}))
    out += [
        delta(index, {"type": "input_json_delta", "partial_json": text[i : i + piece]})
        for i in range(0, len(text), piece)
    ]
    return out + ([block_stop(index)] if stop else [])


def complete_text(text: str = "Hello, world. This is a complete answer.") -> list[bytes]:
    return [message_start(), ping(), *text_block(0, text), message_delta("end_turn", 12), message_stop()]
