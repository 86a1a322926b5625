"""The output boundary: untrusted text made inert and visible for any terminal.

Everything streamwatch shows comes from somewhere it does not control: the wire (model output, tool
JSON, error messages, headers, stop reasons), a session file (any field of its header), a file name.
`printable()` is the one rule that makes such text safe to print: a character that a terminal would
act on or draw as nothing is shown as a visible escape instead, `\\x1b`, `\\u200b`, `\\U000e0041`:

- controls (category Cc): ESC (so no CSI/OSC sequence), BEL, CR, backspace, NUL, DEL, and the C1
  controls 0x80-0x9f (0x9b is a CSI on its own); only newline and tab are kept, as layout;
- format characters (Cf): zero-width space and joiners, the byte order mark, bidirectional marks,
  embeddings, overrides and isolates (a right-to-left override reverses what follows), the tag
  characters U+E0000-U+E007F that can spell hidden text, the soft hyphen;
- line and paragraph separators (Zl, Zp) and lone surrogates (Cs, which cannot be written as UTF-8);
- the rest of Unicode's default-ignorable characters, drawn as nothing though they are letters or
  marks (Hangul fillers, the combining grapheme joiner, unassigned code points kept for invisible
  use); a variation selector is kept right after a visible character, where it picks an emoji's or
  an ideograph's look, but a run of them (a way to hide data) is shown from the second one on.

Private-use characters (Co) and code points this Python's Unicode tables do not know yet (Cn) stay as
they are: a terminal draws them as a glyph or a box, and escaping them would spoil emoji newer than
those tables. A backslash stays as it is.

`one_line()` also keeps a value on its row (a newline in a stop reason or a file name is shown as
`\\n`). `SafeWriter` puts the rule on a whole output stream, and writes in what the stream's encoding
can hold (`·` becomes `\\xb7` on an ASCII terminal instead of raising); bytes that are data (an
export) pass unchanged to a pipe or a file, and under the rule to a terminal.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import TextIO

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_LAYOUT = frozenset("\n\t")
_VARIATION_SELECTORS = frozenset(
    [*map(chr, range(0x180B, 0x180E)), "\u180f", *map(chr, range(0xFE00, 0xFE10)),
     *map(chr, range(0xE0100, 0xE01F0))]
)
_IGNORABLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
)
"""Default-ignorable code points (Unicode's DerivedCoreProperties) outside the categories above; the
variation selectors among them are `_VARIATION_SELECTORS`."""
_PLAIN = (
    "\n\t\x20-\x7e\xa0-\xac\xae-\u034e\u0350-\u05ff\u0606-\u061b\u061d-\u06dc\u06de-\u06ff\u0900-\u0e7f"
    "\u10a0-\u10ff\u1e00-\u1fff\u2000-\u200a\u2010-\u2027\u2030-\u205e\u20a0-\u20bf\u2100-\u218b\u2190-\u23ff"
    "\u2500-\u27bf\u3000-\u303f\u3041-\u3096\u3099-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uff01-\uff60"
    "\U0001f300-\U0001f64f"
)
"""Characters that are never hidden (ASCII, Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts,
punctuation, symbols, CJK, Hangul, emoji; tests/core/test_safe.py checks each): text made of them is
passed over at the speed of a regular expression."""
_LOOK = re.compile(f"[^{_PLAIN}]+")
"""Runs of anything else: only these need a closer look."""


def _hidden(char: str) -> bool:
    if unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return char not in _LAYOUT
    code = ord(char)
    return char not in _VARIATION_SELECTORS and any(low <= code <= high for low, high in _IGNORABLE)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _shown(match: re.Match[str]) -> str:
    start = match.start()
    previous = match.string[start - 1] if start else "\n"
    out = []
    for char in match.group():
        if _hidden(char) or (
            char in _VARIATION_SELECTORS
            and (previous.isspace() or previous in _VARIATION_SELECTORS or _hidden(previous))
        ):
            out.append(_escape(char))
        else:
            out.append(char)
        previous = char
    return "".join(out)


def printable(text: str) -> str:
    """The text with every control and invisible character shown as an escape; newlines and tabs kept."""
    return _LOOK.sub(_shown, text)


def one_line(text: str) -> str:
    """`printable`, kept on one row: line breaks shown as \\n, tabs as spaces."""
    return printable(text).replace("\n", "\\n").replace("\t", " ")


def written(text: str, encoding: str) -> str:
    """What a `SafeWriter` over a stream in `encoding` writes for `text`: `printable`, and what that
    encoding cannot hold as a backslash escape (`…` is `\\u2026` in ASCII). What a table pads is this."""
    return _encodable(printable(text), encoding, codecs.lookup(encoding).name != "utf-8")


def _encodable(shown: str, encoding: str, narrow: bool) -> str:
    return shown.encode(encoding, "backslashreplace").decode(encoding) if narrow else shown


class SafeWriter:
    """A text stream that passes everything written to it through `printable`, in what the stream it
    wraps can encode (`written`); `broken` once a write found the reader gone (BrokenPipeError, raised on)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self._narrow = codecs.lookup(self.encoding).name != "utf-8"
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        """Data bytes shown on a terminal: a character split between two writes is decoded whole."""

    def write(self, text: str) -> int:
        shown = _encodable(printable(text), self.encoding, self._narrow)
        try:
            self.stream.write(shown)
        except BrokenPipeError:
            self.broken = True
            raise
        return len(text)

    def write_data(self, data: bytes) -> None:
        """Bytes that are data, not words for a person (an export): exactly as they are to a pipe or a
        file, so what reads them gets the bytes; to a terminal, as UTF-8 text under the rule above."""
        if self.isatty():
            self.write(self._text.decode(data))
            return
        self.flush()
        try:
            self.stream.buffer.write(data)
        except BrokenPipeError:
            self.broken = True
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self.broken = True
            raise

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()
