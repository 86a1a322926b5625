"""From a parsed request to a Plan: status, headers, timed byte writes and how the body ends.

Pure: no I/O and no clock; `streamwatch.mock.app` plays plans over HTTP.

Pacing (seconds, all multiplied by `Pace.scale`): `message_start` and a `ping` at once, the first
content block after `first_token`, then one delta every `delta_every`, and a `ping` every
`ping_every` throughout, except during a stall.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from streamwatch.mock import answers
from streamwatch.mock.events import (
    Block,
    Event,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
    block_events,
    error_body,
    message,
    message_delta,
    message_start,
    message_stop,
    ping,
    sse,
)
from streamwatch.mock.request import MockRequest
from streamwatch.mock.scenarios import (
    Buffered,
    Cut,
    EndsEarly,
    ErrorEvent,
    Fault,
    FirstContentAfter,
    HttpError,
    Shape,
    Stall,
)

TOOL_NAME = "write_file"
_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


@dataclass(frozen=True)
class Pace:
    scale: float = 1.0
    first_token: float = 0.4
    delta_every: float = 0.03
    ping_every: float = 3.0

    def seconds(self, unscaled: float) -> float:
        return unscaled * self.scale


class Ending(Enum):
    CLEAN = "clean"
    """The response body ends properly."""
    CUT = "cut"
    """The connection closes in the middle of the body."""


@dataclass(frozen=True)
class Write:
    at: float
    """Seconds after the response starts (already scaled)."""
    data: bytes


@dataclass(frozen=True)
class Plan:
    status: int
    headers: dict[str, str]
    writes: tuple[Write, ...]
    ending: Ending = Ending.CLEAN


@dataclass(frozen=True)
class Ids:
    request: str
    message: str
    tool: str

    @classmethod
    def fresh(cls) -> Ids:
        return cls(
            f"req_mock_{secrets.token_hex(12)}",
            f"msg_mock_{secrets.token_hex(12)}",
            f"toolu_mock_{secrets.token_hex(12)}",
        )


@dataclass(frozen=True)
class _Timed:
    at: float
    event: Event


def plan_response(request: MockRequest, *, fault_fires: bool, ids: Ids, pace: Pace) -> Plan:
    """The response to `request`; with `fault_fires` false its scenario plays clean."""
    scenario = request.scenario if fault_fires else request.scenario.clean()
    fault = scenario.fault
    if isinstance(fault, HttpError):
        retry_after = pace.seconds(fault.retry_after)
        headers = {
            "retry-after": str(math.ceil(retry_after)),
            "retry-after-ms": str(round(retry_after * 1000)),
        }
        return error_plan(fault.status, fault.error_type, fault.message, ids.request, headers)
    blocks, stop_reason = _content(request, scenario.shape, scenario.cut_at_max_tokens, ids)
    usage = Usage(request.input_tokens, sum(block.words() for block in blocks))
    events = [
        message_start(ids.message, request.model, usage.input_tokens),
        *(event for i, block in enumerate(blocks) for event in block_events(i, block)),
        message_delta(stop_reason, usage),
        message_stop(),
    ]
    if not request.stream:
        done = _schedule(events, pace, None)[-1].at
        body = message(ids.message, request.model, blocks, stop_reason, usage)
        return _json_plan(200, body, ids.request, at=done)
    writes, ending = _writes(_schedule(events, pace, fault), fault, ids.request)
    return Plan(200, {**_SSE_HEADERS, "request-id": ids.request}, tuple(writes), ending)


def error_plan(
    status: int, error_type: str, text: str, request_id: str, headers: dict[str, str] | None = None
) -> Plan:
    """An HTTP error with the API's JSON error body."""
    return _json_plan(status, error_body(error_type, text, request_id), request_id, headers=headers)


def _json_plan(
    status: int,
    body: Event,
    request_id: str,
    *,
    at: float = 0.0,
    headers: dict[str, str] | None = None,
) -> Plan:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    base = {
        "content-type": "application/json",
        "content-length": str(len(data)),
        "request-id": request_id,
    }
    return Plan(status, {**base, **(headers or {})}, (Write(at, data),))


def _content(
    request: MockRequest, shape: Shape, cut_at_max_tokens: bool, ids: Ids
) -> tuple[list[Block], str]:
    """The blocks still to send (a continuation skips what the client has) and the stop reason."""
    seed = request.conversation.digest
    partial = request.conversation.partial
    # A model that runs out of max_tokens goes on for as long as it is let.
    full = answers.answer_text(seed, request.max_tokens + 1) if cut_at_max_tokens else answers.answer_text(seed)
    text = full[partial.resume_offset(full) :] if partial else full
    stop_reason = "end_turn"
    if cut_at_max_tokens:
        words = list(re.finditer(r"\S+", text))
        if len(words) > request.max_tokens:
            text = text[: words[request.max_tokens - 1].end()]
            stop_reason = "max_tokens"
    blocks: list[Block] = []
    if shape is Shape.THINKING and partial is None:
        blocks.append(ThinkingBlock(answers.thinking_text(seed), answers.signature(seed)))
    if text:
        blocks.append(TextBlock(text))
    if shape is Shape.TOOL:
        blocks.append(
            ToolUseBlock(ids.tool, TOOL_NAME, answers.tool_input(seed, request.tool_bytes))
        )
        stop_reason = "tool_use"
    return blocks, stop_reason


def _schedule(events: list[Event], pace: Pace, fault: Fault | None) -> list[_Timed]:
    """Give each event its time, honouring the fault's timing, and add the pings."""
    first = fault.seconds if isinstance(fault, FirstContentAfter) else pace.first_token
    stall = fault.seconds if isinstance(fault, Stall) else 0.0
    deltas = [i for i, event in enumerate(events) if event["type"] == "content_block_delta"]
    stalled = deltas[len(deltas) // 2] if stall and deltas else None
    quiet = (0.0, 0.0)
    timed = [_Timed(0.0, events[0])]
    at = pace.seconds(first)
    for i, event in enumerate(events[1:], start=1):
        if event["type"] == "content_block_delta":
            at += pace.seconds(pace.delta_every)
        if i == stalled:
            at += pace.seconds(stall)
            quiet = (timed[-1].at, at)
        timed.append(_Timed(at, event))
    return _with_pings(timed, pace.seconds(pace.ping_every), quiet)


def _with_pings(timed: list[_Timed], every: float, quiet: tuple[float, float]) -> list[_Timed]:
    """A ping right after message_start, then one every `every` seconds, none inside `quiet`."""
    end = timed[-1].at
    times = [k * every for k in range(1, math.ceil(end / every))] if every > 0 else []
    pings = [_Timed(0.0, ping())]
    pings += [_Timed(t, ping()) for t in times if not quiet[0] < t < quiet[1]]
    return sorted(timed + pings, key=lambda item: item.at)


def _writes(
    timed: list[_Timed], fault: Fault | None, request_id: str
) -> tuple[list[Write], Ending]:
    """Encode the events, ending the body the way the fault says."""
    writes = [Write(item.at, sse(item.event)) for item in timed]
    match fault:
        case Buffered():
            return [Write(writes[-1].at, b"".join(w.data for w in writes))], Ending.CLEAN
        case EndsEarly(delta_type, fraction):
            return writes[: _position(timed, delta_type, fraction)], Ending.CLEAN
        case Cut(delta_type, fraction):
            i = _position(timed, delta_type, fraction)
            half = Write(writes[i].at, writes[i].data[: len(writes[i].data) // 2])
            return [*writes[:i], half], Ending.CUT
        case ErrorEvent(error_type, text, delta_type, fraction):
            i = _position(timed, delta_type, fraction)
            error = Write(writes[i].at, sse(error_body(error_type, text, request_id)))
            return [*writes[:i], error], Ending.CLEAN
    return writes, Ending.CLEAN


def _position(timed: Sequence[_Timed], delta_type: str, fraction: float) -> int:
    """Index of the delta of `delta_type` at `fraction` of them, else of the message_delta."""
    candidates = [
        i
        for i, item in enumerate(timed)
        if item.event["type"] == "content_block_delta" and item.event["delta"]["type"] == delta_type
    ]
    if not candidates:
        candidates = [i for i, item in enumerate(timed) if item.event["type"] == "message_delta"]
    return candidates[int(len(candidates) * fraction)]
