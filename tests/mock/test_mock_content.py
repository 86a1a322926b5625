"""The deterministic content generators, without a server."""

import json

import pytest

from streamwatch.mock.answers import answer_text, tool_input
from streamwatch.mock.conversation import read_conversation
from streamwatch.mock.tokens import count


@pytest.mark.parametrize("size", [100, 101, 4_097, 40_000, 123_457])
def test_tool_input_is_valid_json_of_exactly_the_requested_size(size: int) -> None:
    seed = read_conversation("", [{"role": "user", "content": "x"}]).digest

    encoded = tool_input(seed, size)

    assert len(encoded) == size
    assert set(json.loads(encoded)) == {"path", "content"}


def test_answer_text_has_paragraphs_and_no_trailing_whitespace() -> None:
    text = answer_text(read_conversation("", [{"role": "user", "content": "x"}]).digest)

    assert "\n\n" in text
    assert text == text.strip()
    assert text.endswith(".")


@pytest.mark.parametrize("most_tokens", [20, 700, 5_000])
def test_tool_input_stops_at_whole_sentences_within_a_token_limit(most_tokens: int) -> None:
    seed = read_conversation("", [{"role": "user", "content": "x"}]).digest
    whole = json.loads(tool_input(seed, 400_000))["content"]

    limited = tool_input(seed, 400_000, most_tokens)

    assert count(limited) <= most_tokens
    content = json.loads(limited)["content"]
    assert whole.startswith(content) and content.endswith(".\n")
    assert count(limited) > most_tokens - 20  # a sentence has at most 16 words


def test_a_token_limit_spares_writing_the_whole_size() -> None:
    seed = read_conversation("", [{"role": "user", "content": "x"}]).digest

    assert len(tool_input(seed, 50_000_000, 1000)) < 10_000
