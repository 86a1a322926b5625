"""The session index: one row per session file, in an SQLite database beside the files it describes.

The files stay the truth; the index is a cache of their summaries (core/summary.py: the row the
session list shows and the facts `streamwatch stats` counts), so that listing ten thousand sessions
reads no session file that was read before. A row is fresh while its file has the size, the
modification time (to the nanosecond) and the stall threshold it was made with; anything else (a
file added, grown, rewritten or removed by hand, another threshold) makes the catalog read that
one file again and replace its row. The database is `index.sqlite3` in the data folder, beside the
`sessions` folder it describes (a folder of sessions elsewhere has no index: its files are read);
one missing, corrupt (not a database, malformed) or of another schema is made again from the files. A name there that is not a regular file (a link) is never
opened: the index is then not used.

Who writes it: the catalog (core/catalog.py), for every file it had to read; and the recorder of
a saved session, when the session ends (`note_session`: recovery goes no further by itself, the
proxy's flow is over), from the states the run already holds, so a session recorded by the proxy
is in the index before anyone lists it, at the cost of one short transaction on the recording
thread (or on a thread of the source's: the proxy's loop forwards every stream, so it hands the
transaction to a writer thread of its own and never waits on the database). A session still being recorded has no row until it ends
(or its writer is gone): the catalog reads it again each time (core/catalog.py).

Concurrency: several processes (a proxy writing, a TUI or `streamwatch stats` reading) share it.
The database is in WAL mode, so readers never wait for a writer; every write is a short transaction
(`BATCH` rows at most) begun at once (`BEGIN IMMEDIATE`), and a writer waits for another at most
`timeout` seconds (the recorder's: `NOTE_TIMEOUT`, it may be on the stream's thread), then gives up
writing: the rows it would have written are made again from the files next time. A folder where the
database cannot be made or written (read-only, disk full) is `IndexUnavailable`: the catalog reads
the files, as it did before there was an index, and says so in one line.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from streamwatch.core.attempts import Attempt
from streamwatch.core.recording import Session, home_dir
from streamwatch.core.summary import SessionFacts, SessionSummary, summary_of

INDEX_NAME = "index.sqlite3"
SCHEMA_VERSION = 3
"""2: an answer asked for whole has the termination `answered` (it was `eof`), so rows made before are made again.
3: rows made from files redacted as they are read (core/recording.py `ReadRedaction`); an older row may
show a secret a file held, so it is made again (and what it held zeroed: `_check_schema`)."""
BATCH = 200
"""Rows written per transaction: another process waits for one batch at most."""
NOTE_TIMEOUT = 0.2
"""How long the recorder waits for another writer before it leaves its row to the next listing."""

_SUMMARY = tuple(f.name for f in fields(SessionSummary) if f.name not in ("path", "facts"))
_FACTS = tuple(f.name for f in fields(SessionFacts))
_COLUMNS = ("name", "mtime_ns", "stall_threshold", *_SUMMARY, *_FACTS)
_SCHEMA = f"{SCHEMA_VERSION}:{','.join(_COLUMNS)}"
"""What the database must say it holds to be read: another version or other columns are made again."""

_Made = TypeVar("_Made", SessionSummary, SessionFacts)
Row = tuple[int, float, SessionSummary]
"""A file's modification time in nanoseconds, the stall threshold its summary was made with, the summary."""


class IndexUnavailable(Exception):
    """The index cannot be made or written here (the message is one line, for the user)."""


class SessionIndex:
    """The index of the session files in `folder` (see the module doc). Each call opens the database and
    closes it again, so an index may be used from any thread."""

    def __init__(self, folder: Path, timeout: float = 2.0) -> None:
        self.folder = folder
        self.path = folder.parent / INDEX_NAME
        self.timeout = timeout

    @classmethod
    def of(cls, folder: Path, timeout: float = 2.0) -> SessionIndex | None:
        """The index of a sessions folder: the data folder's own has one, any other none."""
        return cls(folder, timeout) if folder == home_dir() / "sessions" else None

    def rows(self, names: Collection[str] | None = None, paths: Mapping[str, Path] | None = None) -> dict[str, Row]:
        """The rows of these file names (of every file when None) that the index holds, each summary's
        path the one `paths` gives for its name (else the folder's); none when its content turns out
        damaged (it is then made again from the files)."""
        paths = paths or {}
        query = f"SELECT {', '.join(_COLUMNS)} FROM sessions"
        try:
            with self._open() as db:
                if names is None:
                    return dict(_read(db.execute(query), self.folder, paths))
                found: dict[str, Row] = {}
                wanted = list(names)
                for start in range(0, len(wanted), 500):
                    part = wanted[start:start + 500]
                    found.update(_read(db.execute(f"{query} WHERE name IN ({', '.join('?' * len(part))})",
                                                  [_stored(name) for name in part]), self.folder, paths))
                return found
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not _damaged(exc):
                raise IndexUnavailable(self._why(exc)) from None
        self._remove()
        return {}

    def store(self, rows: Sequence[Row], gone: Iterable[str] = ()) -> bool:
        """Write these rows (replacing a file's row) and forget the files `gone`, a batch per transaction;
        False when another writer held the database longer than `timeout` (what was left is not written)."""
        values = [_values(row) for row in rows]
        gone = [(_stored(name),) for name in gone]
        insert = f"INSERT OR REPLACE INTO sessions VALUES ({', '.join('?' * len(_COLUMNS))})"
        try:
            with self._open() as db:
                for start in range(0, max(len(values), len(gone)), BATCH):
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany(insert, values[start:start + BATCH])
                    db.executemany("DELETE FROM sessions WHERE name = ?", gone[start:start + BATCH])
                    db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            operational = isinstance(exc, sqlite3.OperationalError)
            if operational and _busy(exc):
                return False
            if operational and not _damaged(exc):
                raise IndexUnavailable(self._why(exc)) from None
            self._remove()  # damaged: the next listing makes it again from the files
            return False
        return True

    def _open(self) -> _Connection:
        try:
            return _Connection(self._connect())
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not _damaged(exc):
                raise IndexUnavailable(self._why(exc)) from None
        self._remove()  # corrupt: made again from the files
        try:
            return _Connection(self._connect())
        except sqlite3.Error as exc:
            raise IndexUnavailable(self._why(exc)) from None

    def _connect(self) -> sqlite3.Connection:
        try:
            status = os.lstat(self.path)
        except FileNotFoundError:
            self._create()
        except OSError as exc:
            raise IndexUnavailable(self._why(exc)) from None
        else:
            if not stat.S_ISREG(status.st_mode):
                raise IndexUnavailable(f"the session index {self.path} is not a regular file; not opened")
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            _check_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _create(self) -> None:
        """An empty file, private as the sessions are (SQLite gives its journal files the same mode)."""
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        except OSError as exc:
            raise IndexUnavailable(self._why(exc)) from None

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise IndexUnavailable(self._why(exc)) from None

    def _why(self, exc: Exception) -> str:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"the session index {self.path} cannot be used ({reason})"


class _Connection:
    """A connection closed when its `with` block ends (sqlite3's own commits, and keeps it open)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # what went wrong is the exception leaving the block
        finally:
            self.db.close()


def _check_schema(db: sqlite3.Connection) -> None:
    """Make the tables when there are none; make them again when they are of another schema."""
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if has_meta and db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (_SCHEMA,):
        return
    db.execute("BEGIN IMMEDIATE")
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if has_meta and db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (_SCHEMA,):
        db.execute("COMMIT")  # another process made them meanwhile
        return
    db.execute("PRAGMA secure_delete=ON")  # the rows dropped may hold what must not stay on disk
    db.execute("DROP TABLE IF EXISTS meta")
    db.execute("DROP TABLE IF EXISTS sessions")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema', ?)", (_SCHEMA,))
    db.execute(f"CREATE TABLE sessions (name TEXT PRIMARY KEY, {', '.join(_COLUMNS[1:])})")
    db.execute("COMMIT")


def _values(row: Row) -> tuple[Any, ...]:
    mtime_ns, threshold, summary = row
    facts = summary.facts
    fact_values = (None,) * len(_FACTS) if facts is None else tuple(getattr(facts, name) for name in _FACTS)
    values = (summary.path.name, mtime_ns, threshold, *(getattr(summary, name) for name in _SUMMARY), *fact_values)
    return tuple(_stored(value) for value in values)


def _stored(value: Any) -> Any:
    """A value as the database keeps it: text that is not UTF-8 (a lone surrogate: a JSON escape in a
    session file, an undecodable byte in a file name) as its `surrogatepass` bytes, read back as the
    same text (`_loaded`); anything else as it is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    return value


def _loaded(values: tuple[Any, ...]) -> tuple[Any, ...]:
    if bytes not in map(type, values):
        return values
    return tuple(value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value for value in values)


def _read(cursor: sqlite3.Cursor, folder: Path, paths: Mapping[str, Path]) -> Iterable[tuple[str, Row]]:
    summary_end = 3 + len(_SUMMARY)
    for values in map(_loaded, cursor):
        name, mtime_ns, threshold = values[:3]
        summary = _made(SessionSummary, zip(_SUMMARY, values[3:summary_end], strict=True))
        fields = summary.__dict__
        if fields["complete"] is not None:
            fields["complete"] = bool(fields["complete"])
        fields["path"] = paths.get(name) or folder / name
        fields["facts"] = None
        if fields["error"] is None:
            facts = fields["facts"] = _made(SessionFacts, zip(_FACTS, values[summary_end:], strict=True))
            facts.__dict__["ended"] = bool(facts.ended)
            facts.__dict__["stream"] = bool(facts.stream)
        yield name, (mtime_ns, threshold, summary)


def _made(cls: type[_Made], fields: Iterable[tuple[str, Any]]) -> _Made:
    """A frozen dataclass with these values, every field of it given (the rest is set by the caller): made
    as its `__init__` makes it, but without one `object.__setattr__` per field, which took two thirds
    of the time a warm listing of 10 000 sessions spends on its rows."""
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _damaged(exc: sqlite3.OperationalError) -> bool:
    """Errors that say the database's content is not what this version made (made again, not given up)."""
    text = str(exc)
    return "no such table" in text or "no such column" in text or "malformed" in text


def note_session(path: Path, header: dict[str, Any], attempts: Sequence[Attempt], stall_threshold: float,
                 later: Callable[[Callable[[], None]], object] | None = None) -> None:
    """Write the row of a session that has just ended, from the attempts as the run holds them (each
    finished, with the recording it made), without reading the file again. Nothing is raised: a row
    not written is made from the file by the next listing. `later`: the row is made here, and the
    writing (the database, which may wait for another writer) is handed to it instead of done here."""
    if not attempts or any(a.verdict is None or a.run.recording is None for a in attempts):
        return
    recordings = [a.run.recording for a in attempts if a.run.recording is not None]
    try:
        status = os.lstat(path)
        summary = summary_of(path, status.st_size, status.st_mtime, Session(path, header, recordings), attempts)
    except OSError:
        return
    write = partial(_write_note, path.parent, (status.st_mtime_ns, stall_threshold, summary))
    if later is None:
        write()
    else:
        later(write)


def _write_note(folder: Path, row: Row) -> None:
    try:
        index = SessionIndex.of(folder, timeout=NOTE_TIMEOUT)
        if index is not None:
            index.store([row])
    except (OSError, sqlite3.Error, IndexUnavailable):
        pass
