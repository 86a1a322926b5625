"""A read-only, soft-wrapped text pane that grows by appending (line API).

Model output can be one megabyte-long line; widgets that re-wrap a whole line per render (TextArea
does) stall the event loop on it. Here each logical line keeps its wrap offsets, an append re-wraps
only from the last row of the last line, and rendering touches only the rows in view.
"""

from __future__ import annotations

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
    COMPONENT_CLASSES = {"textview--seam"}

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

    @property
    def text(self) -> str:
        return "\n".join(self._lines)

    def reset(self) -> None:
        self._lines, self._starts, self._rows = [""], [[0]], [(0, 0)]
        self._taken.clear()
        self.seams.clear()
        self.stitched = None
        self._resize_virtual()

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
        for seam_line, column in self.seams:
            if seam_line == index and start <= column < end:
                text.stylize(self.get_component_rich_style("textview--seam"), column - start, column - start + 1)
            elif seam_line == index and column == end and part + 1 == len(starts):
                text.append("⟩", self.get_component_rich_style("textview--seam"))
        return self.text_strip(text)
