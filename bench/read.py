"""Reading a session: `analyze` of a big session file, with its redaction on read, beside the same reading
without it (what reading cost before files were redacted as they are read), measured in the same run.

Two session files as streamwatch writes them (already redacted, so the redaction on read changes
nothing in them): 10 MB of text in 40-character text_delta events, one chunk per event as the SDK
tap records them (~250k chunks, ~39 MB of SSE), and the same body in 1 400-byte chunks cut
anywhere, as the proxy records a socket's reads (--quick: 2 MB of text). The baseline swaps
core/recording.py's `ReadRedaction` for one that passes every record as it is. Target: <= 1.15x.

Run: .venv/bin/python bench/read.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Row, Timing, main, row, timed  # noqa: E402
from streamwatch.core import recording  # noqa: E402
from streamwatch.core.diagnose import End  # noqa: E402
from streamwatch.core.recording import ReadRedaction, Recording, SessionWriter  # noqa: E402
from streamwatch.core.sources import analyze_input  # noqa: E402
from tests import streams as s  # noqa: E402

THRESHOLD = 5.0
READ_SIZE = 1400


class _AsItIs(ReadRedaction):
    """Every record passed as it is: reading as it was before the redaction on read."""

    def header(self, header: dict[str, Any]) -> dict[str, Any]:
        return header

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        return request

    def response(self, headers: dict[str, str]) -> dict[str, str]:
        return headers

    def chunk(self, data: bytes, t: float) -> list[tuple[bytes, float]]:
        return [(data, t)]

    def flush(self, recording: Recording) -> bool:
        return False

    def end(self, ending: dict[str, Any]) -> dict[str, Any]:
        return ending

    def attempt(self, link: dict[str, Any]) -> dict[str, Any]:
        return link

    def why(self, why: str) -> str:
        return why


def events(megabytes: float) -> list[bytes]:
    piece = "lorem ipsum dolor sit amet, consectetur "
    count = int(megabytes * 1024 * 1024 / len(piece))
    return [s.message_start(), s.block_start(0, {"type": "text", "text": ""}),
            *(s.delta(0, {"type": "text_delta", "text": piece}) for _ in range(count)),
            s.block_stop(0), s.message_delta("end_turn"), s.message_stop()]


def session(path: Path, chunks: list[bytes]) -> Path:
    request = {"method": "POST", "url": "https://api.anthropic.com/v1/messages",
               "headers": {"authorization": "[redacted]", "anthropic-version": "2023-06-01"},
               "body": {"model": "claude-sonnet-4-6", "max_tokens": 64000, "stream": True,
                        "messages": [{"role": "user", "content": "a long answer"}]}}
    writer = SessionWriter(path, {"streamwatch": "session", "version": 1, "id": "bench", "source": "live",
                                  "started": "2026-12-01T10:00:00.000+00:00", "request": request})
    with writer:
        writer.response(200, {"content-type": "text/event-stream", "request-id": "req_bench"}, 0.1)
        for number, data in enumerate(chunks):
            writer.chunk(data, 0.2 + number * 1e-5)
        writer.end(End.EOF, 0.2 + len(chunks) * 1e-5)
    return path


def analyze(path: Path) -> None:
    _, log = analyze_input(path, THRESHOLD)
    assert log.attempts[-1].verdict.complete, "the session did not analyze as complete"


def rows(quick: bool) -> list[Row]:
    megabytes = 2 if quick else 10
    repeat = 3 if quick else 5
    body = events(megabytes)
    joined = b"".join(body)
    found = []
    with tempfile.TemporaryDirectory() as folder:
        files = {
            "a chunk per event": session(Path(folder) / "events.jsonl", body),
            f"{READ_SIZE}-byte reads": session(Path(folder) / "reads.jsonl", [
                joined[at : at + READ_SIZE] for at in range(0, len(joined), READ_SIZE)]),
        }
        for name, path in files.items():
            size = path.stat().st_size / (1024 * 1024)
            redacted, as_it_is = [], []
            for _ in range(repeat):  # one of each in turn, so the machine's mood weighs on both alike
                redacted.append(timed(lambda path=path: analyze(path), 1))
                recording.ReadRedaction = _AsItIs
                try:
                    as_it_is.append(timed(lambda path=path: analyze(path), 1))
                finally:
                    recording.ReadRedaction = ReadRedaction
            found.append(row(f"analyze, {megabytes} MB of text, {name} ({size:.0f} MB file), redacted on read",
                             _together(redacted), _together(as_it_is), "not redacted on read", target=1.15))
    return found


def _together(timings: list[Timing]) -> Timing:
    return Timing(min(t.best for t in timings), statistics.median(t.median for t in timings))


if __name__ == "__main__":
    main(rows, __doc__)
