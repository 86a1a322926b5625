"""One event as the raw view shows it: its wire text and its JSON laid out, terminal-safe.

An event can be tens of megabytes (a tool input streamed in one delta, a hostile server); drawing
all of it takes the screen seconds. The view shows the first `LIMIT` bytes of the wire, and that
much of its JSON laid out one member per line, and says how much it left out: the whole event
goes to a file with `w` (`files.write_private`), to open in a pager or an editor.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass

from streamwatch.core.events import Event, size_text
from streamwatch.core.report import JsonLayout
from streamwatch.core.safe import one_line, printable

LIMIT = 64 * 1024


@dataclass(frozen=True)
class RawEvent:
    title: str
    wire: str
    parsed: str
    hidden: int
    """Bytes of the wire not shown (0: all of it is)."""

    @property
    def cut(self) -> str | None:
        """What a cut view says after it, or None when nothing was left out."""
        if not self.hidden:
            return None
        return f"… {size_text(self.hidden)} more of this event not shown: w writes all of it to a file"


def raw_event(event: Event, limit: int = LIMIT) -> RawEvent:
    at = "no timing" if event.t is None else f"t={event.t:.3f}s"
    title = f"Event #{event.seq} · {one_line(event.type)} · {at}"
    raw = event.sse.raw
    if len(raw) <= limit:
        data = event.data
        parsed = json.dumps(data, indent=2, ensure_ascii=False) if data else "(not JSON)"
        return RawEvent(title, printable(raw.decode("utf-8", "replace")), printable(parsed), 0)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    wire = decoder.decode(raw[:limit])
    shown = limit - len(decoder.getstate()[0])
    if event.parse_error:
        parsed = "(not JSON)"
    else:
        layout = JsonLayout(keep=4 * limit)
        layout.feed(event.sse.data[:limit])
        parsed = layout.tail()[:limit] + "\n…"
    return RawEvent(title, printable(wire), printable(parsed), len(raw) - shown)
