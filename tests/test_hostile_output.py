"""Hostile bytes stay inert in every text a command writes.

Each hostile string goes into every field of a stream and of a session header at once, each field
marked by its own prefix (`s:` the stop reason, `f:` the file name, ...). Then every command runs on
them, in-process with its raw output bytes captured: the files (`analyze`, `analyze --json`,
`sessions`, `sessions --json`) and a live run of the same stream from a loopback server (`run
--headless`, `run --json`). Whatever a command writes, on stdout or stderr, must decode as UTF-8 and
hold no control character but its own newlines, no format or separator character and no invisible
filler; and wherever a command shows a field, the hostile string is there in its visible escaped form
(in JSON, as the exact data). HOSTILE x FIELDS x COMMANDS is the README's count.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from pathlib import Path

import pytest

from streamwatch.cli import main
from tests import streams as s
from tests.sessions import header
from tests.stub import Canned, StubServer

HOSTILE = {
    # name: (the text, how a terminal must show it)
    "osc-title": ("\x1b]0;PWNED\x07", "\\x1b]0;PWNED\\x07"),
    "osc-hyperlink": ("\x1b]8;;x\x1b\\y", "\\x1b]8;;x\\x1b\\y"),
    "csi-clear": ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),
    "c1-csi": ("\x9b31mred", "\\x9b31mred"),
    "bel-bs-nul": ("a\x07b\x08c\x00d", "a\\x07b\\x08c\\x00d"),
    "cr-del-vt": ("a\rb\x7fc\x0bd", "a\\x0db\\x7fc\\x0bd"),
    "zero-width": ("ze\u200bro\u200d\ufeff", "ze\\u200bro\\u200d\\ufeff"),
    "tags": ("tag\U000e0070\U000e0077", "tag\\U000e0070\\U000e0077"),
    "bidi": ("\u202egnp.exe\u2066\u061c", "\\u202egnp.exe\\u2066\\u061c"),
    "lone-surrogate": ("lone\udc9b", "lone\\udc9b"),
    "line-breaks": ("one\ntwo\u2028three", "one\\ntwo\\u2028three"),
    "rich-markup": ("[bold red]x[/]", "[bold red]x[/]"),
    "rich-link": ("[link=x:y]z[/link]", "[link=x:y]z[/link]"),
    "invisible-letters": ("a\ufe00\ufe01\u3164b", "a\ufe00\\ufe01\\u3164b"),
}

STREAM_FIELDS = {
    # field: its prefix
    "stop_reason": "s:", "error type": "E:", "error message": "e:", "model": "m:", "block type": "b:",
    "tool name": "n:", "text": "t:", "tool JSON": "j:", "unknown event type": "u:", "header": "h:",
    "request-id": "r:", "record kind": "k:",
}
HEADER_FIELDS = {
    "version": "v:", "source": "o:", "host": "H:", "started": "d:", "model (request)": "M:",
    "scenario": "c:", "file name": "f:",
}
FIELDS = {**STREAM_FIELDS, **HEADER_FIELDS}

SHOWN = {
    # command: the fields it shows (the others must be inert all the same)
    "analyze": {"stop_reason", "error type", "error message", "block type", "tool name", "unknown event type",
                "record kind", "version", "file name"},
    "analyze --json": {"stop_reason", "error type", "error message", "block type", "tool name", "text"},
    "sessions": {"stop_reason", "version", "source", "started", "model (request)", "file name"},
    "sessions --json": {"stop_reason", "version", "source", "started", "model (request)", "scenario", "file name"},
    "run --headless": {"stop_reason", "error type", "error message", "model", "block type", "tool name",
                       "unknown event type", "request-id"},
    "run --json": {"stop_reason", "error type", "error message", "block type", "tool name", "text"},
}
COMMANDS = list(SHOWN)

INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u034f"}
SELECTORS = {chr(c) for c in range(0xFE00, 0xFE10)} | {chr(c) for c in range(0xE0100, 0xE01F0)}


def inert(raw: bytes) -> str:
    """The text of a command's raw output, asserted free of anything a terminal acts on or hides."""
    text = raw.decode("utf-8")
    for at, char in enumerate(text):
        if char == "\n":
            continue
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cf", "Cs", "Zl", "Zp") and char not in INVISIBLE, (
            f"raw {char!r} at {at}: {text[max(0, at - 60):at + 20]!r}")
        if char in SELECTORS:
            assert at and not text[at - 1].isspace() and text[at - 1] not in SELECTORS, f"hidden selector at {at}"
    return text


def file_part(text: str) -> str:
    """What a file name can hold of the text: no slash, no NUL."""
    return text.replace("/", "|").replace("\x00", "0")


def event(data: dict, name: str | None = None) -> bytes:
    """One SSE event: the name as raw bytes (a lone surrogate as the byte it stands for), the data as
    JSON, which can carry a control character only escaped."""
    name_line = f"event: {name or data['type']}\n".encode("utf-8", "surrogateescape")
    return name_line + f"data: {json.dumps(data)}\n\n".encode()


def message_start(model: str = "claude-sonnet-4-6") -> bytes:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
               "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
    return event({"type": "message_start", "message": message})


def block(index: int, content_block: dict, deltas: list[dict]) -> list[bytes]:
    start = event({"type": "content_block_start", "index": index, "content_block": content_block})
    middle = [event({"type": "content_block_delta", "index": index, "delta": delta}) for delta in deltas]
    return [start, *middle, event({"type": "content_block_stop", "index": index})]


def stream_a(h: str) -> list[bytes]:
    """Every stream field but the error ones, in one stream that ends complete."""
    text = "t:" + h
    return [
        message_start("m:" + h),
        event({"type": "u:" + h}),
        *block(0, {"type": "text", "text": ""},
               [{"type": "text_delta", "text": text[i:i + 4]} for i in range(0, len(text), 4)]),
        *block(1, {"type": "tool_use", "id": "toolu_1", "name": "n:" + h, "input": {}},
               [{"type": "input_json_delta", "partial_json": '{"content": "j:' + h + '"}'}]),
        *block(2, {"type": "b:" + h}, []),
        event({"type": "message_delta", "delta": {"stop_reason": "s:" + h}, "usage": {"output_tokens": 9}}),
        event({"type": "message_stop"}),
    ]


def stream_b(h: str) -> list[bytes]:
    """An error event with a hostile type and message."""
    error = {"type": "error", "error": {"type": "E:" + h, "message": "e:" + h}}
    return [message_start(), *block(0, {"type": "text", "text": ""}, [{"type": "text_delta", "text": "Partial"}])[:2],
            event(error)]


def wire_headers(h: str) -> dict[str, str]:
    return {"content-type": "text/event-stream", "request-id": "r:" + h, "x-hostile": "h:" + h}


def write_session(path: Path, head: dict, chunks: list[bytes], headers: dict[str, str], extra: str = "") -> Path:
    """A session file as anyone could craft it (JSON escapes carry even a lone surrogate)."""
    records: list[list] = [[0.1, "response", {"status": 200, "headers": headers}]]
    for number, chunk in enumerate(chunks, start=1):
        try:
            records.append([0.1 + number / 100, "chunk", chunk.decode("utf-8")])
        except UnicodeDecodeError:
            records.append([0.1 + number / 100, "chunk64", base64.b64encode(chunk).decode("ascii")])
    records.append([0.2 + len(chunks) / 100, "end", {"kind": "eof", "error": None}])
    path.write_text("".join(json.dumps(line) + "\n" for line in [head, *records]) + extra, encoding="ascii")
    return path


def write_files(folder: Path, h: str) -> list[Path]:
    """The sessions of one hostile string: its two streams, and one whose header and file name are
    hostile, and one with a hostile version."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = header("2026-11-22T09:00:00+00:00", "live", "claude-sonnet-4-6", "plain")
    damaged = json.dumps([0.5, "k:" + h, 1]) + "\n"
    hostile_head = header("d:" + h, "o:" + h, "M:" + h, "i:" + h)
    hostile_head["host"] = "H:" + h
    hostile_head["request"]["headers"]["x-streamwatch-scenario"] = "c:" + h
    versioned = header("2026-11-22T09:03:00+00:00", "live", "claude-sonnet-4-6", "v") | {"version": "v:" + h}
    return [
        write_session(folder / "20261122-090000-live-a.jsonl", plain, stream_a(h), wire_headers(h), damaged),
        write_session(folder / "20261122-090100-live-b.jsonl", plain, stream_b(h), wire_headers(h)),
        write_session(folder / f"20261122-090200-f:{file_part(h)}.jsonl", hostile_head, s.complete_text(),
                      {"content-type": "text/event-stream"}),
        write_session(folder / "20261122-090300-live-v.jsonl", versioned, s.complete_text(),
                      {"content-type": "text/event-stream"}),
    ]


def over_http(h: str) -> str:
    """The header value a server sends for the text: its UTF-8 bytes, as the stub writes latin-1."""
    return h.encode("utf-8", "surrogateescape").decode("latin-1")


@pytest.fixture(scope="module")
def stub():
    with StubServer([Canned()]) as server:
        yield server


def run_command(command: str, capsysbinary, files: list[Path], stub: StubServer, h: str) -> list[tuple[int, bytes]]:
    """Each invocation of the command on the hostile files (or live, from the stub): (status, stdout+stderr)."""
    json_flag = ["--json"] if command.endswith("--json") else []
    if command.startswith("analyze"):
        argvs = [["analyze", str(path), *json_flag] for path in files]
    elif command.startswith("sessions"):
        argvs = [["sessions", *json_flag]]
    else:
        argvs = [["run", "--headless", *json_flag, "--base-url", stub.base_url, "--prompt", "hi"]] * 2
    outputs = []
    for number, argv in enumerate(argvs):
        if argv[0] == "run":
            chunks = stream_a(h) if number == 0 else stream_b(h)
            headers = wire_headers(h if carried(h) else "plain")
            headers = {name: over_http(value) for name, value in headers.items()}
            stub.responses = [Canned(200, headers, chunks)]
        code = main(argv)
        out, err = capsysbinary.readouterr()
        outputs.append((code, out, err))
    return outputs


@pytest.fixture
def home(no_credentials, tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STREAMWATCH_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "home"


def carried(h: str) -> bool:
    """Whether HTTP can carry the text in a header (no control bytes, which the client refuses)."""
    return not any(ord(c) < 0x20 or c == "\x7f" for c in h) and not any(0xD800 <= ord(c) < 0xE000 for c in h)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_strings_in_every_field_stay_inert_and_visible(name, command, home, capsysbinary, stub):
    h, visible = HOSTILE[name]
    files = write_files(home / "sessions", h)
    outputs = run_command(command, capsysbinary, files, stub, h)
    texts = []
    for code, out, err in outputs:
        assert code in (0, 1, 2), err
        text = inert(out) + inert(err)
        assert "Traceback" not in text
        texts.append(text)
    everything = "\n".join(texts)
    for field in SHOWN[command]:
        if field == "request-id" and not carried(h):
            continue  # the client refuses such a header: the run fails, still inert
        if field == "file name" and "\x00" in h:
            continue
        prefix = FIELDS[field]
        if command.endswith("--json"):
            data = [json.loads(out) for _, out, _ in outputs if out]
            wanted = prefix + (file_part(h) if field == "file name" else h)
            assert _holds(data, wanted) or (field == "version" and wanted in everything), field
        else:
            shown = prefix + (file_part(visible) if field == "file name" else visible)
            assert shown in everything or prefix + repr(h)[1:-1] in everything, (field, everything)


def _holds(data: object, wanted: str) -> bool:
    """Whether some string in the JSON data holds `wanted` exactly."""
    if isinstance(data, str):
        return wanted in data
    if isinstance(data, dict):
        return any(_holds(value, wanted) for value in data.values())
    if isinstance(data, list):
        return any(_holds(value, wanted) for value in data)
    return False
