"""Retrying and resuming an interrupted answer: the wait, the strategy, the requests and the seam.

Pure: no I/O, no clock unless none is given, no randomness but the caller's `random.Random`.

A **retry** sends the same request again and regenerates everything. A **resume** sends back what
the failed attempt produced (`salvage`) so the model continues it, in one of two shapes:

* `prefill`: the conversation ends with an assistant turn holding the partial answer, trimmed of
  trailing whitespace (the API refuses it otherwise); the model continues the text itself. Claude
  4.5 and earlier only, and not with extended thinking.
* `user-turn`: the partial answer as an assistant turn, then a user turn saying the answer was
  interrupted, quoting how it ended and asking to continue from there. Works with every model.

What goes back (`Salvage.kept`) is the longest run of blocks, from the first, that the API accepts
back in an assistant turn: text (the last one may be cut off), thinking with its signature,
redacted thinking, server tool calls with their results. It stops at the first block that cannot
go back: a block cut off before its end (a tool call, a thinking block, a server tool call cannot be
partly recovered), or a complete client `tool_use`, because a `tool_use` without its `tool_result`
in the history is a 400 and streamwatch cannot run the tool. That complete call is kept aside
(`Salvage.tool_calls`, `acted_on_tool`): the app may already have run it, so nothing is retried or
resumed automatically. Everything after the stopping point goes too, so the resumed turn is always
a state the model really was in. Each dropped block gets one plain sentence in `Salvage.dropped`.

The continuation is joined to the partial text by `stitch`, which restores the trimmed whitespace
and removes the part of the continuation that repeats the end of the partial (user-turn resumes
often restart a sentence).
"""

from __future__ import annotations

import copy
import datetime
import itertools
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from streamwatch.core.accumulate import Block
from streamwatch.core.diagnose import StreamState
from streamwatch.core.events import TOOL_BLOCK_TYPES, BlockType, size_text, utf8_size

BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Besides every 5xx (529 included)."""

ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""The HTTP status each API error type stands for: an `event: error` mid-stream is judged by it."""

TAIL_CHARS = 200
"""How much of the end of the partial answer a user-turn resume quotes."""

MIN_OVERLAP_WORDS = 2
"""A repeat at the seam is removed only if it holds this many words, or is the whole partial."""

OVERLAP_WINDOW = 400
"""Tokens at the end of the partial (and start of the continuation) searched for a repeat."""

_VERSION = re.compile(r"claude(?:-[a-z]+)*-(\d{1,2})(?:[-.](\d{1,2}))?(?!\d)")
_FIRST_WITHOUT_PREFILL = (4, 6)
_TOKEN = re.compile(r"\w+|[^\w\s]+")
_WORD = re.compile(r"\w")
_QUOTE_END = "</partial>"


CONTINUABLE_STOPS = frozenset({"max_tokens"})
"""Stop reasons of a complete answer that a resume continues: the model was cut, not finished."""


class Strategy(StrEnum):
    AUTO = "auto"
    PREFILL = "prefill"
    USER_TURN = "user-turn"
    RETRY = "retry"


# ----- the wait before a retry -------------------------------------------------------------------


def retry_delay(
    status: int | None,
    headers: Mapping[str, str] | None,
    attempt: int,
    rng: random.Random,
    *,
    error_type: str | None = None,
    now: float | None = None,
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when the failure is not worth retrying.

    `status` is the HTTP status (None: no response at all, a connection failure); `error_type` the
    type of an `event: error` that arrived after a 200, judged as its HTTP twin (overloaded_error as
    529, api_error as 500...). Retryable: 408, 409, 429, every 5xx, and a stream that broke after a
    2xx. `x-should-retry: true|false` from the server overrides that. The wait is the server's
    `retry-after-ms`, else `retry-after` (seconds or an HTTP date, relative to `now`, epoch
    seconds), else exponential backoff with full jitter: uniform in [0, min(60, 2**(attempt-1))) s.
    `attempt` counts the attempts that failed so far, from 1.
    """
    if attempt < 1:
        raise ValueError("attempt counts the failed attempts so far, from 1")
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    should_retry = lowered.get("x-should-retry", "").strip().lower()
    if should_retry == "false":
        return None
    effective = ERROR_TYPE_STATUS.get(error_type or "", status)
    if should_retry != "true" and not _retryable(effective):
        return None
    asked = _server_delay(lowered, time.time() if now is None else now)
    if asked is not None:
        return asked
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt - 1, 32))
    return rng.random() * ceiling


def _retryable(status: int | None) -> bool:
    if status is None or status < 400:
        return True
    return status in RETRYABLE_STATUSES or status >= 500


def _server_delay(headers: Mapping[str, str], now: float) -> float | None:
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    import email.utils  # here, not at the top: a date in retry-after is rare, and the module is slow to import

    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return None
    return value if 0 <= value < math.inf else None


# ----- which strategy ----------------------------------------------------------------------------


def prefill_supported(model: str) -> bool:
    """Whether the model accepts a conversation ending with an assistant turn.

    Claude 4.6 and later refuse it; earlier Claude versions accept it. A name with no readable
    Claude version (an alias, a gateway's own name, `mock-*`) is assumed to accept it: if it does
    not, the API says so at once with a 400 that costs no tokens and `is_prefill_refusal` lets
    `auto` fall back to a user turn, whereas wrongly avoiding prefill would silently give a less
    exact continuation.
    """
    match = _VERSION.search(model.lower())
    if match is None:
        return True
    return (int(match[1]), int(match[2] or 0)) < _FIRST_WITHOUT_PREFILL


def thinking_enabled(request_body: Mapping[str, Any]) -> bool:
    thinking = request_body.get("thinking")
    return isinstance(thinking, Mapping) and thinking.get("type") not in (None, "disabled")


def choose_strategy(requested: str, model: str, request_body: Mapping[str, Any]) -> Strategy:
    """`prefill` and `user-turn` are taken as asked; `auto` picks prefill where the model and the
    request allow it (no extended thinking), else a user turn."""
    strategy = Strategy(requested)
    if strategy is Strategy.RETRY:
        raise ValueError("choose a resume strategy: auto, prefill or user-turn")
    if strategy is not Strategy.AUTO:
        return strategy
    if prefill_supported(model) and not thinking_enabled(request_body):
        return Strategy.PREFILL
    return Strategy.USER_TURN


def is_prefill_refusal(status: int | None, error: Mapping[str, Any] | None) -> bool:
    """Whether a response is the API refusing prefill, so `auto` should retry as a user turn.

    `error` is the error object (`StreamState.error`, `{"type", "message"}`) or the whole JSON
    error body (`{"type": "error", "error": {...}}`).
    """
    if status != 400 or not error:
        return False
    inner = error.get("error")
    if isinstance(inner, Mapping):
        error = inner
    message = error.get("message")
    return (
        error.get("type") == "invalid_request_error"
        and isinstance(message, str)
        and "prefill" in message.lower()
    )


# ----- what the failed attempt left ----------------------------------------------------------------


@dataclass(frozen=True)
class Salvage:
    kept: list[dict[str, Any]]
    """Content blocks for the resumed assistant turn, in the API's request shape, the last text
    already trimmed of trailing whitespace, empty text blocks left out."""
    kept_labels: list[str]
    """One plain phrase per block of the failed answer that goes back, for the screen."""
    dropped: list[str]
    """One plain sentence per block that does not go back, and why."""
    tool_calls: list[dict[str, Any]]
    """Complete client `tool_use` blocks with their parsed input: kept aside, never sent back."""
    partial: str
    """The text the answer had reached: its trailing text blocks, as produced (maybe cut off)."""
    trimmed: str
    """The whitespace the resume cuts off the end of `partial`; `stitch` puts it back."""

    @property
    def acted_on_tool(self) -> bool:
        """A complete tool call arrived: the app may have acted on it, so ask before going on."""
        return bool(self.tool_calls)

    @property
    def sent(self) -> str:
        """The partial text as the resume request carries it."""
        return self.partial[: len(self.partial) - len(self.trimmed)]

    @property
    def empty(self) -> bool:
        """Nothing worth continuing from (thinking alone is not): a resume is a plain retry."""
        return all(block["type"] in (BlockType.THINKING, BlockType.REDACTED_THINKING) for block in self.kept)

    def stitch(self, continuation: str) -> Stitched:
        return stitch(self.sent, continuation, self.trimmed)


def salvage(state: StreamState) -> Salvage:
    """What of `state`'s answer a resume can send back, what it cannot, and why."""
    blocks = [state.blocks[i] for i in sorted(state.blocks)]
    tool_calls = [_tool_use(b) for b in blocks if _is_finished_call(b)]
    kept: list[dict[str, Any]] = []
    labels: list[str] = []
    dropped: list[str] = []
    paired: set[str] = set()
    for position, block in enumerate(blocks):
        reason = _unsendable(block, blocks[position + 1 :], paired)
        if reason is not None:
            dropped.append(f"{_label(block)}: {reason}")
            dropped.extend(f"{_label(later)}: came after it, so it goes too" for later in blocks[position + 1 :])
            break
        if block.type in (BlockType.SERVER_TOOL_USE, BlockType.MCP_TOOL_USE):
            paired.add(str(block.start.get("id")))
        kept.append(_request_block(block))
        labels.append(_kept_label(block))
    kept = _merge_texts(kept)
    partial = "".join(block["text"] for block in _trailing_texts(kept))
    trimmed = partial[len(partial.rstrip()) :]
    return Salvage(
        kept=_trim(kept, len(trimmed)),
        kept_labels=labels,
        dropped=dropped,
        tool_calls=tool_calls,
        partial=partial,
        trimmed=trimmed,
    )


def _unsendable(block: Block, later: list[Block], paired: set[str]) -> str | None:
    """Why `block` cannot go back in an assistant turn, or None if it can."""
    kind = block.type
    if kind == BlockType.TEXT:
        return None
    if kind == BlockType.THINKING:
        if not block.complete:
            return "cut off before its signature; a thinking block cannot be partly recovered"
        if not block.signature:
            return "stopped without a signature, and the API takes thinking back only with one"
        return None
    if kind in TOOL_BLOCK_TYPES:
        what = "tool call" if kind == BlockType.TOOL_USE else "server tool call"
        if not block.complete:
            size = size_text(utf8_size(block.json_text))
            return f"cut off after {size} of input JSON; a {what} cannot be partly recovered, the model makes it again"
        if block.input_error is not None:
            return "its input JSON is broken; the model makes the call again"
        if kind == BlockType.TOOL_USE:
            return (
                "complete, but its result was never sent and a tool call without its result is refused (HTTP 400); "
                "the model makes the call again, so check whether your app already ran it"
            )
        if not any(_answers(result, block.start.get("id")) for result in later):
            return "its result never arrived; the model makes the call again"
        return None
    if not _arrives_whole(kind):
        return "streamwatch cannot send this kind of block back"
    if not block.complete:
        return "never finished"
    tool_use_id = block.start.get("tool_use_id")
    if tool_use_id is not None and str(tool_use_id) not in paired:
        return "its server tool call does not go back"
    return None


def _arrives_whole(kind: str) -> bool:
    return kind.endswith("_tool_result") or kind in (BlockType.REDACTED_THINKING, BlockType.CONTAINER_UPLOAD)


def _answers(block: Block, tool_use_id: object) -> bool:
    return block.complete and _arrives_whole(block.type) and block.start.get("tool_use_id") == tool_use_id


def _is_finished_call(block: Block) -> bool:
    return block.type == BlockType.TOOL_USE and block.complete and block.input_error is None


def _tool_use(block: Block) -> dict[str, Any]:
    """The call with its parsed input (a call without input deltas keeps the input it started with)."""
    return {**block.start, "input": block.input} if block.json is not None else dict(block.start)


def _request_block(block: Block) -> dict[str, Any]:
    if block.type == BlockType.TEXT:
        citations = [c for c in block.citations if isinstance(c, dict)]
        return {"type": "text", "text": block.text, **({"citations": citations} if citations else {})}
    if block.type == BlockType.THINKING:
        return {"type": "thinking", "thinking": block.thinking_text, "signature": block.signature}
    if block.type in TOOL_BLOCK_TYPES:
        return _tool_use(block)
    return dict(block.start)


def _label(block: Block) -> str:
    name = f" `{block.name}`" if block.name else ""
    return f"{block.type}{name} (block {block.index})"


def _kept_label(block: Block) -> str:
    if block.type == BlockType.TEXT:
        state = "" if block.complete else ", cut off"
        return f"text (block {block.index}): {len(block.text)} characters{state}"
    return _label(block)


def _is_plain_text(block: Mapping[str, Any]) -> bool:
    return block["type"] == BlockType.TEXT and "citations" not in block


def _merge_texts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join neighbouring text blocks without citations, so whitespace between them is not lost."""
    merged: list[dict[str, Any]] = []
    for block in blocks:
        if merged and _is_plain_text(block) and _is_plain_text(merged[-1]):
            merged[-1] = {"type": "text", "text": merged[-1]["text"] + block["text"]}
        else:
            merged.append(block)
    return merged


def _trailing_texts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = len(blocks)
    while start > 0 and blocks[start - 1]["type"] == BlockType.TEXT:
        start -= 1
    return blocks[start:]


def _trim(blocks: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Cut `count` characters (all whitespace) off the end of the trailing text, drop empty texts."""
    trimmed = list(blocks)
    for i in range(len(trimmed) - 1, -1, -1):
        if count == 0:
            break
        text = trimmed[i]["text"]
        cut = min(count, len(text))
        trimmed[i] = {**trimmed[i], "text": text[: len(text) - cut]}
        count -= cut
    return [b for b in trimmed if b["type"] != BlockType.TEXT or b["text"].strip()]


# ----- the requests -----------------------------------------------------------------------------


def retry_request(original_body: Mapping[str, Any]) -> dict[str, Any]:
    """The same request again (a deep copy)."""
    return copy.deepcopy(dict(original_body))


def resume_request(original_body: Mapping[str, Any], salvage: Salvage, strategy: str) -> dict[str, Any]:
    """The original request (model, system, tools, stream... unchanged) continued from `salvage`.

    `strategy` is `prefill` or `user-turn` (see `choose_strategy`). With nothing to continue from
    (`salvage.empty`) this is `retry_request`. If the original conversation already ends with an
    assistant turn (a prefill of its own), the partial answer is appended to it.
    """
    strategy = Strategy(strategy)
    if strategy not in (Strategy.PREFILL, Strategy.USER_TURN):
        raise ValueError(f"resume with prefill or user-turn, not {strategy}")
    body = retry_request(original_body)
    if salvage.empty:
        return body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("the original request has no messages")
    content = copy.deepcopy(salvage.kept)
    if messages[-1].get("role") == "assistant":
        content = _content_blocks(messages.pop()["content"]) + content
    messages.append({"role": "assistant", "content": content})
    if strategy is Strategy.USER_TURN:
        messages.append({"role": "user", "content": interruption_note(salvage.sent)})
    return body


def interruption_note(partial: str) -> str:
    """The user turn of a user-turn resume: it was interrupted, here is how it ended, go on."""
    tail = _tail(partial)
    if not tail:
        return (
            "Your previous response was interrupted. Continue exactly from where it stopped, without "
            "repeating anything you already wrote and without mentioning the interruption."
        )
    return (
        "Your previous response was interrupted. It ended with:\n"
        f"<partial>{tail}</partial>\n"
        "Continue exactly from where it stopped, starting with the very next character (finish the word "
        "if it stopped inside one). Do not repeat any of the text above and do not mention the interruption."
    )


def _tail(partial: str) -> str:
    tail = partial[-TAIL_CHARS:]
    if len(partial) > TAIL_CHARS and not partial[-TAIL_CHARS - 1].isspace():
        space = re.search(r"\s", tail)
        if space is not None:
            tail = tail[space.end() :]
    end = tail.rfind(_QUOTE_END)
    return tail[end + len(_QUOTE_END) :] if end >= 0 else tail


def _content_blocks(content: str | list[Any]) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content)


# ----- the seam ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stitched:
    text: str
    seam: int
    """Where in `text` the continuation begins: before it, what the failed attempt produced."""
    repeated: str = ""
    """The start of the continuation that repeated the end of the partial, left out."""


def stitch(partial: str, continuation: str, trimmed: str = "") -> Stitched:
    """The partial text (as sent: trimmed) joined to the continuation the resume produced.

    A continuation that starts over some of the partial's end loses that repeat: the longest run of
    tokens ending the partial that starts the continuation, whitespace between tokens ignored, its
    last token allowed to finish a word the partial cut off. To count, a repeat holds at least
    `MIN_OVERLAP_WORDS` words or is the whole partial, so a continuation that merely begins like
    the partial ends ("ban" + "ana") is never eaten. Otherwise the trimmed whitespace comes back
    when the continuation does not bring its own. An empty continuation leaves the partial as is.
    """
    if not continuation:
        return Stitched(partial, len(partial))
    end = _repeat_end(partial, continuation, glued=not trimmed)
    if end is not None:
        return Stitched(partial + continuation[end:], len(partial), continuation[:end])
    head = partial if continuation[0].isspace() else partial + trimmed
    return Stitched(head + continuation, len(head))


def _repeat_end(partial: str, continuation: str, *, glued: bool) -> int | None:
    """Where the repeat of the partial's end ends in `continuation`, or None if there is none."""
    every = list(_TOKEN.finditer(partial))
    ends = every[-OVERLAP_WINDOW:]
    starts = list(itertools.islice(_TOKEN.finditer(continuation), OVERLAP_WINDOW))
    for n in range(min(len(ends), len(starts)), 0, -1):
        tail, head = ends[-n:], starts[:n]
        if any(a[0] != b[0] for a, b in zip(tail[:-1], head[:-1], strict=True)):
            continue
        last, first = tail[-1], head[-1]
        if last[0] == first[0]:
            end = first.end()
        elif glued and last.end() == len(partial) and first[0].startswith(last[0]):
            end = first.start() + len(last[0])
        else:
            continue
        if n == len(every) or sum(1 for token in tail if _WORD.match(token[0])) >= MIN_OVERLAP_WORDS:
            return end
    return None


def continued(earlier: Salvage, later: Salvage) -> Salvage:
    """The answer so far when a resumed attempt broke too, so that the next resume sends back both.

    `earlier` is what the resume sent back, `later` what the resumed attempt left (`salvage` of its
    state). The continuation's first text joins the partial's last text as `stitch` joins them, its
    other blocks follow; what was dropped and the tool calls kept aside are the later attempt's.
    """
    blocks = list(earlier.kept)
    added = list(later.kept)
    if added and blocks and _is_plain_text(added[0]) and _is_plain_text(blocks[-1]):
        joined = stitch(blocks[-1]["text"], added.pop(0)["text"], earlier.trimmed)
        blocks[-1] = {"type": "text", "text": joined.text}
    blocks += added
    trimmed = later.trimmed if later.kept else earlier.trimmed
    return Salvage(
        kept=blocks,
        kept_labels=earlier.kept_labels + later.kept_labels,
        dropped=later.dropped,
        tool_calls=later.tool_calls,
        partial="".join(block["text"] for block in _trailing_texts(blocks)) + trimmed,
        trimmed=trimmed,
    )


# ----- what it cost -----------------------------------------------------------------------------


CHARS_PER_TOKEN = 4
"""About how many characters of English text or JSON one output token carries, for an estimate."""


def repaid(
    previous_usage: Mapping[str, Any], attempt_usage: Mapping[str, Any], strategy: str
) -> dict[str, Any]:
    """The tokens an attempt paid for again, compared with the failed attempt before it.

    There is no server-side resume: every retry and resume pays its whole input again
    (`input_tokens`: the attempt's input; a resume's includes the kept output, read as input).
    A retry regenerates all the output the failed attempt produced (`output_tokens`); a resume none
    of the output it kept, though it does regenerate what `salvage` dropped (a tool call, a thinking
    block cut off), which usage cannot separate. A stream that broke before its `message_delta`
    reported only `message_start`'s placeholder output count: then (`output_final` False in the
    usage) the output a retry pays again is estimated from the characters it streamed
    (`output_chars`), never below the count reported, and `output_estimated` says so. None: not reported.
    """
    strategy = Strategy(strategy)
    if strategy is Strategy.AUTO:
        raise ValueError("repaid needs the strategy the attempt used: retry, prefill or user-turn")
    input_tokens = attempt_usage.get("input_tokens")
    output_tokens = previous_usage.get("output_tokens") if strategy is Strategy.RETRY else 0
    estimated = strategy is Strategy.RETRY and previous_usage.get("output_final") is False
    if estimated:
        guess = math.ceil((previous_usage.get("output_chars") or 0) / CHARS_PER_TOKEN)
        output_tokens = max(output_tokens or 0, guess)
    total = None if input_tokens is None or output_tokens is None else input_tokens + output_tokens
    return {
        "strategy": strategy.value,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "output_estimated": estimated,
        "total_tokens": total,
    }
