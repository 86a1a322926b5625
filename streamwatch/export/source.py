"""What a format exports from: a session file, read and played by the core once, when first asked."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from streamwatch.core.attempts import Attempt, AttemptLog
from streamwatch.core.files import COPY_PIECE, RegularFile, open_regular
from streamwatch.core.playback import replay_attempts
from streamwatch.core.recording import Session, SessionError, load_session, parse_time, read_header


class ExportError(Exception):
    """What the user asked for cannot be exported (the message is one line, for the user)."""


class Exported:
    """A session file to export: `session` as `load_session` reads it (SessionError when it is not one),
    `log` its attempts as `replay_attempts` plays them."""

    def __init__(self, path: Path, stall_threshold: float) -> None:
        self.path = Path(path)
        self.stall_threshold = stall_threshold

    @cached_property
    def session(self) -> Session:
        return load_session(self.path)

    @cached_property
    def log(self) -> AttemptLog:
        return replay_attempts(self.session, self.stall_threshold)

    def attempt(self, number: int | None) -> Attempt:
        """Attempt `number` (from 1), or the last one."""
        attempts = self.log.attempts
        if number is None:
            return attempts[-1]
        if not 1 <= number <= len(attempts):
            held = "1 attempt" if len(attempts) == 1 else f"{len(attempts)} attempts"
            raise ExportError(f"{self.path.name} holds {held}: there is no attempt {number}")
        return attempts[number - 1]

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def started(self) -> datetime.datetime | None:
        """When the session began (its header's `started`, UTC when it names no zone); None when it cannot be read."""
        started = self.session.header.get("started")
        return parse_time(started) if isinstance(started, str) else None

    def moment(self, attempt: Attempt, after: float = 0.0) -> str | None:
        """The wall-clock time (ISO 8601) `after` seconds into the attempt, from the session's recorded
        start; None when the header has no start time that can be read."""
        recording, moment = attempt.run.recording, self.started
        if moment is None or recording is None:
            return None
        return (moment + datetime.timedelta(seconds=recording.started_t + after)).isoformat(timespec="milliseconds")


def streamwatch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # here: it costs every command ~20 ms to import

    try:
        return version("streamwatch")
    except PackageNotFoundError:
        return "unknown"


def session_file(path: Path) -> Iterator[bytes]:
    """The session file's bytes as they are, after its first line was checked to be a session header
    (SessionError at once when it is not, before anything is written)."""
    try:
        file = open_regular(path)
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        first = next(file.lines(), b"")
        read_header(first.removesuffix(b"\n") if first.endswith(b"\n") else b"", path, [])
    except BaseException:
        file.close()
        raise
    return _pieces(file, first)


def _pieces(file: RegularFile, first: bytes) -> Iterator[bytes]:
    with file:
        yield first
        while piece := file.read(COPY_PIECE):
            yield piece
