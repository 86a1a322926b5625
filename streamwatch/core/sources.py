"""Where recorded bytes come from: a saved session, or a raw capture made with curl.

A raw capture is an SSE body (`curl -N ... > out.sse`), optionally preceded by the HTTP response
head as `curl -i` writes it, or a JSON error body. It has no timing, so its chunks carry no time.

Its body is what curl wrote: still compressed (`curl -i` without `--compressed`) or not, still
chunk-framed (`curl --raw`) or not; `StreamState` tells which (core/body.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from streamwatch.core.diagnose import End, StreamState
from streamwatch.core.recording import Recording, Session, SessionError, is_session_file, load_session

_STATUS_LINE = re.compile(rb"HTTP/[0-9.]+ +(\d{3})[^\r\n]*\r?\n")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def load_input(path: Path) -> Session:
    """A session file or a raw capture, as a session; SessionError when it is neither readable nor either."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise SessionError(f"{path} is a directory, not a session file or capture") from None
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
    if is_session_file(data[:65536]):
        return load_session(path)
    return Session(path=None, header={"source": "capture", "file": str(path)}, attempts=[parse_capture(data)])


def parse_capture(data: bytes) -> Recording:
    recording = Recording(request={}, capture={})
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
    recording.end(End.EOF, None)
    return recording


def analyze(recording: Recording, stall_threshold: float) -> StreamState:
    return recording.replay_into(StreamState(stall_threshold))


def is_stream(session: Session, state: StreamState) -> bool:
    """A session is always an exchange; a capture must hold an SSE event, an HTTP head or an error."""
    if session.path is not None:
        return True
    recording = session.latest
    incomplete = state.incomplete
    looks_like_sse = incomplete is not None and (incomplete.event is not None or incomplete.data != "")
    return bool(state.events or looks_like_sse or recording.status is not None or state.is_http_error)
