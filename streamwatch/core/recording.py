"""Session files: the recording of an HTTP exchange, one JSON Lines file per session.

Line 1 is a header object: `{"streamwatch": "session", "version": 1, "id", "started", "source",
"pid", "host", "request": {"method", "url", "headers", "body"}}`, on Linux also the writer's
`pid_started` and `pid_ns` (so `attach` can tell it from a later process with its pid), and
`on_failure` (`retry` or `resume`) when the run was told to recover, and `client`: what sent the
request, one line (`anthropic-python 2.14.0` for streamwatch's own runs; a proxied app's user-agent,
see streamwatch/proxy/flow.py). A session the proxy recorded also says `upstream` (the base URL it
forwarded to), `path` (the path and query the app asked for), `request_body` when the body is not a
JSON object (the request's `body` is then `{}`; this says what it was: its content type and size),
and `fault` when a fault was armed for it on purpose (text: `injected: cut after 40 events`; the first
attempt's `Recording.fault`, which its state and verdict say; whether it fired is said by its end
record's `fault_fired`, or, in a file without an end record (the proxy was killed), by a
`fault_fired` record, and one that never fired leaves an ordinary session), with
`fault_fired_record: true` (its writer writes that record the moment the fault fires, so a file
without an end record or a `fault_fired` record says the fault never fired; in a file without
this key, from before, it reads as fired). `continues` says that the session goes
on from an earlier one (a retry or resume pressed in its replay): `{"session": its id, "file": its
file name, "attempt": the number of the attempt it goes on from, "reason", "strategy", "dropped"}`
(the last three as in an `attempt` record, below). Every later line is one record
`[t, kind, payload]`, `t` in seconds since the session's first request was sent:

    [t, "response", {"status": 200, "headers": {...}}]
    [t, "chunk", "body bytes as text"]        (valid UTF-8)
    [t, "chunk64", "body bytes as base64"]    (anything else, e.g. half a character)
    [t, "end", {"kind": "eof"|"transport_error"|"timeout"|"cancelled", "error": {...}|null, ...}]
                                              (`fault_fired`: whether the header's `fault` fired;
                                               a file without it, from before, reads as fired)
    [t, "fault_fired", {}]                    (the header's `fault` fired then: written at once, as a
                                               chunk is, so a file cut before its end says it; the end's
                                               `fault_fired`, when there is an end, says the same)
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

The reader checks every line once (`read_header`, `apply_record`), so what it hands on has the
shape above and nothing that uses a session checks types again. A line must be what the writer
writes: UTF-8, strict JSON (no NaN or Infinity, no key twice), nested at most MAX_DEPTH deep; a
chunk's text must be bytes a stream sent (no lone surrogate, which a JSON escape can carry: in
any other text one is kept, and shown escaped); a time is a number of seconds from 0 to MAX_TIME,
and one that goes back before the record before it is read as that record's. Each field has its type (text, a whole number in range:
a pid fits a pid_t, a status is 100 to 999), and objects hold only the fields named above: a field
of the wrong type is left out, and a record without what it cannot do without (a response's status,
an end's kind, an error's type) is skipped, each said in `Session.skipped` with its line number.

Each line is written with a single `write()` to a file opened for appending, so a process killed at
any moment leaves every line it finished, and the reader recovers every intact line of a truncated
or partly corrupt file, saying what it skipped. The writer writes what it is given, as it is given: the
source redacts every fact before it records it (`core/redact.py`, structure-aware, so it never
touches a serialised line), which keeps secrets out of the file and leaves every line valid JSON.
The reader redacts every record again by the same rules (`ReadRedaction`), for a file streamwatch
did not write: what it hands on holds no secret, whoever wrote the file.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import math
import os
import socket
import stat
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamwatch.core.body import BodyDecoder
from streamwatch.core.columns import Columns
from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.events import MAX_DEPTH, nested_deeper_than
from streamwatch.core.files import Refused, RegularFile, not_regular, open_append, open_regular, own_folder
from streamwatch.core.redact import Redactor

VERSION = 1


RECORDING_CUT = {
    "type": "recording_cut",
    "message": "the session file has no end record: the recording process stopped before the stream ended",
}


class SessionError(Exception):
    """A file that cannot be read as a session at all (the message is one line, for the user)."""


def home_dir() -> Path:
    override = os.environ.get("STREAMWATCH_HOME")
    if override:
        return Path(override)
    import platformdirs  # here, not at the top: reading a file (analyze, replay) needs no data folder

    return Path(platformdirs.user_data_dir("streamwatch"))


def sessions_dir() -> Path:
    """The folder sessions are saved in, made if missing (0700, as its parent when that is made too)
    and kept private (0700). `Refused` (an OSError) when it is a symbolic link or another user's:
    nothing is saved there, and nothing it points to is touched."""
    path = home_dir() / "sessions"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    fd = own_folder(path)
    try:
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


class Chunks(Columns[tuple[float | None, bytes]]):
    """A recording's body chunks, `(t, data)` in arrival order, read as a list of them is: kept as one
    buffer of their bytes and two arrays (where each ends, and its time), whatever their number. As
    tuples, a session of 250 000 chunks took three objects each, ~70 bytes on top of its data.

    Another thread may read it while one appends: a chunk counts (`len`) once its bytes and its end
    are in. `del chunks[:n]` lets the first `n` go (a file played as it is read keeps only the last)."""

    def __init__(self, items: Iterable[tuple[float | None, bytes]] = ()) -> None:
        self._fill(items)

    def _fill(self, items: Iterable[tuple[float | None, bytes]]) -> None:
        self._data = bytearray()
        self._dropped = 0
        """Bytes let go from the front: `_ends` count from the first chunk ever appended."""
        self._ends = array("Q")
        self._times = array("d")
        for item in items:
            self.append(item)

    def append(self, item: tuple[float | None, bytes]) -> None:
        t, data = item
        self._data += data
        self._ends.append(self._dropped + len(self._data))
        self._times.append(math.nan if t is None else t)

    def __len__(self) -> int:
        return len(self._times)

    @property
    def buffer(self) -> bytearray | None:
        """Every chunk's bytes, one after the other, in an object that only grows (a chunk let go makes
        a new one), for a reader to point into; None once the first chunks were let go."""
        return None if self._dropped else self._data

    def _item(self, index: int) -> tuple[float | None, bytes]:
        start = (self._ends[index - 1] if index else self._dropped) - self._dropped
        t = self._times[index]
        return None if math.isnan(t) else t, bytes(self._data[start : self._ends[index] - self._dropped])

    def __delitem__(self, index: int | slice) -> None:
        """As a list's; letting the first `n` go (`del chunks[:n]`) copies only the bytes kept."""
        if isinstance(index, slice) and index.start is None and index.step is None and index.stop is not None:
            count = max(0, min(index.stop if index.stop >= 0 else len(self) + index.stop, len(self)))
            if count:
                cut = self._ends[count - 1] - self._dropped
                self._data = self._data[cut:]  # a new buffer: the old one only ever grows (`buffer`)
                self._dropped += cut
                del self._ends[:count]
                del self._times[:count]
            return
        kept = list(self)
        del kept[index]
        self._fill(kept)


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
    chunks: Chunks = field(default_factory=Chunks)
    ending: dict[str, Any] | None = None
    link: dict[str, Any] = field(default_factory=dict)
    """How this attempt follows the one before: its `attempt` record without the request."""
    stopped: str | None = None
    """Why recovery did not go on by itself after this attempt, when it was told to recover (the
    latest reason: a retry the user pressed after it may have stopped too, before it was sent)."""
    capture: dict[str, Any] | None = None
    """For a raw capture (never a session file): the body is what a client wrote, not wire bytes, and
    what is known of how it ended (see core/sources.py)."""
    fault: str | None = None
    """What was armed for this exchange on purpose (the session header's `fault`), if anything; whether
    it fired is `fired()`."""
    fired_t: float | None = None
    """When that fault fired (its `fault_fired` record), if it did and its file says so."""
    fires_recorded: bool = False
    """Its file records the moment its fault fires (the header's `fault_fired_record`)."""

    def __post_init__(self) -> None:
        if not isinstance(self.chunks, Chunks):
            self.chunks = Chunks(self.chunks)

    def response(self, status: int | None, headers: dict[str, str], t: float | None) -> None:
        # The status last: a reader on another thread (a replay still reading its file) takes the head
        # as known once it sees the status, and then sees its headers too.
        self.headers, self.response_t = dict(headers), t
        self.status = status

    def chunk(self, data: bytes, t: float | None) -> None:
        self.chunks.append((t, data))

    def end(self, kind: End, t: float | None, error: dict[str, Any] | None = None, **extra: Any) -> None:
        self.ending = {"kind": End(kind).value, "error": error, **extra, "t": t}

    def fault_fired(self, t: float | None) -> None:
        if self.fired_t is None:
            self.fired_t = t

    def stop(self, why: str) -> None:
        self.stopped = why

    def fired(self) -> bool | None:
        """Whether the fault armed for it (`fault`) fired: as its end record says (`fault_fired`); without
        that (the recording process was killed before the end), whether a `fault_fired` record came, in a
        file that writes one (`fires_recorded`). None when it is not known (a file from before), which
        reads as fired."""
        ending = self.ending or {}
        if "fault_fired" in ending:
            return ending["fault_fired"]
        return True if self.fired_t is not None else False if self.fires_recorded else None

    def relative(self, t: float | None) -> float | None:
        """A session time as seconds since this attempt's request was sent."""
        return None if t is None else t - self.started_t

    def final_end(self) -> tuple[End, float | None, dict[str, Any] | None]:
        """How the body ended; a recording with no end record was cut off where its bytes stop."""
        if self.ending is None:
            last = self.relative(self.chunks[-1][0] if self.chunks else self.response_t)
            return End.CANCELLED, last, RECORDING_CUT
        return End(self.ending["kind"]), self.relative(self.ending.get("t")), self.ending.get("error")

    def body(self) -> Iterator[bytes]:
        """The body as the client's SSE parser reads it, a piece per recorded chunk: its content coding
        (and a capture's chunked framing) undone by the `BodyDecoder` a `StreamState` decodes it with."""
        decoder = BodyDecoder(self.headers, capture=self.capture is not None)
        for _, data in self.chunks:
            yield decoder.feed(data)
        yield decoder.finish()

    def end_state(self, state: StreamState) -> None:
        """End `state` as this recording ended (`final_end`), with what the client raised, as the end
        record says, and whether the fault armed for it fired (`fired`)."""
        state.end(*self.final_end(), sdk=(self.ending or {}).get("sdk"), fault_fired=self.fired())

    def replay_into(self, state: StreamState) -> StreamState:
        """Feed the recorded bytes through the same pipeline a live stream goes through."""
        state.response(self.status, self.headers, self.capture, self.request)
        for t, data in self.chunks:
            state.chunk(data, self.relative(t))
        self.end_state(state)
        return state


class ReadRedaction:
    """The second line of defence: a session file redacted again as it is read, by the rules the
    `Recorder` applied when it wrote it (core/redact.py), so that a file streamwatch did not write
    (made by hand, by an older version, copied, edited) shows no secret either, in any view, the
    index or any export. Every reader goes through it (`start_session`, `apply_record`).

    As the recorder does, it learns the secrets each request carries (`Redactor.learn`; a value
    already `[redacted]` is none) before it redacts the request, and redacts the response headers,
    each body through one `BodyScrubber` (what it holds back goes to the same recording, each piece
    at the time it came, when the body ends, another attempt begins, or the file is all read:
    `flush`) and every error message, reason and header text. On a file streamwatch wrote it changes
    no byte that is shown: its secrets are `[redacted]` already, a tail the scrubber holds back moves
    to the next chunk as the recorder's did, with no line break in it, and a content delta it holds
    goes at its own time, as the recorder wrote it, so no event moves."""

    def __init__(self) -> None:
        self.redactor = Redactor()
        self.changed = False
        """Whether anything read was changed: the file is not what streamwatch would have written."""
        self.growing = False
        """Whether the file is still being written (attach): then the complete events of a chunk go at
        once, as a recorder's do (the rest of it once they are complete), where a file read whole gives
        each chunk whole, once all of it is."""
        self._scrubber = self.redactor.body_scrubber()

    def _note(self, read: Any, redacted: Any) -> Any:
        self.changed = self.changed or redacted != read
        return redacted

    def header(self, header: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in header.items():
            if name == "request":
                value = self.request(value)
            elif name == "path" and value.startswith("/"):
                # the path and query the app asked for, redacted as a URL's (streamwatch/proxy/flow.py)
                value = self.redactor.url("http://host" + value).removeprefix("http://host")
            elif isinstance(value, str):
                value = self.redactor.message(value)
            elif isinstance(value, dict):
                value = self.redactor.value(value)
            out[name] = value
        return self._note(header, out)

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        """A request record's `method`, `url`, `headers` and `body`, each present one redacted."""
        redactor = self.redactor
        redactor.learn(request.get("url"), request.get("headers", {}), request.get("body"))
        rules = {"method": redactor.text, "url": redactor.url, "headers": redactor.headers, "body": redactor.body}
        return self._note(request, {name: rules[name](value) for name, value in request.items()})

    def response(self, headers: dict[str, str]) -> dict[str, str]:
        redacted = self._note(headers, self.redactor.headers(headers))
        self._scrubber = self.redactor.body_scrubber(redacted.get("content-encoding"), redacted.get("content-type"),
                                                    whole_reads=not self.growing)
        return redacted

    def chunk(self, data: bytes, t: float) -> list[tuple[bytes, float]]:
        """The pieces of a chunk to show, each with its time (none while the scrubber holds it back)."""
        pieces = self._scrubber.feed(data, t)
        self.changed = self.changed or self._scrubber.changed
        return pieces

    def flush(self, recording: Recording) -> bool:
        """What the scrubber holds back, to `recording` (each piece at its time): its body ended.
        Whether there was any."""
        held = self._scrubber.flush()
        for piece, t in held:
            recording.chunk(piece, t)
        return bool(held)

    def end(self, ending: dict[str, Any]) -> dict[str, Any]:
        message = self.redactor.message
        out = dict(ending)
        error, sdk = ending.get("error"), ending.get("sdk")
        if error is not None:
            out["error"] = {name: message(value) for name, value in error.items()}
        if sdk is not None:
            out["sdk"] = {name: message(value) if isinstance(value, str) else
                          [message(line) for line in value] if isinstance(value, list) else value
                          for name, value in sdk.items()}
        return self._note(ending, out)

    def attempt(self, link: dict[str, Any]) -> dict[str, Any]:
        """An attempt record's reasons, after its request was taken (`request`)."""
        return self._note(link, {name: self.redactor.value(value) for name, value in link.items()})

    def why(self, why: str) -> str:
        return self._note(why, self.redactor.message(why))


@dataclass
class Session:
    path: Path | None
    header: dict[str, Any]
    attempts: list[Recording]
    skipped: list[str] = field(default_factory=list)
    redaction: ReadRedaction = field(default_factory=ReadRedaction)
    """What its file is redacted by as it is read (see `ReadRedaction`)."""
    last_t: float = 0.0
    """The time of the last record read: a record after it may not go back before it."""
    reading: bool = False
    """The file is still being read (`SessionLoader`): more records, and more of the last recording, may come."""

    @property
    def latest(self) -> Recording:
        return self.attempts[-1]


class SessionWriter:
    """Appends one session's records as they happen; every line is on disk when its call returns."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self._open(path, new=True)
        self._write(header)
        self.header: dict[str, Any] | None = header
        """The header it wrote (a reopened writer has none)."""

    @classmethod
    def reopen(cls, path: Path) -> SessionWriter:
        """A writer appending to a session file written before (to add another attempt to it)."""
        writer = cls.__new__(cls)
        writer._open(path, new=False)
        writer.header = None
        return writer

    def _open(self, path: Path, new: bool) -> None:
        self.path = path
        self._fd = open_append(path, new)

    @classmethod
    def create(
        cls,
        source: str,
        request: dict[str, Any],
        directory: Path | None = None,
        **extra: Any,
    ) -> SessionWriter:
        import socket  # here, not at the top: only a writer asks the host's name

        now = datetime.datetime.now(datetime.UTC)
        session_id = os.urandom(4).hex()
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
        """One chunk's record, the line `json.dumps` would write, built by hand: a stream records
        one per event, and the generic encoder cost as much as the event's decoding."""
        os.write(self._fd, _chunk_line(data, t))

    def end(self, kind: End, t: float, error: dict[str, Any] | None = None, **extra: Any) -> None:
        self._record(t, "end", {"kind": End(kind).value, "error": error, **extra})

    def fault_fired(self, t: float) -> None:
        self._record(t, "fault_fired", {})

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
        os.write(self._fd, _line(obj))


def _line(obj: Any) -> bytes:
    """One line of a session file; a text with a lone surrogate (which only a file read can hold) escaped."""
    line = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, separators=(",", ":")) + "\n").encode("ascii")


def _chunk_line(data: bytes, t: float) -> bytes:
    """A chunk's record, as text when it is UTF-8, else as base64."""
    try:
        text = _json_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _line([round(t, 6), "chunk64", base64.b64encode(data).decode("ascii")])
    return f'[{round(t, 6)!r},"chunk",{text}]\n'.encode()


_json_text = json.encoder.encode_basestring
"""A text as a JSON string, as `json.dumps(ensure_ascii=False)` writes it (the C encoder where there is one)."""


def session_lines(session: Session) -> Iterator[bytes]:
    """The session as its file's lines, from what was read of it (redacted, `ReadRedaction`): every
    attempt, its response head, chunks, end and stop; a damaged line, or a record of a kind this
    version does not know, is not among them."""
    yield _line(session.header)
    t = 0.0
    for number, recording in enumerate(session.attempts):
        fired = recording.fired_t
        for at, line in _records(recording, number, t):
            if fired is not None and at > fired:  # in its place in time: no record goes back before it
                yield _line([fired, "fault_fired", {}])
                fired = None
            yield line
            t = at
        if fired is not None:
            yield _line([fired, "fault_fired", {}])


def _records(recording: Recording, number: int, t: float) -> Iterator[tuple[float, bytes]]:
    """The lines of attempt `number` but its `fault_fired` record, each with its time (`t` until one is known)."""
    if number:
        link = {"request": recording.request, **recording.link}
        yield recording.started_t, _line([recording.started_t, "attempt", link])
    if recording.status is not None:
        t = recording.response_t or t
        yield t, _line([t, "response", {"status": recording.status, "headers": recording.headers}])
    for chunk_t, data in recording.chunks:
        t = chunk_t if chunk_t is not None else t
        yield t, _chunk_line(data, t)
    if recording.ending is not None:
        ending = dict(recording.ending)
        t = ending.pop("t", None) or t
        yield t, _line([t, "end", ending])
    if recording.stopped is not None:
        yield t, _line([t, "stopped", {"why": recording.stopped}])


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


def writer_running(header: dict[str, Any]) -> bool | None:
    """Whether the process that writes a session file (its header's `pid`) still runs; None when that
    cannot be told: another host, another pid namespace (a container), no pid in the header, not a
    POSIX system. Where the header has the writer's start time (Linux), a pid since reused by another
    process reads as gone."""
    pid = header.get("pid")
    if os.name != "posix" or header.get("host") != socket.gethostname():
        return None
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    ours = process_facts()
    if "pid_ns" in header and header["pid_ns"] != ours.get("pid_ns"):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started, now = header.get("pid_started"), process_facts(pid).get("pid_started")
    return started is None or now is None or now == started


def recorded_by(session: Session) -> int | None:
    """The pid of the process still recording the session: its last recording has no end record yet
    and its writer runs (`writer_running`); None when the session ended, or its writer is gone or
    cannot be checked. Every reader asks this before it calls a session without an end record cut
    (`RECORDING_CUT`), which is only true once its writer is gone."""
    if not session.attempts or session.latest.ending is not None or writer_running(session.header) is not True:
        return None
    return session.header["pid"]


def is_session_file(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return first.lstrip().startswith(b"{") and b'"streamwatch"' in first and b'"session"' in first


def load_session(
    path: Path, follow: bool = True, on_record: Callable[[Session], None] | None = None
) -> Session:
    """A session file read a line at a time, as big as it was when opened; SessionError (one line) for
    anything but a regular file, and a symbolic link too unless `follow` (see core/files.py).
    `on_record`: as for `parse_session`."""
    try:
        with open_regular(path, follow) as file:
            return parse_session(file.lines(), Path(path), on_record)
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_session(
    data: bytes | Iterable[bytes], path: Path, on_record: Callable[[Session], None] | None = None
) -> Session:
    """Every intact record of a session file's bytes, or of its lines (each with its b"\\n", as a file
    gives them); what could not be read is listed in `skipped`. `on_record` is called with the session
    after each record was added (to play it as it is read: `playback.OnePass`)."""
    lines = iter(io.BytesIO(data) if isinstance(data, bytes) else data)
    session = start_session(next(lines, b""), path)
    read_records(session, lines, on_record)
    return session


def start_session(first: bytes, path: Path) -> Session:
    """A session of the file's first line, its header (SessionError if it is not one) redacted
    (`ReadRedaction`), and no record yet."""
    notes: list[str] = []
    header = read_header(first[:-1] if first.endswith(b"\n") else b"", path, notes)
    redaction = ReadRedaction()
    header = redaction.header(header)
    first_attempt = Recording(request=header.get("request", {}), fault=header.get("fault"),
                              fires_recorded=header.get("fault_fired_record") is True)
    return Session(path=Path(path), header=header, attempts=[first_attempt],
                   skipped=[f"line 1: {note}" for note in notes], redaction=redaction)


def read_records(
    session: Session, lines: Iterable[bytes], on_record: Callable[[Session], None] | None = None,
    growing: bool = False,
) -> None:
    """Add the records of the lines after the header (see `parse_session`). `growing`: more lines will
    come (attach), so the body read last is not over where these lines stop."""
    session.redaction.growing = growing
    for number, line in enumerate(lines, start=2):
        if not line.endswith(b"\n"):
            if line.strip():
                session.skipped.append(f"line {number}: truncated ({len(line)} bytes, the writer stopped mid-line)")
            break
        if line.strip():
            apply_record(session, line[:-1], number)
            if on_record is not None:
                on_record(session)
    if not growing and session.redaction.flush(session.latest) and on_record is not None:
        on_record(session)


class SessionLoader:
    """A session file opened at once and read behind: a replay's first frame does not wait for a big
    file. The header is read when the loader is made (SessionError, one line, as `load_session`
    says), the records by `load()`, on another thread, into `session`, which grows as they come and
    says `reading` until the last one is in; `progress` says how far it got. Each record reaches the
    session in one step another thread sees whole (a chunk or a recording appended, an end or a
    stop set, a response head's status set last), so the session may be played as it grows.

    `opened`: a file another process is still appending to (attach: `playback.Follower`), read up to
    its last whole line (`read` bytes, `lines` lines) and left open for the follower to read on."""

    def __init__(self, path: Path, follow: bool = True, opened: RegularFile | None = None) -> None:
        try:
            self._file = opened or open_regular(path, follow)
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
        self._growing = opened is not None
        try:
            self._lines = self._file.lines()
            first = next(self._lines, b"")
            self.session = start_session(first, Path(path))
        except BaseException:
            self._file.close()
            raise
        self.size = self._file.size
        self.read = len(first)
        self.lines = 1
        self._cancelled = False
        self.session.reading = True

    @property
    def progress(self) -> float:
        """How much of the file has been read, from 0 to 1."""
        return 1.0 if not self.size or self.done else min(1.0, self.read / self.size)

    @property
    def done(self) -> bool:
        return not self.session.reading

    def load(self) -> None:
        """Read every record left (a read error is said in `skipped`, and ends the session there)."""
        try:
            read_records(self.session, self._counted(), growing=self._growing)
        except OSError as exc:
            self.session.skipped.append(f"cannot read past byte {self.read}: {exc.strerror or exc}")
        finally:
            if not self._growing:
                self._file.close()
            self.session.reading = False

    def cancel(self) -> None:
        """Stop reading (from any thread): `load` returns after the line it is on."""
        self._cancelled = True

    def _counted(self) -> Iterator[bytes]:
        for line in self._lines:
            if self._cancelled or self._growing and not line.endswith(b"\n"):  # a line still being written
                return
            self.read += len(line)
            self.lines += 1
            yield line


MAX_TIME = 10_000_000
"""The latest session time a record may have, in seconds (about 115 days)."""


class _Rule:
    """What one field must be (`what`, said when it is not) and how it is read: as it is, when `check`
    says so, and null only where the writer writes null (`nullable`)."""

    def __init__(self, what: str, check: Callable[[Any], bool], nullable: bool = False) -> None:
        self.what, self.check, self.nullable = what, check, nullable

    def read(self, value: Any, label: str, notes: list[str]) -> Any:
        """The value as read, or _LEFT_OUT (said in `notes`)."""
        if (value is None and self.nullable) or (value is not None and self.check(value)):
            return value
        notes.append(f"{label} is not {self.what}; left out")
        return _LEFT_OUT


class _Fields(_Rule):
    """An object: the fields named here, each read by its rule (a wrong one left out, said), and no
    others. Without every `required` field the object is left out as a whole."""

    def __init__(self, fields: dict[str, _Rule], required: tuple[str, ...] = (), nullable: bool = False) -> None:
        super().__init__("an object", _is_object, nullable)
        self.fields, self.required = fields, required

    def read(self, value: Any, label: str, notes: list[str]) -> Any:
        if not isinstance(value, dict):
            return super().read(value, label, notes)
        out: dict[str, Any] = {}
        said: list[str] = []
        for name, rule in self.fields.items():
            if name in value:
                item = rule.read(value[name], f"{label}.{name}", said)
                if item is not _LEFT_OUT:
                    out[name] = item
        for name in self.required:
            if out.get(name) is None:
                notes.append(f"{label}.{name} is missing or not {self.fields[name].what}; {label} left out")
                return _LEFT_OUT
        notes.extend(said)
        return out


class _Map(_Rule):
    """An object of any names, its values all read by one rule (a wrong one left out, said)."""

    def __init__(self, values: _Rule) -> None:
        super().__init__(f"an object of {values.what}", _is_object)
        self.values = values

    def read(self, value: Any, label: str, notes: list[str]) -> Any:
        if not isinstance(value, dict):
            return super().read(value, label, notes)
        out = {}
        for name, item in value.items():
            item = self.values.read(item, f"{label}[{_short(name)!r}]", notes)
            if item is not _LEFT_OUT:
                out[name] = item
        return out


_LEFT_OUT = object()
"""What a rule reads from a value that is not what it must be."""


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _whole(low: int, high: int) -> _Rule:
    return _Rule(f"a whole number from {low} to {high}", lambda value: type(value) is int and low <= value <= high)


_ENDS = frozenset(End)
_TEXT = _Rule("text", _is_text)
_BOOL = _Rule("true or false", lambda value: isinstance(value, bool))
_TEXTS = _Rule("a list of texts", lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value))
_REQUEST = _Fields({"method": _TEXT, "url": _TEXT, "headers": _Map(_TEXT), "body": _Rule("an object", _is_object)})
_HEADER = _Fields({
    "id": _TEXT,
    "started": _TEXT,
    "source": _TEXT,
    "pid": _whole(1, 2**31 - 1),
    "pid_started": _whole(0, 2**63 - 1),
    "pid_ns": _whole(0, 2**64 - 1),
    "host": _TEXT,
    "on_failure": _TEXT,
    "client": _TEXT,
    "upstream": _TEXT,
    "path": _TEXT,
    "request_body": _TEXT,
    "fault": _TEXT,
    "fault_fired_record": _BOOL,
    "continues": _Fields({"session": _TEXT, "file": _TEXT, "attempt": _whole(1, 2**53), "reason": _TEXT,
                          "strategy": _TEXT, "dropped": _TEXTS}, required=("session",)),
    "request": _REQUEST,
})
_PAYLOADS = {
    "response": _Fields({"status": _whole(100, 999), "headers": _Map(_TEXT)}, required=("status",)),
    "end": _Fields({
        "kind": _Rule("one of " + ", ".join(End), lambda value: isinstance(value, str) and value in _ENDS),
        "error": _Fields({"type": _TEXT, "message": _TEXT}, required=("type",), nullable=True),
        "sdk": _Fields({
            "raised": _Rule("text", _is_text, nullable=True),
            "chain": _TEXTS,
            "events": _whole(0, 2**53),
            "stop_reason": _Rule("text", _is_text, nullable=True),
            "message_stop": _BOOL,
            "silent": _BOOL,
            "seen": _TEXT,
        }, nullable=True),
        "fault_fired": _BOOL,
    }, required=("kind",)),
    "attempt": _Fields({"request": _REQUEST, "reason": _TEXT, "replaces": _whole(1, 2**53), "strategy": _TEXT,
                        "dropped": _TEXTS}),
    "stopped": _Fields({"why": _TEXT}, required=("why",)),
    "fault_fired": _Fields({}),
}
"""Each record kind's payload as the writer writes it (a chunk's is text)."""


class _Damage(ValueError):
    """Why a line is not JSON as the writer writes it."""


def _no_constant(token: str) -> None:
    raise _Damage(f"{token} is not a JSON number")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) < len(pairs):
        seen: set[str] = set()
        repeated = next(name for name, _ in pairs if name in seen or seen.add(name))
        raise _Damage(f"an object has the key {_short(repeated)!r} twice")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_unique)


def read_line(line: bytes) -> tuple[Any, str | None]:
    """One line as the writer writes it: UTF-8, strict JSON (no NaN or Infinity, no key twice in an
    object), nested at most MAX_DEPTH deep. (value, None), or (None, why it is not)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    try:
        value = _DECODER.decode(text)
    except _Damage as exc:
        return None, f"not valid JSON ({exc})"
    except ValueError:
        return None, "not valid JSON"
    except RecursionError:
        return None, "JSON nested too deeply to read"
    if nested_deeper_than(text, value):
        return None, f"JSON nested more than {MAX_DEPTH} deep"
    return value, None


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:39] + "…"


def read_header(line: bytes, path: Path, notes: list[str]) -> dict[str, Any]:
    """A session file's first line as a header of the shape the module doc gives (a field of the wrong
    type left out, said in `notes`); SessionError if it is not a session header this version reads."""
    header, damage = read_line(line)
    if not isinstance(header, dict) or header.get("streamwatch") != "session":
        why = f": {damage}" if damage and line.lstrip().startswith(b"{") else ""
        raise SessionError(f"{path} is not a streamwatch session file (no session header on line 1{why})")
    version = header.get("version")
    if "version" not in header:
        raise SessionError(f"{path} has a session header without a format version; it cannot be read")
    if type(version) is not int or version < 1:
        shown = version if isinstance(version, str) else json.dumps(version)
        raise SessionError(f"{path} has a session header whose format version is not a whole number from 1 "
                           f"(format {shown}); it cannot be read")
    if version > VERSION:
        number = f" (format {version})" if version < 10**6 else ""
        raise SessionError(f"{path} was written by a newer streamwatch{number}; upgrade to read it")
    return {"streamwatch": "session", "version": version, **_HEADER.read(header, "header", notes)}


def apply_record(session: Session, line: bytes, number: int) -> None:
    """Add one record, line `number` of the file, to the session in the shape the module doc gives.
    What could not be read is said in `session.skipped`: the record, or a field of it left out."""
    notes: list[str] = []
    _read_record(session, line, notes)
    if notes:
        session.skipped.extend(f"line {number}: {note}" for note in notes)


def _read_record(session: Session, line: bytes, notes: list[str]) -> None:
    record, damage = read_line(line)
    if damage:
        notes.append(damage)
        return
    if not (isinstance(record, list) and len(record) == 3 and isinstance(record[1], str)):
        notes.append("not a [t, kind, payload] record")
        return
    t, kind, payload = record
    if type(t) not in (int, float) or not 0 <= t <= MAX_TIME:
        notes.append(f"its time is not a number of seconds from 0 to {MAX_TIME}")
        return
    current, redaction = session.latest, session.redaction
    if kind in ("chunk", "chunk64"):
        data = _chunk(kind, payload, notes)
        if data is None:
            return
        t = _in_order(session, float(t), notes)
        for piece, at in redaction.chunk(data, t):
            current.chunks.append((at, piece))
    elif kind in _PAYLOADS:
        payload = _PAYLOADS[kind].read(payload, kind, notes)
        if payload is _LEFT_OUT:
            return
        t = _in_order(session, float(t), notes)
        if kind not in ("stopped", "fault_fired"):  # neither ends a body: what the scrubber holds waits on
            redaction.flush(current)
        if kind == "response":
            current.response(payload["status"], redaction.response(payload.get("headers", {})), t)
        elif kind == "end":
            current.ending = {**redaction.end(payload), "t": t}
        elif kind == "attempt":
            request = redaction.request(payload.pop("request", {}))
            session.attempts.append(Recording(request=request, started_t=t, link=redaction.attempt(payload)))
        elif kind == "fault_fired":
            current.fault_fired(t)
        else:
            current.stop(redaction.why(payload["why"]))
    elif isinstance(payload, dict):
        _in_order(session, float(t), notes)  # a kind a newer streamwatch records: nothing this version shows
    else:
        notes.append(f"a record of unknown kind {_short(kind)!r} whose payload is not an object")


def _chunk(kind: str, payload: Any, notes: list[str]) -> bytes | None:
    if not isinstance(payload, str):
        notes.append(f"{kind} payload is not text")
        return None
    if kind == "chunk":
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError:
            notes.append("chunk text holds a lone surrogate: it is not bytes a stream sent")
            return None
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        notes.append("chunk64 payload is not base64")
        return None


def _in_order(session: Session, t: float, notes: list[str]) -> float:
    """A record's time, read as the time of the record before it when it goes back before that (said)."""
    if t < session.last_t:
        notes.append(f"its time {t:g} s goes back before the record before it; read as {session.last_t:g} s")
        t = session.last_t
    session.last_t = t
    return t


def session_entries(folder: Path | None = None) -> list[tuple[Path, os.stat_result]]:
    """Every `*.jsonl` name in a sessions folder (default: the saved sessions'), with what it is
    (`lstat`: a link is not followed); none when the folder is not there yet. SessionError (one line)
    when the folder is a symbolic link or another user's: nothing in it is read."""
    folder = folder or home_dir() / "sessions"
    try:
        fd = own_folder(folder)
    except FileNotFoundError:
        return []
    except Refused as exc:
        raise SessionError(f"not reading the sessions folder {folder}: {exc.strerror}") from None
    except OSError as exc:
        raise SessionError(f"cannot read the sessions folder {folder}: {exc.strerror or exc}") from None
    entries = []
    try:
        with os.scandir(fd) as names:
            for entry in names:
                if entry.name.endswith(".jsonl") and not entry.name.startswith("."):
                    try:
                        entries.append((folder / entry.name, entry.stat(follow_symlinks=False)))
                    except FileNotFoundError:
                        continue
    finally:
        os.close(fd)
    return entries


def session_files() -> list[Path]:
    """Saved session files, newest first: regular files only (no link, FIFO, device or folder)."""
    entries = [(path, status) for path, status in session_entries() if stat.S_ISREG(status.st_mode)]
    entries.sort(key=lambda entry: (entry[1].st_mtime, entry[0].name), reverse=True)
    return [path for path, _ in entries]


def resolve_session(name: str) -> Path:
    """A session named by path, or by a unique part of its file name (e.g. its id); `latest` is the
    catalog's (`Catalog.latest`)."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    files = session_files()
    matches = [p for p in files if name in p.name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SessionError(f"{name!r} matches {len(matches)} sessions; give more of the name")
    if os.path.exists(path):
        raise SessionError(f"cannot read {path}: {not_regular(path, os.stat(path).st_mode).strerror}")
    raise SessionError(f"no session file or saved session matches {name!r}")


def parse_time(value: str | None) -> datetime.datetime | None:
    """A recorded time (a header's `started`): ISO 8601, UTC when it names no offset, that every time
    zone can show; None for anything else."""
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
