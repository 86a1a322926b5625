"""Retry and resume end to end: the official SDK against the embedded mock, accumulated by StreamState.

Each failing request is salvaged, resumed (or retried) and stitched, and the result must be the very
answer the same request gets when nothing fails.
"""

import random
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest

from streamwatch.core.diagnose import End, StreamState, Termination
from streamwatch.core.resume import (
    choose_strategy,
    is_prefill_refusal,
    resume_request,
    retry_delay,
    retry_request,
    salvage,
)
from streamwatch.mock import MockServer
from streamwatch.protocol import SCENARIO_HEADER

pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")

CLEAN_SCENARIO = {"drop_eof": "tool_big"}
"""The scenario that plays the same answer as each fault, without the fault (default: ok)."""

MODEL_FOR = {"prefill": "claude-sonnet-4-5", "user-turn": "claude-sonnet-4-6"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(time_scale=0.01) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=0)


def request_body(model: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A conversation of the test's own, so each fault fires on its first request."""
    prompt = f"Write a note about {request.node.name}."
    return {"model": model, "max_tokens": 4096, "stream": True, "messages": [{"role": "user", "content": prompt}]}


def send(client: anthropic.Anthropic, body: dict[str, Any], scenario: str) -> StreamState:
    """Send `body` through the SDK and feed the raw response bytes, as they arrive, to a StreamState."""
    state = StreamState()
    try:
        with client.messages.with_streaming_response.create(
            **body, extra_headers={SCENARIO_HEADER: scenario}
        ) as response:
            state.response(response.status_code, dict(response.headers))
            try:
                for chunk in response.iter_bytes():
                    state.chunk(chunk)
            except httpx2.TransportError as exc:
                state.end(End.TRANSPORT_ERROR, error={"type": type(exc).__name__, "message": str(exc)})
                return state
    except anthropic.APIStatusError as exc:
        state.response(exc.status_code, dict(exc.response.headers))
        state.chunk(exc.response.content)
    state.end(End.EOF)
    return state


def tool_inputs(state: StreamState) -> list[Any]:
    return [block.input for block in state.blocks.values() if block.type == "tool_use" and block.complete]


@pytest.mark.parametrize("strategy", ["prefill", "user-turn"])
@pytest.mark.parametrize("scenario", ["drop_eof", "drop_abrupt", "error_overloaded", "error_stream"])
def test_a_resumed_answer_is_exactly_the_uninterrupted_answer(client, request, scenario, strategy):
    body = request_body(MODEL_FOR[strategy], request)
    clean = send(client, body, CLEAN_SCENARIO.get(scenario, "ok"))
    failed = send(client, body, scenario)
    found = salvage(failed)

    assert clean.complete and not failed.complete
    assert found.sent and clean.text.startswith(found.sent)
    assert not found.acted_on_tool
    assert choose_strategy("auto", body["model"], body) == strategy

    resumed = send(client, resume_request(body, found, strategy), scenario)
    stitched = found.stitch(resumed.text)

    assert resumed.complete
    assert stitched.text == clean.text
    assert stitched.text[: stitched.seam] == found.partial
    assert stitched.repeated == ""
    assert tool_inputs(resumed) == tool_inputs(clean)


def test_a_tool_call_cut_off_is_dropped_and_made_again_whole(client, request):
    body = request_body("claude-sonnet-4-5", request)
    clean = send(client, body, "tool_big")
    failed = send(client, body, "drop_eof")

    found = salvage(failed)
    resumed = send(client, resume_request(body, found, "prefill"), "drop_eof")

    assert failed.termination == Termination.EOF
    assert found.partial == clean.text
    assert [reason.split(":")[0] for reason in found.dropped] == ["tool_use `write_file` (block 1)"]
    assert [block.type for block in resumed.blocks.values()] == ["tool_use"]
    assert resumed.stop_reason == "tool_use"
    assert tool_inputs(resumed) == tool_inputs(clean) != []


@pytest.mark.parametrize("scenario", ["error_overloaded", "error_stream"])
def test_an_error_event_mid_stream_is_worth_a_retry_after_backoff(client, request, scenario):
    failed = send(client, request_body("claude-sonnet-4-6", request), scenario)

    delay = retry_delay(failed.status, failed.headers, 1, random.Random(5), error_type=failed.error["type"])

    assert failed.termination == Termination.ERROR_EVENT
    assert delay is not None and 0 <= delay < 1


def test_prefill_refused_by_a_4_6_model_falls_back_to_a_user_turn(client, request):
    body = request_body("claude-opus-4-6", request)
    clean = send(client, body, "ok")
    found = salvage(send(client, body, "drop_abrupt"))

    refused = send(client, resume_request(body, found, "prefill"), "drop_abrupt")
    assert refused.status == 400
    assert is_prefill_refusal(refused.status, refused.error)
    assert is_prefill_refusal(refused.status, {"type": "error", "error": refused.error})
    assert choose_strategy("auto", body["model"], body) == "user-turn"

    resumed = send(client, resume_request(body, found, "user-turn"), "drop_abrupt")

    assert found.stitch(resumed.text).text == clean.text


def test_http_529_waits_as_the_server_asks_then_a_retry_gets_the_answer(client, request):
    body = request_body("claude-sonnet-4-6", request)
    clean = send(client, body, "ok")
    failed = send(client, body, "http_529")

    delay = retry_delay(failed.status, failed.headers, 1, random.Random(0))
    found = salvage(failed)

    assert failed.termination == Termination.HTTP_ERROR and failed.status == 529
    assert delay == int(failed.headers["retry-after-ms"]) / 1000
    assert found.empty
    assert resume_request(body, found, "user-turn") == retry_request(body) == body

    retried = send(client, retry_request(body), "http_529")

    assert retried.complete
    assert retried.text == clean.text
