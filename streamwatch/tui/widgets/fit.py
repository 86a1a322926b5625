"""Lines that fit their width: pieces dropped by priority, never cut in the middle of a word.

Every one-row line the screens build from pieces (the status line, the response head, the timeline's
title, the footer's keys, a table cell) goes through `fit`: when the pieces do not fit, the least
important go first (the last of equals first), and what remains is whole; only when the most
important piece alone is too long is it shortened, at a word boundary, with `…`. Widths are terminal
cells (a CJK character or an emoji takes two).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size

ELLIPSIS = "…"
TITLE_FRAME = 6
"""The cells of a border around its title: `╭─ ` before it, ` ─╮` after."""
MIN_SHORTENED = 12
"""The fewest cells a dropped piece comes back in, shortened: fewer say too little to be worth it."""


def fit(pieces: Sequence[tuple[str, int]], width: int, separator: str = " · ") -> list[int]:
    """Which pieces (their positions, in order) fit in `width` cells joined by `separator`.

    `pieces`: (text, priority), 0 the most important. Pieces of priority 0 are always kept: `shorten`
    the last of them if they still do not fit."""
    kept = [position for position, (text, _) in enumerate(pieces) if text]
    gap = cell_len(separator)

    def size() -> int:
        return sum(cell_len(pieces[position][0]) for position in kept) + gap * max(0, len(kept) - 1)

    while size() > width:
        droppable = [position for position in kept if pieces[position][1] > 0]
        if not droppable:
            break
        least = max(pieces[position][1] for position in droppable)
        kept.remove(max(position for position in droppable if pieces[position][1] == least))
    return kept


def fitted(pieces: Sequence[tuple[str, int]], width: int, separator: str = " · ") -> str:
    """The pieces that fit (`fit`) joined, the result shortened (`shorten`) if the kept ones still do not.
    When at least `MIN_SHORTENED` cells are left, the most important piece dropped comes back shortened."""
    kept = fit(pieces, width, separator)
    dropped = [position for position, (text, _) in enumerate(pieces) if text and position not in kept]
    if dropped:
        used = cell_len(separator.join(pieces[position][0] for position in kept))
        room = width - used - (cell_len(separator) if kept else 0)
        if room >= MIN_SHORTENED:
            best = min(dropped, key=lambda position: (pieces[position][1], position))
            kept = sorted([*kept, best])
            shortened = shorten(pieces[best][0], room)
            return shorten(separator.join(shortened if p == best else pieces[p][0] for p in kept), width)
    return shorten(separator.join(pieces[position][0] for position in kept), width)


def shorten(text: str, width: int) -> str:
    """`text` if it fits in `width` cells, else its start up to a word's end, then `…`. A first word
    longer than the whole width (a path, an id) is cut, as there is no better place."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = set_cell_size(text, width - 1)
    if not text[len(head)].isspace():
        cut = head.rstrip().rfind(" ")
        if cut > 0:
            head = head[:cut]
    head = head.rstrip(" ·,:;")
    return head + ELLIPSIS

