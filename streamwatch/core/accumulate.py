"""Per-block accumulation of a Messages stream: text, thinking, signature, tool input JSON.

Text is kept as its pieces (`Pieces`: joined on demand, never re-concatenated per delta); tool input
is tracked by `JsonPrefix` as it grows and parsed once, when its block stops.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field
from typing import Any

from streamwatch.core.columns import Columns
from streamwatch.core.events import BlockType, DeltaType, Event, delta_payload
from streamwatch.core.jsonprefix import JsonPrefix

_TEXT, _INPUT_JSON, _THINKING, _SIGNATURE, _CITATIONS = (
    DeltaType.TEXT, DeltaType.INPUT_JSON, DeltaType.THINKING, DeltaType.SIGNATURE, DeltaType.CITATIONS
)
"""Looked up once (see the note on these in core/events.py)."""


class Pieces(Columns[str]):
    """A block's text as it streamed, read as the list of its pieces (one a delta). Kept as its text,
    joined `RUN` pieces at a time, and where each piece ends: a string per delta took ~50 bytes beside
    its text, 12 MB for an answer of 250 000 deltas."""

    RUN = 256

    def __init__(self) -> None:
        self._runs: list[str] = []
        self._open: list[str] = []
        self._ends = array("Q")

    def append(self, piece: str) -> None:
        self._open.append(piece)
        self._ends.append((self._ends[-1] if self._ends else 0) + len(piece))
        if len(self._open) == self.RUN:
            self._runs.append("".join(self._open))
            self._open = []

    def __len__(self) -> int:
        return len(self._ends)

    def _item(self, index: int) -> str:
        run, at = divmod(index, self.RUN)
        if run == len(self._runs):
            return self._open[at]
        base = self._ends[run * self.RUN - 1] if run else 0
        start = (self._ends[index - 1] if index else 0) - base
        return self._runs[run][start : self._ends[index] - base]

    def text(self) -> str:
        return "".join(self._runs) + "".join(self._open)


@dataclass(slots=True)
class Block:
    index: int
    type: str
    start: dict[str, Any]
    started_at: int
    stopped_at: int | None = None
    pieces: Pieces = field(default_factory=Pieces)
    thinking: Pieces = field(default_factory=Pieces)
    signature: str = ""
    citations: list[Any] = field(default_factory=list)
    json: JsonPrefix | None = None
    json_pieces: list[str] = field(default_factory=list)
    input: Any = None
    input_error: str | None = None
    chars: int = 0

    @property
    def complete(self) -> bool:
        return self.stopped_at is not None

    @property
    def name(self) -> str | None:
        name = self.start.get("name")
        return name if isinstance(name, str) else None

    @property
    def text(self) -> str:
        return self.pieces.text()

    @property
    def thinking_text(self) -> str:
        return self.thinking.text()

    @property
    def json_text(self) -> str:
        return "".join(self.json_pieces)

    @property
    def json_valid(self) -> bool | None:
        """None when no input_json_delta came; else whether the input parses (or still can, if open)."""
        if self.json is None:
            return None
        if self.complete:
            return self.input_error is None
        return self.json.complete

    def add(self, event: Event) -> None:
        payload = delta_payload(event)
        kind = event.delta_type
        if kind == _INPUT_JSON:
            if self.json is None:
                self.json = JsonPrefix()
            self.json.feed(payload)
            self.json_pieces.append(payload)
        elif kind == _TEXT:
            self.pieces.append(payload)
        elif kind == _THINKING:
            self.thinking.append(payload)
        elif kind == _SIGNATURE:
            self.signature += payload
            return
        elif kind == _CITATIONS:
            self.citations.append(event.delta.get("citation"))
        self.chars += len(payload)

    def stop(self, seq: int) -> None:
        self.stopped_at = seq
        if self.json is None:
            self.input = self.start.get("input")
            return
        text = self.json_text
        if not text.strip():
            self.input = {}
            return
        try:
            self.input = json.loads(text)
        except ValueError as exc:
            self.input_error = str(exc)
        except RecursionError:
            self.input_error = "nested too deeply to read"


def new_block(event: Event) -> Block:
    return block_from_content(event.index or 0, event.block, event.seq)


def block_from_content(index: int, content: dict[str, Any], started_at: int = 0) -> Block:
    """A block as its content_block_start gives it (text or thinking it starts with included); a whole
    block of a non-streaming Message is one that starts with all of it (`started_at` 0: no event)."""
    kind = content.get("type")
    block = Block(index=index, type=kind if isinstance(kind, str) else "?", start=content, started_at=started_at)
    if block.type in (BlockType.TEXT, BlockType.THINKING):
        initial = block.start.get(block.type)
        if isinstance(initial, str) and initial:
            (block.pieces if block.type == BlockType.TEXT else block.thinking).append(initial)
            block.chars += len(initial)
    return block
