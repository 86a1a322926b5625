"""How the mock reads a conversation: its base, its digest, and where a resumed answer picks up.

The answer depends only on the *base conversation*: the system prompt and the messages with the
recovery turns removed. Its digest is SHA-256 over canonical JSON (string content counts as one text
block, `cache_control` is ignored), so it is the same in every process and for every model and
scenario.

A request may carry a partial answer, in one of these shapes (streamwatch's resume code produces
exactly these):

* **Prefill**: the last message is `assistant`, its content a string or a list of text blocks.
  Base: every message before it. The partial text (trimmed of trailing whitespace by the client) is
  the start of the answer, and the mock streams the rest of the answer from exactly where it ends,
  so `partial + continuation == full answer`, whitespace included.
* **User turn after the partial**: the last message is `user`, its text contains the word
  "interrupted" (any case), and the message before it is `assistant` holding the partial text.
  Base: every message before those two. The answer continues as for prefill.
* **User turn quoting the tail**: the last message is `user` and its text holds the end of the
  partial answer between the first `<partial>` and the next `</partial>` (for when the partial
  assistant turn is not sent back). Base: every message before it. The answer continues after the
  last occurrence of that tail in the full answer, or starts over if the tail is not found.

A partial answer that is not a prefix of the full answer continues after the longest common prefix.
Continuations carry only what is left of the text, then the complete remaining blocks (a tool call
is always sent whole); a thinking block is not repeated.

Prefill refusal: models named as version 4.6 or later (`claude-sonnet-4-6`, `claude-opus-4-7`,
`claude-opus-5`, `claude-sonnet-5-5`, ...) reject a conversation that ends with an assistant turn;
`mock-*` and other names without a Claude version accept it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

PREFILL_REFUSAL = (
    "This model does not support assistant message prefill. "
    "The conversation must end with a user message."
)

_INTERRUPTED = re.compile(r"\binterrupted\b", re.IGNORECASE)
_TAIL = re.compile(r"<partial>(.*?)</partial>", re.DOTALL)
_VERSION = re.compile(r"claude(?:-[a-z]+)*-(\d{1,2})(?:-(\d{1,2}))?(?!\d)")
_FIRST_VERSION_WITHOUT_PREFILL = (4, 6)


@dataclass(frozen=True)
class Partial:
    """The part of the answer the client already has."""

    text: str
    is_tail: bool
    """True when `text` is only the end of the partial answer (quoted in a user turn)."""

    def resume_offset(self, answer: str) -> int:
        """Where in `answer` the continuation starts."""
        if self.is_tail:
            found = answer.rfind(self.text)
            return found + len(self.text) if found >= 0 else 0
        return len(os.path.commonprefix([self.text, answer]))


@dataclass(frozen=True)
class Conversation:
    digest: bytes
    """SHA-256 of the base conversation: the seed of the answer."""
    partial: Partial | None


def read_conversation(system: str | list[Any], messages: list[dict[str, Any]]) -> Conversation:
    """Split off the recovery turns (see the module docstring) and digest what is left."""
    base, partial = _split(messages)
    canonical = {
        "system": _blocks(system),
        "messages": [{"role": m["role"], "content": _blocks(m["content"])} for m in base],
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Conversation(hashlib.sha256(encoded.encode()).digest(), partial)


def text_of(content: str | list[Any]) -> str:
    """The text of a message's content: the string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content if block.get("type") == "text")


def refuses_prefill(model: str) -> bool:
    """Whether a model with this name rejects a conversation ending with an assistant turn."""
    match = _VERSION.search(model)
    if match is None:
        return False
    version = (int(match[1]), int(match[2] or 0))
    return version >= _FIRST_VERSION_WITHOUT_PREFILL


def _split(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Partial | None]:
    last = messages[-1]
    if last["role"] == "assistant":
        return messages[:-1], Partial(text_of(last["content"]), is_tail=False)
    request = text_of(last["content"])
    before = messages[-2] if len(messages) > 1 else None
    if before is not None and before["role"] == "assistant" and _INTERRUPTED.search(request):
        return messages[:-2], Partial(text_of(before["content"]), is_tail=False)
    tail = _TAIL.search(request)
    if tail is not None and tail[1]:
        return messages[:-1], Partial(tail[1], is_tail=True)
    return messages, None


def _blocks(content: str | list[Any]) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [{k: v for k, v in block.items() if k != "cache_control"} for block in content]
