"""The events of one stream, in arrival order, stored as columns.

A Messages stream can run to 100 000 events. Kept as objects, each event is a few containers that
Python's cycle collector walks on every full pass; at that length a pass holds the process for
~100 ms, long enough to make a screen miss key presses. `EventLog` keeps the same facts in a few
arrays and two byte buffers, whatever the length, and builds an `Event` when someone looks at one
(`log[i]`); views look at a screenful at a time. An event's data is kept once: where it is a piece of
its wire bytes (one `data:` line, as the Messages API sends them), as a place in them. And its wire
bytes are kept once: a log given the body it is read from (`body`: a recording's bytes, which a
replay keeps anyway) keeps where each event is in it, wherever the event is there as it came (a
body with no content coding); the others it copies.
"""

from __future__ import annotations

import math
from array import array

from streamwatch.core.columns import Columns
from streamwatch.core.events import Event
from streamwatch.core.sse import SSEEvent

_NO_INT = -(2**63)
_INT_RANGE = range(_NO_INT + 1, 2**63)
_Kind = tuple[str, str | None, str | None, str | None, str | None, int | None]
"""type, `event:` name, block type, delta type, id, retry."""


class _Kinds:
    """What repeats from event to event (its type, `event:` name, block and delta type, id and retry
    fields) as one small number per distinct combination: a stream has a handful of them, so each
    event stores one number where it would store six."""

    def __init__(self) -> None:
        self._codes: dict[_Kind, int] = {}
        self.kinds: list[_Kind] = []

    def code(self, kind: _Kind) -> int:
        code = self._codes.get(kind)
        if code is None:
            code = self._codes[kind] = len(self.kinds)
            self.kinds.append(kind)
        return code


class EventLog(Columns[Event]):
    def __init__(self, body: bytearray | None = None) -> None:
        self._body = body
        """The body's bytes, which only grow, if the log was given them."""
        self._kinds = _Kinds()
        self._kind = array("L")
        self._index = array("q")
        self._t = array("d")
        self._offset = array("Q")
        self._raw = bytearray()
        self._raw_at = array("q")
        """Where each event's wire bytes start: in `_body` (0 or more), or in `_raw` (-1 - its offset there)."""
        self._raw_size = array("Q")
        self._data = bytearray()
        """The data of events whose data is not a piece of their wire bytes (several data lines, bytes
        that are not UTF-8)."""
        self._data_at = array("q")
        """Where each event's data starts: in its wire bytes (0 or more), or in `_data` (-1 - its offset there)."""
        self._data_size = array("Q")
        self._big_index: dict[int, int] = {}
        """Block indexes no machine integer holds (hostile or broken streams), by position."""
        self._errors: dict[int, str] = {}

    def append(self, event: Event) -> None:
        position = len(self._kind)
        sse = event.sse
        kind = (event.type, sse.event, event.block_type, event.delta_type, sse.id, sse.retry)
        code = self._kinds._codes.get(kind)
        self._kind.append(self._kinds.code(kind) if code is None else code)
        index = event.index
        if index is None:
            index = _NO_INT
        elif index not in _INT_RANGE:
            self._big_index[position] = index
            index = _NO_INT
        self._index.append(index)
        self._t.append(math.nan if event.t is None else event.t)
        self._offset.append(sse.offset)
        raw, body = sse.raw, self._body
        if body is not None and body[sse.offset : sse.offset + len(raw)] == raw:
            self._raw_at.append(sse.offset)
        else:
            self._raw_at.append(-1 - len(self._raw))
            self._raw += raw
        self._raw_size.append(len(raw))
        data = sse.data.encode()
        found = raw.find(data)
        if found >= 0:
            self._data_at.append(found)
        else:
            self._data_at.append(-1 - len(self._data))
            self._data += data
        self._data_size.append(len(data))
        if event.parse_error is not None:
            self._errors[position] = event.parse_error

    def __len__(self) -> int:
        return len(self._kind)

    def time(self, position: int) -> float | None:
        """When an event's last byte arrived, without building the event."""
        t = self._t[position]
        return None if math.isnan(t) else t

    def kind(self, position: int) -> tuple[str, str | None, str | None]:
        """An event's type, block type and delta type, without building the event."""
        kind, _, block_type, delta_type, _, _ = self._kinds.kinds[self._kind[position]]
        return kind, block_type, delta_type

    def damaged(self, position: int) -> bool:
        """Whether an event's data could not be read (its summary is then why), without building it."""
        return position in self._errors

    def index_at(self, position: int) -> int | None:
        """An event's content block index, without building the event."""
        index = self._index[position]
        return self._big_index.get(position) if index == _NO_INT else index

    def _item(self, position: int) -> Event:
        kind, name, block_type, delta_type, sse_id, retry = self._kinds.kinds[self._kind[position]]
        t = self.time(position)
        start = self._raw_at[position]
        buffer, start = (self._body, start) if start >= 0 else (self._raw, -1 - start)
        assert buffer is not None
        raw = bytes(buffer[start : start + self._raw_size[position]])
        at, size = self._data_at[position], self._data_size[position]
        data = raw[at : at + size] if at >= 0 else self._data[-1 - at : -1 - at + size]
        sse = SSEEvent(
            event=name,
            data=data.decode(),
            id=sse_id,
            retry=retry,
            t=t,
            raw=raw,
            offset=self._offset[position],
        )
        return Event(
            seq=position + 1,
            type=kind,
            t=t,
            sse=sse,
            parse_error=self._errors.get(position),
            index=self.index_at(position),
            block_type=block_type,
            delta_type=delta_type,
        )
