import json
import random

import pytest

from streamwatch.core.jsonprefix import JsonPrefix

DOCS = [
    {"path": "src/a.py", "content": "line 1\nline \"2\"\t\\ é 😀 \u0001", "mode": 420, "force": True},
    [1, -0.5, 2e10, -3.25E-7, 0, None, False, True, "", [], {}, [[{"a": [{}]}]]],
    "just a string with \\u escapes \u00e9",
    -12.5e+3,
    0,
    {"nested": {"deep": [1, 2, {"k": "v" * 300}]}, "empty": {}},
]


def feed_split(text, pieces):
    tracker = JsonPrefix()
    for piece in pieces:
        tracker.feed(piece)
    return tracker


@pytest.mark.parametrize("doc", DOCS)
def test_every_prefix_of_valid_json_is_valid_and_only_the_whole_is_complete(doc):
    text = json.dumps(doc, indent=1)
    tracker = JsonPrefix()
    for i, char in enumerate(text):
        tracker.feed(char)
        assert tracker.valid, (text[: i + 1], tracker.error)
        closed = tracker.complete
        if i < len(text) - 1 and not isinstance(doc, (int, float)):
            assert not closed, text[: i + 1]
    assert tracker.complete
    assert tracker.depth == 0
    assert tracker.length == len(text)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ('{"a" 1}', 5),
        ("[1,]", 3),
        ('{"a":tru}', 8),
        ("x", 0),
        ("01", 1),
        ('"a\u0001"', 2),
        ("1 2", 2),
        ('{"a":1}}', 7),
        ('{"a":1,}', 7),
        ('["\\x"]', 3),
        ('["\\u12G4"]', 6),
        ("[1.]", 3),
        ("[-]", 2),
        ('{1:2}', 1),
    ],
)
def test_invalid_json_is_caught_where_it_breaks(text, at):
    tracker = feed_split(text, [text[:3], text[3:]])
    assert not tracker.valid
    assert tracker.error_at == at, tracker.error
    tracker.feed('"more"}')
    assert not tracker.valid


def test_agrees_with_json_loads_on_mutated_documents():
    rng = random.Random(1234)
    alphabet = '{}[]",:0123456789-+.eEtrufalsn \\\n'
    base = [json.dumps(doc) for doc in DOCS]
    for _ in range(3000):
        text = list(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(text) + 1)
            op = rng.random()
            if op < 0.4 and pos < len(text):
                del text[pos]
            elif op < 0.8:
                text.insert(pos, rng.choice(alphabet))
            elif pos < len(text):
                text[pos] = rng.choice(alphabet)
        text = "".join(text)
        try:
            json.loads(text)
            expected = True
        except ValueError:
            expected = False
        cut = rng.randrange(len(text) + 1)
        tracker = feed_split(text, [text[:cut], text[cut:]])
        assert (tracker.valid and tracker.complete) == expected, text


def test_megabyte_input_in_small_deltas():
    doc = {"path": "big.txt", "content": "x" * 1_000_000, "lines": list(range(2000))}
    text = json.dumps(doc)
    tracker = feed_split(text, [text[i : i + 20] for i in range(0, len(text), 20)])
    assert tracker.valid and tracker.complete
    assert tracker.length == len(text)
