"""What the line-API panes share: one style lookup per paint, and rows made strips."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LineView(ScrollView):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._base = Style()

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style walks its ancestors; looked up per row it was a fifth of a paint.
        self._base = self.rich_style
        return super().render_lines(crop)

    def blank_row(self) -> Strip:
        return Strip.blank(self.size.width, self._base)

    def text_strip(self, text: Text) -> Strip:
        segments = Segment.apply_style(text.render(self.app.console), self._base)
        return Strip(list(segments)).adjust_cell_length(self.size.width, self._base)

    def line_strip(self, line: str, style: Style | None) -> Strip:
        """One row in one style, `line` already printable and without tabs or line breaks."""
        segment = Segment(line, self._base + style if style else self._base)
        return Strip([segment]).adjust_cell_length(self.size.width, self._base)
