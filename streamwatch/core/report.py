"""Plain-text views of a stream's state: timeline rows and the `analyze` report.

Everything here is untrusted-text safe: model output, JSON, error messages and every other value
from the wire pass through `safe.one_line()` (each value kept on its line), so no control sequence or
invisible character from a stream reaches the terminal as such.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from streamwatch.core.accumulate import Block
from streamwatch.core.attempts import Attempt, AttemptLog
from streamwatch.core.diagnose import DAMAGE, StreamState, Termination, Verdict
from streamwatch.core.events import TOOL_BLOCK_TYPES, Event, EventType, count_text, size_text, summarize, utf8_size
from streamwatch.core.redact import split_url
from streamwatch.core.safe import one_line
from streamwatch.protocol import SCENARIO_HEADER, SCENARIO_MODEL_PREFIX

RATE_LIMIT_PREFIX = "anthropic-ratelimit-"
REQUEST_ID_HEADERS = ("request-id", "x-request-id")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def timeline_row(event: Event, previous_t: float | None) -> tuple[str, str, str, str, str, str]:
    """#, +time, gap, type, block index, summary: the columns of every timeline."""
    gap = None if event.t is None or previous_t is None else event.t - previous_t
    index = "" if event.index is None else str(event.index)
    at = "-" if event.t is None else f"{event.t:.3f}"
    gap_text = "-" if gap is None else f"+{gap:.3f}"
    return (f"#{event.seq}", at, gap_text, one_line(event.type), index, one_line(summarize(event)))


def status_word(state: StreamState) -> str:
    termination = state.termination
    if termination is None:
        return "STREAMING"
    if state.complete:
        return one_line(state.complete_words)
    return f"ABNORMAL {termination.value}"


def render_report(
    state: StreamState, verdict: Verdict, source: str, tail: int = 8, title: str = "streamwatch analyze"
) -> str:
    """The whole report; `tail` events are listed one per line (0: only the counts)."""
    lines = [f"{title}: {one_line(source)}"]
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
        kinds = [state.events.kind(position) for position in range(len(state.events))]
        counts = Counter(kind for kind, _, _ in kinds)
        lines.append("  " + ", ".join(f"{one_line(kind)} x{n}" for kind, n in counts.items()))
        deltas = Counter(delta for kind, _, delta in kinds if kind == EventType.CONTENT_BLOCK_DELTA)
        if deltas:
            named = (f"{one_line(kind or 'unreadable')} x{n}" for kind, n in deltas.items())
            lines.append("  deltas: " + ", ".join(named))
        shown = state.events[-tail:] if tail else []
        if tail and len(state.events) > tail:
            lines.append(f"  ... {len(state.events) - tail} earlier events; the last {tail}:")
        previous = state.events.time(len(state.events) - tail - 1) if len(state.events) > tail else 0.0
        for event in shown:
            lines.append("  " + "  ".join(_pad(timeline_row(event, previous))).rstrip())
            previous = event.t
    if state.incomplete is not None:
        partial = one_line(state.incomplete.raw[:120].decode("utf-8", "replace"))
        lines.append(f"  (incomplete) {partial}")
    if state.blocks:
        lines += ["", "Blocks"]
        for block in state.blocks.values():
            name = f" {one_line(block.name)}" if block.name else ""
            status = "complete" if block.complete else "OPEN (never stopped)"
            detail = f"{block.chars} chars"
            if block.json is not None:
                detail = f"{size_text(utf8_size(block.json_text))} input JSON, " + (
                    ("valid" if block.json_valid else f"INVALID: {block.input_error}")
                    if block.complete
                    else ("valid prefix, unclosed" if block.json.valid else f"BROKEN: {block.json.error}")
                )
            lines.append(f"  [{block.index}] {one_line(block.type)}{name}  {status}  {one_line(detail)}")
    if state.stalls:
        lines += ["", "Stalls"]
        for stall in state.stalls:
            kind = count_text(stall.pings, "ping") if stall.pings else "silent"
            where = f"after event #{stall.after_event}" if stall.after_event else "before the first event"
            lines.append(f"  {stall.seconds:.1f}s {where} ({kind})")
    if state.anomalies:
        lines += ["", "Anomalies"]
        for anomaly in state.anomalies:
            at = f"#{anomaly.at_event}" if anomaly.at_event is not None else "-"
            lines.append(f"  {anomaly.code:<18} {at:>7}  {one_line(anomaly.message)}")
    injected = " [INJECTED]" if verdict.fault is not None else ""
    lines += ["", f"Verdict: {status_word(state)}" + _verdict_detail(verdict) + injected]
    lines.append(one_line(verdict.explanation))
    if verdict.sdk:
        mark = "!! " if verdict.sdk.get("silent") else ""
        lines.append(f"{mark}Your code would have seen: {one_line(str(verdict.sdk.get('seen')))}")
    if verdict.session:
        lines.append(f"Session: {one_line(verdict.session)}")
    return "\n".join(lines)


def _verdict_detail(verdict: Verdict) -> str:
    if verdict.termination == Termination.MESSAGE_STOP and verdict.complete:
        return ""
    error = verdict.error
    if error:
        return f" ({one_line(str(error.get('type')))})"
    damage = [a["code"] for a in verdict.anomalies if a["code"] in DAMAGE]
    return f" ({damage[0]})" if damage else ""


def row_line(row: tuple[str, ...]) -> str:
    """A `timeline_row` as one line, columns padded as in the report."""
    return "  ".join(_pad(row)).rstrip()


def _pad(row: tuple[str, ...]) -> list[str]:
    widths = (7, 9, 8, 20, 3, 0)
    return [cell.ljust(width) if width else cell for cell, width in zip(row, widths, strict=False)]


def live_status(state: StreamState, now: float) -> tuple[str, str]:
    """(kind, words) for the one line that always says where the stream stands.

    kind is one of waiting, streaming, stalled, complete, abnormal; `now` is the stream clock
    (seconds since the request was sent)."""
    progress = f"{len(state.events)} events · {size_text(state.bytes_received)}"
    termination = state.termination
    if termination is not None and state.ended is not None:
        duration = seconds(state.end_t)
        if state.complete:
            return "complete", f"{one_line(state.complete_words)} · {progress} · {duration}"
        short = f"{termination.value} · {one_line(short_where(state))}"
        damage = state.damage
        if damage and termination == Termination.MESSAGE_STOP:
            short = f"{termination.value} · {damage[0].code}" + (
                f" at #{damage[0].at_event}" if damage[0].at_event is not None else ""
            )
        if termination == Termination.HTTP_ERROR:
            error = state.error or {}
            short = f"HTTP {state.status or '?'} {one_line(str(error.get('type', '')))}"
        elif state.error_at is not None and state.error:
            short = f"error event {one_line(str(state.error.get('type')))} · {one_line(short_where(state))}"
        injected = "INJECTED " if state.fault is not None else ""
        return "abnormal", f"ABNORMAL {injected}{short} · {progress}"
    silence = state.silence(now)
    if silence > state.stall_threshold:
        alive = f"pings keep arriving ({state.pings_in_silence})" if state.pings_in_silence else "silent"
        return "stalled", f"STALLED {silence:.1f} s · {alive} · {progress}"
    if not state.events and state.bytes_received == 0:
        return "waiting", f"WAITING {now:.1f} s for the first byte"
    return "streaming", f"STREAMING · {progress} · {now:.1f} s"


def request_target(request: dict[str, Any]) -> tuple[str, str]:
    """(model, target) of a request as sent: the model asked for, and where it went: `mock` when it asked
    the embedded server for a scenario, else the host (and port) of its URL; "" for what is not known."""
    body = request.get("body")
    model = body.get("model") if isinstance(body, dict) else None
    model = model if isinstance(model, str) else ""
    headers = request.get("headers")
    names = {str(name).lower() for name in headers} if isinstance(headers, dict) else set()
    url = request.get("url")
    if SCENARIO_HEADER in names or model.startswith(SCENARIO_MODEL_PREFIX):
        target = "mock"
    else:
        target = split_url(url).netloc
    return one_line(model), one_line(target)


def head_facts(state: StreamState) -> list[tuple[str, str, str]]:
    """The response head, most telling first, as (name, value, short), `short` being the few words a
    one-line view shows ("" for none): the HTTP status (`HTTP 529`), the request-id (as it is),
    retry-after or retry-after-ms (`retry-after 7`), each rate limit (`requests 49/50`, its value
    `49/50 left, resets <time>`), then every other header recorded; nothing before the head arrived."""
    if state.status is None:
        return []
    headers = state.headers
    facts = [("HTTP", str(state.status), f"HTTP {state.status}")]
    shown = set()
    for name in (*REQUEST_ID_HEADERS, "retry-after", "retry-after-ms"):
        if name in headers:
            value = headers[name]
            facts.append((name, value, value if name in REQUEST_ID_HEADERS else f"{name} {value}"))
            shown.add(name)
    limits: dict[str, dict[str, str]] = {}
    for name, value in headers.items():
        if name.startswith(RATE_LIMIT_PREFIX):
            kind, _, field = name[len(RATE_LIMIT_PREFIX):].rpartition("-")
            limits.setdefault(kind or field, {})[field] = value
            shown.add(name)
    for kind, fields in limits.items():
        left = f"{fields.get('remaining', '?')}/{fields.get('limit', '?')}"
        reset = f", resets {fields['reset']}" if "reset" in fields else ""
        facts.append((kind, f"{left} left{reset}", f"{kind} {left}"))
    facts += [(name, value, "") for name, value in headers.items() if name not in shown]
    return [(one_line(name), one_line(value), one_line(short)) for name, value, short in facts]


def exit_line(state: StreamState, now: float, session: str | None, stopped: bool = False, saving: bool = True) -> str:
    """The one line said on the terminal when a run screen closes: where the stream stood (its verdict
    once it ended; `stopped`: the user stopped it before that) and where its session file is (none
    yet when the request had not gone out; none at all when `saving` is off: --no-save)."""
    _, words = live_status(state, now)
    if stopped and state.ended is None:
        words = f"STOPPED by you · {len(state.events)} events · {size_text(state.bytes_received)} · {now:.1f} s"
    where = f"session {session}" if session else "nothing sent, nothing saved" if saving else "not saved (--no-save)"
    return one_line(f"streamwatch: {words} · {where}")


def short_where(state: StreamState) -> str:
    """Where the stream was when it ended, in a few words for a status line."""
    block = state.open_block
    if block is not None:
        name = f" `{block.name}`" if block.name else ""
        if block.json is not None or block.type in TOOL_BLOCK_TYPES:
            return f"died inside {block.type}{name} at {size_text(utf8_size(block.json_text))} of JSON"
        return f"died inside {block.type} block {block.index} at {block.chars} chars"
    return f"after {len(state.events)} events"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/"}


class JsonLayout:
    """Partial JSON laid out one member per line, incrementally: each piece is read once.

    With `decode`, a string shows its text rather than its JSON escapes (`\\n` a line break, `\\u00e9`
    an é): a tool's `content` reads as the file it writes. Only the last `keep` characters of the
    layout are kept, which is what a pane shows."""

    def __init__(self, keep: int = 4000, decode: bool = False) -> None:
        self.keep = keep
        self.decode = decode
        self.skipped = 0
        self._out: list[str] = []
        self._size = 0
        self._in_string = self._escaped = False
        self._depth = 0
        self._hex: str | None = None
        """The hex digits of a `\\u` escape read so far (decoding)."""

    def feed(self, text: str) -> None:
        out, pad, decode = self._out, "  ", self.decode
        in_string, escaped, depth = self._in_string, self._escaped, self._depth
        for char in text:
            if in_string:
                piece = char
                if self._hex is not None:
                    self._hex += char
                    if len(self._hex) < 4:
                        continue
                    piece, self._hex = _hex_char(self._hex), None
                    if "\udc00" <= piece <= "\udfff" and out and len(out[-1]) == 1 and "\ud800" <= out[-1] <= "\udbff":
                        out[-1] = (out[-1] + piece).encode("utf-16", "surrogatepass").decode("utf-16")
                        continue
                elif escaped:
                    escaped = False
                    if decode:
                        if char == "u":
                            self._hex = ""
                            continue
                        piece = _ESCAPES.get(char, char)
                elif char == "\\":
                    escaped = True
                    if decode:
                        continue
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string, piece = True, char
            elif char in "{[":
                depth += 1
                piece = char + "\n" + pad * depth
            elif char in "}]":
                depth = max(0, depth - 1)
                piece = "\n" + pad * depth + char
            elif char == ",":
                piece = ",\n" + pad * depth
            elif char == ":":
                piece = ": "
            elif char in " \t\r\n":
                continue
            else:
                piece = char
            out.append(piece)
            self._size += len(piece)
        self._in_string, self._escaped, self._depth = in_string, escaped, depth
        if self._size > 2 * self.keep:
            tail = "".join(out)[-self.keep:]
            self.skipped += self._size - len(tail)
            self._out, self._size = [tail], len(tail)

    def tail(self) -> str:
        return "".join(self._out)[-self.keep:]

    @property
    def hidden(self) -> int:
        """How many characters of the layout went before its `tail`."""
        return self.skipped + max(0, self._size - self.keep)


def _hex_char(digits: str) -> str:
    """The character of a \\u escape (a lone surrogate as it is, for `printable` to show); its text when it is not hex."""
    try:
        return chr(int(digits, 16))
    except ValueError:
        return "\\u" + digits


class ToolInput:
    """A tool block's input as a pane shows it, brought up to date from the block piece by piece
    (`take`): `pretty`, the valid prefix laid out one member per line with strings as their text,
    and `raw`, the JSON as it streamed. Where the JSON broke off, `broken` says why (the pretty view
    stops there); each keeps its last `keep` characters (`skipped`: how many went before)."""

    def __init__(self, keep: int) -> None:
        self.pretty = JsonLayout(keep, decode=True)
        self.broken: str | None = None
        self._raw: list[str] = []
        self._raw_size = 0
        self.raw_skipped = 0
        self.keep = keep
        self._taken = 0
        self._chars = 0

    def take(self, block: Block) -> None:
        tracker = block.json
        valid_to = None if tracker is None else tracker.error_at
        for piece in block.json_pieces[self._taken:]:
            if self.broken is None:
                if valid_to is not None and self._chars + len(piece) > valid_to:
                    self.pretty.feed(piece[: max(0, valid_to - self._chars)])
                    assert tracker is not None
                    self.broken = tracker.error
                else:
                    self.pretty.feed(piece)
            self._chars += len(piece)
            self._raw.append(piece)
            self._raw_size += len(piece)
        self._taken = len(block.json_pieces)
        if self._raw_size > 2 * self.keep:
            tail = "".join(self._raw)[-self.keep:]
            self.raw_skipped += self._raw_size - len(tail)
            self._raw, self._raw_size = [tail], len(tail)

    def shown(self, pretty: bool) -> tuple[str, int]:
        """The view's text and how many characters of it went before."""
        if pretty:
            return self.pretty.tail(), self.pretty.hidden
        return "".join(self._raw)[-self.keep:], self.raw_skipped + max(0, self._raw_size - self.keep)


def tool_summary(block: Block, ended: bool) -> str:
    """One line per tool block: name, bytes so far, and whether its input is (still) valid JSON."""
    size = size_text(utf8_size(block.json_text))
    if block.complete:
        shape = "valid JSON" if block.json_valid is not False else f"INVALID JSON: {block.input_error}"
        state = "complete"
    else:
        tracker = block.json
        shape = "valid so far" if tracker is None or tracker.valid else f"BROKEN: {tracker.error}"
        state = "DIED HERE, never stopped" if ended else "streaming"
    return one_line(f"{block.type} {block.name or ''} · {size} · {shape} · {state}")


def continues_line(header: Mapping[str, Any]) -> str | None:
    """What a session's header says it goes on from (`continues`, see core/recording.py), in one line:
    `Continues session 5c3fb25c (20261201-074011-demo-5c3fb25c.jsonl) after its attempt 1: a retry`."""
    continues = header.get("continues")
    if not isinstance(continues, dict):
        return None
    line = f"Continues session {continues.get('session')}"
    if "file" in continues:
        line += f" ({continues['file']})"
    if "attempt" in continues:
        line += f" after its attempt {continues['attempt']}"
    reason, strategy = continues.get("reason"), continues.get("strategy")
    if reason:
        line += f": a {reason}" + (f" ({strategy})" if strategy and strategy != reason else "")
    return one_line(line)


def attempt_line(attempt: Attempt) -> str:
    """`attempt 2 (resume, prefill): COMPLETE end_turn · 126 events · ... · re-paid 155 input tokens`."""
    how = attempt.reason.value
    if attempt.strategy is not None and attempt.strategy.value != how:
        how += f", {attempt.strategy.value}"
    _, words = live_status(attempt.state, attempt.state.last_t or 0.0)
    line = f"attempt {attempt.number} ({how}): {words}"
    if attempt.repaid is not None:
        line += f" · re-paid {repaid_words(attempt.repaid, bool(attempt.dropped))}"
    return one_line(line)


def repaid_words(repaid: dict, dropped: bool = False) -> str:
    """`12 input and ~196 output tokens (an estimate: ...)`, for what an attempt paid again; a resume
    that `dropped` blocks of the broken answer also pays again for the output that makes them anew."""
    output = _tokens(repaid.get("output_tokens"))
    words = f"{_tokens(repaid.get('input_tokens'))} input and "
    if repaid.get("output_estimated"):
        return words + f"~{output} output tokens (estimated from its characters: the broken stream never said)"
    if dropped and repaid.get("strategy") != "retry":
        return words + f"{output} output tokens, plus the output that makes the dropped blocks again"
    return words + f"{output} output tokens"


def recovery_lines(log: AttemptLog) -> list[str]:
    """The attempts, the answer stitched across them and why recovery stopped, after a report."""
    lines = ["Attempts"]
    lines.extend(f"  {attempt_line(attempt)}" for attempt in log.attempts)
    answer = log.answer()
    if len(answer.parts) > 1:
        joins = ", ".join(f"attempt {part.attempt} from character {part.start}" for part in answer.parts[1:])
        lines.append(f"Answer: {len(answer.text)} characters: attempt {answer.parts[0].attempt}, then {joins}")
    elif len(log.attempts) > 1 and answer.parts:
        lines.append(f"Answer: {len(answer.text)} characters, all from attempt {answer.parts[0].attempt}")
    if log.stopped:
        lines.append(one_line(f"Recovery stopped: {log.stopped}"))
    return lines


def _tokens(count: int | None) -> str:
    return "?" if count is None else str(count)


def recording_words(path: object, pid: int) -> str:
    """What every reader says of a session still being recorded (`recording.recorded_by`), instead of a verdict."""
    return f"{one_line(str(path))} is still being recorded (by pid {pid})"
