"""`sse`: one attempt's response body as the client's SSE parser read it.

The recorded wire bytes with what HTTP did to them undone (`Recording.body`: the content coding, a
capture's chunked framing), so the file is what `curl --compressed -N` would have written:
`streamwatch analyze` reads it back as a raw capture to the verdict the session gives. A capture
cannot say how its connection ended; for a stream that did not end by itself (cut, timed out,
stopped by the user), `note` says so and which `--curl-exit`, if any, tells `analyze` the same
(`core.sources.CURL_EXITS`). An attempt that got no response has no body: ExportError.
"""

from __future__ import annotations

from collections.abc import Iterator

from streamwatch.core.diagnose import End
from streamwatch.core.sources import CURL_EXITS
from streamwatch.export.source import Exported, ExportError


def render(source: Exported, number: int | None) -> Iterator[bytes]:
    attempt = source.attempt(number)
    recording = attempt.run.recording
    assert recording is not None  # every attempt played from a file has its recording
    if recording.status is None:
        raise ExportError(f"attempt {attempt.number} got no response: nothing to export as sse")
    return (piece for piece in recording.body() if piece)


def note(source: Exported, number: int | None) -> str | None:
    attempt = source.attempt(number)
    ended = attempt.state.ended
    if ended is None or ended is End.EOF or attempt.state.termination != ended.value:
        return None  # it ended by itself (an event ended it, or the body did), as the file shows
    said = f"attempt {attempt.number} ended {attempt.state.termination}, which a body alone cannot show: "
    exits = [code for code, (end, _, _) in CURL_EXITS.items() if end is ended]
    if not exits:
        return said + "the file alone reads as a clean early end, and no `--curl-exit` of `analyze` says otherwise"
    return said + f"`streamwatch analyze FILE --curl-exit {exits[0]}` reads it as {ended}"
