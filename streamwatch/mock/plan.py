"""From a parsed request to a Plan: status, headers, timed byte writes and how the body ends.

Pure: no I/O and no clock; `streamwatch.mock.app` plays plans over HTTP.

Pacing (seconds, all multiplied by `Pace.scale`): `message_start` and a `ping` at once, the first
content block after `first_token`, then one delta every `delta_every`, and a `ping` every
`ping_every` throughout, except during a stall.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from streamwatch.mock import answers
from streamwatch.mock.events import (
    SMALL_JSON_CHARS_PER_DELTA,
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
from streamwatch.mock.options import Choice
from streamwatch.mock.request import MIN_TOOL_BYTES, MockRequest
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
from streamwatch.mock.tokens import count

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
    content, runs_over = _content(request, scenario.shape, scenario.cut_at_max_tokens, ids)
    blocks, stop = _limited(content, runs_over, request.max_tokens, request.stop_sequences)
    usage = Usage(request.input_tokens, sum(block.tokens() for block in blocks))
    events = [
        message_start(ids.message, request.model, usage.input_tokens),
        *(event for i, block in enumerate(blocks) for event in block_events(i, block)),
        message_delta(*stop, usage),
        message_stop(),
    ]
    if not request.stream:
        done = _schedule(events, pace, None)[-1].at
        body = message(ids.message, request.model, blocks, stop, usage)
        return json_plan(200, body, ids.request, at=done)
    writes, ending = _writes(_schedule(events, pace, fault), fault, ids.request)
    return Plan(200, {**_SSE_HEADERS, "request-id": ids.request}, tuple(writes), ending)


def error_plan(
    status: int, error_type: str, text: str, request_id: str, headers: dict[str, str] | None = None
) -> Plan:
    """An HTTP error with the API's JSON error body."""
    return json_plan(status, error_body(error_type, text, request_id), request_id, headers=headers)


def json_plan(
    status: int,
    body: Event,
    request_id: str,
    *,
    at: float = 0.0,
    headers: dict[str, str] | None = None,
) -> Plan:
    """A JSON body with the API's headers, written `at` seconds after the response starts."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    base = {
        "content-type": "application/json",
        "content-length": str(len(data)),
        "request-id": request_id,
    }
    return Plan(status, {**base, **(headers or {})}, (Write(at, data),))


def _content(
    request: MockRequest, shape: Shape, cut_at_max_tokens: bool, ids: Ids
) -> tuple[list[Block], bool]:
    """The blocks of the answer before any limit, less what the client already has (a
    continuation carries the rest of the text, then the complete remaining blocks), and whether
    the answer goes on past them: a write_file call too long for max_tokens is never started."""
    seed = request.conversation.digest
    partial = request.conversation.partial
    # A model that runs out of max_tokens goes on for as long as it is let.
    full = answers.answer_text(seed, request.max_tokens + 1) if cut_at_max_tokens else answers.answer_text(seed)
    text = full[partial.resume_offset(full) :] if partial else full
    thinking = _thinking(request, shape, seed)
    blocks: list[Block] = []
    if thinking is not None and partial is None:
        blocks.append(thinking)
    if text and not request.tool_choice.forced:
        blocks.append(TextBlock(text))
    room = request.max_tokens - count(full) - (thinking.tokens() if thinking else 0)
    call = _tool_call(request, shape, ids, room)
    if call is not None:
        blocks.append(call)
    return blocks, call is None and shape is Shape.TOOL and not request.tools


def _thinking(request: MockRequest, shape: Shape, seed: bytes) -> ThinkingBlock | None:
    """The thinking the request asks for (within its budget), or the thinking scenario's."""
    thinking = request.thinking
    if thinking is None and shape is not Shape.THINKING:
        return None
    if thinking is not None and thinking.omitted:
        return ThinkingBlock("", answers.signature(seed))
    block = ThinkingBlock(answers.thinking_text(seed), answers.signature(seed))
    if thinking is None or thinking.budget is None:
        return block
    return block.first_tokens(thinking.budget)


def _tool_call(request: MockRequest, shape: Shape, ids: Ids, room: int) -> ToolUseBlock | None:
    """A call of one of the caller's tools when it declared any (as `tool_choice` allows), else
    the tool scenarios' own write_file call, sized to fit in `room` tokens if it can."""
    seed = request.conversation.digest
    if not request.tools:
        return _write_file(seed, ids, request.tool_bytes, room) if shape is Shape.TOOL else None
    choice = request.tool_choice
    if choice.choice is Choice.NONE or (choice.choice is Choice.AUTO and request.after_tool_result):
        return None
    if choice.choice is Choice.TOOL:
        tool = next(tool for tool in request.tools if tool.name == choice.name)
    else:
        tool = request.tools[answers.pick(seed, len(request.tools))]
    tool_input = answers.tool_call_input(seed, tool.name, tool.input_schema)
    return ToolUseBlock(ids.tool, tool.name, tool_input, SMALL_JSON_CHARS_PER_DELTA)


def _write_file(seed: bytes, ids: Ids, size: int, room: int) -> ToolUseBlock | None:
    """`size` characters of input JSON, or the whole sentences that fit in `room` tokens; None
    when not even `MIN_TOOL_BYTES` fit."""
    tool_input = answers.tool_input(seed, size, room)
    if len(tool_input) < min(size, MIN_TOOL_BYTES):
        return None
    return ToolUseBlock(ids.tool, TOOL_NAME, tool_input)


def _limited(
    blocks: list[Block], runs_over: bool, max_tokens: int, stop_sequences: Sequence[str]
) -> tuple[list[Block], tuple[str, str | None]]:
    """The blocks as sent: the text stops before the first stop sequence it holds, and the whole
    answer at `max_tokens` (see `streamwatch.mock.tokens`), or after the blocks when it
    `runs_over` them; with the stop reason and sequence."""
    sent: list[Block] = []
    left = max_tokens
    for block in blocks:
        stop_sequence = None
        if isinstance(block, TextBlock):
            block, stop_sequence = _before_stop_sequence(block, stop_sequences)
        if block.tokens() > left:
            cut = block.first_tokens(left)
            return [*sent, cut] if cut else sent, ("max_tokens", None)
        if block.tokens() or not isinstance(block, TextBlock):
            sent.append(block)
        left -= block.tokens()
        if stop_sequence is not None:
            return sent, ("stop_sequence", stop_sequence)
    if runs_over:
        return sent, ("max_tokens", None)
    ends_with_call = bool(sent) and isinstance(sent[-1], ToolUseBlock)
    return sent, ("tool_use" if ends_with_call else "end_turn", None)


def _before_stop_sequence(block: TextBlock, stop_sequences: Sequence[str]) -> tuple[TextBlock, str | None]:
    found = [(block.text.find(s), s) for s in stop_sequences if s in block.text]
    if not found:
        return block, None
    at, stop_sequence = min(found, key=lambda item: item[0])
    return TextBlock(block.text[:at]), stop_sequence


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
