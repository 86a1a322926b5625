"""A read-only, soft-wrapped text pane that grows by appending (line API).

Model output can be one megabyte-long line; widgets that re-wrap a whole line per render (TextArea
does) stall the event loop on it. Here each logical line keeps its wrap offsets, an append re-wraps
only from the last row of the last line, and rendering touches only the rows in view.

`search` finds a text in what the pane shows (any case), marks every match, and `step_match` moves
to the next or previous one, scrolling it into view; matches are found again as text is appended.
"""

from __future__ import annotations

import bisect
import re

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip

from streamwatch.core.safe import printable
from streamwatch.tui.widgets.lines import LineView


def wrap_from(line: str, start: int, width: int) -> list[int]:
    """Start offsets of the rows of `line` from `start` on, greedy, breaking after spaces."""
    width = max(1, width)
    starts = [start]
    position, end = start, len(line)
    if line.isascii():
        while end - position > width:
            cut = line.rfind(" ", position, position + width) + 1
            position = cut if cut > position else position + width
            starts.append(position)
        return starts
    while end - position > width or cell_len(line[position : position + width + 1]) > width:
        piece = line[position : position + width]
        while cell_len(piece) > width:
            piece = piece[: max(1, len(piece) - max(1, (cell_len(piece) - width) // 2))]
        cut = piece.rfind(" ") + 1
        if cut <= 0 or position + len(piece) >= end:
            cut = len(piece)
        position += cut
        if position >= end:
            break
        starts.append(position)
    return starts


class TextView(LineView, can_focus=True):
    COMPONENT_CLASSES = {"textview--seam", "textview--match", "textview--match-current"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[str] = [""]
        self._starts: list[list[int]] = [[0]]
        self._rows: list[tuple[int, int]] = [(0, 0)]
        self._wrap_width = 0
        self._taken: dict[int, int] = {}
        self.seams: list[tuple[int, int]] = []
        self.stitched: object | None = None
        """What the pane shows in place of the live pieces (a finished, stitched attempt), if anything."""
        self.query = ""
        self.matches: list[tuple[int, int]] = []
        """Where the search's matches are: (line, column) of each, in order."""
        self.current = -1

    @property
    def text(self) -> str:
        return "\n".join(self._lines)

    def reset(self) -> None:
        self._lines, self._starts, self._rows = [""], [[0]], [(0, 0)]
        self._taken.clear()
        self.seams.clear()
        self.stitched = None
        self.matches, self.current = [], -1
        self._resize_virtual()

    def search(self, query: str) -> int:
        """Mark every match of `query` (any case) and move to the first; how many there are."""
        self.query = query
        self._find()
        self.current = -1
        if self.matches:
            self.step_match(1)
        self.refresh()
        return len(self.matches)

    def step_match(self, direction: int) -> None:
        """Move to the next (1) or previous (-1) match, round the end, and scroll it into view."""
        if not self.matches:
            return
        self.current = (self.current + direction) % len(self.matches)
        line, column = self.matches[self.current]
        starts = self._starts[line]
        part = max(row for row, start in enumerate(starts) if start <= column)
        row = sum(len(self._starts[index]) for index in range(line)) + part
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False, immediate=True)
        self.refresh()

    def _find(self) -> None:
        self.matches = []
        if self.query:
            pattern = re.compile(re.escape(self.query), re.IGNORECASE)
            for index, line in enumerate(self._lines):
                self.matches.extend((index, found.start()) for found in pattern.finditer(line))
        self.current = min(self.current, len(self.matches) - 1)

    def append_from(self, pieces_by_block: list[tuple[int, list[str]]]) -> None:
        """Append each block's pieces that were not shown yet."""
        added = []
        for index, pieces in pieces_by_block:
            start = self._taken.get(index, 0)
            if start < len(pieces):
                added.append("".join(pieces[start:]))
                self._taken[index] = len(pieces)
        if added:
            self.append("".join(added))

    def mark_seam(self) -> None:
        """Mark the current end: where a continuation begins."""
        self.seams.append((len(self._lines) - 1, len(self._lines[-1])))
        self.refresh()

    def append(self, text: str) -> None:
        if not text:
            return
        at_end = self.scroll_y >= self.max_scroll_y - 1
        width = self._width()
        parts = printable(text.replace("\r\n", "\n")).split("\n")
        last = len(self._lines) - 1
        self._lines[last] += parts[0]
        self._lines.extend(parts[1:])
        starts = self._starts[last]
        first_new = len(starts) - 1
        self._rows.pop()
        starts[first_new:] = wrap_from(self._lines[last], starts[first_new], width)
        self._rows.extend((last, row) for row in range(first_new, len(starts)))
        for index in range(last + 1, len(self._lines)):
            self._starts.append(wrap_from(self._lines[index], 0, width))
            self._rows.extend((index, row) for row in range(len(self._starts[index])))
        self._resize_virtual()
        if self.query:
            self._find()
        if at_end:
            self.scroll_end(animate=False, immediate=True)

    def _width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self._width(), len(self._rows))
        self.refresh()

    def on_resize(self) -> None:
        width = self._width()
        if width == self._wrap_width:
            return
        self._wrap_width = width
        self._starts = [wrap_from(line, 0, width) for line in self._lines]
        self._rows = [(index, row) for index, starts in enumerate(self._starts) for row in range(len(starts))]
        self._resize_virtual()

    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_y) + y
        if row >= len(self._rows):
            return self.blank_row()
        index, part = self._rows[row]
        starts = self._starts[index]
        start = starts[part]
        end = starts[part + 1] if part + 1 < len(starts) else len(self._lines[index])
        text = Text(self._lines[index][start:end].rstrip("\n"), no_wrap=True, end="")
        size = len(self.query)
        number = bisect.bisect_left(self.matches, (index, start - size + 1))
        while number < len(self.matches) and self.matches[number] < (index, end):
            column = self.matches[number][1]
            kind = "textview--match-current" if number == self.current else "textview--match"
            text.stylize(self.get_component_rich_style(kind), max(0, column - start), min(end, column + size) - start)
            number += 1
        for seam_line, column in self.seams:
            if seam_line == index and start <= column < end:
                text.stylize(self.get_component_rich_style("textview--seam"), column - start, column - start + 1)
            elif seam_line == index and column == end and part + 1 == len(starts):
                text.append("⟩", self.get_component_rich_style("textview--seam"))
        return self.text_strip(text)
