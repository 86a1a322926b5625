"""`har`: the session as an HTTP Archive 1.2 file, one entry per attempt, for browser dev tools and HAR viewers.

An entry is the attempt's last request (after a redirect the SDK followed) as recorded, redacted:
its headers, its JSON body as `postData`, the response head, and the body as the client read it
(`Recording.body`: content coding undone) as `content.text`, base64 when it is not UTF-8. Timings
come from the recording's clock: `wait` from the request to the response head, `receive` from there
to the body's end; what a recording cannot know (DNS, connect, TLS) is -1, as the spec says. A request
that got no response has status 0, as browsers write it. The entry's `comment` gives the verdict.
"""

from __future__ import annotations

import base64
import http
import json
from typing import Any
from urllib.parse import parse_qsl

from streamwatch.core.attempts import Attempt
from streamwatch.core.recording import Recording
from streamwatch.core.redact import split_url
from streamwatch.core.report import status_word
from streamwatch.export.source import Exported, streamwatch_version

HTTP_VERSION = "HTTP/1.1"
EPOCH_TEXT = "1970-01-01T00:00:00.000+00:00"
"""An entry's start when the session header has no time that can be read (HAR requires one)."""


def render(source: Exported, number: int | None) -> list[bytes]:
    entries = [entry(attempt, source.moment(attempt) or EPOCH_TEXT) for attempt in source.log.attempts]
    archive = {
        "log": {
            "version": "1.2",
            "creator": {"name": "streamwatch", "version": streamwatch_version()},
            "entries": entries,
            "comment": f"streamwatch session {source.name}",
        }
    }
    return [(json.dumps(archive, ensure_ascii=True, indent=2) + "\n").encode()]


def entry(attempt: Attempt, started: str) -> dict[str, Any]:
    """The attempt's entry; `started`: when its request was sent (ISO 8601)."""
    recording = attempt.run.recording
    assert recording is not None  # every attempt played from a file has its recording
    timings = _timings(recording)
    return {
        "startedDateTime": started,
        "time": round(sum(value for value in timings.values() if value > 0), 3),
        "request": _request(recording.request),
        "response": _response(recording),
        "cache": {},
        "timings": timings,
        "comment": f"attempt {attempt.number} ({attempt.how}): {status_word(attempt.state)}",
    }


def _pairs(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": str(name), "value": str(value)} for name, value in mapping.items()]


def _request(request: dict[str, Any]) -> dict[str, Any]:
    headers = request.get("headers", {})
    url = str(request.get("url", ""))
    body = request.get("body")
    out: dict[str, Any] = {
        "method": str(request.get("method") or "POST"),
        "url": url,
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _pairs(headers),
        "queryString": [{"name": name, "value": value} for name, value in parse_qsl(_query(url), keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": 0,
    }
    if body is not None:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        mime = next((value for name, value in headers.items() if name.lower() == "content-type"), "application/json")
        out["postData"] = {"mimeType": mime, "params": [], "text": text}
        out["bodySize"] = len(text.encode("utf-8", "surrogatepass"))
    return out


def _query(url: str) -> str:
    return split_url(url).query


def _response(recording: Recording) -> dict[str, Any]:
    headers = recording.headers
    status = recording.status or 0
    body = b"".join(recording.body())
    wire = sum(len(data) for _, data in recording.chunks)
    content: dict[str, Any] = {"size": len(body), "mimeType": headers.get("content-type", "")}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"], content["encoding"] = base64.b64encode(body).decode("ascii"), "base64"
    if wire < len(body):
        content["compression"] = len(body) - wire
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return {
        "status": status,
        "statusText": phrase,
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _pairs(headers),
        "content": content,
        "redirectURL": headers.get("location", ""),
        "headersSize": -1,
        "bodySize": wire if recording.status is not None else -1,
    }


def _timings(recording: Recording) -> dict[str, float]:
    """Milliseconds: from the request to the response head (`wait`), and on to the body's end (`receive`)."""
    _, end, _ = recording.final_end()
    head = recording.relative(recording.response_t)
    end = end if end is not None else head
    wait = head if head is not None else end
    receive = 0.0 if head is None or end is None else end - head
    return {
        "blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0,
        "wait": _ms(wait), "receive": _ms(receive),
    }


def _ms(seconds: float | None) -> float:
    return 0.0 if seconds is None else round(max(0.0, seconds) * 1000, 3)
