"""The saved sessions at a glance: one summary per session file, newest first.

Each summary comes from replaying the file through the same pipeline as everything else, as it is
read (`load_session` + `OnePass`, as `analyze` plays it), so its verdict badge is the verdict
`analyze` would give, and a big file takes memory for its stream's state only. A file that
cannot be read as a session is listed with the badge `unreadable` and the reason, never raised;
so is a name that is not a regular file (a symbolic link, a FIFO, a device, a folder), which is
never opened. Summaries are cached in memory by (path, mtime, size): listing again only replays
files that changed.

`SessionSummary.to_dict()` is the JSON shape of `streamwatch sessions --json` (one object per file):

    {"path": str, "file": str, "id": str|null, "started": str|null (ISO 8601, as recorded),
     "source": str|null, "client": str|null (what sent the request), "scenario": str|null (the embedded server's, when it played one),
     "prompt": str|null (the start of the first user message, on one line), "model": str|null, "badge": str, "complete": bool|null,
     "termination": str|null, "stop_reason": str|null, "http_status": int|null,
     "duration": float|null (seconds), "waited": float|null (seconds of it between attempts),
     "size": int (bytes), "events": int, "attempts": int,
     "skipped": int (damaged lines left out), "error": str|null (why it is unreadable),
     "fault": str|null (what the recording proxy injected on purpose: the badge ends `(injected)`)}

Events and badge describe the session's last attempt, the one a replay ends on; `duration` runs from
the first request to that attempt's end, and `waited` is the part of it spent between attempts (a
retry's backoff, or the time the user took to press retry or resume): `Took` shows the rest, the
time spent streaming, with the wait apart.
"""

from __future__ import annotations

import datetime
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from streamwatch.core.attempts import Attempt, attempt_count
from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD, StreamState, Termination
from streamwatch.core.events import size_text
from streamwatch.core.files import not_regular
from streamwatch.core.playback import OnePass
from streamwatch.core.recording import Session, home_dir, load_session, session_entries
from streamwatch.core.safe import one_line
from streamwatch.protocol import PROXY_SOURCE, SCENARIO_HEADER, SCENARIO_MODEL_PREFIX

UNREADABLE = "unreadable"
TIME_FORMAT = "%Y-%m-%d %H:%M"
SHORT_TIME_FORMAT = "%m-%d %H:%M"
_FILE_TIME = "%Y%m%d-%H%M%S"
CELL_WIDTH = 40
"""The most of any one recorded value a table shows (headers are untrusted and can be any length)."""


class Cancelled(Exception):
    """Listing the sessions was given up: whoever asked for the list does not want it any more."""


@dataclass(frozen=True, kw_only=True)
class SessionSummary:
    path: Path
    id: str | None = None
    started: str | None = None
    source: str | None = None
    client: str | None = None
    """What sent the request (the session header's `client`): for a proxied session, the app's SDK."""
    scenario: str | None = None
    prompt: str | None = None
    model: str | None = None
    badge: str
    complete: bool | None = None
    termination: str | None = None
    stop_reason: str | None = None
    http_status: int | None = None
    duration: float | None = None
    waited: float | None = None
    size: int
    events: int = 0
    attempts: int = 0
    skipped: int = 0
    error: str | None = None
    fault: str | None = None
    sort_time: float
    """Seconds since the epoch the list is ordered by: the recorded start, else the file name's time."""

    @property
    def readable(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("path", "sort_time")}
        return {"path": str(self.path), "file": self.path.name, **data}

    def columns(
        self, tz: datetime.tzinfo | None = None, time_format: str = TIME_FORMAT
    ) -> tuple[str, str, str, str, str, str, str]:
        """Started, source (with the client, for a session the proxy recorded from another app), request
        (the scenario played, else the prompt's start), model (without its `claude-`), verdict (`↻2`:
        reached in 2 attempts), took, size: terminal-safe text."""
        return (
            started_text(self.started, tz, time_format),
            _cell((self.source or "?") if self.source != PROXY_SOURCE or not self.client else f"{PROXY_SOURCE} {self.client}"),
            _cell(self.scenario or self.prompt or "-"),
            _cell(short_model(self.model) or "-"),
            _cell(self.badge + (f" ↻{self.attempts}" if self.attempts > 1 else "")),
            self.took,
            size_text(self.size),
        )

    @property
    def took(self) -> str:
        """The time spent streaming, and the time between attempts apart: `12.1s (+50s wait)`."""
        if self.duration is None:
            return "-"
        waited = self.waited or 0.0
        streamed = f"{self.duration - waited:.1f}s"
        if waited < 0.05:
            return streamed
        return f"{streamed} (+{waited:.0f}s wait)" if waited >= 10 else f"{streamed} (+{waited:.1f}s wait)"


def short_model(model: str | None) -> str | None:
    """A model name without its `claude-` (`sonnet-4-5`), for tables."""
    return model[len("claude-"):] if model and model.startswith("claude-") and len(model) > 7 else model


def started_text(started: str | None, tz: datetime.tzinfo | None = None, time_format: str = TIME_FORMAT) -> str:
    """A recorded start time in local time (or `tz`); what was recorded if it is not a time."""
    moment = _parse_time(started)
    if moment is None:
        return _cell(started or "-")
    return moment.astimezone(tz).strftime(time_format)


def _cell(value: str) -> str:
    text = one_line(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


class Catalog:
    """Summaries of the session files in a folder (default: the saved sessions), cached by (path, mtime, size)."""

    def __init__(self, folder: Path | None = None, stall_threshold: float = DEFAULT_STALL_THRESHOLD) -> None:
        self._folder = folder
        self.stall_threshold = stall_threshold
        self._cache: dict[Path, tuple[int, int, SessionSummary]] = {}
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return self._folder or home_dir() / "sessions"

    def summaries(self, cancelled: Callable[[], bool] = lambda: False) -> list[SessionSummary]:
        """Every `*.jsonl` name in the folder, newest first by recorded start time. SessionError (one
        line) when the folder is a symbolic link or another user's (`session_entries`); `Cancelled`
        as soon as `cancelled()` says so, even in the middle of a big file."""
        entries = session_entries(self.folder)
        with self._lock:
            found = [self._summary(path, status, cancelled) for path, status in entries]
            for gone in set(self._cache) - {path for path, _ in entries}:
                del self._cache[gone]
        return sorted(found, key=lambda s: (s.sort_time, s.path.name), reverse=True)

    def _summary(self, path: Path, status: os.stat_result, cancelled: Callable[[], bool]) -> SessionSummary:
        if not stat.S_ISREG(status.st_mode):
            return _unreadable(path, 0, f"{not_regular(path, status.st_mode).strerror}: not opened", status.st_mtime)
        cached = self._cache.get(path)
        if cached is not None and cached[:2] == (status.st_mtime_ns, status.st_size):
            return cached[2]
        summary = summarize(path, status.st_size, status.st_mtime, self.stall_threshold, cancelled)
        self._cache[path] = (status.st_mtime_ns, status.st_size, summary)
        return summary


def summarize(
    path: Path, size: int, mtime: float, stall_threshold: float = DEFAULT_STALL_THRESHOLD,
    cancelled: Callable[[], bool] = lambda: False,
) -> SessionSummary:
    """One file's summary: whatever goes wrong is the `unreadable` reason; only `Cancelled` is raised."""
    play = OnePass(stall_threshold, keep=False)

    def take(session: Session) -> None:
        if cancelled():
            raise Cancelled
        play.take(session)

    try:
        session = load_session(path, follow=False, on_record=take)
        attempts = play.finish(session).attempts
    except Cancelled:
        raise
    except Exception as exc:  # one damaged file (even one that trips a bug) must not hide the others
        return _unreadable(path, size, _reason(exc, path), mtime)
    return _readable_summary(path, size, mtime, session, attempts)


def _readable_summary(path: Path, size: int, mtime: float, session: Session, attempts: list[Attempt]) -> SessionSummary:
    header = session.header
    state = attempts[-1].state
    started = _text(header.get("started"))
    moment = _parse_time(started)
    latest = session.latest
    end_t = state.end_t if state.end_t is not None else state.last_t
    termination = state.termination
    return SessionSummary(
        path=path,
        started=started,
        source=_text(header.get("source")),
        client=_text(header.get("client")),
        scenario=_scenario(session),
        prompt=_prompt(session),
        model=_request_model(session) or _text(state.message.get("model")),
        badge=verdict_badge(state),
        size=size,
        id=_text(header.get("id")),
        complete=state.complete,
        termination=termination.value if termination else None,
        stop_reason=state.stop_reason,
        http_status=state.status,
        duration=None if end_t is None else round(latest.started_t + end_t, 3),
        waited=round(sum(attempt.waited for attempt in attempts), 3),
        events=len(state.events),
        attempts=attempt_count(session.attempts),
        skipped=len(session.skipped),
        fault=state.fault,
        sort_time=moment.timestamp() if moment else _file_time(path, mtime),
    )


def verdict_badge(state: StreamState) -> str:
    """The verdict in a word or two: `COMPLETE end_turn`, `ABNORMAL eof`, `HTTP 529`, `STREAMING`; with
    ` (injected)` after it when the failure was injected on purpose (`state.fault`)."""
    termination = state.termination
    if termination == Termination.HTTP_ERROR:
        badge = f"HTTP {state.status}" if state.status is not None else "HTTP error"
    elif termination is None:
        badge = "STREAMING"
    elif state.complete:
        badge = state.complete_words
    else:
        badge = f"ABNORMAL {termination.value}"
    return badge if state.fault is None else f"{badge} (injected)"


def _unreadable(path: Path, size: int, reason: str, mtime: float | None) -> SessionSummary:
    sort_time = _file_time(path, mtime or 0.0)
    return SessionSummary(path=path, badge=UNREADABLE, size=size, error=reason, sort_time=sort_time)


def _reason(exc: Exception, path: Path) -> str:
    """Why, naming the file as "this file" (the summary already says which). Whole: what it quotes
    from the file may hold any line break, which a table shows escaped, on one line."""
    if isinstance(exc, MemoryError):
        return "this file is too large to read"
    text = str(exc).replace(str(path), "this file").strip()
    return text or type(exc).__name__


def _request_model(session: Session) -> str | None:
    for recording in (session.latest, session.attempts[0]):
        body = recording.request.get("body")
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            return body["model"]
    return None


def _prompt(session: Session) -> str | None:
    """The start of the first user message the first request sent, on one line (whitespace runs made one space)."""
    body = session.attempts[0].request.get("body")
    messages = body.get("messages") if isinstance(body, dict) else None
    first = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None) if isinstance(
        messages, list) else None
    content = None if first is None else first.get("content")
    if isinstance(content, list):
        content = " ".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    if not isinstance(content, str):
        return None
    words = " ".join(content[: CELL_WIDTH * 4].split())
    return _cell(words) if words else None


def _scenario(session: Session) -> str | None:
    """The mock scenario the first request asked for: by header, else by a `mock-<scenario>` model."""
    request = session.attempts[0].request
    headers = request.get("headers")
    if isinstance(headers, dict):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == SCENARIO_HEADER and _text(value):
                return value
    model = _request_model(session)
    if model is None or not model.startswith(SCENARIO_MODEL_PREFIX):
        return None
    return model.removeprefix(SCENARIO_MODEL_PREFIX) or None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_time(value: str | None) -> datetime.datetime | None:
    """An ISO 8601 time (UTC without an offset) that every time zone can show, else None."""
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
    return moment if _EARLIEST <= moment <= _LATEST else None


_EARLIEST = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
_LATEST = datetime.datetime(9999, 12, 30, tzinfo=datetime.UTC)


def _file_time(path: Path, mtime: float) -> float:
    """When a file without a readable start time was made: the time in its name, else its mtime."""
    try:
        moment = datetime.datetime.strptime(path.name[:15], _FILE_TIME)
    except ValueError:
        return mtime
    return moment.replace(tzinfo=datetime.UTC).timestamp()


def render_sessions(summaries: list[SessionSummary], tz: datetime.tzinfo | None = None) -> str:
    """The sessions as a plain-text table, newest first as given; below it, why a file is unreadable
    and how many damaged lines were skipped in one that was read."""
    if not summaries:
        return "no saved sessions yet"
    head = ("STARTED", "SOURCE", "REQUEST", "MODEL", "VERDICT", "TOOK", "SIZE", "EVENTS", "ATTEMPTS", "FILE")
    rows = [
        (*s.columns(tz), str(s.events) if s.readable else "-", str(s.attempts) if s.readable else "-",
         one_line(s.path.name))
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    right = {5, 6, 7, 8}
    lines = [
        "  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=False)))
        .rstrip()
        for row in (head, *rows)
    ]
    for s in summaries:
        if s.error is not None:
            lines.append(f"{one_line(s.path.name)}: {UNREADABLE}: {one_line(s.error)}")
        elif s.skipped:
            lines.append(f"{one_line(s.path.name)}: {skipped_text(s.skipped)} (streamwatch analyze lists them)")
    return "\n".join(lines)


def skipped_text(count: int) -> str:
    """`3 damaged lines skipped`: what the reader left out of a session file."""
    return f"{count} damaged line{'s' if count != 1 else ''} skipped"
