"""`curl`: a shell command that sends one attempt's request again, as the session recorded it.

The request is the redacted one the file holds: the key is never in it, so the command takes it
from `$ANTHROPIC_API_KEY`, in the header the request carried it in (`x-api-key`, or `Authorization:
Bearer` as the Python SDK sends it). Every other header goes as recorded, except what curl sets by
itself (host, length, encoding, connection, user agent), the SDK's `x-stainless-*` facts about
itself, and a value the session redacted, which is named in a comment instead. The mock's
`x-streamwatch-*` headers stay, so a replay against `streamwatch mock` plays the same scenario.

Everything from the file is quoted for the shell (`shlex.quote`); the body is JSON with every
non-ASCII character escaped, on stdin through a quoted heredoc whose marker no line of it equals, so
nothing in it is expanded. `-N` turns off curl's buffering for a streaming request.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from streamwatch.core.redact import REDACTED
from streamwatch.core.safe import one_line
from streamwatch.export.source import Exported

API_VERSION = "2023-06-01"
"""The `anthropic-version` sent when the recorded request had none."""
KEY_HEADERS = ("x-api-key", "authorization")
CURL_SETS = frozenset({"host", "content-length", "accept-encoding", "connection", "transfer-encoding", "user-agent"})
CLIENT_FACTS = "x-stainless-"
MARKER = "STREAMWATCH_BODY"


def render(source: Exported, number: int | None) -> list[bytes]:
    attempt = source.attempt(number)
    request = attempt.request or {}
    return [command(request, f"attempt {attempt.number} of {len(source.log.attempts)} in {source.name}").encode()]


def command(request: dict[str, Any], about: str) -> str:
    """The command for a recorded request (method, url, headers, body), with a comment line saying `about`."""
    headers = {str(name).lower(): str(value) for name, value in request.get("headers", {}).items()}
    body = request.get("body")
    streaming = isinstance(body, dict) and body.get("stream") is True
    lines = [f"# {one_line(about)}: the recorded request, redacted; the key is read from $ANTHROPIC_API_KEY"]
    left_out = [name for name, value in headers.items() if value == REDACTED and name not in KEY_HEADERS]
    if left_out:
        lines.append(f"# left out, redacted in the session: {one_line(', '.join(left_out))}")
    method = str(request.get("method") or "POST").upper()
    words = ["curl", *(["-N"] if streaming else []), *([] if method == "POST" else ["-X", shlex.quote(method)])]
    args = [" ".join(words) + " " + shlex.quote(str(request.get("url", "")))]
    if "authorization" in headers and "x-api-key" not in headers:
        args.append('-H "Authorization: Bearer $ANTHROPIC_API_KEY"')
    else:
        args.append('-H "x-api-key: $ANTHROPIC_API_KEY"')
    headers.setdefault("anthropic-version", API_VERSION)
    headers.setdefault("content-type", "application/json")
    for name, value in headers.items():
        if name in KEY_HEADERS or name in CURL_SETS or name.startswith(CLIENT_FACTS) or value == REDACTED:
            continue
        args.append("-H " + shlex.quote(f"{name}: {value}"))
    text = json.dumps(body if body is not None else {}, ensure_ascii=True, indent=2)
    marker = MARKER
    while marker in text.splitlines():
        marker += "_"
    args.append(f"--data-binary @- <<'{marker}'")
    lines.append(" \\\n  ".join(args))
    return "\n".join([*lines, text, marker, ""])
