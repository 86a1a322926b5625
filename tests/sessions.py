"""Saved session files with fixed headers (start time, source, model), written by the real writer.

`write_sample(folder)` makes the same set of files every time, so listings and snapshots are
deterministic: each file's mtime is set to the reverse of its start order, so a list that sorted
by mtime instead of by recorded start time would come out wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter
from streamwatch.core.resume import interruption_note
from tests import streams as s

TOOL_INPUT = {"path": "report.md", "content": "Quarterly numbers. " * 40}


def header(started: str, source: str, model: str, session_id: str, prompt: str = "hi") -> dict:
    return {
        "streamwatch": "session",
        "version": 1,
        "id": session_id,
        "started": started,
        "source": source,
        "pid": 4242,
        "host": "devbox",
        "request": {
            "method": "POST",
            "url": "https://api.anthropic.com/v1/messages",
            "headers": {"content-type": "application/json"},
            "body": {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": prompt}]},
        },
    }


def write(
    folder: Path,
    name: str,
    started: str,
    source: str = "live",
    model: str = "claude-sonnet-4-6",
    chunks: list[bytes] | None = None,
    status: int = 200,
    end: End = End.EOF,
    step: float = 0.05,
    retry: bool = False,
    prompt: str = "hi",
    content_type: str | None = None,
) -> Path:
    """One session: a response head at 0.3 s (`content_type`: an event stream, or JSON for an error status),
    the chunks `step` apart, an end record; `retry`: two attempts, the second sent 0.78 s after the first ended."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    chunks = s.complete_text() if chunks is None else chunks
    writer = SessionWriter(path, header(started, source, model, name.split("-")[-1].split(".")[0], prompt))
    with writer:
        t = 0.0
        if retry:
            writer.response(529, {"content-type": "application/json"}, 0.2)
            writer.chunk(b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', 0.21)
            writer.end(End.EOF, 0.22)
            t = 1.0
            writer.attempt(header(started, source, model, "retry")["request"], t, reason="retry", replaces=1,
                           strategy="retry", dropped=[])
        content_type = content_type or ("text/event-stream" if status < 400 else "application/json")
        writer.response(status, {"content-type": content_type}, t + 0.3)
        t += 0.3
        for chunk in chunks:
            t += step
            writer.chunk(chunk, t)
        writer.end(end, t + 0.01)
    return path


SAMPLE = [
    # (file name, started, source, model, chunks, status, retry), listed here newest first
    ("20261122-091500-demo-a1b2c3d4.jsonl", "2026-11-22T09:15:00.000+00:00", "demo", "claude-sonnet-4-6",
     s.complete_text(), 200, False),
    ("20261122-084000-live-e5f6a7b8.jsonl", "2026-11-22T08:40:00.000+00:00", "live", "claude-opus-4-1",
     [s.message_start(), s.ping(), *s.tool_block(0, "write_file", TOOL_INPUT, 40, stop=False)], 200, False),
    ("20261121-170500-proxy-c9d0e1f2.jsonl", "2026-11-21T17:05:00.000+00:00", "proxy", "claude-haiku-4-5",
     [b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'], 529, False),
    ("20261121-120000-live-0a1b2c3d.jsonl", "2026-11-21T12:00:00.000+00:00", "live", "claude-sonnet-4-6",
     [s.message_start(), *s.text_block(0, "Partial answer before the error.", 6)[:4], s.error()], 200, True),
]
PROMPTS = (
    "Explain in three short paragraphs why streaming responses can fail halfway through.",
    "Write the quarterly report to report.md",
    "Summarize this log",
    "hi",
)
"""The first user message of each SAMPLE session, in order."""
CORRUPT = "20261120-080000-live-deadbeef.jsonl"


def write_sample(folder: Path) -> list[Path]:
    """The sample sessions plus one corrupt file; returns the paths newest first (corrupt last)."""
    paths = [
        write(folder, name, started, source, model, chunks, status, retry=retry, prompt=prompt)
        for (name, started, source, model, chunks, status, retry), prompt in zip(SAMPLE, PROMPTS, strict=True)
    ]
    corrupt = folder / CORRUPT
    corrupt.write_bytes(b"\x00\x01 this is not a session\n")
    paths.append(corrupt)
    for age, path in enumerate(paths):
        os.utime(path, (1_700_000_000 + age * 60, 1_700_000_000 + age * 60))
    return paths


FIRST_DRAFT = "A first draft that breaks off in the mid"
CONTINUATION = "dle of its second sentence. Then it ends."
RESUMED_ANSWER = FIRST_DRAFT + CONTINUATION


def write_resumed(
    folder: Path,
    name: str = "20261122-100000-demo-5e55e55e.jsonl",
    *,
    pid: int = 4242,
    host: str = "devbox",
    gap: float = 2.0,
    stall_after: int | None = None,
    complete: bool = True,
    stopped: str | None = None,
    tool_call: bool = False,
) -> Path:
    """Two attempts of one session, as `--on-failure resume` writes them. Attempt 1 answers from 0.3 s,
    one chunk every 0.05 s, and dies inside its text (no message_stop); `gap` seconds after its end,
    attempt 2 continues it after a user turn, on the same pace: with a 6 s silence after `stall_after`
    of its chunks, and, unless `complete`, ending with an error event instead of message_stop; then,
    if `stopped`, why recovery went no further. With `tool_call`, attempt 2 adds no text: only a call of
    `write_file` with `TOOL_INPUT`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    first = header("2026-11-22T10:00:00.000+00:00", "demo", "claude-sonnet-4-6", "5e55e55e")
    first.update(pid=pid, host=host)
    body = first["request"]["body"]
    resumed = {**body, "messages": [*body["messages"], {"role": "assistant", "content": FIRST_DRAFT},
                                    {"role": "user", "content": interruption_note(FIRST_DRAFT)}]}
    stop_reason = "tool_use" if tool_call else "end_turn"
    ending = [s.message_delta(stop_reason, 12), s.message_stop()] if complete else [s.error()]
    added = s.tool_block(0, "write_file", TOOL_INPUT) if tool_call else s.text_block(0, CONTINUATION)
    attempts = [
        [s.message_start(), *s.text_block(0, FIRST_DRAFT)[:-1]],
        [s.message_start(input_tokens=60), *added, *ending],
    ]
    with SessionWriter(path, first) as writer:
        t = 0.0
        for number, chunks in enumerate(attempts, start=1):
            if number == 2:
                t += gap
                link = {"reason": "resume", "replaces": 1, "strategy": "user-turn", "dropped": []}
                writer.attempt({**first["request"], "body": resumed}, t, **link)
            started = t
            writer.response(200, {"content-type": "text/event-stream"}, started + 0.3)
            t = started + 0.3
            for i, chunk in enumerate(chunks):
                t += 0.05 + (6.0 if number == 2 and i == stall_after else 0.0)
                writer.chunk(chunk, round(t, 6))
            t = round(t + 0.01, 6)
            writer.end(End.EOF, t)
        if stopped is not None:
            writer.stop(stopped, t)
    return path
