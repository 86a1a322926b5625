"""Session files: the recording of an HTTP exchange, one JSON Lines file per session.

Line 1 is a header object: `{"streamwatch": "session", "version": 1, "id", "started", "source",
"pid", "host", "request": {"method", "url", "headers", "body"}}`, on Linux also the writer's
`pid_started` and `pid_ns` (so `attach` can tell it from a later process with its pid), and
`on_failure` (`retry` or `resume`) when the run was told to recover. Every later line is one record
`[t, kind, payload]`, `t` in seconds since the session's first request was sent:

    [t, "response", {"status": 200, "headers": {...}}]
    [t, "chunk", "body bytes as text"]        (valid UTF-8)
    [t, "chunk64", "body bytes as base64"]    (anything else, e.g. half a character)
    [t, "end", {"kind": "eof"|"transport_error"|"timeout"|"cancelled", "error": {...}|null, ...}]
    [t, "attempt", {"request": {...}, ...}]   (another request: the records after it are its own)
    [t, "stopped", {"why": "..."}]            (recovery stopped after the attempt before it, and why;
                                               the last one counts)

An `attempt` record made by streamwatch's recovery also says why: `"reason": "retry"|"resume"`,
`"replaces"` (the number of the attempt it replaces, from 1), `"strategy"` (`retry`, `prefill` or
`user-turn`) and `"dropped"` (one sentence per block of the replaced attempt that did not go back).
One the SDK made by itself (a redirect) has only its request. A `stopped` record follows the end
of an attempt after which streamwatch's recovery did not go on by itself (attempts used up, a tool
call awaiting the user's word, a failure not worth retrying, a cancel); pressing retry or resume
later adds an `attempt` record after it.

A reader passes over a record of a kind it does not know whose payload is an object, without
calling it damage: a later version adds kinds that way, and a file it wrote stays readable here.

Each line is written with a single `write()` to a file opened for appending, so a process killed at
any moment leaves every line it finished, and the reader recovers every intact line of a truncated
or partly corrupt file, saying what it skipped. The writer writes what it is given, as it is given: the
source redacts every fact before it records it (`core/redact.py`, structure-aware, so it never
touches a serialised line), which keeps secrets out of the file and leaves every line valid JSON.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from streamwatch.core.diagnose import End, StreamState

VERSION = 1


RECORDING_CUT = {
    "type": "recording_cut",
    "message": "the session file has no end record: the recording process stopped before the stream ended",
}


class SessionError(Exception):
    """A file that cannot be read as a session at all (the message is one line, for the user)."""


def home_dir() -> Path:
    override = os.environ.get("STREAMWATCH_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir("streamwatch"))


def sessions_dir() -> Path:
    path = home_dir() / "sessions"
    for folder in (path.parent, path):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    return path


@dataclass
class Recording:
    """One attempt in memory: the request as sent, and everything that came back (secrets redacted by
    the source, as in the file).

    It takes the same calls as `SessionWriter` (`response`, `chunk`, `end`; `stop` without a time),
    so a live source can write to both, and a loader fills it from a file. Times are session times (see the module doc).
    """

    request: dict[str, Any]
    started_t: float = 0.0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    response_t: float | None = None
    chunks: list[tuple[float | None, bytes]] = field(default_factory=list)
    ending: dict[str, Any] | None = None
    link: dict[str, Any] = field(default_factory=dict)
    """How this attempt follows the one before: its `attempt` record without the request."""
    stopped: str | None = None
    """Why recovery did not go on by itself after this attempt, when it was told to recover (the
    latest reason: a retry the user pressed after it may have stopped too, before it was sent)."""
    capture: dict[str, Any] | None = None
    """For a raw capture (never a session file): the body is what a client wrote, not wire bytes, and
    what is known of how it ended (see core/sources.py)."""

    def response(self, status: int | None, headers: dict[str, str], t: float | None) -> None:
        self.status, self.headers, self.response_t = status, dict(headers), t

    def chunk(self, data: bytes, t: float | None) -> None:
        self.chunks.append((t, data))

    def end(self, kind: End, t: float | None, error: dict[str, Any] | None = None, **extra: Any) -> None:
        self.ending = {"kind": End(kind).value, "error": error, **extra, "t": t}

    def stop(self, why: str) -> None:
        self.stopped = why

    def relative(self, t: float | None) -> float | None:
        """A session time as seconds since this attempt's request was sent."""
        return None if t is None else t - self.started_t

    def final_end(self) -> tuple[End, float | None, dict[str, Any] | None]:
        """How the body ended; a recording with no end record was cut off where its bytes stop."""
        if self.ending is None:
            last = self.relative(self.chunks[-1][0] if self.chunks else self.response_t)
            return End.CANCELLED, last, RECORDING_CUT
        return End(self.ending["kind"]), self.relative(self.ending.get("t")), self.ending.get("error")

    def replay_into(self, state: StreamState) -> StreamState:
        """Feed the recorded bytes through the same pipeline a live stream goes through."""
        state.response(self.status, self.headers, self.capture)
        for t, data in self.chunks:
            state.chunk(data, self.relative(t))
        state.end(*self.final_end(), sdk=(self.ending or {}).get("sdk"))
        return state


@dataclass
class Session:
    path: Path | None
    header: dict[str, Any]
    attempts: list[Recording]
    skipped: list[str] = field(default_factory=list)

    @property
    def latest(self) -> Recording:
        return self.attempts[-1]


class SessionWriter:
    """Appends one session's records as they happen; every line is on disk when its call returns."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self._open(path, os.O_CREAT | os.O_EXCL)
        self._write(header)

    @classmethod
    def reopen(cls, path: Path) -> SessionWriter:
        """A writer appending to a session file written before (to add another attempt to it)."""
        writer = cls.__new__(cls)
        writer._open(path, 0)
        return writer

    def _open(self, path: Path, flags: int) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | flags, 0o600)

    @classmethod
    def create(
        cls,
        source: str,
        request: dict[str, Any],
        directory: Path | None = None,
        **extra: Any,
    ) -> SessionWriter:
        now = datetime.datetime.now(datetime.timezone.utc)
        session_id = uuid.uuid4().hex[:8]
        folder = directory or sessions_dir()
        path = folder / f"{now:%Y%m%d-%H%M%S}-{source}-{session_id}.jsonl"
        header = {
            "streamwatch": "session",
            "version": VERSION,
            "id": session_id,
            "started": now.isoformat(timespec="milliseconds"),
            "source": source,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            **process_facts(),
            **extra,
            "request": request,
        }
        return cls(path, header)

    def response(self, status: int, headers: dict[str, str], t: float) -> None:
        self._record(t, "response", {"status": status, "headers": headers})

    def chunk(self, data: bytes, t: float) -> None:
        try:
            self._record(t, "chunk", data.decode("utf-8"))
        except UnicodeDecodeError:
            self._record(t, "chunk64", base64.b64encode(data).decode("ascii"))

    def end(self, kind: End, t: float, error: dict[str, Any] | None = None, **extra: Any) -> None:
        self._record(t, "end", {"kind": End(kind).value, "error": error, **extra})

    def attempt(self, request: dict[str, Any], t: float, **extra: Any) -> None:
        self._record(t, "attempt", {"request": request, **extra})

    def stop(self, why: str, t: float) -> None:
        self._record(t, "stopped", {"why": why})

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, t: float, kind: str, payload: Any) -> None:
        self._write([round(t, 6), kind, payload])

    def _write(self, obj: Any) -> None:
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        os.write(self._fd, (line + "\n").encode("utf-8"))


def process_facts(pid: int | None = None) -> dict[str, int]:
    """What tells a process from a later one with the same pid, where the system says (Linux /proc):
    its start time in clock ticks after boot (`pid_started`) and the pid namespace it lives in
    (`pid_ns`). This process's by default; empty where there is no /proc or the process is gone."""
    where = Path("/proc") / ("self" if pid is None else str(pid))
    facts: dict[str, int] = {}
    try:
        facts["pid_started"] = int((where / "stat").read_text().rpartition(")")[2].split()[19])
        facts["pid_ns"] = os.stat(where / "ns" / "pid").st_ino
    except (OSError, ValueError, IndexError):
        pass
    return facts


def is_session_file(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return first.lstrip().startswith(b"{") and b'"streamwatch"' in first and b'"session"' in first


def load_session(path: Path) -> Session:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_session(data, Path(path))


def parse_session(data: bytes, path: Path) -> Session:
    """Every intact record of a session file's bytes; what could not be read is listed in `skipped`."""
    lines = data.split(b"\n")
    truncated = lines.pop() if lines else b""
    try:
        header = json.loads(lines[0]) if lines else None
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("streamwatch") != "session":
        raise SessionError(f"{path} is not a streamwatch session file (no session header on line 1)")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise SessionError(f"{path} was written by a newer streamwatch (format {version}); upgrade to read it")
    request = header.get("request") if isinstance(header.get("request"), dict) else {}
    session = Session(path=Path(path), header=header, attempts=[Recording(request=request)])
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        reason = apply_record(session, line)
        if reason:
            session.skipped.append(f"line {number}: {reason}")
    if truncated.strip():
        session.skipped.append(f"line {len(lines) + 1}: truncated ({len(truncated)} bytes, the writer stopped mid-line)")
    return session


KINDS = frozenset({"chunk", "chunk64", "response", "end", "attempt", "stopped"})
"""The record kinds this version reads; a later version's new kinds carry an object payload."""


def apply_record(session: Session, line: bytes) -> str | None:
    """Add one record line to the session; the reason it was skipped, or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return "not valid JSON"
    except RecursionError:
        return "JSON nested too deeply to read"
    if not (isinstance(record, list) and len(record) == 3 and isinstance(record[1], str)):
        return "not a [t, kind, payload] record"
    t, kind, payload = record
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        return "its time is not a number"
    current = session.latest
    if kind == "chunk" and isinstance(payload, str):
        current.chunks.append((t, payload.encode("utf-8")))
    elif kind == "chunk64" and isinstance(payload, str):
        try:
            current.chunks.append((t, base64.b64decode(payload, validate=True)))
        except ValueError:
            return "chunk64 payload is not base64"
    elif kind == "response" and isinstance(payload, dict) and isinstance(payload.get("status"), int):
        current.status = payload["status"]
        headers = payload.get("headers")
        current.headers = dict(headers) if isinstance(headers, dict) else {}
        current.response_t = t
    elif kind == "end" and _is_end(payload):
        current.ending = {**payload, "t": t}
    elif kind == "attempt" and isinstance(payload, dict):
        request = payload.get("request")
        link = {k: v for k, v in payload.items() if k != "request"}
        session.attempts.append(
            Recording(request=request if isinstance(request, dict) else {}, started_t=t, link=link)
        )
    elif kind == "stopped" and isinstance(payload, dict) and isinstance(payload.get("why"), str):
        current.stopped = payload["why"]
    elif kind not in KINDS and isinstance(payload, dict):
        pass  # a kind a newer streamwatch records (always with an object): nothing this version shows
    else:
        return f"unknown or malformed {kind!r} record"
    return None


def _is_end(payload: object) -> bool:
    """An end record's payload as streamwatch writes it: a known kind, and an error and an SDK outcome
    that are objects when present (everything that reads them asks them for their fields)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("kind"), str) or payload["kind"] not in set(End):
        return False
    return all(payload.get(name) is None or isinstance(payload[name], dict) for name in ("error", "sdk"))


def session_files() -> list[Path]:
    """Saved session files, newest first."""
    folder = home_dir() / "sessions"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


def resolve_session(name: str) -> Path:
    """A session named by path, by `latest`, or by a unique part of its file name (e.g. its id)."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    files = session_files()
    if name == "latest":
        if not files:
            raise SessionError(f"no saved sessions yet in {home_dir() / 'sessions'}")
        return files[0]
    matches = [p for p in files if name in p.name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SessionError(f"{name!r} matches {len(matches)} sessions; give more of the name")
    raise SessionError(f"no session file or saved session matches {name!r}")
