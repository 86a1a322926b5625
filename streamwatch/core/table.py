"""Plain-text tables (`streamwatch sessions`, `streamwatch stats`): columns padded to what the terminal shows.

A cell is padded as it is written (`safe.written`: on an ASCII stream `…` goes out as the six
characters `\\u2026`) and by the cells it takes there: a wide character (CJK, most emoji) takes two,
a combining mark none. Padding by `len()` of the text before either misaligns every column after it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence

from streamwatch.core.safe import written

GAP = "  "


def width(text: str) -> int:
    """The terminal cells `text` takes (one line, already printable)."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text
    )


def render_table(rows: Sequence[Sequence[str]], right: Collection[int] = (), encoding: str = "utf-8") -> list[str]:
    """The rows (the head first, all as long), each cell as a stream in `encoding` shows it, padded to
    its column's widest; the columns in `right` aligned right, the others left; no trailing space."""
    shown = [[written(cell, encoding) for cell in row] for row in rows]
    widths = [max(width(row[i]) for row in shown) for i in range(len(shown[0]))] if shown else []
    lines = []
    for row in shown:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append(GAP.join(cells).rstrip())
    return lines
