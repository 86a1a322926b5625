"""The state of one streamed response, and the verdict on it.

`StreamState` takes what a byte source saw, in order: the response head (`response`, with the
request it answers when there is one), body chunks
with the time each arrived (`chunk`), and how the body ended (`end`). Times are seconds since the
request was sent, or None for captures made without timing. It undoes the body's content coding
(core/body.py), decodes, types and accumulates as the bytes arrive, so the state is current at every
moment of a live stream, and `verdict()` says how the stream ended, why, and what to do, in plain
words and as JSON.

A stream whose failure was made on purpose (`fault`: the recording proxy's `--fault`, said in the
session header) is diagnosed as any other, and its verdict says first, and in its `fault` key, that
the failure was injected, so that nobody takes it for one of the upstream's. A fault armed for a
stream that never fired (its end says `fault_fired: false`: the stream ended before the fault's
point, or had no tool_use block for it; or a file cut before its end, the proxy killed, has no
`fault_fired` record: core/recording.py) leaves an ordinary stream, whose failure is the upstream's
own: `fault` is then None, and `fault_unfired` (the verdict's key too) keeps the label, said once.

A request that asked for no stream (its body has no `"stream": true`) is answered by one JSON body:
a complete JSON answer that is not an error is then complete too (`OK end_turn` for a Message,
`OK 200` for any other JSON). The same answer to a request that asked for a stream is `not_a_stream`;
without a request (a raw capture) it is `not_a_stream` too, as nothing says a stream was not wanted.

A stream is complete when message_stop arrived, nothing failed (an error event, the connection)
and every byte of it was read as the protocol says: an event that cannot be parsed, a body that
cannot be decoded, or a message lifecycle out of order (a second message_start, an event before
message_start) leaves an answer that cannot be trusted as received, whatever ended it (`DAMAGE`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from streamwatch.core.accumulate import Block, block_from_content, new_block
from streamwatch.core.body import BodyDecoder
from streamwatch.core.eventlog import EventLog
from streamwatch.core.events import (
    TOOL_BLOCK_TYPES,
    BlockType,
    Event,
    EventType,
    count_text,
    not_json,
    parse_event,
    size_text,
    utf8_size,
)
from streamwatch.core.sse import IncompleteEvent, SSEDecoder

DEFAULT_STALL_THRESHOLD = 5.0
BURST_WINDOW = 0.010
"""Events that arrive this close together came in one read: faster than any model writes them."""
BURST_MIN_SILENCE = 1.0
BURST_SHARE = 0.5
"""A first read, after a silence, holding more than this share of the stream's events is an answer held
back and released at once, however short the answer: the first byte came with most of the rest."""
BURST_MIN_EVENTS = 20
"""So many events within BURST_WINDOW after a silence were held back, wherever they are in the stream."""
DAMAGE = frozenset({"invalid_event_json", "undecodable_body", "out_of_order", "skipped_event"})
"""Anomalies that leave the answer not as sent: the stream is not complete, whatever ended it."""
_PING, _ERROR = EventType.PING, EventType.ERROR
_MESSAGE_START, _MESSAGE_DELTA, _MESSAGE_STOP = EventType.MESSAGE_START, EventType.MESSAGE_DELTA, EventType.MESSAGE_STOP
_BLOCK_START, _BLOCK_DELTA, _BLOCK_STOP = (
    EventType.CONTENT_BLOCK_START, EventType.CONTENT_BLOCK_DELTA, EventType.CONTENT_BLOCK_STOP
)
"""The event types each event is compared with, looked up once: on Python 3.11 every `EventType.X`
goes through the enum metaclass's `__getattr__` hook, and a dozen of them cost as much as the event's JSON."""
CUT_ERROR = (
    "httpx2.RemoteProtocolError: peer closed connection without sending complete message body "
    "(incomplete chunked read)"
)
"""What the Python SDK raises when the connection is cut mid-body."""


class Termination(StrEnum):
    MESSAGE_STOP = "message_stop"
    ANSWERED = "answered"
    """A request that asked for no stream got its whole JSON answer (see `StreamState.answered`)."""
    ERROR_EVENT = "error_event"
    EOF = "eof"
    TRANSPORT_ERROR = "transport_error"
    TIMEOUT = "timeout"
    HTTP_ERROR = "http_error"
    CANCELLED = "cancelled"


class End(StrEnum):
    """How the byte source stopped delivering: the raw fact before any interpretation."""

    EOF = "eof"
    TRANSPORT_ERROR = "transport_error"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class Anomaly:
    code: str
    message: str
    at_event: int | None


@dataclass(slots=True)
class Stall:
    """A silence longer than the threshold between content-bearing events (0: the request)."""

    after_event: int
    seconds: float
    pings: int
    start: float


@dataclass
class Verdict:
    complete: bool
    termination: str | None
    stop_reason: str | None
    error: dict[str, Any] | None
    http_status: int | None
    event_count: int
    blocks: list[dict[str, Any]]
    text: str
    stalls: list[dict[str, Any]]
    timing: dict[str, float | None]
    usage: dict[str, int | None]
    anomalies: list[dict[str, Any]]
    explanation: str
    session: str | None = None
    sdk: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    fault: str | None = None
    fault_unfired: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Burst:
    """Events that arrived within BURST_WINDOW of the first, which came after `gap_before` seconds of silence."""

    start_t: float
    gap_before: float
    first: int
    count: int = 1
    reported: bool = False


class StreamState:
    def __init__(
        self, stall_threshold: float = DEFAULT_STALL_THRESHOLD, fault: str | None = None, body: bytearray | None = None,
    ) -> None:
        """`body`: the bytes the state will be fed, all of them as they come, when something keeps them
        anyway (a `Player`'s recording): the event log points into them instead of copying (`EventLog`)."""
        self.stall_threshold = stall_threshold
        self.fault = fault
        """What was injected into this stream on purpose (`injected: cut after 40 events`), if anything;
        until the end, what was armed for it (a fault that never fired moves to `fault_unfired` then)."""
        self.fault_unfired: str | None = None
        """The fault armed for this stream that never fired, which leaves it an ordinary stream."""
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.asked_for_stream: bool | None = None
        """Whether the request asked for a stream (its body's `"stream": true`); None when no request is known."""
        self.events = EventLog(body)
        self.blocks: dict[int, Block] = {}
        self.message: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_creation_tokens: int | None = None
        """The input tokens read from and written to the prompt cache, which `input_tokens` leaves out."""
        self.usage_final = False
        """message_delta's cumulative usage arrived (message_start's output_tokens is only a placeholder)."""
        self.error: dict[str, Any] | None = None
        self.error_at: int | None = None
        self.message_stop_at: int | None = None
        self.anomalies: list[Anomaly] = []
        self.stalls: list[Stall] = []
        self.unknown: dict[str, int] = {}
        self.bytes_received = 0
        self.ttfb: float | None = None
        self.ttft: float | None = None
        self.last_t: float | None = None
        self.ended: End | None = None
        self.end_t: float | None = None
        self.end_error: dict[str, Any] | None = None
        self.incomplete: IncompleteEvent | None = None
        self.sdk: dict[str, Any] | None = None
        self.capture: dict[str, Any] | None = None
        """What is known of how a raw capture was made (`curl_exit`, `raises`); None for a live tap's bytes."""
        self.body_kind: str | None = None
        self.json_message: dict[str, Any] | None = None
        """A complete non-streaming Message that came as the body instead of a stream."""
        self.message_start_at: int | None = None
        self.body = BodyDecoder()
        self._decoder = SSEDecoder()
        self._json_body = bytearray()
        self._json_read = False
        """The JSON body parsed whole."""
        self._anchor_t = 0.0
        self._anchor_seq = 0
        self._pings_since = 0
        self._burst: _Burst | None = None
        self._first_read: _Burst | None = None
        self._warned: set[tuple[str, str]] = set()
        self._damaged = False
        self.sdk_events = 0
        """Events the Python SDK's event loop yields before it raises (it skips pings)."""
        self.sdk_raises_at: tuple[int, str] | None = None
        """The event where that loop raises before the body ends, if it does, and what it raises."""

    # ----- what the byte source reports -------------------------------------------------------

    def response(
        self,
        status: int | None,
        headers: dict[str, str] | None = None,
        capture: dict[str, Any] | None = None,
        request: dict[str, Any] | None = None,
    ) -> None:
        """The response head. `capture`: the body is a raw capture a client wrote, not a live tap's wire
        bytes, with what is known of how it ended (see core/sources.py). `request`: the request it
        answers, as recorded (`{"method", "url", "headers", "body"}`), if known."""
        body = (request or {}).get("body")
        self.asked_for_stream = None if body is None else isinstance(body, dict) and body.get("stream") is True
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.capture = None if capture is None else dict(capture)
        self.body = BodyDecoder(self.headers, capture=capture is not None)

    def chunk(self, data: bytes, t: float | None = None) -> list[Event]:
        """Wire bytes as they arrived; the events they completed."""
        if not data:
            return []
        if self.ttfb is None and t is not None:
            self.ttfb = t
        self.bytes_received += len(data)
        if t is not None:
            self.last_t = t
        new = self._decoded(self.body.feed(data), t)
        if self.body.problems:
            self._body_problems()
        return new

    def _decoded(self, data: bytes, t: float | None) -> list[Event]:
        if not data:
            return []
        if self.body_kind is None:
            head = data.lstrip()
            if not head:
                return []
            is_error_status = self.status is not None and self.status >= 400
            self.body_kind = "json" if is_error_status or head[:1] == b"{" else "sse"
        if self.body_kind == "json":
            self._json_body += data
            return []
        return [self._event(sse) for sse in self._decoder.feed(data, t)]

    def end(
        self, kind: End, t: float | None = None, error: dict[str, Any] | None = None, sdk: dict[str, Any] | None = None,
        fault_fired: bool | None = None,
    ) -> None:
        """`sdk`: what the SDK consuming this stream raised, when a live run knows (see core/live.py); for
        a raw capture, what it would have raised is worked out here (`predicted_sdk`). `fault_fired`:
        whether the fault armed for it (`fault`) fired; False makes it an ordinary stream (the module
        doc), None (not known: a session recorded before this was) leaves it injected."""
        if fault_fired is False and self.fault is not None:
            self.fault_unfired, self.fault = self.fault, None
        self._decoded(self.body.finish(), self.last_t)
        self._body_problems()
        if self.capture is not None and kind == End.EOF and self.body.cut:
            kind, error = End.TRANSPORT_ERROR, {
                "type": "incomplete chunked body",
                "message": "the capture's chunked framing stops before its last chunk: the connection was cut",
            }
            self.capture.setdefault("raises", CUT_ERROR)
        self.ended = End(kind)
        self.sdk = sdk
        self.end_t = t
        self.end_error = error
        if self.body_kind == "json":
            self._read_json_body()
        else:
            self.incomplete = self._decoder.finish()
        self._finish()
        if self.sdk is None and self.capture is not None:
            self.sdk = predicted_sdk(self)

    # ----- live questions ---------------------------------------------------------------------

    def silence(self, now: float) -> float:
        """Seconds since the last content-bearing event (or since the request, before any)."""
        return max(0.0, now - self._anchor_t)

    @property
    def anomaly_events(self) -> list[int]:
        """The events the anomalies so far point at, in order, each once (`n`/`N` visit them)."""
        return sorted({a.at_event for a in self.anomalies if a.at_event is not None})

    @property
    def pings_in_silence(self) -> int:
        return self._pings_since

    @property
    def is_http_error(self) -> bool:
        return (self.status is not None and self.status >= 400) or (
            self.body_kind == "json" and self.error is not None
        )

    @property
    def termination(self) -> Termination | None:
        if self.is_http_error:
            return Termination.HTTP_ERROR
        if self.answered:
            return Termination.ANSWERED
        if self.message_stop_at is not None:
            return Termination.MESSAGE_STOP
        if self.error_at is not None:
            return Termination.ERROR_EVENT
        if self.ended is None:
            return None
        return Termination(self.ended.value)

    @property
    def answered(self) -> bool:
        """A request that asked for no stream got its whole JSON answer, not an error: as it should."""
        return (
            self.asked_for_stream is False
            and self.body_kind == "json"
            and self.ended == End.EOF
            and not self.is_http_error
            and self._json_read
            and not self._damaged
        )

    @property
    def complete(self) -> bool:
        if self.answered:
            return True
        return (
            self.termination == Termination.MESSAGE_STOP
            and self.error is None
            and self.ended not in (End.TRANSPORT_ERROR, End.TIMEOUT)
            and not self._damaged
        )

    @property
    def complete_words(self) -> str:
        """How a complete exchange reads: `COMPLETE end_turn` for a stream, `OK end_turn` for a
        non-streaming Message, `OK 200` for another JSON answer."""
        if self.answered:
            return f"OK {self.stop_reason or self.status}"
        return f"COMPLETE {self.stop_reason or ''}".rstrip()

    @property
    def damage(self) -> list[Anomaly]:
        """What makes the answer not as sent (see `DAMAGE`)."""
        return [a for a in self.anomalies if a.code in DAMAGE] if self._damaged else []

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks.values() if b.type == BlockType.TEXT)

    @property
    def open_block(self) -> Block | None:
        """The last block that started and never stopped: where the stream was when it died."""
        for block in reversed(self.blocks.values()):
            if not block.complete:
                return block
        return None

    # ----- event handling ---------------------------------------------------------------------

    def _event(self, sse: Any) -> Event:
        event = parse_event(sse, len(self.events) + 1)
        self._take(event)
        event.release()
        return event

    def _take(self, event: Event) -> None:
        self.events.append(event)
        self._timing(event)
        self._sdk_reads(event)
        if self.message_stop_at is not None and event.type not in (_PING, _MESSAGE_START):
            self._anomaly_once(
                "after_message_stop",
                "",
                f"{event.type} arrived after message_stop (event #{self.message_stop_at})",
                event.seq,
            )
        if event.parse_error:
            self._anomaly("invalid_event_json", _unreadable(event), event.seq)
            return
        self._named(event)
        self._order(event)
        if not event.known:
            kind = event.delta_type or event.block_type or event.type
            self.unknown[kind] = self.unknown.get(kind, 0) + 1
            self._anomaly_once("unknown_event", kind, f"unknown type {kind!r} kept but not interpreted", event.seq)
        kind = event.type
        if kind == _BLOCK_DELTA:
            self._block_delta(event)
        elif kind == _BLOCK_START:
            self._block_start(event)
        elif kind == _BLOCK_STOP:
            self._block_stop(event)
        elif kind == _MESSAGE_START:
            if self.message_start_at is not None:
                return
            self.message_start_at = event.seq
            message = event.data.get("message")
            self.message = message if isinstance(message, dict) else {}
            self._usage(self.message.get("usage"))
        elif kind == _MESSAGE_DELTA:
            stop_reason = event.delta.get("stop_reason")
            if isinstance(stop_reason, str):
                self.stop_reason = stop_reason
            self._usage(event.data.get("usage"))
            self.usage_final = True
        elif kind == _MESSAGE_STOP:
            if self.message_stop_at is None:
                self.message_stop_at = event.seq
        elif kind == _ERROR:
            error = event.error
            self.error = {"type": str(error.get("type", "error")), "message": str(error.get("message", ""))}
            self.error_at = event.seq

    def _order(self, event: Event) -> None:
        """The message lifecycle: one message_start, before everything but pings and errors."""
        kind, seq = event.type, event.seq
        if kind == _MESSAGE_START and self.message_start_at is not None:
            after = f", after message_stop #{self.message_stop_at}" if self.message_stop_at is not None else ""
            self._anomaly(
                "out_of_order",
                f"a second message_start (#{seq}; the first was #{self.message_start_at}{after}): a second answer "
                "in the same body, whose blocks mix with the first one's",
                seq,
            )
        elif self.message_start_at is None and kind in _IN_A_MESSAGE:
            self._anomaly_once(
                "out_of_order",
                "before message_start",
                f"{kind} #{seq} came before any message_start: not part of a message (the SDK's messages.stream() "
                f'raises RuntimeError: Unexpected event order, got {kind} before "message_start")',
                seq,
            )

    def _named(self, event: Event) -> None:
        """The SDKs go by the `event:` name, not only by the data: the Python SDK skips an event with no
        name or named `ping` and dispatches the rest by the data's type; the TypeScript SDK dispatches
        by the name and drops names it does not know. So content under no name or under `ping` never
        reaches the app (the answer is not as sent), and a name that disagrees with the data reaches
        one SDK and not the other."""
        name, kind = event.sse.event, event.type
        if kind == _PING or name == kind:
            return
        if name is None or name == _PING:
            how = "has no `event:` line" if name is None else "is named `ping`"
            self._anomaly(
                "skipped_event",
                f"event #{event.seq} ({kind}) {how}: the Python and TypeScript SDKs skip it, so your app "
                "never got it",
                event.seq,
            )
        else:
            self._anomaly_once(
                "event_name_mismatch",
                f"{name}/{kind}",
                f"event #{event.seq} is named `{name}` but its data says {kind}: the Python SDK goes by the "
                "data, the TypeScript SDK by the name (it drops a name it does not know)",
                event.seq,
            )

    def _sdk_reads(self, event: Event) -> None:
        """Where the Python SDK's event loop would raise, if it does before the end of the body: at the
        first `event: error` (APIStatusError), or at the first event that is not JSON (it skips pings)."""
        if self.sdk_raises_at is not None:
            return
        name = event.sse.event
        if name is None:
            return  # the SDK skips an event without an `event:` line (see `_named`)
        if name == _ERROR:
            error = event.error if not event.parse_error else {}
            raised = f"anthropic.APIStatusError: {error.get('type', 'error')} (status_code 200)"
            self.sdk_raises_at = (event.seq, raised)
        elif name != _PING and (reason := not_json(event)) is not None:
            self.sdk_raises_at = (event.seq, f"json.JSONDecodeError: {reason}")
        elif name != _PING:
            self.sdk_events += 1

    def _block_start(self, event: Event) -> None:
        if event.index is None:
            self._anomaly("unknown_index", f"content_block_start #{event.seq} has no index", event.seq)
            return
        if event.index in self.blocks:
            self._anomaly(
                "unknown_index", f"content_block_start #{event.seq} reuses block index {event.index}", event.seq
            )
        self.blocks[event.index] = new_block(event)

    def _known_block(self, event: Event) -> Block | None:
        block = self.blocks.get(event.index) if event.index is not None else None
        if block is None:
            self._anomaly(
                "unknown_index", f"{event.type} #{event.seq} names block {event.index}, which never started", event.seq
            )
        return block

    def _block_delta(self, event: Event) -> None:
        block = self._known_block(event)
        if block is None:
            return
        if block.complete:
            self._anomaly("delta_after_stop", f"delta #{event.seq} for block {block.index} after its stop", event.seq)
        if self.ttft is None and event.t is not None:
            self.ttft = event.t
        block.add(event)

    def _block_stop(self, event: Event) -> None:
        block = self._known_block(event)
        if block is None:
            return
        block.stop(event.seq)
        if block.input_error is not None:
            self._anomaly(
                "invalid_tool_json",
                f"{block.type} `{block.name}` (block {block.index}) stopped with input that is not valid JSON: "
                f"{block.input_error}",
                event.seq,
            )

    def _usage(self, usage: Any) -> None:
        """Token counts, where the stream gives one: a whole number from 0 to 2**53 (JSON's exact range)."""
        if not isinstance(usage, dict):
            return
        if _is_count(usage.get("input_tokens")):
            self.input_tokens = usage["input_tokens"]
        if _is_count(usage.get("output_tokens")):
            self.output_tokens = usage["output_tokens"]
        if _is_count(usage.get("cache_read_input_tokens")):
            self.cache_read_tokens = usage["cache_read_input_tokens"]
        if _is_count(usage.get("cache_creation_input_tokens")):
            self.cache_creation_tokens = usage["cache_creation_input_tokens"]

    def _timing(self, event: Event) -> None:
        t = event.t
        if t is None:
            return
        burst = self._burst
        if burst is None or t - burst.start_t > BURST_WINDOW:
            previous = self.events.time(len(self.events) - 2) if len(self.events) > 1 else 0.0
            self._burst = burst = _Burst(start_t=t, gap_before=t - (previous or 0.0), first=event.seq)
            if event.seq == 1:
                self._first_read = burst
        else:
            burst.count += 1
        if burst.count >= BURST_MIN_EVENTS and burst.gap_before >= BURST_MIN_SILENCE and not burst.reported:
            burst.reported = True
            self._anomaly(
                "burst",
                f"{burst.count}+ events arrived within {BURST_WINDOW * 1000:.0f} ms after {burst.gap_before:.1f} s "
                "of silence: faster than any model writes, the mark of a buffering proxy",
                burst.first,
            )
        if not event.is_content:
            self._pings_since += 1
            return
        self._close_silence(t, event.seq)
        self._anchor_t, self._anchor_seq, self._pings_since = t, event.seq, 0

    def _close_silence(self, t: float, at_event: int | None) -> None:
        gap = t - self._anchor_t
        if gap <= self.stall_threshold:
            return
        stall = Stall(after_event=self._anchor_seq, seconds=round(gap, 3), pings=self._pings_since, start=self._anchor_t)
        self.stalls.append(stall)
        where = f"after event #{stall.after_event}" if stall.after_event else "before the first event"
        alive = f"{count_text(stall.pings, 'ping')} kept arriving" if stall.pings else "nothing at all arrived"
        self._anomaly("stall", f"{gap:.1f} s without content {where}; {alive}", at_event)

    def _anomaly(self, code: str, message: str, at_event: int | None) -> None:
        self.anomalies.append(Anomaly(code=code, message=message, at_event=at_event))
        self._damaged = self._damaged or code in DAMAGE

    def _body_problems(self) -> None:
        for problem in self.body.take_problems():
            self._anomaly(problem.code, problem.message, len(self.events) or None)

    def _anomaly_once(self, code: str, key: str, message: str, at_event: int | None) -> None:
        if (code, key) not in self._warned:
            self._warned.add((code, key))
            self._anomaly(code, message, at_event)

    # ----- the end ----------------------------------------------------------------------------

    def _read_json_body(self) -> None:
        try:
            body = json.loads(self._json_body)
        except (ValueError, RecursionError):
            body = None
        else:
            self._json_read = True
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            self.error = {"type": str(error.get("type", "error")), "message": str(error.get("message", ""))}
        elif self.is_http_error:
            text = self._json_body.decode("utf-8", "replace").strip()
            self.error = {"type": f"http_{self.status}", "message": text[:500]}
        elif isinstance(body, dict) and body.get("type") == "message":
            self._take_message(body)
        elif not self._json_read and self.asked_for_stream is False:
            size = size_text(len(self._json_body))
            self._anomaly("unreadable_json", f"the body is {size} that do not parse as JSON: cut or garbled", None)
        elif self.asked_for_stream is not False:
            size = size_text(len(self._json_body))
            self._anomaly("not_a_stream", f"the body is {size} of JSON, not an event stream", None)

    def _take_message(self, message: dict[str, Any]) -> None:
        """A whole non-streaming Message as the body: its content, stop reason and usage, as a stream's would be."""
        self.json_message = self.message = message
        content = message.get("content")
        for index, item in enumerate(content if isinstance(content, list) else []):
            if isinstance(item, dict):
                block = self.blocks[index] = block_from_content(index, item)
                block.stop(0)
        stop_reason = message.get("stop_reason")
        self.stop_reason = stop_reason if isinstance(stop_reason, str) else None
        self._usage(message.get("usage"))
        self.usage_final = True
        if self.asked_for_stream is False:
            return
        self._anomaly(
            "not_a_stream",
            f"the body is a complete non-streaming Message (JSON, stop_reason {self.stop_reason}, "
            f"{len(self.text)} characters of text), not an event stream",
            None,
        )

    def _finish(self) -> None:
        if self.body_kind == "json":
            return
        self._held_back()
        if self.end_t is not None and self.termination != Termination.MESSAGE_STOP:
            self._close_silence(self.end_t, None)
        if self.status is not None and self.status < 400 and self.bytes_received == 0:
            self._anomaly("zero_bytes", f"HTTP {self.status} and headers arrived, but not one body byte", None)
        if self.incomplete is not None:
            name = f"a {self.incomplete.event} event" if self.incomplete.event else "an event"
            self._anomaly(
                "incomplete_event",
                f"the body ended inside {name}: {len(self.incomplete.raw)} bytes that never completed",
                None,
            )
        if self.stop_reason is not None and self.message_stop_at is None:
            self._anomaly("no_message_stop", f"stop_reason {self.stop_reason} arrived, message_stop never did", None)
        for block in self.blocks.values():
            if not block.complete:
                self._anomaly(
                    "block_not_stopped",
                    f"{_block_label(block)} started at event #{block.started_at} and never stopped",
                    block.started_at,
                )

    def _held_back(self) -> None:
        """The first read came after a silence and holds more than BURST_SHARE of the stream: the first
        byte came with most of the rest, released at once by something that held it back."""
        burst, total = self._first_read, len(self.events)
        if burst is None or burst.reported or burst.gap_before < BURST_MIN_SILENCE:
            return
        if burst.count < 2 or burst.count <= BURST_SHARE * total:
            return
        burst.reported = True
        share = "all" if burst.count == total else f"{burst.count} ({burst.count * 100 // total}%)"
        self._anomaly(
            "burst",
            f"{share} of the stream's {total} events came in its first read, after {burst.gap_before:.1f} s of "
            "silence: the mark of a buffering proxy",
            burst.first,
        )

    # ----- the verdict ------------------------------------------------------------------------

    def verdict(self, session: str | None = None) -> Verdict:
        duration = self.end_t if self.end_t is not None else self.last_t
        tps = None
        if self.usage_final and self.output_tokens and self.ttft is not None and self.last_t is not None and self.last_t > self.ttft:
            tps = round(self.output_tokens / (self.last_t - self.ttft), 1)
        return Verdict(
            complete=self.complete,
            termination=self.termination.value if self.termination else None,
            stop_reason=self.stop_reason,
            error=self.error or self.end_error,
            http_status=self.status,
            event_count=len(self.events),
            blocks=[
                {
                    "index": b.index,
                    "type": b.type,
                    "complete": b.complete,
                    "name": b.name,
                    "json_valid": b.json_valid,
                    "chars": b.chars,
                }
                for b in self.blocks.values()
            ],
            text=self.text,
            stalls=[{"after_event": s.after_event, "seconds": s.seconds, "pings": s.pings} for s in self.stalls],
            timing={
                "ttfb": _round(self.ttfb),
                "ttft": _round(self.ttft),
                "duration": _round(duration),
                "output_tps": tps,
            },
            usage={"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            anomalies=[{"code": a.code, "message": a.message, "at_event": a.at_event} for a in self.anomalies],
            explanation=explain(self),
            session=session,
            sdk=self.sdk,
            body=self._body_facts(),
            fault=self.fault,
            fault_unfired=self.fault_unfired,
        )

    def _body_facts(self) -> dict[str, Any] | None:
        """How the body came (null for a plain body): what was undone, its size on the wire and decoded,
        and how much of it could not be decoded."""
        body = self.body
        if body.encoding is None and not body.chunked:
            return None
        return {
            "encoding": body.encoding,
            "chunked": body.chunked,
            "wire_bytes": body.wire_bytes,
            "bytes": body.bytes,
            "undecoded_bytes": body.lost,
        }


_IN_A_MESSAGE = frozenset({
    EventType.CONTENT_BLOCK_START,
    EventType.CONTENT_BLOCK_DELTA,
    EventType.CONTENT_BLOCK_STOP,
    EventType.MESSAGE_DELTA,
    EventType.MESSAGE_STOP,
})
_INDEX = re.compile(r'"index"\s*:\s*(\d+)')


def _unreadable(event: Event) -> str:
    """An event that could not be parsed: what it claimed to be, and what went missing with it."""
    data = event.sse.data
    name = event.sse.event or "unnamed event"
    found = _INDEX.search(data) if name.startswith("content_block") else None
    block = f", block {found.group(1)}" if found else ""
    size = size_text(utf8_size(data))
    return (
        f"event #{event.seq} ({name}{block}) cannot be read: {event.parse_error}; the {size} of data it carried "
        "are missing from the answer"
    )


def predicted_sdk(state: StreamState) -> dict[str, Any] | None:
    """What the Python SDK's event loop would have got from a raw capture (None for an HTTP error status,
    which `explain` covers). A capture cannot tell a clean close from a cut: both outcomes are given
    (`if_clean`, `if_cut`), and the one the capture points to (`points_to`: `clean`, `cut` or null), from
    curl's exit status or chunked framing that stops before its last chunk. An error event or an event
    that is not JSON makes the SDK raise there, whatever the end."""
    if state.is_http_error:
        return None
    capture = state.capture or {}
    curl_exit = capture.get("curl_exit")
    events, stop, stopped_at = state.sdk_events, state.stop_reason, state.message_stop_at
    in_stream = state.sdk_raises_at
    message_stop = stopped_at is not None and (in_stream is None or in_stream[0] > stopped_at)
    cut_raises = capture.get("raises") or CUT_ERROR
    if in_stream is not None:
        clean = cut = f"{in_stream[1]} (at event #{in_stream[0]}, after {count_text(events, 'event')})"
    elif message_stop:
        clean = f"no exception, {count_text(events, 'event')}, stop_reason={stop}"
        cut = f"{cut_raises} (after {count_text(events, 'event')})"
    elif events:
        clean = (
            f"no exception, stop_reason={stop}: after {count_text(events, 'event')} the SDK ended iteration as if the answer "
            "were finished"
        )
        cut = f"{cut_raises} (after {count_text(events, 'event')})"
    else:
        clean = "no exception and no event: iteration ended at once (get_final_message() raises AssertionError)"
        cut = f"{cut_raises} (before any event)"
    points_to = None
    if state.ended in (End.TRANSPORT_ERROR, End.TIMEOUT):
        points_to = "cut"
    elif state.ended == End.EOF and (curl_exit is not None or state.json_message is not None):
        points_to = "clean"
    known = points_to is not None or in_stream is not None or message_stop
    if points_to == "cut":
        seen, raised = cut, in_stream[1] if in_stream else cut_raises
    elif known:
        seen, raised = clean, in_stream[1] if in_stream else None
    else:
        seen, raised = f"if the connection closed cleanly, {clean}; if it was cut, {cut}", None
    silent = (raised is None and not message_stop) if known else None
    return {
        "raised": raised,
        "chain": [],
        "events": events,
        "stop_reason": stop,
        "message_stop": message_stop,
        "silent": silent,
        "seen": seen,
        "predicted": True,
        "curl_exit": curl_exit,
        "points_to": points_to,
        "if_clean": clean,
        "if_cut": cut,
    }


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= 2**53


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _block_label(block: Block) -> str:
    if block.name:
        return f"{block.type} `{block.name}`"
    return f"{block.type} block {block.index}"


def where(state: StreamState) -> str:
    if state.answered:
        return "after its whole JSON answer"
    block = state.open_block
    if block is not None:
        if block.json is not None or block.type in TOOL_BLOCK_TYPES:
            size = size_text(utf8_size(block.json_text))
            shape = "still a valid prefix" if block.json is None or block.json.valid else "already broken"
            return f"inside {_block_label(block)} after {size} of input JSON, {shape}"
        unit = "thinking" if block.type == BlockType.THINKING else "text"
        return f"inside {_block_label(block)} after {block.chars} characters of {unit}"
    if not state.events:
        return "before any event arrived"
    if state.stop_reason is not None:
        return f"after message_delta (stop_reason {state.stop_reason})"
    if state.blocks:
        last = list(state.blocks.values())[-1]
        return f"after {_block_label(last)} stopped"
    return f"after {len(state.events)} events, before any content"


_STOP_REASON_NOTES = {
    "max_tokens": "The answer was cut at max_tokens: raise max_tokens, or resume to continue it.",
    "model_context_window_exceeded": "The context window filled up: the answer is truncated.",
    "pause_turn": "The server paused a long turn: send the content back to let it continue.",
    "refusal": "The model refused this request.",
    "tool_use": "The model is waiting for your tool results.",
}


def explain(state: StreamState) -> str:
    termination = state.termination
    parts: list[str] = []
    if state.fault is not None:
        what = state.fault.removeprefix("injected: ")
        parts.append(f"INJECTED by the streamwatch proxy ({what}), not a failure of the upstream; what follows "
                     "is what such a failure means.")
    elif state.fault_unfired is not None:
        what = state.fault_unfired.removeprefix("injected: ")
        parts.append(f"A fault was armed by the streamwatch proxy ({what}) but never fired: this stream is as "
                     "the upstream sent it.")
    events = len(state.events)
    produced = f"{count_text(events, 'event')}, {size_text(state.bytes_received)}"
    if state.body.encoding is not None:
        produced += f" of {state.body.encoding} ({size_text(state.body.bytes)} decoded)"
    if termination == Termination.MESSAGE_STOP:
        if state.damage:
            parts.append(
                f"Not clean: message_stop arrived (stop_reason {state.stop_reason}; {produced}), but the answer "
                "is not the one that was sent."
            )
        else:
            parts.append(f"Complete: message_stop arrived (stop_reason {state.stop_reason}); {produced}.")
        note = _STOP_REASON_NOTES.get(state.stop_reason or "")
        if note:
            parts.append(note)
        if state.ended in (End.TRANSPORT_ERROR, End.TIMEOUT) and state.end_error:
            parts.append(
                f"But the connection then failed ({state.end_error['type']}), so your client raised an error "
                "after the full answer had arrived."
            )
    elif termination == Termination.HTTP_ERROR:
        parts.append(_explain_http(state))
    elif termination == Termination.ERROR_EVENT:
        error = state.error or {}
        parts.append(
            f"The server sent `event: error` ({_error_words(error)}) "
            f"{where(state)} ({produced})."
        )
        if error.get("type") == "overloaded_error":
            parts.append("The API was overloaded mid-answer (the in-stream twin of HTTP 529).")
        parts.append(
            "The Python SDK raises anthropic.APIStatusError with status_code 200 and does not retry a "
            "mid-stream error. Resume to keep the partial output, or retry with backoff."
        )
    elif termination in (Termination.ANSWERED, Termination.EOF) and state.body_kind == "json":
        parts.append(_explain_json_body(state, produced))
    elif termination == Termination.EOF:
        if not state.events and state.status is not None:
            parts.append(
                f"The server accepted the request (HTTP {state.status}) but the body ended without one event."
            )
        elif state.incomplete is not None:
            ended = "The capture ends" if _end_unknown(state) else "The body ended without an error but"
            parts.append(
                f"{ended} in the middle of an event ({len(state.incomplete.raw)} bytes of it never completed) and "
                f"without message_stop, {where(state)} ({produced})."
            )
        else:
            ended = "The capture ends" if _end_unknown(state) else "The body ended cleanly"
            parts.append(f"{ended} without message_stop, {where(state)} ({produced}).")
        parts.append(
            "Likely cause: a proxy, gateway or load balancer closed the response early, or the server cut it off."
        )
        if state.sdk_raises_at is None:
            parts.append(_sdk_on_early_end(state))
        open_block = state.open_block
        if open_block is not None and open_block.json is not None:
            parts.append("Its partial tool input silently loses the value that was still streaming.")
        parts.append("Resume or retry.")
    elif termination == Termination.TRANSPORT_ERROR and state.status is None and not state.bytes_received:
        error = state.end_error or {}
        parts.append(
            f"No response arrived: {_error_words(error)}. The server could not be reached "
            "or dropped the connection before answering; check the base URL, proxy and network. The Python SDK "
            "wraps this in anthropic.APIConnectionError and retries it by itself unless max_retries=0."
        )
    elif termination == Termination.TRANSPORT_ERROR:
        error = state.end_error or {}
        parts.append(
            f"The connection broke {where(state)} ({produced}): {_error_words(error)}."
        )
        parts.append(
            "Likely cause: the peer (server, proxy or load balancer) closed the connection mid-response. "
            "The Python SDK raises the raw httpx2 error (not wrapped in anthropic.APIConnectionError) and "
            "never retries a mid-stream failure. Resume or retry."
        )
    elif termination == Termination.TIMEOUT and state.status is None and not state.bytes_received:
        parts.append(
            "The client gave up before any response arrived: the server did not answer within the connect or "
            "read timeout. Check that the base URL is reachable, then retry."
        )
    elif termination == Termination.TIMEOUT:
        parts.append(
            f"The client gave up waiting {where(state)} ({produced}): no byte arrived within its read "
            "timeout. Pings reset that timeout, so this was true silence: the server or a proxy went quiet. "
            "Retry, or raise the timeout if long silences are expected (large tool inputs, thinking)."
        )
    elif termination == Termination.CANCELLED:
        why = (state.end_error or {}).get("message", "you cancelled it")
        parts.append(f"The stream was not followed to its end {where(state)} ({produced}): {why}.")
        parts.append("Resume or retry to finish it.")
    else:
        parts.append(f"Still streaming: {produced} so far.")
    if termination != Termination.HTTP_ERROR:
        parts.extend(_explain_damage(state))
    parts.extend(_explain_timing(state))
    return " ".join(parts)


_SILENT = (
    "iteration just stops and get_final_message() returns stop_reason=None, so code that only catches "
    "exceptions takes this truncated answer as finished"
)


def _end_unknown(state: StreamState) -> bool:
    """A raw capture that does not say how its connection ended (no curl exit status)."""
    return state.capture is not None and state.capture.get("curl_exit") is None


def _sdk_on_early_end(state: StreamState) -> str:
    """What the SDK does when the body ends without message_stop: nothing, if the close was clean; a
    capture cannot tell a clean close from a cut, so it gets both."""
    if not _end_unknown(state):
        why = "curl exited 0, a clean close, so the" if state.capture is not None else "The"
        return f"{why} official Python SDK raises NO error here: {_SILENT}."
    return (
        "A capture cannot tell a clean close from a cut connection: if the connection closed cleanly, the "
        f"official Python SDK raises NO error ({_SILENT}); if it was cut, the SDK raises {CUT_ERROR}. Give "
        "analyze curl's exit status to tell which (--curl-exit N: 0 a clean close, 18 or 56 a cut)."
    )


def _explain_json_body(state: StreamState, produced: str) -> str:
    message = state.json_message
    if state.answered:
        if message is None:
            return f"Complete: the request asked for no stream and got its JSON answer (HTTP {state.status}; {produced})."
        return (
            f"Complete: the request asked for no stream and got a whole Message ({message.get('id', 'no id')}, "
            f"stop_reason {state.stop_reason}, {len(state.text)} characters of text)."
        )
    if state.asked_for_stream is False:
        return (f"The request asked for no stream, and its JSON answer does not parse ({produced}): it was cut or "
                "garbled on the way. Retry.")
    if message is None:
        return (
            f"Not a stream: the body is JSON that is neither an error nor a Message ({produced}). A client that "
            "asked for a stream gets no event from it, and no error."
        )
    blocks = ", ".join(block.type for block in state.blocks.values()) or "no content"
    usage = f"usage {state.input_tokens} input / {state.output_tokens} output tokens"
    return (
        f"Not a stream: the body is a complete non-streaming Message ({message.get('id', 'no id')}, "
        f"stop_reason {state.stop_reason}, {blocks}, {len(state.text)} characters of text, {usage}). The request "
        "was sent without `stream: true`, or something on the way turned the stream into one response. A client "
        "that asked for a stream gets no event from it: the Python SDK's iteration ends at once without an "
        "error, and messages.stream()'s get_final_message() raises AssertionError."
    )


def _explain_damage(state: StreamState) -> list[str]:
    """What of the answer was lost to events that could not be read, a body that could not be decoded,
    or events out of order; and where the SDK would have raised on it."""
    notes: list[str] = []
    unreadable = [a for a in state.damage if a.code == "invalid_event_json"]
    if unreadable:
        more = len(unreadable) - 1
        also = f" ({more} more event{'s' if more > 1 else ''} could not be read either)" if more else ""
        notes.append(f"{unreadable[0].message[0].upper()}{unreadable[0].message[1:]}{also}.")
    broken = [a for a in state.damage if a.code == "undecodable_body"]
    if broken:
        lost = f"; {size_text(state.body.lost)} of the body never became events" if state.body.lost else ""
        notes.append(f"{broken[0].message[0].upper()}{broken[0].message[1:]}{lost}.")
    order = [a for a in state.damage if a.code == "out_of_order"]
    if order:
        notes.append(f"Out of order: {order[0].message}.")
    skipped = [a for a in state.damage if a.code == "skipped_event"]
    if skipped:
        more = f" ({len(skipped) - 1} more like it)" if len(skipped) > 1 else ""
        notes.append(
            f"{skipped[0].message[0].upper()}{skipped[0].message[1:]}{more}: a gateway that rewrites the stream "
            "may have dropped the `event:` lines."
        )
    seq, raised = state.sdk_raises_at or (None, "")
    if any(a.at_event == seq for a in unreadable):
        notes.append(
            f"The Python SDK raises {raised.split(':')[0]} at event #{seq}, so your code gets "
            f"{state.sdk_events} events and an exception; nothing after it reaches your code."
        )
    return notes


def _error_words(error: dict[str, Any]) -> str:
    """`type: message` of an error as recorded, saying so where a recording left either out."""
    kind, message = error.get("type"), error.get("message")
    if kind is None and not message:
        return "no error was recorded"
    return f"{kind or 'error'}: {message}" if message else str(kind)


def _explain_http(state: StreamState) -> str:
    error = state.error or {}
    status = f"HTTP {state.status}" if state.status is not None else "An HTTP error response"
    text = f"{status} ({_error_words(error)}) before any content."
    retry_after = state.headers.get("retry-after-ms") or state.headers.get("retry-after")
    if state.status == 529 or error.get("type") == "overloaded_error":
        text += " The API is overloaded: retry with backoff"
    elif state.status == 429 or error.get("type") == "rate_limit_error":
        text += " You are rate limited: wait, then retry"
    elif state.status is not None and state.status >= 500:
        text += " A server-side failure: retry with backoff"
    else:
        return text + " The request itself was refused: fix it before retrying."
    if retry_after:
        unit = "ms" if "retry-after-ms" in state.headers else "s"
        text += f" (the server asks for {retry_after} {unit})"
    return text + ". The SDK retries this status by itself unless max_retries=0."


def _explain_timing(state: StreamState) -> list[str]:
    notes = []
    if state.stalls:
        longest = max(state.stalls, key=lambda s: s.seconds)
        kind = f"pings kept arriving ({longest.pings})" if longest.pings else "nothing arrived at all"
        notes.append(
            f"It stalled {_times(len(state.stalls))} (threshold {state.stall_threshold:g} s); the longest, "
            f"{longest.seconds:.1f} s after event #{longest.after_event}, {kind}."
        )
    if any(a.code == "burst" for a in state.anomalies):
        notes.append(
            "Events arrived in a burst after a silence: something between you and the API buffers the stream "
            "(nginx proxy_buffering, a response-rewriting proxy); turn buffering off for text/event-stream."
        )
    thinking_only = [b for b in state.blocks.values() if b.type == BlockType.THINKING and b.signature == ""]
    if state.termination == Termination.MESSAGE_STOP and thinking_only:
        notes.append("A thinking block stopped without a signature_delta.")
    if state.unknown:
        kinds = ", ".join(f"{k} x{n}" for k, n in state.unknown.items())
        notes.append(f"Unknown types were kept but not interpreted: {kinds}.")
    return notes


def _times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"
