"""A read-only, soft-wrapped text pane that grows by appending (line API).

Model output can be one megabyte-long line; widgets that re-wrap a whole line per render (TextArea
does) stall the event loop on it. Here each logical line keeps its wrap offsets (an array of them),
an append re-wraps only from the last row of the last line, and rendering touches only the rows in
view: a row is found from the first row of each line (`_first`) by bisection.

`search` finds a text in what the pane shows (any case), marks every match, and `step_match` moves
to the next or previous one, scrolling it into view. It searches for `SEARCH_SECONDS` at most, and
`find_more` goes on from there (the run screen calls it each frame while `finding`), so a search of
megabytes never holds the keys; as text is appended, only what is new is searched. The matches are
kept as one number each (`Matches`): a common word in a long answer has hundreds of thousands.
"""

from __future__ import annotations

import bisect
import re
import time
from array import array

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip

from streamwatch.core.accumulate import Pieces
from streamwatch.core.columns import Columns
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


SEARCH_SECONDS = 0.01
"""The most a key or a frame spends searching; the rest is searched on the next frames."""
SEARCH_PIECE = 1 << 16
"""The characters searched at a time, between looks at the clock."""
_COLUMN_BITS = 40


class Matches(Columns[tuple[int, int]]):
    """Where a search's matches are, in order, read as a list of (line, column); kept as one number each."""

    def __init__(self) -> None:
        self.keys = array("Q")

    @staticmethod
    def key(line: int, column: int) -> int:
        return line << _COLUMN_BITS | column

    def add(self, line: int, column: int) -> None:
        self.keys.append(self.key(line, column))

    def __len__(self) -> int:
        return len(self.keys)

    def _item(self, index: int) -> tuple[int, int]:
        key = self.keys[index]
        return key >> _COLUMN_BITS, key & ((1 << _COLUMN_BITS) - 1)


class TextView(LineView, can_focus=True):
    COMPONENT_CLASSES = {"textview--seam", "textview--match", "textview--match-current"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[str] = [""]
        self._starts: list[array[int]] = [array("q", [0])]
        """Each line's rows: where each begins in it."""
        self._first = array("q", [0])
        """The row each line begins on."""
        self._row_count = 1
        self._wrap_width = 0
        self._taken: dict[int, int] = {}
        self.seams: list[tuple[int, int]] = []
        self.stitched: object | None = None
        """What the pane shows in place of the live pieces (a finished, stitched attempt), if anything."""
        self.query = ""
        self.matches = Matches()
        self.current = -1
        self._pattern: re.Pattern[str] | None = None
        self._found_to = (0, 0)
        """Where the search goes on from: (line, column); what is before it has been searched."""

    @property
    def text(self) -> str:
        return "\n".join(self._lines)

    def reset(self) -> None:
        self._lines, self._starts, self._first, self._row_count = [""], [array("q", [0])], array("q", [0]), 1
        self._taken.clear()
        self.seams.clear()
        self.stitched = None
        self.matches, self.current, self._found_to = Matches(), -1, (0, 0)
        self._resize_virtual()

    def search(self, query: str) -> int:
        """Mark every match of `query` (any case) and move to the first; how many were found (so far,
        while `finding`)."""
        self.query = query
        self._pattern = re.compile(re.escape(query), re.IGNORECASE) if query else None
        self.matches, self.current, self._found_to = Matches(), -1, (0, 0)
        self._find()
        if self.matches:
            self.step_match(1)
        self.refresh()
        return len(self.matches)

    @property
    def finding(self) -> bool:
        """The search has not got to the end of the text yet."""
        if self._pattern is None:
            return False
        line, column = self._found_to
        return line < len(self._lines) - 1 or column < len(self._lines[-1]) - len(self.query) + 1

    def find_more(self) -> bool:
        """Go on searching (for `SEARCH_SECONDS` at most); True if more matches were found."""
        found = len(self.matches)
        if self.finding:
            self._find()
            if self.current < 0 and self.matches:
                self.step_match(1)
            self.refresh()
        return len(self.matches) > found

    def step_match(self, direction: int) -> None:
        """Move to the next (1) or previous (-1) match, round the end, and scroll it into view."""
        if not self.matches:
            return
        self.current = (self.current + direction) % len(self.matches)
        line, column = self.matches[self.current]
        row = self._first[line] + bisect.bisect_right(self._starts[line], column) - 1
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False, immediate=True)
        self.refresh()

    def _find(self) -> None:
        """Add the matches from `_found_to` on, a piece at a time, until the text's end or `SEARCH_SECONDS`.
        A piece is searched with the start of the next (a match may cross into it): a match that begins
        in it is its, and the next piece begins after the last match (matches never overlap)."""
        pattern = self._pattern
        if pattern is None:
            return
        deadline = time.perf_counter() + SEARCH_SECONDS
        size = len(self.query)
        line, column = self._found_to
        while True:
            text = self._lines[line]
            stop = min(len(text), column + SEARCH_PIECE)
            after = column
            for found in pattern.finditer(text, column, min(len(text), stop + size - 1)):
                if found.start() >= stop and stop < len(text):
                    break
                self.matches.add(line, found.start())
                after = found.end()
            if stop < len(text):
                column = max(stop, after)
            elif line + 1 < len(self._lines):
                line, column = line + 1, 0
            else:  # the end: a match may yet begin where appended text completes it
                column = max(after, len(text) - size + 1, column)
                break
            if time.perf_counter() > deadline:
                break
        self._found_to = (line, column)

    def append_from(self, pieces_by_block: list[tuple[int, Pieces]]) -> None:
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
        # Taken out of the list to grow it: a string nothing else holds grows where it is, instead of being
        # copied whole (a megabyte-long line, once a frame).
        line = self._lines.pop()
        line += parts[0]
        self._lines.append(line)
        del line
        self._lines.extend(parts[1:])
        starts = self._starts[last]
        first_new = len(starts) - 1
        starts[first_new:] = array("q", wrap_from(self._lines[last], starts[first_new], width))
        for index in range(last + 1, len(self._lines)):
            self._first.append(self._first[index - 1] + len(self._starts[index - 1]))
            self._starts.append(array("q", wrap_from(self._lines[index], 0, width)))
        self._row_count = self._first[-1] + len(self._starts[-1])
        self._resize_virtual()
        if self._pattern is not None and not self.finding:
            self._find()
        if at_end:
            self.scroll_end(animate=False, immediate=True)

    def _width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self._width(), self._row_count)
        self.refresh()

    def on_resize(self) -> None:
        width = self._width()
        if width == self._wrap_width:
            return
        self._wrap_width = width
        self._starts = [array("q", wrap_from(line, 0, width)) for line in self._lines]
        self._first = array("q", [0])
        for starts in self._starts[:-1]:
            self._first.append(self._first[-1] + len(starts))
        self._row_count = self._first[-1] + len(self._starts[-1])
        self._resize_virtual()

    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_y) + y
        if row >= self._row_count:
            return self.blank_row()
        index = bisect.bisect_right(self._first, row) - 1
        part = row - self._first[index]
        starts = self._starts[index]
        start = starts[part]
        end = starts[part + 1] if part + 1 < len(starts) else len(self._lines[index])
        text = Text(self._lines[index][start:end].rstrip("\n"), no_wrap=True, end="")
        size = len(self.query)
        keys = self.matches.keys
        number = bisect.bisect_left(keys, Matches.key(index, max(0, start - size + 1)))
        while number < len(keys) and keys[number] < Matches.key(index, end):
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
