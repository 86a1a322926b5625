"""`sse`: one attempt's response body as the client's SSE parser read it.

The recorded wire bytes with what HTTP did to them undone (`Recording.body`: the content coding, a
capture's chunked framing), so the file is what `curl --compressed -N` would have written:
`streamwatch analyze` reads it back as a raw capture to the verdict the session gives. A capture
cannot say how its connection ended; for a stream that was cut, `note` says which `--curl-exit`
tells `analyze` so.
"""

from __future__ import annotations

from collections.abc import Iterator

from streamwatch.core.diagnose import Termination
from streamwatch.export.source import Exported


def render(source: Exported, number: int | None) -> Iterator[bytes]:
    recording = source.attempt(number).run.recording
    assert recording is not None  # every attempt played from a file has its recording
    return (piece for piece in recording.body() if piece)


def note(source: Exported, number: int | None) -> str | None:
    attempt = source.attempt(number)
    if attempt.state.termination is not Termination.TRANSPORT_ERROR:
        return None
    return (f"attempt {attempt.number}'s connection was cut, which a body alone cannot show: "
            "`streamwatch analyze FILE --curl-exit 18` reads it as cut")
