"""`report`: a Markdown support report on one attempt of a session, ready to paste into a ticket.

What support asks first (the request id, the model, the client and its version, the endpoint), then
where and when the stream died (the last event, the block it was in, the byte offset in the body,
the time), what had arrived, the anomalies, the verdict's explanation, what the SDK gave the
application, every attempt of a recovery, and the request as recorded (redacted, long strings and
long bodies cut). Every value from the file is in code (`markdown.code`, `markdown.fenced`), so no
answer, error or header can add a heading, a link or HTML, or reach a terminal as a control sequence.
"""

from __future__ import annotations

import json
from typing import Any

from streamwatch.core.attempts import Attempt
from streamwatch.core.diagnose import StreamState, where
from streamwatch.core.events import count_text, size_text
from streamwatch.core.report import recovery_lines, seconds, status_word
from streamwatch.export.markdown import code, fenced
from streamwatch.export.source import Exported, streamwatch_version

STRING_CUT = 300
"""A request's string longer than this shows its start and how much more there was."""
BODY_LINES = 60
"""The request body shows at most this many lines."""


def render(source: Exported, number: int | None) -> list[bytes]:
    return [(report(source, source.attempt(number)) + "\n").encode()]


def report(source: Exported, attempt: Attempt) -> str:
    state = attempt.state
    verdict = attempt.verdict
    assert verdict is not None  # replay_attempts finishes every attempt
    header = source.session.header
    request = attempt.request or {}
    body = request.get("body") if isinstance(request.get("body"), dict) else {}
    headers = {str(k).lower(): str(v) for k, v in request.get("headers", {}).items()}
    title = "Stream report" if state.complete else "Broken stream"
    total = len(source.log.attempts)
    lines = [
        f"# {title}: {code(status_word(state))}",
        "",
        f"Recorded by streamwatch {streamwatch_version()}: attempt {attempt.number} of {total} "
        f"in session {code(source.name)}.",
        "",
        "## The request",
        "",
        f"- **request-id:** {_value(state.headers.get('request-id') or state.headers.get('x-request-id'))}",
        f"- **model:** {_model(body, state)}",
        f"- **client:** {_client(header, headers)}",
        f"- **endpoint:** {code(' '.join(str(request.get(key, '')) for key in ('method', 'url')))}",
        f"- **sent:** {_when(source, attempt, 0.0)}",
        f"- **HTTP status:** {_value(state.status)}",
        "",
        "## Where and when it ended" if state.complete else "## Where and when it died",
        "",
        *_where(source, attempt, state),
        "",
    ]
    if state.anomalies or state.stalls:
        lines += ["## Anomalies", ""]
        for anomaly in state.anomalies:
            at = "" if anomaly.at_event is None else f" at event #{anomaly.at_event}"
            lines.append(f"- {code(anomaly.code)}{at}: {code(anomaly.message)}")
        for stall in state.stalls:
            kind = count_text(stall.pings, "ping") if stall.pings else "silent"
            after = f"after event #{stall.after_event}" if stall.after_event else "before the first event"
            lines.append(f"- stall of {stall.seconds:.1f} s {after} ({kind})")
        lines.append("")
    lines += ["## Verdict", "", fenced(verdict.explanation), ""]
    if verdict.sdk and verdict.sdk.get("seen"):
        silent = " (silently: no exception)" if verdict.sdk.get("silent") else ""
        lines += [f"What the application got from the SDK{silent}: {code(verdict.sdk['seen'])}", ""]
    if total > 1 or source.log.recovered:
        lines += ["## Recovery attempts", "", fenced("\n".join(recovery_lines(source.log)[1:])), ""]
    lines += ["## The request as recorded (redacted)", "", fenced(_head(request, headers), "http"), "",
              fenced(_body(body), "json")]
    return "\n".join(lines)


def _value(value: object) -> str:
    return "not recorded" if value is None or value == "" else code(value)


def _model(body: dict[str, Any], state: StreamState) -> str:
    asked = body.get("model")
    message = state.message if isinstance(state.message, dict) else {}
    answered = message.get("model")
    shown = _value(asked)
    if answered and answered != asked:
        shown += f" (answered as {code(answered)})"
    return shown


def _client(header: dict[str, Any], headers: dict[str, str]) -> str:
    """The SDK and its version (as the session says, else as its request headers say), and where it ran."""
    client = header.get("client")
    if not client and "x-stainless-package-version" in headers:
        client = f"{headers.get('x-stainless-lang', 'sdk')} {headers['x-stainless-package-version']}"
    client = client or headers.get("user-agent")
    runtime = " ".join(headers[name] for name in ("x-stainless-runtime", "x-stainless-runtime-version") if name in headers)
    system = headers.get("x-stainless-os")
    on = " on ".join(part for part in (runtime, system) if part)
    return _value(client) + (f" ({code(on)})" if on else "")


def _when(source: Exported, attempt: Attempt, after: float) -> str:
    """The wall-clock time `after` seconds into the attempt, from the session's recorded start."""
    moment = source.moment(attempt, after)
    return "not recorded" if moment is None else code(moment)


def _where(source: Exported, attempt: Attempt, state: StreamState) -> list[str]:
    lines = []
    end = state.end_t
    if end is not None:
        lines.append(f"- **when:** {seconds(end)} after the request was sent, at {_when(source, attempt, end)}")
    ending = state.ended.value if state.ended is not None else "not recorded"
    error = state.error or state.end_error
    how = code(ending) + (f", error {code(error.get('type'))}: {code(error.get('message', ''))}" if error else "")
    lines.append(f"- **how the body ended:** {how}")
    lines.append(f"- **where:** {code(where(state))}")
    if state.events:
        last = state.events[-1]
        block = "" if last.index is None else f", block {last.index}"
        kind = last.delta_type or last.block_type
        lines.append(
            f"- **last event:** #{last.seq} {code(last.type)}{block}"
            + (f" ({code(kind)})" if kind else "")
            + f" at {seconds(last.t)}, ending at byte {last.sse.offset + len(last.sse.raw)} of the body"
        )
    if state.incomplete is not None:
        lines.append(
            f"- **cut mid-event:** {len(state.incomplete.raw)} bytes of an unfinished event from byte "
            f"{state.incomplete.offset} of the body"
        )
    body = state.body
    decoded = f" ({size_text(body.bytes)} after {code(body.encoding)} decoding)" if body.encoding else ""
    lines.append(
        f"- **so far:** {len(state.events)} events, {state.bytes_received} bytes{decoded}, "
        f"{_blocks(state)}"
    )
    return lines


def _blocks(state: StreamState) -> str:
    if not state.blocks:
        return "no content block"
    parts = []
    for block in state.blocks.values():
        name = f" {block.name}" if block.name else ""
        status = "complete" if block.complete else "never stopped"
        parts.append(code(f"[{block.index}] {block.type}{name}: {status}, {block.chars} chars"))
    return "blocks " + ", ".join(parts)


def _head(request: dict[str, Any], headers: dict[str, str]) -> str:
    """The request line and headers, as HTTP writes them."""
    line = f"{request.get('method', 'POST')} {request.get('url', '')}"
    return "\n".join([line, *(f"{name}: {value}" for name, value in headers.items())])


def _body(body: dict[str, Any]) -> str:
    text = json.dumps(_cut(body), ensure_ascii=False, indent=2)
    lines = text.splitlines()
    if len(lines) > BODY_LINES:
        more = len(lines) - BODY_LINES
        lines = [*lines[:BODY_LINES], f"... {more} more lines (the whole request: streamwatch export SESSION --format curl)"]
    return "\n".join(lines)


def _cut(value: Any) -> Any:
    """The body with each long string cut to its start and a count of what was left out."""
    if isinstance(value, str) and len(value) > STRING_CUT:
        return value[:STRING_CUT] + f"... [{len(value) - STRING_CUT} more characters]"
    if isinstance(value, dict):
        return {key: _cut(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item) for item in value]
    return value
