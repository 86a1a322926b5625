"""The scenarios the mock server plays: the shape of each answer and the fault it injects.

Pick one per request with the `x-streamwatch-scenario` header or a model named `mock-<scenario>`
(the header wins); the default is `ok`. Durations are in seconds and multiplied by the time scale.

    ok                a text answer of a few hundred words
    tool_big          the text, then a large write_file tool call (stop_reason tool_use): its
                      input JSON is x-streamwatch-tool-bytes long, or as long as max_tokens leaves
    thinking          a thinking block ending with a signature_delta, then the text
    max_tokens        a text that goes on until it is cut after `max_tokens` tokens (stop_reason max_tokens)
    stall             8 s of total silence halfway through, then a normal finish
    slow_first_token  the first content after 6 s, with pings meanwhile
    keepalive_only    message_start, then 20 s of nothing but pings, then the answer
    buffered          every event held back, then flushed in one burst at the end
    drop_eof          like tool_big, but the body ends cleanly partway through the tool input:
                      no content_block_stop, message_delta or message_stop
    drop_abrupt       the connection is cut in the middle of an event halfway through the text
    error_overloaded  `event: error` (overloaded_error) after some text, then the body ends
    error_stream      `event: error` (api_error) after some text, then the body ends
    http_529          HTTP 529 overloaded_error with retry-after
    http_429          HTTP 429 rate_limit_error with retry-after

Every answer stops at `max_tokens` (counted as `streamwatch.mock.tokens` says) and follows the
request's tools, tool_choice, thinking and stop_sequences (`streamwatch.mock.options`): the tool
scenarios call one of the caller's tools, when it declared any, instead of write_file.

A fault fires on the first request of a conversation only (see `streamwatch.mock.app`); after
that the scenario plays clean: same shape, no fault.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class Shape(Enum):
    TEXT = "text"
    TOOL = "tool"
    THINKING = "thinking"


@dataclass(frozen=True)
class Stall:
    """Total silence, no pings either, halfway through the content deltas."""

    seconds: float


@dataclass(frozen=True)
class FirstContentAfter:
    """The first content block starts this late; pings keep coming meanwhile."""

    seconds: float


@dataclass(frozen=True)
class Buffered:
    """All bytes held back and written at once when the last event is due."""


@dataclass(frozen=True)
class EndsEarly:
    """The body ends cleanly just before the delta at `fraction` of the deltas of `delta_type`."""

    delta_type: str
    fraction: float


@dataclass(frozen=True)
class Cut:
    """The connection closes after half of the bytes of the delta at `fraction`."""

    delta_type: str
    fraction: float


@dataclass(frozen=True)
class ErrorEvent:
    """`event: error` in place of the delta at `fraction`, then the body ends."""

    error_type: str
    message: str
    delta_type: str
    fraction: float


@dataclass(frozen=True)
class HttpError:
    """An HTTP error status and JSON error body instead of a stream."""

    status: int
    error_type: str
    message: str
    retry_after: float


Fault = Stall | FirstContentAfter | Buffered | EndsEarly | Cut | ErrorEvent | HttpError


@dataclass(frozen=True)
class Scenario:
    name: str
    shape: Shape = Shape.TEXT
    fault: Fault | None = None
    cut_at_max_tokens: bool = False

    def clean(self) -> Scenario:
        """The same answer without the fault."""
        return replace(self, fault=None)


DEFAULT_SCENARIO = "ok"

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("ok"),
        Scenario("tool_big", Shape.TOOL),
        Scenario("thinking", Shape.THINKING),
        Scenario("max_tokens", cut_at_max_tokens=True),
        Scenario("stall", fault=Stall(8.0)),
        Scenario("slow_first_token", fault=FirstContentAfter(6.0)),
        Scenario("keepalive_only", fault=FirstContentAfter(20.0)),
        Scenario("buffered", fault=Buffered()),
        Scenario("drop_eof", Shape.TOOL, EndsEarly("input_json_delta", 0.6)),
        Scenario("drop_abrupt", fault=Cut("text_delta", 0.5)),
        Scenario(
            "error_overloaded",
            fault=ErrorEvent("overloaded_error", "Overloaded", "text_delta", 0.4),
        ),
        Scenario(
            "error_stream",
            fault=ErrorEvent(
                "api_error",
                "Internal server error: the response stream failed.",
                "text_delta",
                0.4,
            ),
        ),
        Scenario("http_529", fault=HttpError(529, "overloaded_error", "Overloaded", 1.0)),
        Scenario(
            "http_429",
            fault=HttpError(
                429,
                "rate_limit_error",
                "This request would exceed the rate limit for your organization. "
                "Please try again later.",
                2.0,
            ),
        ),
    )
}
