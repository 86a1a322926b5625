"""Linear-time tracking of whether a growing JSON text is still a valid prefix.

`JsonPrefix.feed()` consumes each new piece once, carrying a small state (container stack, what is
expected next, where inside a string, number or literal it stands) from piece to piece, so a tool
input streamed as 50 000 deltas costs one pass over its characters, never a re-parse per delta.
String bodies and whitespace are skipped with compiled regular expressions, since they are most of
a tool input's bytes.
"""

from __future__ import annotations

import re

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


class JsonPrefix:
    def __init__(self) -> None:
        self.length = 0
        self.error: str | None = None
        self.error_at: int | None = None
        self._stack: list[str] = []
        self._mode = _VALUE
        self._string_is_key = False
        self._pending = 0
        self._number = _N_INT
        self._literal = ""

    @property
    def valid(self) -> bool:
        """Still a prefix of some valid JSON text."""
        return self._mode != _ERROR

    @property
    def complete(self) -> bool:
        """A whole JSON value has been read (trailing whitespace allowed)."""
        if self._mode == _DONE:
            return True
        return self._mode == _NUMBER and not self._stack and self._number in _NUMBER_CAN_END

    @property
    def depth(self) -> int:
        return len(self._stack)

    def feed(self, text: str) -> None:
        if self._mode == _ERROR or not text:
            self.length += len(text)
            return
        base = self.length
        self.length += len(text)
        i, n = 0, len(text)
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
        self.error = f"{why} at character {at}"
        self.error_at = at
