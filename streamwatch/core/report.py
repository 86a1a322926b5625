"""Plain-text views of a stream's state: timeline rows and the `analyze` report.

Everything here is untrusted-text safe: model output, JSON and error messages pass through
`printable()`, so no control sequence from a stream ever reaches the terminal.
"""

from __future__ import annotations

import re
from collections import Counter

from streamwatch.core.diagnose import StreamState, Termination, Verdict
from streamwatch.core.events import Event, EventType, size_text, summarize

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with control characters (ESC, CR, bidi overrides, ...) shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def timeline_row(event: Event, previous_t: float | None) -> tuple[str, str, str, str, str, str]:
    """#, +time, gap, type, block index, summary: the columns of every timeline."""
    gap = None if event.t is None or previous_t is None else event.t - previous_t
    index = "" if event.index is None else str(event.index)
    return (f"#{event.seq}", seconds(event.t), "-" if gap is None else f"+{gap:.3f}", event.type, index, printable(summarize(event)))


def status_word(state: StreamState) -> str:
    termination = state.termination
    if termination is None:
        return "STREAMING"
    if state.complete:
        return f"COMPLETE {state.stop_reason or ''}".rstrip()
    return f"ABNORMAL {termination.value}"


def render_report(state: StreamState, verdict: Verdict, source: str, tail: int = 8) -> str:
    lines = [f"streamwatch analyze: {printable(source)}"]
    timing = verdict.timing
    facts = [f"HTTP {state.status}" if state.status is not None else "no response head"]
    facts.append(f"{verdict.event_count} events")
    facts.append(size_text(state.bytes_received))
    if timing["duration"] is None:
        facts.append("no timing (raw capture)")
    else:
        facts.append(f"ttfb {seconds(timing['ttfb'])}")
        facts.append(f"ttft {seconds(timing['ttft'])}")
        facts.append(f"duration {seconds(timing['duration'])}")
        if timing["output_tps"] is not None:
            facts.append(f"{timing['output_tps']} tok/s")
    lines.append(" · ".join(facts))
    if state.events:
        lines += ["", "Timeline"]
        counts = Counter(e.type for e in state.events)
        lines.append("  " + ", ".join(f"{kind} x{n}" for kind, n in counts.items()))
        deltas = Counter(e.delta_type for e in state.events if e.type == EventType.CONTENT_BLOCK_DELTA)
        if deltas:
            lines.append("  deltas: " + ", ".join(f"{kind} x{n}" for kind, n in deltas.items()))
        shown = state.events[-tail:]
        if len(state.events) > tail:
            lines.append(f"  ... {len(state.events) - tail} earlier events; the last {tail}:")
        previous = state.events[-tail - 1].t if len(state.events) > tail else 0.0
        for event in shown:
            lines.append("  " + "  ".join(_pad(timeline_row(event, previous))).rstrip())
            previous = event.t
    if state.incomplete is not None:
        lines.append(f"  (incomplete) {printable(state.incomplete.raw[:120].decode('utf-8', 'replace'))!s}")
    if state.blocks:
        lines += ["", "Blocks"]
        for block in state.blocks.values():
            name = f" {printable(block.name)}" if block.name else ""
            status = "complete" if block.complete else "OPEN (never stopped)"
            detail = f"{block.chars} chars"
            if block.json is not None:
                detail = f"{size_text(len(block.json_text.encode()))} input JSON, " + (
                    ("valid" if block.json_valid else f"INVALID: {block.input_error}")
                    if block.complete
                    else ("valid prefix, unclosed" if block.json.valid else f"BROKEN: {block.json.error}")
                )
            lines.append(f"  [{block.index}] {printable(block.type)}{name}  {status}  {printable(detail)}")
    if state.stalls:
        lines += ["", "Stalls"]
        for stall in state.stalls:
            kind = f"{stall.pings} pings" if stall.pings else "silent"
            where = f"after event #{stall.after_event}" if stall.after_event else "before the first event"
            lines.append(f"  {stall.seconds:.1f}s {where} ({kind})")
    if state.anomalies:
        lines += ["", "Anomalies"]
        for anomaly in state.anomalies:
            at = f"#{anomaly.at_event}" if anomaly.at_event is not None else "-"
            lines.append(f"  {anomaly.code:<18} {at:>7}  {printable(anomaly.message)}")
    lines += ["", f"Verdict: {status_word(state)}" + _verdict_detail(verdict)]
    lines.append(printable(verdict.explanation))
    if verdict.session:
        lines.append(f"Session: {printable(verdict.session)}")
    return "\n".join(lines)


def _verdict_detail(verdict: Verdict) -> str:
    if verdict.termination == Termination.MESSAGE_STOP and verdict.complete:
        return ""
    error = verdict.error
    return f" ({printable(error['type'])})" if error else ""


def _pad(row: tuple[str, ...]) -> list[str]:
    widths = (7, 9, 8, 20, 3, 0)
    return [cell.ljust(width) if width else cell for cell, width in zip(row, widths)]
