"""Deterministic answer content: the same conversation digest always yields the same words.

Randomness comes from `random.Random` seeded from SHA-256, using only `random()`, whose sequence
Python guarantees across versions, so answers match across processes and machines.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Sequence
from typing import Any

from streamwatch.mock.schema import schema_value

ANSWER_WORDS = 300
"""The answer text has at least this many words, in paragraphs of whole sentences."""

THINKING_WORDS = 80

WORDS = (
    "the a of and to in is that for on with as it be by this from or at an are was"
    " stream buffer packet signal channel socket thread event token answer request response model"
    " server client proxy header payload message block delta record session cursor index window"
    " timer clock latency silence retry resume error fault trace log file path line column byte"
    " river mountain valley harbor lantern garden meadow forest island bridge tower market"
    " village orchard canyon glacier desert comet planet ocean thunder breeze ember willow"
    " quietly slowly rapidly carefully gently suddenly steadily barely nearly often rarely"
    " always never still again soon later early"
    " bright calm narrow broad heavy light warm cool hidden open steady brittle patient"
    " curious silent distant careful sturdy simple vivid hollow gentle eager ancient modern"
    " reads writes carries holds waits listens answers follows returns opens closes builds"
    " measures counts keeps sends receives splits joins checks marks finds loses recovers"
    " wanders gathers echoes settles drifts turns rests lifts folds bends weaves"
    " because while although unless until before after since when where which whose"
    " every each some many few several most other another same different whole partial"
    " first second third final next last"
).split()


def answer_text(seed: bytes, at_least: int = ANSWER_WORDS) -> str:
    """The full text answer: paragraphs separated by blank lines, no trailing whitespace, of
    `at_least` words or a few more (the same start for any length)."""
    rng = _rng(seed, b"answer")
    paragraphs: list[str] = []
    words = 0
    while words < at_least:
        paragraph = " ".join(_sentence(rng) for _ in range(_between(rng, 2, 5)))
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    return "\n\n".join(paragraphs)


def thinking_text(seed: bytes) -> str:
    rng = _rng(seed, b"thinking")
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < THINKING_WORDS:
        sentences.append(_sentence(rng))
    return " ".join(sentences)


def signature(seed: bytes) -> str:
    """An opaque base64 signature for the thinking block."""
    return base64.b64encode(hashlib.sha512(b"signature" + seed).digest() * 2).decode()


def tool_input(seed: bytes, size: int, most_tokens: int | None = None) -> str:
    """The write_file tool input as JSON text of exactly `size` ASCII characters, or of whole
    sentences up to `most_tokens` tokens (see `streamwatch.mock.tokens`) when that comes first:
    the same start either way.

    `{"path": ..., "content": ...}` with one sentence per line of content. Raises ValueError when
    `size` cannot even hold the path.
    """
    rng = _rng(seed, b"tool")
    path = f"notes/{_pick(rng, WORDS)}-{_pick(rng, WORDS)}.md"
    room = size - len(_write_file_json(path, ""))
    if room < 0:
        raise ValueError(f"a write_file input needs at least {size - room} bytes")
    # The JSON around the content is 3 tokens (a cut sentence's trailing space may add one), and
    # each line's first word joins the last of the line before across the escaped newline.
    tokens_left = math.inf if most_tokens is None else most_tokens - 4
    lines: list[str] = []
    while room > 0:
        sentence = _sentence(rng)
        tokens_left -= len(sentence.split()) - (1 if lines else 0)
        if tokens_left < 0:
            break
        if len(sentence) + 2 <= room:  # the newline is escaped as two characters
            lines.append(sentence + "\n")
            room -= len(sentence) + 2
        else:
            lines.append((sentence + " ")[:room])
            room = 0
    return _write_file_json(path, "".join(lines))


def tool_call_input(seed: bytes, name: str, input_schema: dict[str, Any]) -> str:
    """The JSON input of a call of the caller's tool `name`: an object that fits its schema."""
    value = schema_value(input_schema, _rng(seed, b"tool:" + name.encode()), WORDS)
    return json.dumps(value if isinstance(value, dict) else {}, ensure_ascii=False)


def pick(seed: bytes, count: int) -> int:
    """Which of `count` tools the answer calls when the caller lets the model choose."""
    return int(_rng(seed, b"pick").random() * count)


def _write_file_json(path: str, content: str) -> str:
    return json.dumps({"path": path, "content": content})


def _sentence(rng: random.Random) -> str:
    words = [_pick(rng, WORDS) for _ in range(_between(rng, 6, 16))]
    if len(words) > 9 and rng.random() < 0.5:
        words[len(words) // 2] += ","
    return " ".join(words).capitalize() + "."


def _rng(seed: bytes, purpose: bytes) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(purpose + seed).digest(), "big"))


def _pick(rng: random.Random, choices: Sequence[str]) -> str:
    return choices[int(rng.random() * len(choices))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))
