"""The saved sessions at a glance: one summary per session file, newest first.

Each summary comes from replaying the file through the same pipeline as everything else, as it is
read (`load_session` + `OnePass`, as `analyze` plays it), so its verdict badge is the verdict
`analyze` would give, and a big file takes memory for its stream's state only. A file that
cannot be read as a session is listed with the badge `unreadable` and the reason, never raised;
so is a name that is not a regular file (a symbolic link, a FIFO, a device, a folder), which is
never opened. Summaries (core/summary.py says what one holds, and its JSON shape) are kept in the
session index (core/index.py: an SQLite cache in the data folder, for its sessions folder), and in memory, by (name,
mtime, size, stall threshold): listing again, in this process or another, only replays files that
changed or that nobody listed before, and a session that was still being recorded (its summary's
`recording`): its writer may have gone since, leaving the file as it was. Where the index cannot be used the files are read, as
before there was one, and `Catalog.warning` says so in one line.
"""

from __future__ import annotations

import datetime
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from streamwatch.core.diagnose import DEFAULT_STALL_THRESHOLD
from streamwatch.core.files import not_regular
from streamwatch.core.index import IndexUnavailable, Row, SessionIndex
from streamwatch.core.playback import OnePass
from streamwatch.core.recording import Session, SessionError, home_dir, load_session, session_entries
from streamwatch.core.safe import one_line
from streamwatch.core.summary import (
    SHORT_TIME_FORMAT,
    TIME_FORMAT,
    UNREADABLE,
    SessionSummary,
    short_model,
    started_text,
    summary_of,
    unreadable_summary,
    verdict_badge,
)
from streamwatch.core.table import render_table

__all__ = [
    "SHORT_TIME_FORMAT", "TIME_FORMAT", "UNREADABLE", "Cancelled", "Catalog", "Progress", "SessionSummary",
    "newest_first", "render_sessions", "short_model", "skipped_text", "started_text", "summarize", "verdict_badge",
]


class Cancelled(Exception):
    """Listing the sessions was given up: whoever asked for the list does not want it any more."""


class Catalog:
    """Summaries of the session files in a folder (default: the saved sessions), from the session index
    and kept in memory, by (name, mtime, size, stall threshold); see the module doc."""

    def __init__(self, folder: Path | None = None, stall_threshold: float = DEFAULT_STALL_THRESHOLD) -> None:
        self._folder = folder
        self.stall_threshold = stall_threshold
        self._cache: dict[str, Row] = {}
        self._lock = threading.Lock()
        self.warning: str | None = None
        """Why the session index could not be used, the last time it could not (the files were read), in one line."""

    @property
    def folder(self) -> Path:
        return self._folder or home_dir() / "sessions"

    def summaries(
        self, cancelled: Callable[[], bool] = lambda: False, progress: Progress | None = None
    ) -> list[SessionSummary]:
        """Every `*.jsonl` name in the folder, newest first by recorded start time. SessionError (one
        line) when the folder is a symbolic link or another user's (`session_entries`); `Cancelled`
        as soon as `cancelled()` says so, even in the middle of a big file (what was read is kept).

        The files are taken newest first by name (a session file's name starts with its start time);
        `progress`, if given, is called after each file that had to be read (not in memory or in the
        index: a first start, say) with the summaries so far, in no order, and how many there will be."""
        entries = sorted(session_entries(self.folder), key=lambda entry: entry[0].name, reverse=True)
        with self._lock:
            found = self._listed(entries, cancelled, progress)
        return newest_first(found)

    def latest(self, live: bool = False) -> tuple[Path, str | None]:
        """The session `latest` names, and, when newer files were passed over for it, one line saying which
        was taken and why. Of the files newest first by modification time, the first that is a stream
        (`SessionFacts.stream`: a model list or a token count a proxy recorded a second later is not),
        else the newest file. With `live` (`attach`), first the newest session still being recorded:
        in a silent stall its file is not the one written last. SessionError when there is none."""
        entries = sorted(session_entries(self.folder), key=lambda entry: (entry[1].st_mtime, entry[0].name), reverse=True)
        with self._lock:
            listed = self._listed(entries, lambda: False, None)
        newest = [summary for summary, (_, status) in zip(listed, entries, strict=True) if stat.S_ISREG(status.st_mode)]
        if not newest:
            raise SessionError(f"no saved sessions yet in {self.folder}")
        rules: list[tuple[Callable[[SessionSummary], bool], str, str]] = [
            (lambda s: s.facts is not None and s.facts.stream, "the newest stream", "not a stream (a model list, a token count)"),
        ]
        if live:
            rules.insert(0, (lambda s: s.recording is not None, "the newest session still being recorded",
                             "not being recorded"))
        for fits, why, other in rules:
            passed = next((n for n, summary in enumerate(newest) if fits(summary)), None)
            if passed is not None:
                taken = newest[passed]
                if passed == 0:
                    return taken.path, None
                newer = f"{passed} newer file{' that is' if passed == 1 else 's that are'} {other}"
                return taken.path, f"latest is {one_line(taken.path.name)}, {why}: passed over {newer}"
        return newest[0].path, None

    def _listed(
        self, entries: list[tuple[Path, os.stat_result]], cancelled: Callable[[], bool], progress: Progress | None
    ) -> list[SessionSummary]:
        index = SessionIndex.of(self.folder)
        paths = {path.name: path for path, _ in entries}
        gone = set(self._cache) - paths.keys()
        unknown = [name for name, (_, status) in zip(paths, entries, strict=True)
                   if stat.S_ISREG(status.st_mode) and not self._fresh(self._cache.get(name), status)]
        known: dict[str, Row] = {}
        usable = index is not None
        if index is not None and unknown:
            cold = not self._cache
            known = self._index_rows(index, None if cold else unknown, paths)
            usable = self.warning is None
            if cold:
                gone |= known.keys() - paths.keys()
        read: list[Row] = []
        found: list[SessionSummary] = []
        try:
            for name, (path, status) in zip(paths, entries, strict=True):
                before = len(read)
                found.append(self._summary(name, path, status, known, read, cancelled))
                if progress is not None and len(read) > before:
                    progress(found, len(entries))
            return found
        finally:
            for name in gone:
                self._cache.pop(name, None)
            if usable and index is not None and (read or gone):
                self._store(index, read, gone)

    def _index_rows(self, index: SessionIndex, names: list[str] | None, paths: dict[str, Path]) -> dict[str, Row]:
        try:
            rows = index.rows(names, paths)
        except IndexUnavailable as exc:
            self.warning = f"{exc}: reading every session file"
            return {}
        self.warning = None
        return rows

    def _store(self, index: SessionIndex, read: list[Row], gone: set[str]) -> None:
        try:
            index.store(read, gone)
        except IndexUnavailable as exc:
            self.warning = f"{exc}: reading every session file"

    def _fresh(self, row: Row | None, status: os.stat_result) -> bool:
        """A row made from the file as it is now, whose verdict stands: one made while its session was
        still being recorded says nothing of now (a silent stream does not change its file), so is never
        kept, and the file is read again."""
        return row is not None and row[2].recording is None and (row[0], row[1], row[2].size) == (
            status.st_mtime_ns, self.stall_threshold, status.st_size)

    def _summary(
        self, name: str, path: Path, status: os.stat_result, known: dict[str, Row], read: list[Row],
        cancelled: Callable[[], bool],
    ) -> SessionSummary:
        if not stat.S_ISREG(status.st_mode):
            return unreadable_summary(path, 0, f"{not_regular(path, status.st_mode).strerror}: not opened", status.st_mtime)
        row = self._cache.get(name)
        if not self._fresh(row, status):
            row = known.get(name)
            if not self._fresh(row, status):
                summary = summarize(path, status.st_size, status.st_mtime, self.stall_threshold, cancelled)
                row = (status.st_mtime_ns, self.stall_threshold, summary)
                if summary.recording is None:
                    read.append(row)
            self._cache[name] = row
        assert row is not None
        return row[2]


Progress = Callable[[list[SessionSummary], int], None]
"""Told, as the files are read, the summaries so far and how many files there are."""


def newest_first(summaries: list[SessionSummary]) -> list[SessionSummary]:
    """The summaries in the list's order: by recorded start time, newest first."""
    return sorted(summaries, key=lambda s: (s.sort_time, s.path.name), reverse=True)


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
        return unreadable_summary(path, size, _reason(exc, path), mtime)
    return summary_of(path, size, mtime, session, attempts)


def _reason(exc: Exception, path: Path) -> str:
    """Why, naming the file as "this file" (the summary already says which). Whole: what it quotes
    from the file may hold any line break, which a table shows escaped, on one line."""
    if isinstance(exc, MemoryError):
        return "this file is too large to read"
    text = str(exc).replace(str(path), "this file").strip()
    return text or type(exc).__name__


def render_sessions(summaries: list[SessionSummary], tz: datetime.tzinfo | None = None, encoding: str = "utf-8") -> str:
    """The sessions as a plain-text table, newest first as given, padded as a stream in `encoding` shows
    it (core/table.py); below it, why a file is unreadable and how many damaged lines were skipped in one that was read."""
    if not summaries:
        return "no saved sessions yet"
    head = ("STARTED", "SOURCE", "REQUEST", "MODEL", "VERDICT", "TOOK", "SIZE", "EVENTS", "ATTEMPTS", "FILE")
    rows = [
        (*s.columns(tz), str(s.events) if s.readable else "-", str(s.attempts) if s.readable else "-",
         one_line(s.path.name))
        for s in summaries
    ]
    lines = render_table([head, *rows], right={5, 6, 7, 8}, encoding=encoding)
    for s in summaries:
        if s.error is not None:
            lines.append(f"{one_line(s.path.name)}: {UNREADABLE}: {one_line(s.error)}")
        elif s.skipped:
            lines.append(f"{one_line(s.path.name)}: {skipped_text(s.skipped)} (streamwatch analyze lists them)")
    return "\n".join(lines)


def skipped_text(count: int) -> str:
    """`3 damaged lines skipped`: what the reader left out of a session file."""
    return f"{count} damaged line{'s' if count != 1 else ''} skipped"
