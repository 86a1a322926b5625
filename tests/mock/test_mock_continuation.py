"""Deterministic answers, and continuing them from a partial answer in each resume shape."""

import os
import subprocess
import sys
from collections.abc import Callable

import anthropic
import pytest
from anthropic.types import Message

from streamwatch.mock.answers import answer_text
from streamwatch.mock.conversation import read_conversation, refuses_prefill

Ask = Callable[..., Message]


def user(content: str) -> dict[str, str]:
    return {"role": "user", "content": content}


def assistant(content: str) -> dict[str, str]:
    return {"role": "assistant", "content": content}


def test_the_answer_depends_only_on_the_conversation(ask: Ask, prompt: str) -> None:
    first = ask("mock-ok").content[0].text

    again = [
        ask("mock-ok"),
        ask("mock-buffered"),
        ask("claude-opus-4-7", extra_headers={"x-streamwatch-scenario": "stall"}),
        ask("mock-ok", messages=[{"role": "user", "content": [{"type": "text", "text": prompt}]}]),
    ]
    other = ask("mock-ok", messages=[user(prompt + " Briefly.")]).content[0].text

    assert [message.content[0].text for message in again] == [first] * len(again)
    assert other != first


def test_the_answer_is_the_same_in_another_process() -> None:
    script = (
        "from streamwatch.mock.answers import answer_text;"
        "from streamwatch.mock.conversation import read_conversation;"
        "print(answer_text(read_conversation('', [{'role': 'user', 'content': 'x'}]).digest))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )

    here = answer_text(read_conversation("", [user("x")]).digest)
    assert run.stdout == here + "\n"


@pytest.mark.parametrize("cut", [1, 57, 58, 400, -1])
def test_prefill_continues_exactly_where_the_partial_text_ends(
    ask: Ask, prompt: str, cut: int
) -> None:
    full = ask("mock-ok").content[0].text
    partial = full[:cut].rstrip()

    message = ask("claude-opus-4-1", messages=[user(prompt), assistant(partial)])

    assert partial + message.content[0].text == full
    assert message.stop_reason == "end_turn"


def test_prefill_of_a_tool_answer_continues_the_text_then_sends_the_whole_tool_call(
    ask: Ask, prompt: str
) -> None:
    complete = ask("mock-tool_big")
    partial = complete.content[0].text[:200].rstrip()

    message = ask("mock-tool_big", messages=[user(prompt), assistant(partial)])

    assert partial + message.content[0].text == complete.content[0].text
    assert message.content[1].input == complete.content[1].input
    assert message.stop_reason == "tool_use"


def test_resuming_after_drop_eof_completes_the_tool_call(ask: Ask, prompt: str) -> None:
    complete = ask("mock-tool_big")
    broken = ask("mock-drop_eof")

    resumed = ask("mock-drop_eof", messages=[user(prompt), assistant(broken.content[0].text)])

    assert broken.stop_reason is None
    assert [block.type for block in resumed.content] == ["tool_use"]
    assert resumed.content[0].input == complete.content[1].input
    assert resumed.stop_reason == "tool_use"


def test_user_turn_after_the_partial_assistant_turn_continues_it(ask: Ask, prompt: str) -> None:
    full = ask("mock-ok").content[0].text
    partial = full[:321].rstrip()
    resume = user("Your previous response was INTERRUPTED. Continue exactly where you left off.")

    message = ask("claude-sonnet-4-6", messages=[user(prompt), assistant(partial), resume])

    assert partial + message.content[0].text == full


def test_user_turn_quoting_the_tail_continues_after_it(ask: Ask, prompt: str) -> None:
    full = ask("mock-ok").content[0].text
    partial = full[:700].rstrip()
    resume = user(
        f"Your previous response was interrupted and ended with <partial>{partial[-40:]}</partial>."
        " Continue from where you left off."
    )

    message = ask("claude-opus-5", messages=[user(prompt), resume])

    assert partial + message.content[0].text == full


def test_a_partial_that_strays_from_the_answer_continues_after_the_common_prefix(
    ask: Ask, prompt: str
) -> None:
    full = ask("mock-ok").content[0].text

    message = ask("mock-ok", messages=[user(prompt), assistant(full[:90] + "zzz")])

    assert message.content[0].text == full[90:]


def test_a_model_from_4_6_on_refuses_prefill(ask: Ask, prompt: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        ask("claude-sonnet-4-6", messages=[user(prompt), assistant("The")])

    assert raised.value.type == "invalid_request_error"
    assert raised.value.api_message == (
        "This model does not support assistant message prefill. "
        "The conversation must end with a user message."
    )


@pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated")
def test_a_model_before_4_6_accepts_prefill(ask: Ask, prompt: str) -> None:
    message = ask("claude-sonnet-4-5", messages=[user(prompt), assistant("The")])

    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("model", "refuses"),
    [
        ("claude-sonnet-4-6", True),
        ("claude-opus-4-7", True),
        ("claude-opus-5", True),
        ("claude-sonnet-5-5", True),
        ("claude-haiku-4-8-20270101", True),
        ("claude-sonnet-4-5", False),
        ("claude-sonnet-4-5-20250929", False),
        ("claude-opus-4-20250514", False),
        ("claude-3-7-sonnet-20250219", False),
        ("claude-3-5-haiku-latest", False),
        ("mock-ok", False),
        ("mock-drop_eof", False),
    ],
)
def test_prefill_refusal_follows_the_model_version(model: str, refuses: bool) -> None:
    assert refuses_prefill(model) is refuses


def test_resume_shapes_share_the_base_conversation_digest() -> None:
    base = [user("Question?")]
    plain = read_conversation("Be brief.", base)
    prefill = read_conversation("Be brief.", [*base, assistant("Part")])
    turn = read_conversation("Be brief.", [*base, assistant("Part"), user("You were interrupted.")])
    tail = read_conversation("Be brief.", [*base, user("Go on after <partial>Part</partial>.")])

    assert plain.partial is None
    assert prefill.digest == turn.digest == tail.digest == plain.digest
    assert read_conversation("Be long.", base).digest != plain.digest


def test_a_prefill_ending_in_whitespace_is_refused_like_the_real_api(server):
    import httpx

    body = {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "The answer is "}]}
    response = httpx.post(f"{server.base_url}/v1/messages", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "messages: final assistant content cannot end with trailing whitespace",
    }
