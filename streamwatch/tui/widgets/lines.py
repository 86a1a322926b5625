"""What the line-API panes share: one style lookup per paint, and rows made strips; for the tables
(`CursorView`), a header line over rows and a cursor the keys and the mouse move."""

from __future__ import annotations

from typing import Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.reactive import reactive
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

    def text_strip(self, text: Text, x: int = 0) -> Strip:
        """`text` on one row of the view, from its cell `x` (scrolled sideways). The text's own style is
        put under it here: `Text.render` leaves it out of a text without spans."""
        console = self.app.console
        base = self._base + console.get_style(text.style, default=Style.null())
        strip = Strip(list(Segment.apply_style(text.render(console), base)))
        if x:
            strip = strip.crop(x)
        return strip.adjust_cell_length(self.size.width, self._base)

    def line_strip(self, line: str, style: Style | None) -> Strip:
        """One row in one style, `line` already printable and without tabs or line breaks."""
        segment = Segment(line, self._base + style if style else self._base)
        return Strip([segment]).adjust_cell_length(self.size.width, self._base)


RowT = TypeVar("RowT")


class CursorView(LineView, Generic[RowT], can_focus=True):
    """A header on the view's first line, then `rows` under it (only those in view are rendered:
    `render_line` of a row asks `row_index`), and a cursor on one row, kept in view.
    `cursor_moved` is called each time it moves; a click moves it, a click on it selects
    (`action_select`)."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[RowT] = []

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def highlighted(self) -> RowT | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def cursor_moved(self) -> None:
        """The cursor is on another row (or the rows under it changed)."""

    def action_select(self) -> None:
        """`enter`, or a click on the cursor's row."""

    def row_index(self, y: int) -> int:
        """The row drawn on the view's line `y` (the header is line 0)."""
        return round(self.scroll_y) + y - 1

    def watch_cursor(self) -> None:
        self.refresh()
        self.call_after_refresh(self._scroll_to_cursor)
        self.cursor_moved()

    def _scroll_to_cursor(self) -> None:
        top, height = round(self.scroll_y), self.size.height - 1
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height > 0 and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_move(self, delta: int) -> None:
        self.cursor = max(0, min(self.row_count - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.size.height - 2))

    def action_jump(self, row: int) -> None:
        self.cursor = max(0, self.row_count - 1) if row == -1 else 0

    def on_click(self, event: events.Click) -> None:
        index = self.row_index(event.y)
        if event.y == 0 or not 0 <= index < self.row_count:
            return
        if index == self.cursor:
            self.action_select()
        else:
            self.cursor = index
