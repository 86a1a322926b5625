"""One saved session at a glance: the row the session list shows, and the facts `streamwatch stats` counts.

`summary_of` makes a `SessionSummary` from a session's recordings and the attempts they played
(`AttemptLog`): read from a file (core/catalog.py plays it as `analyze` does), or as a live run or
the proxy leaves them when the session ends (core/index.py's hook): the same code either way, so
a row written live is the row a re-read of the file gives.

`SessionSummary.to_dict()` is the JSON shape of `streamwatch sessions --json` (one object per file):

    {"path": str, "file": str, "id": str|null, "started": str|null (ISO 8601, as recorded),
     "source": str|null, "client": str|null (what sent the request), "scenario": str|null (the embedded server's, when it played one),
     "prompt": str|null (the start of the first user message, on one line), "model": str|null, "badge": str, "complete": bool|null,
     "termination": str|null, "stop_reason": str|null, "http_status": int|null,
     "duration": float|null (seconds), "waited": float|null (seconds of it between attempts),
     "size": int (bytes), "events": int, "attempts": int,
     "skipped": int (damaged lines left out), "error": str|null (why it is unreadable),
     "fault": str|null (what the recording proxy injected on purpose: the badge ends `(injected)`),
     "fault_unfired": str|null (a fault the proxy armed for it that never fired: an ordinary session),
     "recording": int|null (the pid of the process still recording it: the badge is `RECORDING`)}

A session still being recorded (`recording.recorded_by`: its last recording has no end record yet
and its writer runs) has the badge `RECORDING`, no termination and `complete` null: what it holds so
far is not a verdict (once its writer is gone without an end record, it is `ABNORMAL cancelled`,
cut).

Events and badge describe the session's last attempt, the one a replay ends on; `duration` runs from
the first request to that attempt's end, and `waited` is the part of it spent between attempts (a
retry's backoff, or the time the user took to press retry or resume): `Took` shows the rest, the
time spent streaming, with the wait apart.

`SessionFacts` is what the stats need of a session beyond that (core/stats.py says what each means).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from streamwatch.core.attempts import Attempt, Reason, attempt_count, gap
from streamwatch.core.diagnose import StreamState, Termination
from streamwatch.core.events import size_text
from streamwatch.core.recording import Session, parse_time, recorded_by
from streamwatch.core.redact import split_url
from streamwatch.core.safe import one_line
from streamwatch.protocol import PROXY_SOURCE, SCENARIO_HEADER, SCENARIO_MODEL_PREFIX

UNREADABLE = "unreadable"
RECORDING = "RECORDING"
"""The badge of a session still being recorded."""
TIME_FORMAT = "%Y-%m-%d %H:%M"
SHORT_TIME_FORMAT = "%m-%d %H:%M"
_FILE_TIME = "%Y%m%d-%H%M%S"
CELL_WIDTH = 40
"""The most of any one recorded value a table shows (headers are untrusted and can be any length)."""


@dataclass(frozen=True, kw_only=True)
class SessionFacts:
    """What `streamwatch stats` counts of one session, worked out once from its attempts' states."""

    sdk: str | None = None
    """The Anthropic SDK that sent the first request and its version (`python 2.14.0`), from its `x-stainless-*` headers."""
    upstream: str | None = None
    """Where the request went: the proxy's upstream, else the first request's scheme, host and port."""
    ended: bool = True
    """The last recording has its end record (False: still being written, or its writer was killed)."""
    stalls: int = 0
    """Stalls in all the session's attempts."""
    longest_stall: float | None = None
    ttfb: float | None = None
    ttft: float | None = None
    output_tps: float | None = None
    retries: int = 0
    resumes: int = 0
    repaid_input_tokens: int = 0
    repaid_output_tokens: int = 0
    repaid_bytes: int = 0
    """Body bytes the attempts a retry or resume replaced had received."""
    stream: bool = True
    """The first request was a Messages request answered as a stream, or that failed (see
    `_asked_for_stream`). What else a proxy records is not a stream `stats` counts."""


@dataclass(frozen=True, kw_only=True)
class SessionSummary:
    path: Path
    id: str | None = None
    started: str | None = None
    source: str | None = None
    client: str | None = None
    """What sent the request (the session header's `client`): for a proxied session, the app's SDK."""
    scenario: str | None = None
    prompt: str | None = None
    model: str | None = None
    badge: str
    complete: bool | None = None
    termination: str | None = None
    stop_reason: str | None = None
    http_status: int | None = None
    duration: float | None = None
    waited: float | None = None
    size: int
    events: int = 0
    attempts: int = 0
    skipped: int = 0
    error: str | None = None
    fault: str | None = None
    fault_unfired: str | None = None
    sort_time: float
    """Seconds since the epoch the list is ordered by: the recorded start, else the file name's time."""
    facts: SessionFacts | None = field(default=None, repr=False)
    """None for an unreadable file."""
    recording: int | None = None
    """The pid of the process still recording the session (`recorded_by`), when it was read."""

    @property
    def readable(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("path", "sort_time", "facts")}
        return {"path": str(self.path), "file": self.path.name, **data}

    def columns(
        self, tz: datetime.tzinfo | None = None, time_format: str = TIME_FORMAT
    ) -> tuple[str, str, str, str, str, str, str]:
        """Started, source (with the client, for a session the proxy recorded from another app), request
        (the scenario played, else the prompt's start), model (without its `claude-`), verdict (`↻2`:
        reached in 2 attempts), took, size: terminal-safe text."""
        return (
            started_text(self.started, tz, time_format),
            _cell((self.source or "?") if self.source != PROXY_SOURCE or not self.client else f"{PROXY_SOURCE} {self.client}"),
            _cell(self.scenario or self.prompt or "-"),
            _cell(short_model(self.model) or "-"),
            _cell(self.badge + (f" ↻{self.attempts}" if self.attempts > 1 else "")),
            self.took,
            size_text(self.size),
        )

    @property
    def took(self) -> str:
        """The time spent streaming, and the time between attempts apart: `12.1s (+50s wait)`; of a
        session still being recorded, the time to what it holds so far: `12.1s so far`."""
        if self.duration is None:
            return "-"
        waited = self.waited or 0.0
        streamed = f"{self.duration - waited:.1f}s" + (" so far" if self.recording is not None else "")
        if waited < 0.05:
            return streamed
        return f"{streamed} (+{waited:.0f}s wait)" if waited >= 10 else f"{streamed} (+{waited:.1f}s wait)"


def short_model(model: str | None) -> str | None:
    """A model name without its `claude-` (`sonnet-4-5`), for tables."""
    return model[len("claude-"):] if model and model.startswith("claude-") and len(model) > 7 else model


def started_text(started: str | None, tz: datetime.tzinfo | None = None, time_format: str = TIME_FORMAT) -> str:
    """A recorded start time in local time (or `tz`); what was recorded if it is not a time."""
    moment = parse_time(started)
    if moment is None:
        return _cell(started or "-")
    return moment.astimezone(tz).strftime(time_format)


def _cell(value: str) -> str:
    text = one_line(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def summary_of(path: Path, size: int, mtime: float, session: Session, attempts: Sequence[Attempt]) -> SessionSummary:
    """The summary of a session whose recordings (`session.attempts`) played as `attempts`, each finished."""
    header = session.header
    state = attempts[-1].state
    started = _text(header.get("started"))
    moment = parse_time(started)
    latest = session.latest
    end_t = state.end_t if state.end_t is not None else state.last_t
    termination = state.termination
    recordings = session.attempts
    recording = recorded_by(session)
    return SessionSummary(
        path=path,
        started=started,
        source=_text(header.get("source")),
        client=_text(header.get("client")),
        scenario=_scenario(session),
        prompt=_prompt(session),
        model=_request_model(session) or _text(state.message.get("model")),
        badge=RECORDING if recording is not None else verdict_badge(state),
        size=size,
        id=_text(header.get("id")),
        complete=None if recording is not None else state.complete,
        termination=termination.value if termination and recording is None else None,
        stop_reason=state.stop_reason,
        http_status=state.status,
        duration=None if end_t is None else round(latest.started_t + end_t, 3),
        waited=round(sum(gap(recordings[n - 1], r) for n, r in enumerate(recordings) if n and r.link), 3),
        events=len(state.events),
        attempts=attempt_count(recordings),
        skipped=len(session.skipped),
        fault=state.fault,
        fault_unfired=state.fault_unfired,
        sort_time=moment.timestamp() if moment else _file_time(path, mtime),
        facts=_facts(session, attempts),
        recording=recording,
    )


def _facts(session: Session, attempts: Sequence[Attempt]) -> SessionFacts:
    last = attempts[-1]
    timing = last.verdict.timing if last.verdict is not None else {}
    stalls = [stall.seconds for attempt in attempts for stall in attempt.state.stalls]
    later = attempts[1:]
    return SessionFacts(
        sdk=_sdk(session),
        upstream=_text(session.header.get("upstream")) or _origin(session.attempts[0].request.get("url")),
        ended=session.latest.ending is not None,
        stalls=len(stalls),
        longest_stall=max(stalls, default=None),
        ttfb=timing.get("ttfb"),
        ttft=timing.get("ttft"),
        output_tps=timing.get("output_tps"),
        retries=sum(1 for a in later if a.reason is Reason.RETRY),
        resumes=sum(1 for a in later if a.reason is Reason.RESUME),
        repaid_input_tokens=sum((a.repaid or {}).get("input_tokens") or 0 for a in later),
        repaid_output_tokens=sum((a.repaid or {}).get("output_tokens") or 0 for a in later),
        repaid_bytes=sum(attempts[a.replaces - 1].state.bytes_received for a in later if a.replaces),
        stream=_asked_for_stream(session),
    )


def _asked_for_stream(session: Session) -> bool:
    """A Messages request that did not say `stream: false` and was not answered whole (a 200 in JSON):
    what a proxy also records, a model list, a token count, an answer asked for whole, is not."""
    if not session.attempts:
        return False
    first = session.attempts[0]
    body, url = first.request.get("body"), first.request.get("url")
    path = split_url(url).path.rstrip("/")
    if not path.endswith("/messages") or (isinstance(body, dict) and body.get("stream") is False):
        return False
    kind = str(first.headers.get("content-type", "")).lower()
    return not (first.status == 200 and kind.startswith("application/json"))


def _sdk(session: Session) -> str | None:
    headers = session.attempts[0].request.get("headers")
    if not isinstance(headers, dict):
        return None
    named = {str(name).lower(): value for name, value in headers.items()}
    words = [named.get(name) for name in ("x-stainless-lang", "x-stainless-package-version")]
    return " ".join(word for word in words if isinstance(word, str) and word) or None


def _origin(url: Any) -> str | None:
    """`https://api.anthropic.com`: where a URL goes, without its path."""
    parts = split_url(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def verdict_badge(state: StreamState) -> str:
    """The verdict in a word or two: `COMPLETE end_turn`, `ABNORMAL eof`, `HTTP 529`, `STREAMING`; with
    ` (injected)` after it when the failure was injected on purpose (`state.fault`)."""
    termination = state.termination
    if termination == Termination.HTTP_ERROR:
        badge = f"HTTP {state.status}" if state.status is not None else "HTTP error"
    elif termination is None:
        badge = "STREAMING"
    elif state.complete:
        badge = state.complete_words
    else:
        badge = f"ABNORMAL {termination.value}"
    return badge if state.fault is None else f"{badge} (injected)"


def unreadable_summary(path: Path, size: int, reason: str, mtime: float | None) -> SessionSummary:
    sort_time = _file_time(path, mtime or 0.0)
    return SessionSummary(path=path, badge=UNREADABLE, size=size, error=reason, sort_time=sort_time)


def _request_model(session: Session) -> str | None:
    for recording in (session.latest, session.attempts[0]):
        body = recording.request.get("body")
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            return body["model"]
    return None


def _prompt(session: Session) -> str | None:
    """The start of the first user message the first request sent, on one line (whitespace runs made one space)."""
    body = session.attempts[0].request.get("body")
    messages = body.get("messages") if isinstance(body, dict) else None
    first = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None) if isinstance(
        messages, list) else None
    content = None if first is None else first.get("content")
    if isinstance(content, list):
        content = " ".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    if not isinstance(content, str):
        return None
    words = " ".join(content[: CELL_WIDTH * 4].split())
    return _cell(words) if words else None


def _scenario(session: Session) -> str | None:
    """The mock scenario the first request asked for: by header, else by a `mock-<scenario>` model."""
    request = session.attempts[0].request
    headers = request.get("headers")
    if isinstance(headers, dict):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == SCENARIO_HEADER and _text(value):
                return value
    model = _request_model(session)
    if model is None or not model.startswith(SCENARIO_MODEL_PREFIX):
        return None
    return model.removeprefix(SCENARIO_MODEL_PREFIX) or None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _file_time(path: Path, mtime: float) -> float:
    """When a file without a readable start time was made: the time in its name, else its mtime."""
    try:
        moment = datetime.datetime.strptime(path.name[:15], _FILE_TIME)
    except ValueError:
        return mtime
    return moment.replace(tzinfo=datetime.UTC).timestamp()
