"""Crafted and damaged session files: a session with one record of every kind, and ways to break it.

`TEMPLATE` is a session file as lines of JSON values: a header, then two attempts (the first dies
with a transport error and is resumed; the second completes) holding every record kind, an SDK
outcome and every link field, and a record of a kind a later version writes. `FIELDS` names every
field of it (every key and list item of every line, the lines themselves included), `KINDS` one line
of each kind. `crafted` puts raw JSON text in place of fields (or takes them out: `MISSING`):
`VALUES` holds one of each JSON type, `DAMAGE` what JSON readers disagree on (NaN, a 5000-digit
number, a key twice...), and `raw_json()` generates any of them.
"""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

from hypothesis import strategies as st

from tests import streams as s

HOST = socket.gethostname()
NO_SUCH_PID = 2**22 + 1
"""A pid past Linux's highest: attach asks whether the writer runs (`kill(pid, 0)`, nothing sent) and hears no."""
MISSING = None
"""`mutated` with this takes the field out instead of putting a value in."""


def _request(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": "https://api.anthropic.com/v1/messages",
        "headers": {"content-type": "application/json", "authorization": "[redacted]"},
        "body": body,
    }


def _sdk(raised: str | None, events: int, stop_reason: str | None, message_stop: bool, seen: str) -> dict[str, Any]:
    return {"raised": raised, "chain": [] if raised is None else ["ConnectionResetError: reset"], "events": events,
            "stop_reason": stop_reason, "message_stop": message_stop, "silent": False, "seen": seen}


def _template() -> list[Any]:
    body = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    header = {"streamwatch": "session", "version": 1, "id": "c0ffee00", "started": "2026-11-22T10:00:00.000+00:00",
              "source": "live", "pid": NO_SUCH_PID, "pid_started": 4242, "pid_ns": 4026531836, "host": HOST,
              "on_failure": "resume", "client": "anthropic-python 2.10.0", "request": _request(body)}
    first = [s.message_start(), *s.text_block(0, "A first draft that breaks off", 6)[:-1]]
    second = [s.message_start(), *s.text_block(0, " and goes on to its end.", 6), s.message_delta("end_turn"),
              s.message_stop()]
    lines: list[Any] = [header, [0.3, "response", {"status": 200, "headers": {"content-type": "text/event-stream"}}]]
    lines += [[round(0.35 + i * 0.05, 3), "chunk", chunk.decode()] for i, chunk in enumerate(first)]
    lines.append([0.8, "chunk64", base64.b64encode(s.ping()).decode()])
    lines.append([0.81, "end", {"kind": "transport_error",
                                "error": {"type": "httpx2.RemoteProtocolError", "message": "peer closed connection"},
                                "sdk": _sdk("httpx2.RemoteProtocolError: peer closed connection", 6, None, False,
                                            "httpx2.RemoteProtocolError: peer closed connection (after 6 events)")}])
    lines.append([0.82, "stopped", {"why": "it asked for the user's word before resuming"}])
    resumed = {**body, "messages": [*body["messages"], {"role": "assistant", "content": "A first draft that breaks off"}]}
    lines.append([2.0, "attempt", {"request": _request(resumed), "reason": "resume", "replaces": 1,
                                   "strategy": "prefill", "dropped": ["a thinking block without its signature"]}])
    lines.append([2.3, "response", {"status": 200, "headers": {"content-type": "text/event-stream"}}])
    lines += [[round(2.35 + i * 0.05, 3), "chunk", chunk.decode()] for i, chunk in enumerate(second)]
    lines.append([3.0, "end", {"kind": "eof", "error": None,
                               "sdk": _sdk(None, len(second), "end_turn", True, "no exception, stop_reason=end_turn")}])
    lines.append([3.1, "annotation", {"by": "a later streamwatch"}])
    return lines


TEMPLATE = _template()


def _fields(value: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    found = [path]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found += _fields(child, (*path, key))
    return found


FIELDS = [(number, *path) for number, line in enumerate(TEMPLATE) for path in _fields(line, ())]
"""Every field of every line: (line index, key or list position, ...); (line index,) is the whole line."""


def _kind(line: Any) -> str:
    return "header" if isinstance(line, dict) else line[1]


KINDS = {}
for _number, _line in enumerate(TEMPLATE):
    KINDS.setdefault(_kind(_line), _number)
"""The first line of each kind (the header, response, chunk, chunk64, end, stopped, attempt, annotation)."""
KIND_FIELDS = [field for field in FIELDS if KINDS[_kind(TEMPLATE[field[0]])] == field[0]
               and "body" not in field[:-2] and "chain" not in field[:-1]]
"""Every field of one line of each kind (of a request body, the body and its first keys: the rest is the
user's own JSON, which nothing reads; of the SDK's exception chain, the list)."""


def original() -> list[bytes]:
    """The template's lines as the writer writes them."""
    return [json.dumps(line, ensure_ascii=False).encode() for line in TEMPLATE]


def crafted(changes: list[tuple[tuple[Any, ...], str | None]]) -> list[bytes]:
    """The template's lines with raw JSON text in place of each field, or without the field when the
    text is MISSING (a line taken out: the lines after it move up). A change inside a field changed
    before it is not made."""
    lines: list[Any] = json.loads(json.dumps(TEMPLATE))
    raws: dict[str, str] = {}
    for field, raw in changes:
        parent = _parent(lines, field[:-1])
        if parent is None:
            continue
        if raw is None:
            parent[field[-1]] = _GONE
        else:
            place = f"\u2063{len(raws)}\u2063"
            raws[json.dumps(place, ensure_ascii=False)] = raw
            parent[field[-1]] = place
    out = []
    for line in lines:
        if line != _GONE:
            text = json.dumps(_without_gone(line), ensure_ascii=False)
            for place, raw in raws.items():
                text = text.replace(place, raw)
            out.append(text.encode("utf-8", "surrogatepass"))
    return out


def _parent(lines: list[Any], path: tuple[Any, ...]) -> Any:
    parent: Any = lines
    for key in path:
        if not isinstance(parent, (dict, list)):
            return None
        parent = parent[key]
    return parent if isinstance(parent, (dict, list)) else None


_GONE = "\u2063gone\u2063"


def _without_gone(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_gone(item) for key, item in value.items() if item != _GONE}
    if isinstance(value, list):
        return [_without_gone(item) for item in value if item != _GONE]
    return value


def file_bytes(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


VALUES = {
    "missing": MISSING,
    "null": "null",
    "false": "false",
    "negative": "-7",
    "a 400-digit number": "9" * 400,
    "a float": "0.25",
    "1e999": "1e999",
    "control characters": json.dumps("\x1b[2J\x1b]0;pwned\x07\r\u202e\x9b31m", ensure_ascii=False),
    "a lone surrogate": '"\\ud800"',
    "a list": '[1, "two", null, {"three": 3}]',
    "an object": '{"type": {"kind": "eof"}, "message": ["x"], "status": "200"}',
}
"""A value of every JSON type, as raw text (and no value at all)."""
DAMAGE = {
    "a 5000-digit number": "9" * 5000,
    "NaN": "NaN",
    "-Infinity": "-Infinity",
    "a key twice": '{"type": "a", "type": "b"}',
    "nested 300 deep": "[" * 300 + "]" * 300,
    "nested 100000 deep": '{"a":' * 100_000 + "0" + "}" * 100_000,
}
"""Values that `json.loads` takes or refuses but the writer never writes: anywhere, they damage the line."""

_KEYS = st.sampled_from(["type", "message", "kind", "status", "headers", "why", "request", "a", ""])


def _text() -> st.SearchStrategy[str]:
    controls = st.characters(max_codepoint=0x9F)
    return st.one_of(
        st.text(max_size=20).map(lambda text: json.dumps(text, ensure_ascii=False)),
        st.text(controls, max_size=20).map(json.dumps),
        st.integers(0xD800, 0xDFFF).map(lambda code: f'"\\u{code:04x}"'),
    )


def _scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["null", "true", "false", "NaN", "Infinity", "-Infinity", "1e999", "-0.0", "1e308"]),
        st.integers().map(str),
        st.integers(19, 6000).map(lambda digits: "9" * digits),
        st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
        _text(),
    )


def raw_json() -> st.SearchStrategy[str]:
    """Any JSON value as raw text: every type, numbers past any range, NaN and Infinity, text with
    control characters and lone surrogates, objects with a key twice, and nesting past any limit."""
    nested = st.recursive(
        _scalar(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
            st.lists(st.tuples(_KEYS, inner), max_size=4).map(
                lambda pairs: "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in pairs) + "}"),
        ),
        max_leaves=8,
    )
    deep = st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth)
    return st.one_of(nested, deep)
