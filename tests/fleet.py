"""A fleet of saved sessions of known outcomes, written by the real `SessionWriter`, for the stats.

`write_fleet(folder, count)` writes `count` session files (deterministic for a count) mixing SDKs,
models, sources, clients, upstreams, days, every termination, stalls, retries and resumes, plus a
few files still being written (no end record) and a few that are not sessions, and returns what it
made: a `Made` per session file, holding what `streamwatch stats` must count of it, worked out here
from the times and token counts the generator chose, not by the code under test.

Every stream is small (a handful of records) so that ten thousand are written and read fast. Its
times are session seconds with at most three decimals, and no rate of tokens falls on a tie when
rounded to one decimal, as the verdict gives it.
"""

from __future__ import annotations

import datetime
import functools
import random
from dataclasses import dataclass
from pathlib import Path

from streamwatch.core.diagnose import End
from streamwatch.core.recording import SessionWriter
from tests import streams as s

SDKS = (("python", "2.10.0"), ("python", "2.14.0"), ("js", "1.10.0"), None)
MODELS = ("claude-sonnet-4-6", "claude-opus-4-1", "claude-haiku-4-5")
SOURCES = ("proxy", "live", "demo")
CLIENTS = ("Anthropic/Python 2.14.0", "billing-agent/3.1", "curl/8.5.0")
UPSTREAMS = ("https://api.anthropic.com", "https://gateway-eu.example", "https://gateway-us.example")
DAYS = tuple(datetime.date(2026, 11, 20) + datetime.timedelta(days=n) for n in range(5))
OUTCOMES = ("complete", "eof", "transport_error", "error_event", "http_error", "timeout", "cancelled")
STALLS = (6.5, 8.25, 11.0)
"""Seconds of silence of a stalled stream (the threshold is 5)."""
SPANS = (1.0, 2.0, 4.0)
"""Seconds from the first content to the last byte of a complete stream."""
TOKENS = (100, 200)
RETRY_AFTER_529, RETRY_AFTER_CUT, RESUME = "retry-529", "retry-cut", "resume"
_OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
_TEXT = s.block_start(0, {"type": "text", "text": ""}) + s.delta(0, {"type": "text_delta", "text": "Hello"})
_AGAIN = s.delta(0, {"type": "text_delta", "text": ", again"})
_ERROR = s.error()


@functools.cache
def _start(input_tokens: int) -> bytes:
    return s.message_start(input_tokens=input_tokens) + s.ping()


@functools.cache
def _stop(tokens: int) -> bytes:
    return s.block_stop(0) + s.message_delta("end_turn", tokens) + s.message_stop()


@dataclass(frozen=True)
class Made:
    """One session file and what its stats are, as the generator made it."""

    name: str
    sdk: str | None
    model: str
    source: str
    client: str
    upstream: str
    day: str
    outcome: str | None
    """`complete` or the termination; None for a session without an end record (unfinished)."""
    stall: float | None
    ttfb: float | None
    ttft: float | None
    output_tps: float | None
    retries: int
    resumes: int
    repaid_input_tokens: int
    repaid_output_tokens: int
    repaid_bytes: int


def write_fleet(folder: Path, count: int, seed: int = 13) -> list[Made]:
    """`count` sessions (see the module doc), and two files that are not sessions."""
    folder.mkdir(parents=True, exist_ok=True)
    pick = random.Random(seed)
    made = [_session(folder, n, pick) for n in range(count)]
    (folder / "20261120-000000-live-notasession.jsonl").write_bytes(b"not a session\n")
    (folder / "20261120-000001-live-empty.jsonl").write_bytes(b"")
    return made


def _session(folder: Path, n: int, pick: random.Random) -> Made:
    sdk, model, source = pick.choice(SDKS), pick.choice(MODELS), pick.choice(SOURCES)
    client, upstream, day = pick.choice(CLIENTS), pick.choice(UPSTREAMS), pick.choice(DAYS)
    started = datetime.datetime.combine(day, datetime.time(), datetime.UTC) + datetime.timedelta(seconds=n % 86_000)
    name = f"{started:%Y%m%d-%H%M%S}-{source}-{n:08x}.jsonl"
    headers = {"content-type": "application/json"}
    if sdk is not None:
        headers.update({"x-stainless-lang": sdk[0], "x-stainless-package-version": sdk[1]})
    request = {"method": "POST", "url": f"{upstream}/v1/messages", "headers": headers,
               "body": {"model": model, "max_tokens": 1024, "stream": True, "messages": [{"role": "user", "content": "hi"}]}}
    header = {"streamwatch": "session", "version": 1, "id": f"{n:08x}", "started": started.isoformat(timespec="milliseconds"),
              "source": source, "pid": 4242, "host": "fleet", "client": client,
              **({"upstream": upstream} if source == "proxy" else {}), "request": request}
    recovery = pick.choice((None,) * 7 + (RETRY_AFTER_529, RETRY_AFTER_CUT, RESUME))
    outcome = pick.choice(OUTCOMES) if pick.random() < 0.5 else "complete"
    unfinished = pick.random() < 0.01
    stall = pick.choice(STALLS) if pick.random() < 0.2 and outcome not in ("http_error",) else None
    ttfb, ttft = pick.choice((0.05, 0.2, 0.35)), pick.choice((0.5, 0.8, 1.25))
    span, tokens, input_tokens = pick.choice(SPANS), pick.choice(TOKENS), pick.choice((25, 400))
    retries = resumes = repaid_in = repaid_out = repaid_bytes = 0
    with SessionWriter(folder / name, header) as writer:
        t0 = 0.0
        if recovery is not None:
            first_bytes, first_out = _first_attempt(writer, recovery, input_tokens)
            t0 = 3.0
            link = {"reason": "resume", "strategy": "user-turn"} if recovery == RESUME else {"reason": "retry",
                                                                                            "strategy": "retry"}
            writer.attempt(request, t0, replaces=1, dropped=[], **link)
            retries, resumes = (0, 1) if recovery == RESUME else (1, 0)
            repaid_in = 0 if outcome == "http_error" else input_tokens  # an HTTP error reports no usage
            repaid_out, repaid_bytes = first_out, first_bytes
        facts = _attempt(writer, t0, outcome, stall, ttfb, ttft, span, tokens, input_tokens, unfinished)
    return Made(
        name=name, sdk=None if sdk is None else " ".join(sdk), model=model, source=source, client=client,
        upstream=upstream, day=day.isoformat(), outcome=None if unfinished else outcome,
        stall=None if outcome == "http_error" else stall, retries=retries, resumes=resumes,
        repaid_input_tokens=repaid_in, repaid_output_tokens=repaid_out, repaid_bytes=repaid_bytes, **facts,
    )


def _first_attempt(writer: SessionWriter, recovery: str, input_tokens: int) -> tuple[int, int]:
    """An attempt that failed, at session time 0: the bytes it received and the output tokens it reported."""
    if recovery == RETRY_AFTER_529:
        writer.response(529, {"content-type": "application/json"}, 0.1)
        writer.chunk(_OVERLOADED, 0.15)
        writer.end(End.EOF, 0.16)
        return len(_OVERLOADED), 0
    writer.response(200, {"content-type": "text/event-stream"}, 0.05)
    body = [s.message_start(input_tokens=input_tokens) + s.block_start(0, {"type": "text", "text": ""}),
            s.delta(0, {"type": "text_delta", "text": "The answer is"}) + s.block_stop(0) + s.message_delta("end_turn", 7)]
    writer.chunk(body[0], 0.1)
    writer.chunk(body[1], 0.5)
    writer.end(End.EOF, 0.501)
    return sum(len(chunk) for chunk in body), 7 if recovery == RETRY_AFTER_CUT else 0


def _attempt(writer: SessionWriter, t0: float, outcome: str, stall: float | None, ttfb: float, ttft: float,
             span: float, tokens: int, input_tokens: int, unfinished: bool) -> dict[str, float | None]:
    """The session's last attempt, sent at session time `t0`: its TTFB, TTFT and output rate as made."""
    if outcome == "http_error":
        writer.response(529, {"content-type": "application/json"}, t0 + ttfb)
        writer.chunk(_OVERLOADED, t0 + ttfb)
        if not unfinished:
            writer.end(End.EOF, t0 + ttfb + 0.001)
        return {"ttfb": ttfb, "ttft": None, "output_tps": None}
    writer.response(200, {"content-type": "text/event-stream"}, t0 + ttfb / 2)
    writer.chunk(_start(input_tokens), t0 + ttfb)
    writer.chunk(_TEXT, t0 + ttft)
    last = ttft
    if stall is not None:
        last = ttft + stall
        writer.chunk(_AGAIN, t0 + last)
    tps = None
    if outcome == "complete":
        last += span
        writer.chunk(_stop(tokens), t0 + last)
        tps = round(tokens / (last - ttft), 1)
    elif outcome == "error_event":
        last += 0.25
        writer.chunk(_ERROR, t0 + last)
    if unfinished:
        return {"ttfb": ttfb, "ttft": ttft, "output_tps": tps}
    kind = {"transport_error": End.TRANSPORT_ERROR, "timeout": End.TIMEOUT, "cancelled": End.CANCELLED}.get(
        outcome, End.EOF)
    error = {"type": "httpx2.ReadError", "message": "connection reset"} if kind is End.TRANSPORT_ERROR else None
    writer.end(kind, t0 + last + 0.001, error)
    return {"ttfb": ttfb, "ttft": ttft, "output_tps": tps}
