"""Linear-time tracking of whether a growing JSON text is still a valid prefix.

`JsonPrefix.feed()` only notes each new piece; the first question asked after it (`valid`,
`complete`, `error`...) reads what came since the last one, once, carrying a small state (container
stack, what is expected next, where inside a string, number or literal it stands) from reading to
reading, so a tool input streamed as 50 000 deltas costs one pass over its characters, never a
re-parse per delta, and the pieces are read together, not one call per 20-character delta.

Most of the reading is done by the standard library's JSON scanner (C): where a value opens (`{` or
`[`), the scanner is tried on the rest of the text, and a value it reads whole is skipped in one
call. Where it cannot (the value runs past the text read so far, or something in it is wrong) the
per-character machine reads on, with string bodies and whitespace skipped by compiled regular
expressions; it alone decides what is wrong, and where. A failed try costs at most the rest of the
text, and the tries of one reading are budgeted to a few times its length: the work stays linear
whatever the input.
"""

from __future__ import annotations

import json
import re
from json.scanner import make_scanner

_WS = re.compile(r"[ \t\n\r]*")
_STRING_BODY = re.compile(r'[^"\\\x00-\x1f]*')
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")

# What the tracker expects next.
_VALUE, _VALUE_OR_CLOSE, _KEY, _KEY_OR_CLOSE, _COLON, _AFTER_VALUE = range(6)
_STRING, _ESCAPE, _UNICODE, _NUMBER, _LITERAL, _DONE, _ERROR = range(6, 13)
# Where inside a number it stands; the last four may end the number.
_N_MINUS, _N_DOT, _N_E, _N_ESIGN, _N_ZERO, _N_INT, _N_FRAC, _N_EXP = range(8)
_NUMBER_CAN_END = frozenset({_N_ZERO, _N_INT, _N_FRAC, _N_EXP})
_LITERALS = {"t": "true", "f": "false", "n": "null"}
_READ_AT_ONCE = 1 << 16
"""Pieces are joined and read in runs of about this many characters: few enough that a run's values
(which the scanner builds while it reads them) stay small next to the input."""
_TRIES = 4
"""Failed scanner tries of one reading may cost this many times its length, then the machine reads alone."""


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_scan_value = make_scanner(json.JSONDecoder(parse_constant=_not_json))
"""The standard library's scanner, strict (no control characters in strings), refusing NaN and Infinity."""


class JsonPrefix:
    def __init__(self) -> None:
        self.length = 0
        self._read = 0
        self._unread: list[str] = []
        self._error: str | None = None
        self._error_at: int | None = None
        self._stack: list[str] = []
        self._mode = _VALUE
        self._string_is_key = False
        self._pending = 0
        self._number = _N_INT
        self._literal = ""

    @property
    def valid(self) -> bool:
        """Still a prefix of some valid JSON text."""
        self._catch_up()
        return self._mode != _ERROR

    @property
    def complete(self) -> bool:
        """A whole JSON value has been read (trailing whitespace allowed)."""
        self._catch_up()
        if self._mode == _DONE:
            return True
        return self._mode == _NUMBER and not self._stack and self._number in _NUMBER_CAN_END

    @property
    def depth(self) -> int:
        self._catch_up()
        return len(self._stack)

    @property
    def error(self) -> str | None:
        """What is wrong, and at which character (None while valid)."""
        self._catch_up()
        return self._error

    @property
    def error_at(self) -> int | None:
        """The offset of the first character that cannot continue valid JSON."""
        self._catch_up()
        return self._error_at

    def feed(self, text: str) -> None:
        self.length += len(text)
        if self._mode != _ERROR and text:
            self._unread.append(text)

    def _catch_up(self) -> None:
        """Read what was fed since the last question, in runs of about `_READ_AT_ONCE` characters."""
        if not self._unread:
            return
        unread, self._unread = self._unread, []
        run: list[str] = []
        size = 0
        for piece in unread:
            run.append(piece)
            size += len(piece)
            if size >= _READ_AT_ONCE:
                self._scan("".join(run))
                run, size = [], 0
        if run:
            self._scan("".join(run))

    def _scan(self, text: str) -> None:
        if self._mode == _ERROR:
            return
        base = self._read
        self._read += len(text)
        i, n = 0, len(text)
        tries = _TRIES * n
        stack = self._stack
        mode = self._mode
        while i < n:
            if mode == _STRING:
                i = _STRING_BODY.match(text, i).end()
                if i == n:
                    break
                c = text[i]
                i += 1
                if c == '"':
                    mode = _COLON if self._string_is_key else _AFTER_VALUE
                elif c == "\\":
                    mode = _ESCAPE
                else:
                    return self._fail(base + i - 1, "control character inside a string")
                continue
            c = text[i]
            if mode == _ESCAPE:
                i += 1
                if c == "u":
                    mode, self._pending = _UNICODE, 4
                elif c in '"\\/bfnrt':
                    mode = _STRING
                else:
                    return self._fail(base + i - 1, f"invalid escape \\{c}")
                continue
            if mode == _UNICODE:
                if c not in _HEX:
                    return self._fail(base + i, "invalid \\u escape")
                i += 1
                self._pending -= 1
                if not self._pending:
                    mode = _STRING
                continue
            if mode == _LITERAL:
                if c != self._literal[0]:
                    return self._fail(base + i, "invalid literal")
                i += 1
                self._literal = self._literal[1:]
                if not self._literal:
                    mode = _AFTER_VALUE if stack else _DONE
                continue
            if mode == _NUMBER:
                state = self._number
                if c in _DIGITS:
                    if state in (_N_MINUS, _N_INT):
                        state = _N_ZERO if state == _N_MINUS and c == "0" else _N_INT
                    elif state in (_N_DOT, _N_FRAC):
                        state = _N_FRAC
                    elif state in (_N_E, _N_ESIGN, _N_EXP):
                        state = _N_EXP
                    else:
                        return self._fail(base + i, "leading zero in a number")
                elif c == "." and state in (_N_ZERO, _N_INT):
                    state = _N_DOT
                elif c in "eE" and state in (_N_ZERO, _N_INT, _N_FRAC):
                    state = _N_E
                elif c in "+-" and state == _N_E:
                    state = _N_ESIGN
                elif state in _NUMBER_CAN_END:
                    mode = _AFTER_VALUE
                    continue
                else:
                    return self._fail(base + i, "malformed number")
                self._number = state
                i += 1
                continue
            if c in " \t\n\r":
                i = _WS.match(text, i).end()
                continue
            if (c == "{" or c == "[") and mode <= _VALUE_OR_CLOSE and tries > 0:
                try:
                    i = _scan_value(text, i)[1]
                except (StopIteration, ValueError, RecursionError):
                    tries -= n - i
                else:
                    mode = _AFTER_VALUE if stack else _DONE
                    continue
            i += 1
            if mode == _DONE:
                return self._fail(base + i - 1, "text after the end of the JSON value")
            if mode in (_VALUE, _VALUE_OR_CLOSE):
                if c == "]" and mode == _VALUE_OR_CLOSE:
                    stack.pop()
                    mode = _AFTER_VALUE if stack else _DONE
                elif c == "{":
                    stack.append("}")
                    mode = _KEY_OR_CLOSE
                elif c == "[":
                    stack.append("]")
                    mode = _VALUE_OR_CLOSE
                elif c == '"':
                    mode, self._string_is_key = _STRING, False
                elif c in _DIGITS or c == "-":
                    mode = _NUMBER
                    self._number = _N_MINUS if c == "-" else (_N_ZERO if c == "0" else _N_INT)
                elif c in _LITERALS:
                    mode, self._literal = _LITERAL, _LITERALS[c][1:]
                else:
                    return self._fail(base + i - 1, f"unexpected {c!r} where a value should be")
            elif mode in (_KEY, _KEY_OR_CLOSE):
                if c == '"':
                    mode, self._string_is_key = _STRING, True
                elif c == "}" and mode == _KEY_OR_CLOSE:
                    stack.pop()
                    mode = _AFTER_VALUE if stack else _DONE
                else:
                    return self._fail(base + i - 1, f"unexpected {c!r} where a key should be")
            elif mode == _COLON:
                if c != ":":
                    return self._fail(base + i - 1, f"expected ':' after a key, got {c!r}")
                mode = _VALUE
            elif mode == _AFTER_VALUE:
                if not stack:
                    return self._fail(base + i - 1, "text after the end of the JSON value")
                if c == ",":
                    mode = _KEY if stack[-1] == "}" else _VALUE
                elif c == stack[-1]:
                    stack.pop()
                    mode = _AFTER_VALUE if stack else _DONE
                else:
                    return self._fail(base + i - 1, f"unexpected {c!r} after a value")
        if mode == _AFTER_VALUE and not stack:
            mode = _DONE
        self._mode = mode

    def _fail(self, at: int, why: str) -> None:
        self._mode = _ERROR
        self._unread.clear()
        self._error = f"{why} at character {at}"
        self._error_at = at
