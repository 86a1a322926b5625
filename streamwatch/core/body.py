"""What HTTP did to a response body, undone as the bytes arrive.

Sources record a body as it came off the connection. When the response says `content-encoding:
gzip` or `deflate` (the SDK sends `accept-encoding: gzip, deflate`, and gateways honour it) those
bytes are compressed: httpx2 decompresses them above the transport, where the SDK reads, so the
application never notices. A capture made with `curl --raw` also keeps the chunked transfer framing
(a hex size line before each piece), which a client removes before anything else. `BodyDecoder`
undoes both, incrementally and in any split, so what comes out is the body the SDK's SSE parser
reads. `StreamState` owns one per response: the one place where live runs, replays, attach and
`analyze` turn recorded bytes into a body.

Content codings are undone as httpx2 undoes them: `gzip`, `deflate` (zlib-wrapped, or raw as some
servers send it), several in the order the header lists them; `identity` is nothing to undo. What
cannot be undone is said once as a `BodyProblem`, with where it happened and what it means for a
client, and nothing after it is guessed at: a coding httpx2 cannot decode (it hands such bytes to
the SSE parser as they are, which finds no event in them), a corrupt compressed stream (httpx2
raises `DecodingError` there), bytes after the compressed stream's end (httpx2 drops them), and a
body that stops before its compressed stream or its chunked framing says it is over.

A raw capture is what a client wrote, not what came off the wire: `curl -i` keeps the
`transfer-encoding: chunked` header but removes the framing, and `curl --compressed -i` keeps the
`content-encoding` header but writes the body decompressed. So, for a capture only, framing and
compression are recognised from the bytes as well as the headers: a body that begins with a
chunk-size line is de-chunked, and one that already begins as plain SSE or JSON text is taken as it
is. A live tap always sees wire bytes, and its headers are trusted as they are.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streamwatch.core.events import size_text

MAX_DECODED = 256 * 1024 * 1024
"""What one compressed stream may decode to: a real answer is far smaller, while a few MB of crafted
gzip can decode to gigabytes (a decompression bomb) and would take the machine's memory."""
DECODABLE = ("gzip", "deflate")
"""The content codings httpx2 decodes with no optional package installed."""
UNDECODABLE = "undecodable_body"
TRUNCATED = "truncated_body"
TRAILING = "bytes_after_body"
"""Bytes after the compressed stream's or the chunked framing's end: no client reads them, so the
answer is whatever came before (not damage)."""

_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_MAX_LINE = 4096
"""A chunk-size or trailer line longer than this is not chunked framing."""
_PLAIN_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*(?:event:|data:|id:|retry:|:|\{)")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SNIFF = 16
"""Bytes enough to tell a capture's plain SSE or JSON text from compressed data."""


@dataclass(frozen=True, slots=True)
class BodyProblem:
    """Something in the body that could not be undone: `code` is `undecodable_body` or `truncated_body`."""

    code: str
    message: str


class _Stage:
    """One thing undone: `feed` returns what it can decode so far, `finish` the rest at the end of the body.

    A stage that meets bytes it cannot undo returns what came before them, says why in `broken`, and
    from then on only counts what it is fed (`fed` - `read`: the bytes it could not read)."""

    broken: str | None = None
    ended_early: str | None = None
    """Set by `finish` when the body stopped before this encoding says it is over, and how."""
    after = 0
    """Bytes that came after this encoding's end, which no client reads."""
    fed = 0
    read = 0

    def feed(self, data: bytes) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        return b""


def _through(stages: Sequence[_Stage], data: bytes) -> bytes:
    for stage in stages:
        if not data:
            return b""
        data = stage.feed(data)
    return data


def _finish_all(stages: Sequence[_Stage], data: bytes = b"") -> bytes:
    """`data` through every stage, each finished in turn, its tail going through the stages after it."""
    for stage in stages:
        data = (stage.feed(data) if data else b"") + stage.finish()
    return data


class _Chunked(_Stage):
    """Chunked transfer framing (RFC 9112, 7.1): size line, data, CRLF, ..., a zero-size chunk, trailers."""

    def __init__(self) -> None:
        self._buf = b""
        self._left = 0
        self._expect = "size"
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self.fed += len(data)
        if self.broken:
            return b""
        if self.done:
            self.after += len(data)
            return b""
        buf, pos, out = self._buf + data, 0, bytearray()
        while pos < len(buf) and not self.done and not self.broken:
            if self._expect == "data":
                take = min(self._left, len(buf) - pos)
                out += buf[pos : pos + take]
                pos += take
                self._left -= take
                if self._left == 0:
                    self._expect = "end of chunk"
                continue
            newline = buf.find(b"\n", pos)
            if newline < 0:
                if len(buf) - pos > _MAX_LINE:
                    self.broken = f"a chunk-size line longer than {_MAX_LINE} bytes"
                break
            if self._line(buf[pos : newline + 1]):
                pos = newline + 1
        self.read += pos - (len(buf) - len(data))
        self._buf = buf[pos:]
        if self.done:
            self.after += len(self._buf)
            self._buf = b""
        return bytes(out)

    def _line(self, line: bytes) -> bool:
        """Take one framing line; False (and `broken`) if it is not what belongs there."""
        if self._expect == "end of chunk":
            if line.strip(b"\r\n"):
                self.broken = "a chunk holds more bytes than its size line says"
                return False
            self._expect = "size"
        elif self._expect == "size":
            match = _CHUNK_SIZE_LINE.fullmatch(line)
            if match is None:
                shown = line[:40].decode("ascii", "replace").strip()
                self.broken = f"{shown!r} where a chunk-size line belongs (a client raises a protocol error there)"
                return False
            self._left = int(match.group(1), 16)
            self._expect = "data" if self._left else "trailer"
        elif not line.strip(b"\r\n"):
            self.done = True
        return True

    def finish(self) -> bytes:
        if not self.done and not self.broken:
            self.ended_early = "the chunked body stops before its last (zero-size) chunk: the connection was cut"
        return b""


class _Inflate(_Stage):
    """One gzip or deflate stream, as httpx2 decodes it (deflate: zlib-wrapped if its header says so, else raw)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib: zlib._Decompress | None = None
        self._head = b""
        self._decoded = 0

    def feed(self, data: bytes) -> bytes:
        if self._zlib is not None:
            return self._inflate(data)
        self._head += data
        return b"" if self.coding == "deflate" and len(self._head) < 2 else self._start()

    def _start(self) -> bytes:
        data, self._head = self._head, b""
        self._zlib = zlib.decompressobj(self._wbits(data))
        return self._inflate(data)

    def _wbits(self, head: bytes) -> int:
        if self.coding == "gzip":
            return 16 + zlib.MAX_WBITS
        zlib_wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS

    def _inflate(self, data: bytes) -> bytes:
        assert self._zlib is not None
        self.fed += len(data)
        if self.broken:
            return b""
        if self._zlib.eof:
            self.after += len(data)
            return b""
        before = self._zlib.copy()
        room = MAX_DECODED - self._decoded
        try:
            out = self._zlib.decompress(data, room + 1)
        except zlib.error as exc:
            return self._up_to_damage(before, data, exc)
        if len(out) > room:
            self.read += len(data) - len(self._zlib.unconsumed_tail)
            self.broken = (
                f"the {self.coding} stream decodes to more than {size_text(MAX_DECODED)} (a decompression bomb?): "
                "not decoded further"
            )
            return out[:room]
        self._decoded += len(out)
        self.read += len(data) - len(self._zlib.unused_data)
        self.after += len(self._zlib.unused_data)
        return out

    def _up_to_damage(self, before: zlib._Decompress, data: bytes, exc: zlib.error) -> bytes:
        """What `data` holds before the corrupt byte (the longest prefix that decompresses), and why it broke."""
        good, bad = 0, len(data)
        while bad - good > 1:
            middle = (good + bad) // 2
            try:
                before.copy().decompress(data[:middle])
                good = middle
            except zlib.error:
                bad = middle
        self.read += good
        self.broken = (
            f"the {self.coding} stream is corrupt after {size_text(self.read)} of it ({exc}); httpx2 raises "
            "DecodingError there"
        )
        return before.decompress(data[:good])

    def finish(self) -> bytes:
        out = self._start() if self._zlib is None and self._head else b""
        if self._zlib is None or self._zlib.eof or self.broken:
            return out
        self.ended_early = f"the {self.coding} stream stops before its end ({size_text(self.read)} of it arrived)"
        return out + self._zlib.flush()


class _Unsupported(_Stage):
    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.broken = (
            f"content-encoding {coding} is not one httpx2 decodes by itself (gzip, deflate): it hands such bytes "
            "to the SSE parser as they are, which finds no event in them"
        )

    def feed(self, data: bytes) -> bytes:
        self.fed += len(data)
        return b""


class _Sniffed(_Stage):
    """Its `inner` stages, picked by the body's first bytes (`_decide`, once `_enough` of them came) when
    `sniffing` (a capture), else known from the start."""

    def __init__(self, sniffing: bool) -> None:
        self._head: bytes | None = b"" if sniffing else None
        self.inner: list[_Stage] = []

    def feed(self, data: bytes) -> bytes:
        if self._head is not None:
            self._head += data
            if not self._enough(self._head):
                return b""
            data, self._head = self._head, None
            self.inner = self._decide(data)
        return _through(self.inner, data)

    def _enough(self, head: bytes) -> bool:
        raise NotImplementedError

    def _decide(self, head: bytes) -> list[_Stage]:
        raise NotImplementedError

    def finish(self) -> bytes:
        head = b""
        if self._head is not None:
            head, self._head = self._head, None
            self.inner = self._decide(head)
        return _finish_all(self.inner, head)


class _Framing(_Sniffed):
    """A capture's body: de-chunked if it begins with a chunk-size line, else passed on as it is."""

    def __init__(self) -> None:
        super().__init__(sniffing=True)

    def _enough(self, head: bytes) -> bool:
        return b"\n" in head or len(head) >= _MAX_LINE

    def _decide(self, head: bytes) -> list[_Stage]:
        return [_Chunked()] if _CHUNK_SIZE_LINE.match(head) else []


class _Coding(_Sniffed):
    """The header's content codings, undone in reverse order; for a capture, only if the body does not
    already begin as plain text (a client that wrote it decompressed)."""

    def __init__(self, codings: list[str], capture: bool) -> None:
        super().__init__(sniffing=capture)
        self.codings = codings
        if not capture:
            self.inner = self._stages()

    def _enough(self, head: bytes) -> bool:
        return len(head) >= _SNIFF

    def _stages(self) -> list[_Stage]:
        return [_Inflate(c) if c in DECODABLE else _Unsupported(c) for c in reversed(self.codings)]

    def _decide(self, head: bytes) -> list[_Stage]:
        plain = _PLAIN_START.match(head) and not _CONTROL_BYTES.search(head[:_SNIFF])
        return [] if plain else self._stages()


class BodyDecoder:
    """One response body, undone as it arrives; see the module doc.

    `feed` and `finish` return the decoded bytes; `problems` holds what could not be undone, each
    once, as soon as it is known (`take_problems` hands over the new ones). `capture`: the bytes are
    a raw capture a client wrote, not wire bytes."""

    def __init__(self, headers: Mapping[str, str] | None = None, capture: bool = False) -> None:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self._framing = _Framing() if capture else None
        self._coding = _Coding(codings, capture) if codings else None
        self._stages: list[_Sniffed] = [s for s in (self._framing, self._coding) if s is not None]
        self.wire_bytes = 0
        self.bytes = 0
        self.broken: str | None = None
        """Why decoding stopped, when it did: nothing after that point is decoded."""
        self.problems: list[BodyProblem] = []
        self._taken = 0
        self._finished = False

    @property
    def encoding(self) -> str | None:
        """The content coding being undone (`gzip`, `deflate`, `gzip, deflate`), or None."""
        if self._coding is None or not self._coding.inner:
            return None
        return ", ".join(self._coding.codings)

    @property
    def chunked(self) -> bool:
        """A capture's chunked framing is being undone."""
        return self._framing is not None and bool(self._framing.inner)

    @property
    def cut(self) -> bool:
        """The capture's chunked framing shows the body stopped before its last chunk."""
        return self.chunked and self._framing is not None and self._framing.inner[0].ended_early is not None

    @property
    def lost(self) -> int:
        """Bytes of the body that could not be decoded (from where it broke on)."""
        return sum(stage.fed - stage.read for stage in self._leaves() if stage.broken)

    def feed(self, data: bytes) -> bytes:
        self.wire_bytes += len(data)
        if not self._stages:
            self.bytes += len(data)
            return data
        if not data:
            return b""
        out = _through(self._stages, data)
        self.bytes += len(out)
        self._check()
        return out

    def finish(self) -> bytes:
        """The end of the body: what the stages still held, and what the end says about them."""
        if self._finished:
            return b""
        self._finished = True
        out = _finish_all(self._stages)
        self.bytes += len(out)
        self._check()
        for stage in self._leaves():
            if stage.ended_early:
                self.problems.append(BodyProblem(TRUNCATED, stage.ended_early))
            if stage.after:
                what = "the last chunk" if isinstance(stage, _Chunked) else f"the end of the {self.encoding} stream"
                self.problems.append(
                    BodyProblem(TRAILING, f"{size_text(stage.after)} came after {what}: clients drop them unread")
                )
        return out

    def _leaves(self) -> list[_Stage]:
        return [stage for wrapper in self._stages for stage in wrapper.inner]

    def _check(self) -> None:
        """Say so, once, when a stage has just broken: nothing from there on is decoded."""
        if self.broken:
            return
        broken = next((stage for stage in self._leaves() if stage.broken and stage.fed), None)
        if broken is not None:
            where = f"after {size_text(self.bytes)} decoded" if self.bytes else "from its first byte"
            self.broken = f"the body cannot be read {where}: {broken.broken}"
            self.problems.append(BodyProblem(UNDECODABLE, self.broken))

    def take_problems(self) -> list[BodyProblem]:
        """The problems found since the last call."""
        new = self.problems[self._taken :]
        self._taken = len(self.problems)
        return new
