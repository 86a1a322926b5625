"""The events of one stream, in arrival order, stored as columns.

A Messages stream can run to 100 000 events. Kept as objects, each event is a few containers that
Python's cycle collector walks on every full pass; at that length a pass holds the process for
~100 ms, long enough to make a screen miss key presses. `EventLog` keeps the same facts in a few
arrays and two byte buffers, whatever the length, and builds an `Event` when someone looks at one
(`log[i]`); views look at a screenful at a time. An event's data is kept once: where it is a piece of
its wire bytes (one `data:` line, as the Messages API sends them), as a place in them.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from typing import overload

from streamwatch.core.events import Event
from streamwatch.core.sse import SSEEvent

_NO_INT = -(2**63)
_INT_RANGE = range(_NO_INT + 1, 2**63)


class _Names:
    """Strings that repeat (event types, ids) as small numbers; 0 stands for None."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._names: list[str | None] = [None]

    def code(self, name: str | None) -> int:
        if name is None:
            return 0
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self._names)
            self._names.append(name)
        return code

    def name(self, code: int) -> str | None:
        return self._names[code]


class EventLog(Sequence[Event]):
    def __init__(self) -> None:
        self._names = _Names()
        self._type = array("L")
        self._event_name = array("L")
        self._block_type = array("L")
        self._delta_type = array("L")
        self._id = array("L")
        self._index = array("q")
        self._retry = array("q")
        self._t = array("d")
        self._offset = array("Q")
        self._raw = bytearray()
        self._raw_end = array("Q")
        self._data = bytearray()
        """The data of events whose data is not a piece of their wire bytes (several data lines, bytes
        that are not UTF-8)."""
        self._data_at = array("q")
        """Where each event's data starts: in `_raw` (0 or more), or in `_data` (-1 - its offset there)."""
        self._data_size = array("Q")
        self._big_index: dict[int, int] = {}
        """Block indexes no machine integer holds (hostile or broken streams), by position."""
        self._errors: dict[int, str] = {}

    def append(self, event: Event) -> None:
        position = len(self._type)
        sse, names = event.sse, self._names
        self._type.append(names.code(event.type))
        self._event_name.append(names.code(sse.event))
        self._block_type.append(names.code(event.block_type))
        self._delta_type.append(names.code(event.delta_type))
        self._id.append(names.code(sse.id))
        index = event.index
        if index is not None and index not in _INT_RANGE:
            self._big_index[position] = index
            index = None
        self._index.append(_NO_INT if index is None else index)
        self._retry.append(_NO_INT if sse.retry is None else sse.retry)
        self._t.append(math.nan if event.t is None else event.t)
        self._offset.append(sse.offset)
        raw_start = len(self._raw)
        self._raw += sse.raw
        self._raw_end.append(len(self._raw))
        data = sse.data.encode()
        found = sse.raw.find(data)
        if found >= 0:
            self._data_at.append(raw_start + found)
        else:
            self._data_at.append(-1 - len(self._data))
            self._data += data
        self._data_size.append(len(data))
        if event.parse_error is not None:
            self._errors[position] = event.parse_error

    def __len__(self) -> int:
        return len(self._type)

    @overload
    def __getitem__(self, position: int) -> Event: ...

    @overload
    def __getitem__(self, position: slice) -> list[Event]: ...

    def __getitem__(self, position: int | slice) -> Event | list[Event]:
        if isinstance(position, slice):
            return [self._event(i) for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("event position out of range")
        return self._event(position)

    def __iter__(self) -> Iterator[Event]:
        for position in range(len(self)):
            yield self._event(position)

    def time(self, position: int) -> float | None:
        """When an event's last byte arrived, without building the event."""
        t = self._t[position]
        return None if math.isnan(t) else t

    def kind(self, position: int) -> tuple[str, str | None, str | None]:
        """An event's type, block type and delta type, without building the event."""
        name = self._names.name
        return (
            name(self._type[position]) or "",
            name(self._block_type[position]),
            name(self._delta_type[position]),
        )

    def index_at(self, position: int) -> int | None:
        """An event's content block index, without building the event."""
        index = self._index[position]
        return self._big_index.get(position) if index == _NO_INT else index

    def _event(self, position: int) -> Event:
        name = self._names.name
        t = self.time(position)
        raw_start = self._raw_end[position - 1] if position else 0
        at, size = self._data_at[position], self._data_size[position]
        data = self._raw[at : at + size] if at >= 0 else self._data[-1 - at : -1 - at + size]
        retry = self._retry[position]
        sse = SSEEvent(
            event=name(self._event_name[position]),
            data=data.decode(),
            id=name(self._id[position]),
            retry=None if retry == _NO_INT else retry,
            t=t,
            raw=bytes(self._raw[raw_start : self._raw_end[position]]),
            offset=self._offset[position],
        )
        return Event(
            seq=position + 1,
            type=name(self._type[position]) or "",
            t=t,
            sse=sse,
            parse_error=self._errors.get(position),
            index=self.index_at(position),
            block_type=name(self._block_type[position]),
            delta_type=name(self._delta_type[position]),
        )
