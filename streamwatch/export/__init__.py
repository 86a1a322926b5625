"""Formats out: a saved session as its own file, its body, a curl command, a HAR file or a support report.

Each format is a plain function over what the core reads from the file (`source.Exported`): the
session as `load_session` checked it, and its attempts as `replay_attempts` played them through the
pipeline a live stream goes through. None parses a byte itself. What each does with a session of
several attempts (a retry, a resume):

- `jsonl`: the session file itself, every attempt; a file that held what streamwatch would not have
  written (a secret, or a line it cannot read: a file made by hand, by an older version, edited) as
  it reads it instead, redacted (`recording.session_lines`), which its note says.
- `sse`: one attempt's response body as the client's SSE parser read it (content coding and chunked
  framing undone), which `streamwatch analyze` reads back to the same verdict.
- `curl`: a shell command that sends one attempt's request again (as recorded, so redacted: the key
  comes from `$ANTHROPIC_API_KEY`).
- `har`: every attempt, one HTTP Archive 1.2 entry each (the attempt's last request, after a
  redirect the SDK followed).
- `report`: a Markdown support report on one attempt, every attempt listed under its recovery.

`sse`, `curl` and `report` take the last attempt unless told another (`--attempt N`); `jsonl` and
`har` hold them all and take no attempt number.

`otlp` (export/otlp.py) writes no file: it is a `Hook` that sends every attempt as OpenTelemetry
spans, live (`--otlp`) or from saved sessions (`streamwatch export --format otlp`), so it is not in
`FORMATS` (nor in the run screen's export picker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from streamwatch.core.files import copy_private, write_private
from streamwatch.core.recording import session_lines
from streamwatch.export import curl, har, report, sse
from streamwatch.export.source import Exported, ExportError, session_file


@dataclass(frozen=True)
class Format:
    """One way out: its name (`--format`), the suffix of a file of it, and the function that renders it."""

    name: str
    suffix: str
    about: str
    one_attempt: bool
    """Whether it is about one attempt (`--attempt N`, default the last) rather than all of them."""
    render: Callable[[Exported, int | None], Iterable[bytes]]
    note: Callable[[Exported, int | None], str | None] = lambda source, number: None
    """A line for stderr about what the output cannot say by itself, if any."""
    title: str = ""
    """What a file of it is, to start a sentence ("Report exported to ...")."""
    short: str = ""
    """What it is in a few words, for a picker."""


def _as_read(source: Exported) -> bool:
    """Whether the file is exported as read rather than as it is (see the module doc)."""
    return source.session.redaction.changed or bool(source.session.skipped)


def _whole_file(source: Exported, number: int | None) -> Iterable[bytes]:
    return session_lines(source.session) if _as_read(source) else session_file(source.path)


def _whole_file_note(source: Exported, number: int | None) -> str | None:
    if not _as_read(source):
        return None
    return ("the file holds a secret streamwatch would not have written, or lines it cannot read: exported as "
            "read, redacted, without those lines")


FORMATS = {
    format.name: format
    for format in (
        Format("jsonl", ".jsonl", "the session file itself (every attempt)", False, _whole_file, _whole_file_note,
               title="Session", short="the session file, every attempt"),
        Format("sse", ".sse", "the response body as the client read it; `analyze` reads it back", True, sse.render,
               sse.note, title="Response body", short="the response body, which analyze reads back"),
        Format("curl", ".sh", "a curl command that sends the request again (key from $ANTHROPIC_API_KEY)", True,
               curl.render, title="curl command", short="a command that sends the request again"),
        Format("har", ".har", "HTTP Archive 1.2, one entry per attempt (browser dev tools, HAR viewers)", False,
               har.render, title="HAR file", short="HTTP Archive 1.2, for browser dev tools"),
        Format("report", ".md", "a Markdown support report of the stream, ready to paste into a ticket", True,
               report.render, title="Report", short="a Markdown report for a support ticket"),
    )
}


def export_beside(session: Path, folder: Path, name: str, stall_threshold: float) -> Path:
    """The session in format `name` as a new private file in `folder` (what `e` writes): the session's
    own name with the format's suffix, or the next free one (`core/files.create_private`: never over a
    file or through a link); the path it got. SessionError, ExportError or OSError when it cannot."""
    source = Exported(session, stall_threshold)
    if name == "jsonl" and not _as_read(source):
        return copy_private(session, folder)
    chosen = FORMATS[name]
    return write_private(folder, session.stem + chosen.suffix, chosen.render(source, None))


__all__ = ["FORMATS", "ExportError", "Exported", "Format", "export_beside"]
