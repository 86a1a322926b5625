from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import Message

from streamwatch.mock import MockServer

TIME_SCALE = 0.01
"""Scenario durations shrink a hundredfold: the 20 s keepalive_only takes 0.2 s."""

Ask = Callable[..., Message]


@pytest.fixture(scope="session")
def server() -> Iterator[MockServer]:
    with MockServer(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def prompt(request: pytest.FixtureRequest) -> str:
    """A conversation of this test's own, so faults fire afresh whatever ran before."""
    return f"Write a note about {request.node.name}."


@pytest.fixture
def ask(client: anthropic.Anthropic, prompt: str) -> Ask:
    """Stream a request through the SDK's helper and return its final message."""

    def ask(
        model: str = "mock-ok",
        messages: list[dict[str, Any]] | None = None,
        max_tokens: int = 4096,
        **options: Any,
    ) -> Message:
        messages = messages or [{"role": "user", "content": prompt}]
        with client.messages.stream(
            model=model, max_tokens=max_tokens, messages=messages, **options
        ) as stream:
            return stream.get_final_message()

    return ask
