"""What the sequences stored as columns share (the event log, a recording's chunks, a block's text
pieces, a search's matches): each keeps its items in a few arrays or buffers, however many there
are, builds one when it is read (`_item`), and reads as the list of them (indexes, slices, equality
with a list)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class Columns(Sequence[T]):
    def _item(self, index: int) -> T:
        """The item at `index`, from 0 to len - 1."""
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        return self._item(index)

    def __iter__(self) -> Iterator[T]:
        for index in range(len(self)):
            yield self._item(index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Columns, list)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"
