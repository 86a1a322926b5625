"""The deterministic content generators, without a server."""

import json

import pytest

from streamwatch.mock.answers import answer_text, tool_input
from streamwatch.mock.conversation import read_conversation


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
