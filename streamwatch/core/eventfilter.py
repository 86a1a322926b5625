"""Which events a timeline filter keeps: the filter's text read once, then matched against what each row shows.

A filter is terms separated by spaces, all of which an event must match (AND):

- a word: part of what the row shows, any case: the type the timeline shows (`msg_start`,
  `block_start`, `delta`, `ping`, ...) or its summary (a delta's `text`, `json`, `thinking`; a block's
  type and tool name; the model; an error's type and message: `overloaded` keeps an
  `overloaded_error` row). `block` keeps the block starts and stops, not the deltas shown as `delta`.
- `type:NAME`: the type shown, or as it is on the wire, exactly (`type:delta`, `type:content_block_delta`).
- `index:N`: the events of content block N.
- `gap>2s`, `gap<500ms`, `gap>=1.5` (seconds when no unit): the time since the event before it.
- `error`: the `error` event, or the event the stream's error arrived in.
- `stall`: an event that ended a stall (a silence longer than the threshold).
- `anomaly`: an event an anomaly points at (what `n`/`N` visit).

`parse_filter` reads the text, raising `FilterError` with one line naming the bad term;
`EventFilter.rows` gives the events that match, of a range of them (a view scans a long stream a
piece per frame). It reads only the event log's columns and the state's marks: a word is decided by
the kind of event wherever its summary is the same for every event of that kind but for a size
(a delta's `text +40 chars`), so an event is built only for the few whose summary says more (the
model, a tool's name, an error) or whose size the word could be part of.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from streamwatch.core.diagnose import StreamState
from streamwatch.core.events import DeltaType, EventType, short_type, shown_label, summarize
from streamwatch.core.safe import one_line

FLAGS = ("error", "stall", "anomaly")
"""The terms that match a mark of the row rather than its words."""

_GAP = re.compile(r"gap(>=|<=|>|<)(\d+(?:\.\d+)?|\.\d+)(ms|s)?", re.IGNORECASE)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}
_FIELDS = "index:N, type:NAME, gap>2s, gap<500ms, error, stall, anomaly"


class FilterError(ValueError):
    """A filter term that cannot be read (the message is one line, for the user)."""


@dataclass(frozen=True)
class _Marks:
    """The events the state's marks point at, by event number, gathered once per pass over the rows."""

    stalls: frozenset[int]
    anomalies: frozenset[int]


Test = Callable[[StreamState, int, _Marks], bool]


@dataclass(frozen=True)
class EventFilter:
    text: str
    tests: tuple[Test, ...]
    marks: bool
    """Whether a term reads the state's marks (error, stall, anomaly), which a later event can add to
    an earlier row: the rows are then worth matching again when the anomalies change."""

    @property
    def empty(self) -> bool:
        return not self.tests

    def rows(self, state: StreamState, start: int = 0, end: int | None = None) -> list[int]:
        """The positions (from 0) of the state's events from `start` on (to `end`) that match every term."""
        tests, end = self.tests, len(state.events) if end is None else end
        if not tests:
            return list(range(start, end))
        anomalies = state.anomalies
        marks = _Marks(
            frozenset(a.at_event for a in anomalies if a.code == "stall" and a.at_event is not None),
            frozenset(a.at_event for a in anomalies if a.at_event is not None),
        )
        return [position for position in range(start, end) if all(test(state, position, marks) for test in tests)]


NO_FILTER = EventFilter("", (), False)


def parse_filter(text: str) -> EventFilter:
    """The filter `text` says; FilterError naming the first term it cannot read."""
    tests = tuple(_term(term) for term in text.split())
    return EventFilter(" ".join(text.split()), tests, any(term.lower() in FLAGS for term in text.split()))


def _term(term: str) -> Test:
    lowered = term.lower()
    if lowered == "error":
        return _is_error
    if lowered == "stall":
        return _is_stall
    if lowered == "anomaly":
        return _is_anomaly
    if lowered.startswith("gap"):
        return _gap(term)
    field, colon, value = lowered.partition(":")
    if not colon:
        return _word(lowered)
    if field == "index":
        try:
            number = int(value)
        except ValueError:
            raise FilterError(f"index: wants a block number, as in index:1 (not {term!r})") from None
        return lambda state, position, marks: state.events.index_at(position) == number
    if field == "type":
        if not value:
            raise FilterError("type: wants a type, as in type:delta or type:ping")
        return lambda state, position, marks: value in _type_names(state, position)
    raise FilterError(f"unknown filter term {term!r}: use words, or {_FIELDS}")


_SIZE_CHARS = frozenset("+0123456789. charskbm")
"""What a delta's size (`+40 chars`, `+1.5 KB`) is made of, any case."""
_EMPTY_SUMMARY = frozenset({EventType.CONTENT_BLOCK_STOP, EventType.MESSAGE_STOP, EventType.PING})


def _word(word: str) -> Test:
    decided: dict[tuple[str, str | None, str | None], bool | None] = {}

    def test(state: StreamState, position: int, marks: _Marks) -> bool:
        events = state.events
        kind = events.kind(position)
        verdict = decided.get(kind, _UNDECIDED)
        if verdict is _UNDECIDED:
            verdict = decided[kind] = _by_kind(word, *kind)
        if verdict is not None and not events.damaged(position):
            return verdict
        return word in short_type(kind[0]).lower() or word in one_line(summarize(events[position])).lower()

    return test


_UNDECIDED = object()


def _by_kind(word: str, kind: str, block_type: str | None, delta_type: str | None) -> bool | None:
    """Whether every event of a kind matches a word (None: it depends on the event): by its type, or
    by a summary that is its label and its size (a delta's), or nothing at all."""
    if word in short_type(kind).lower():
        return True
    if kind in _EMPTY_SUMMARY:
        return False
    if kind == EventType.CONTENT_BLOCK_DELTA and delta_type != DeltaType.CITATIONS:
        if word in one_line(shown_label(kind, block_type, delta_type)).lower():
            return True
        return None if set(word) <= _SIZE_CHARS else False
    return None


def _type_names(state: StreamState, position: int) -> tuple[str, str]:
    kind = state.events.kind(position)[0]
    return short_type(kind).lower(), kind.lower()


def _gap(term: str) -> Test:
    match = _GAP.fullmatch(term)
    if match is None:
        raise FilterError(f"{term!r}: a gap term is gap> or gap< and a time, as in gap>2s or gap>500ms")
    compare, number, unit = _COMPARE[match[1]], float(match[2]), (match[3] or "s").lower()
    limit = number / 1000 if unit == "ms" else number

    def test(state: StreamState, position: int, marks: _Marks) -> bool:
        events = state.events
        t = events.time(position)
        previous = events.time(position - 1) if position else 0.0
        return t is not None and previous is not None and compare(t - previous, limit)

    return test


def _is_error(state: StreamState, position: int, marks: _Marks) -> bool:
    return state.events.kind(position)[0] == EventType.ERROR or state.error_at == position + 1


def _is_stall(state: StreamState, position: int, marks: _Marks) -> bool:
    return position + 1 in marks.stalls


def _is_anomaly(state: StreamState, position: int, marks: _Marks) -> bool:
    return position + 1 in marks.anomalies
