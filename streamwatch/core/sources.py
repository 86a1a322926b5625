"""Where recorded bytes come from: a saved session, or a raw capture made with curl.

A raw capture is an SSE body (`curl -N ... > out.sse`), optionally preceded by the HTTP response
head as `curl -i` writes it, or a JSON body (an error, or a whole non-streaming answer). It has no
timing, so its chunks carry no time.

Its body is what curl wrote: still compressed (`curl -i` without `--compressed`) or not, still
chunk-framed (`curl --raw`) or not; `StreamState` tells which (core/body.py).

A capture does not say how its connection ended, a clean close or a cut, unless curl's exit status
is given (`CURL_EXITS`).

Either is read as `core/files.py` reads a file the user named: a link is followed, but only to a
regular file, and only as big as it was when opened, in pieces (a session a line at a time), each
played as it is read (`OnePass`): memory holds the stream's state, not the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamwatch.core.attempts import AttemptLog
from streamwatch.core.diagnose import CUT_ERROR, End, StreamState
from streamwatch.core.files import RegularFile, open_regular
from streamwatch.core.playback import OnePass
from streamwatch.core.recording import Recording, Session, SessionError, is_session_file, parse_session

_STATUS_LINE = re.compile(rb"HTTP/[0-9.]+ +(\d{3})[^\r\n]*\r?\n")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
PIECE = 1 << 16
"""A capture is read in pieces of this many bytes; its HTTP heads must fit in the first."""

CURL_EXITS: dict[int, tuple[End, str, str | None]] = {
    0: (End.EOF, "the transfer ended normally: the connection closed cleanly", None),
    18: (End.TRANSPORT_ERROR, "partial file: the connection closed before the whole body arrived", CUT_ERROR),
    56: (
        End.TRANSPORT_ERROR,
        "failure receiving network data: the connection was reset",
        "httpx2.ReadError: [Errno 104] Connection reset by peer",
    ),
    92: (End.TRANSPORT_ERROR, "HTTP/2 stream error: the stream was reset", "httpx2.RemoteProtocolError (stream reset)"),
    28: (
        End.CANCELLED,
        "curl's own time limit ran out (--max-time, --speed-limit): the capture stops there, the stream may "
        "have gone on",
        None,
    ),
    23: (
        End.CANCELLED,
        "curl could not write the body (a full disk, or a reader that went away, as with | head): the capture "
        "stops there, the stream may have gone on",
        None,
    ),
}
"""curl's exit status: how the capture's byte source stopped, what that means, and what the Python SDK
raises on such an end (None: it depends on what came after the capture stopped). Any other non-zero
status is a transport error of curl's."""


def analyze_input(path: Path, stall_threshold: float, curl_exit: int | None = None) -> tuple[Session, AttemptLog]:
    """A session file or a raw capture played to its end as it is read: the session (without the
    chunks it played) and its attempts; SessionError when it is neither readable nor either.
    `curl_exit`: the exit status of the curl that made the capture, if known."""
    play = OnePass(stall_threshold, keep=False)
    try:
        with open_regular(path) as file:
            first = file.read(PIECE)
            if is_session_file(first):
                if curl_exit is not None:
                    raise SessionError(
                        f"{path} is a session file, which says how its stream ended: a curl exit status is for "
                        "raw captures"
                    )
                file.seek(0)
                session = parse_session(file.lines(), Path(path), play.take)
            else:
                session = Session(path=None, header={"source": "capture", "file": str(path)},
                                  attempts=[_capture_start(first, curl_exit)])
                _read_capture(session, file, play, curl_exit)
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
    return session, play.finish(session)


def _read_capture(session: Session, rest: RegularFile, play: OnePass, curl_exit: int | None) -> None:
    """The rest of a capture after its first piece, played a piece at a time, then how it ended."""
    recording = session.latest
    play.take(session)
    while piece := rest.read(PIECE):
        recording.chunks.append((None, piece))
        play.take(session)
    _capture_end(recording, curl_exit)


def _capture_start(data: bytes, curl_exit: int | None) -> Recording:
    """A capture's first piece: its HTTP heads, if any, then the start of its body; with what curl's
    exit status says the SDK raised (known before the body is read)."""
    capture = {"curl_exit": curl_exit} if curl_exit is None else {"curl_exit": curl_exit, "raises": _curl(curl_exit)[2]}
    recording = Recording(request={}, capture=capture)
    body = data
    while True:
        match = _STATUS_LINE.match(body)
        if match is None:
            break
        end = _HEAD_END.search(body, match.start())
        head, body = (body, b"") if end is None else (body[: end.start()], body[end.end():])
        status = int(match.group(1))
        headers = {}
        for line in head[match.end():].splitlines():
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 or (status == 200 and _STATUS_LINE.match(body)):
            continue
        recording.status, recording.headers = status, headers
    if body:
        recording.chunks.append((None, body))
    return recording


def _capture_end(recording: Recording, curl_exit: int | None) -> None:
    """How a capture's byte source stopped: the end of the file, or as curl's exit status says."""
    if curl_exit is None:
        recording.end(End.EOF, None)
        return
    kind, meaning, _ = _curl(curl_exit)
    recording.end(kind, None, None if kind == End.EOF else {"type": f"curl exit {curl_exit}", "message": meaning})


def _curl(curl_exit: int) -> tuple[End, str, str | None]:
    return CURL_EXITS.get(
        curl_exit, (End.TRANSPORT_ERROR, f"curl failed with exit status {curl_exit}", "an httpx2 transport error")
    )


def analyze(recording: Recording, stall_threshold: float) -> StreamState:
    return recording.replay_into(StreamState(stall_threshold, recording.fault))


def is_stream(session: Session, state: StreamState) -> bool:
    """A session is always an exchange; a capture must hold an SSE event, an HTTP head, an error or a Message."""
    if session.path is not None:
        return True
    recording = session.latest
    incomplete = state.incomplete
    looks_like_sse = incomplete is not None and (incomplete.event is not None or incomplete.data != "")
    answered = state.is_http_error or state.json_message is not None
    return bool(state.events or looks_like_sse or recording.status is not None or answered)
