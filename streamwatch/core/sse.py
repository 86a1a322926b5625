"""Incremental Server-Sent Events decoder (WHATWG event-stream rules).

Bytes go in as they arrive, with the time they arrived; complete events come out. Lines may end in
LF, CRLF or a lone CR, and any of them may be split across chunks (a CR at the end of a chunk may be
the first half of a CRLF). Lines are split on bytes, so a UTF-8 character split across two chunks is
decoded whole. An event whose terminating blank line never arrived is never returned as an event:
`finish()` reports it as an `IncompleteEvent`.

Events shaped as the Messages API sends them (`event: <name>`, `data: <one line>`, a blank line, all
LF-ended) are taken whole by one regular expression, a call per event instead of one per line;
anything else (comments, ids, several data lines, other line endings, an event split across chunks)
goes line by line, with the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

_LINE_END = re.compile(rb"\r\n|\r|\n")
_PLAIN_EVENT = re.compile(rb"event: ?([^\r\n]*)\ndata: ?([^\r\n]*)\n\n")
"""A whole event as the API sends it; each value without the one space that may follow its colon."""
_BOM = b"\xef\xbb\xbf"
_RETRY_DIGITS = 18
"""A longer reconnection time (over 30 million years in ms) is ignored, not turned into a huge number."""


class SSEEvent(NamedTuple):
    """One dispatched event: its fields, its wire bytes and when its last byte arrived. `event` is
    the `event:` field as the wire gave it, None when the event had none (WHATWG would call it
    `message`; the Anthropic SDKs skip it, so the difference matters)."""

    event: str | None
    data: str
    id: str | None
    retry: int | None
    t: float | None
    raw: bytes
    offset: int


@dataclass(slots=True)
class IncompleteEvent:
    """The bytes of an event whose blank line never arrived when the stream ended."""

    event: str | None
    data: str
    raw: bytes
    offset: int


class SSEDecoder:
    def __init__(self) -> None:
        self._buf = b""
        self._more: list[bytes] = []
        """Chunks that continue the line in `_buf` and hold no line end: joined once one arrives, so a
        long line read in many chunks costs its length, not its length times the chunks."""
        self._skip_lf = False
        self._started = False
        self._event: str | None = None
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None
        self._raw = bytearray()
        self._event_offset = 0
        self._offset = 0

    def feed(self, chunk: bytes, t: float | None = None) -> list[SSEEvent]:
        if self._started and self._buf and chunk and _LINE_END.search(chunk) is None:
            self._skip_lf = False
            self._more.append(chunk)
            return []
        if self._more:
            self._buf, self._more = b"".join([self._buf, *self._more]), []
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(buf):
                self._buf = buf
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[len(_BOM):]
                self._offset += len(_BOM)
                self._event_offset = self._offset
        pos = 0
        if self._skip_lf and buf:
            self._skip_lf = False
            if buf[0] == 0x0A:
                self._raw += b"\n"
                pos = 1
        out: list[SSEEvent] = []
        while True:
            if not self._raw and not self._data and self._event is None:
                pos = self._plain_events(buf, pos, t, out)
            match = _LINE_END.search(buf, pos)
            if match is None:
                break
            start, end = match.span()
            line = buf[pos:start]
            self._raw += buf[pos:end]
            if end == len(buf) and end - start == 1 and buf[start] == 0x0D:
                self._skip_lf = True
            pos = end
            event = self._line(line, t, self._offset + end)
            if event is not None:
                out.append(event)
        self._buf = buf[pos:]
        self._offset += pos
        return out

    def _plain_events(self, buf: bytes, pos: int, t: float | None, out: list[SSEEvent]) -> int:
        """Take the whole API-shaped events from `pos` on (the decoder is between events); where they stop."""
        match = _PLAIN_EVENT.match(buf, pos)
        while match is not None:
            name, data = match.group(1, 2)
            end = match.end()
            out.append(SSEEvent(
                name.decode("utf-8", "replace"), data.decode("utf-8", "replace"), self._last_id, self._retry, t,
                buf[pos:end], self._offset + pos,
            ))
            pos = end
            match = _PLAIN_EVENT.match(buf, pos)
        self._event_offset = self._offset + pos
        return pos

    def _line(self, line: bytes, t: float | None, end_offset: int) -> SSEEvent | None:
        if not line:
            return self._dispatch(t, end_offset)
        if line[0] == 0x3A:
            return None
        text = line.decode("utf-8", "replace")
        field, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry":
            if value.isascii() and value.isdigit() and len(value) <= _RETRY_DIGITS:
                self._retry = int(value)
        return None

    def _dispatch(self, t: float | None, end_offset: int) -> SSEEvent | None:
        raw = bytes(self._raw)
        offset = self._event_offset
        self._raw.clear()
        self._event_offset = end_offset
        data, event, self._data, self._event = self._data, self._event, [], None
        if not data:
            return None
        return SSEEvent(
            event=event,
            data="\n".join(data),
            id=self._last_id,
            retry=self._retry,
            t=t,
            raw=raw,
            offset=offset,
        )

    def finish(self) -> IncompleteEvent | None:
        """The end of the stream: what was left of an event that never completed, if anything."""
        if self._more:
            self._buf, self._more = b"".join([self._buf, *self._more]), []
        raw = bytes(self._raw) + self._buf
        pending = self._data or self._event is not None or self._buf.strip()
        if not pending:
            return None
        tail = self._buf.decode("utf-8", "replace")
        data = "\n".join(self._data)
        if tail.startswith("data:"):
            data = (data + "\n" if self._data else "") + tail[5:].removeprefix(" ")
        return IncompleteEvent(event=self._event, data=data, raw=raw, offset=self._event_offset)

