import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def refuse(name):
    raise ValueError(name)


def loads(text):
    """Whether `text` is one JSON value, as strict JSON says (json.loads also takes NaN and Infinity, and
    refuses integers of over 4 300 digits, which JSON allows)."""
    try:
        json.loads(text, parse_constant=refuse, parse_int=len)
    except (ValueError, RecursionError):
        return False
    return True


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=40,
)
CUTS = st.lists(st.integers(min_value=0, max_value=10**6), max_size=12)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from([None, 0, 2]), st.booleans(), CUTS)
def test_at_every_boundary_of_random_json_it_agrees_with_json_loads(value, indent, ascii_only, cuts):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    boundaries = sorted({cut % (len(text) + 1) for cut in cuts} | {len(text)})
    tracker, read = JsonPrefix(), 0
    for boundary in boundaries:
        tracker.feed(text[read:boundary])
        read = boundary
        assert tracker.valid, (text[:boundary], tracker.error)
        assert tracker.complete == loads(text[:boundary]), text[:boundary]
    assert tracker.length == len(text)


def one_char_at_a_time(text):
    tracker = JsonPrefix()
    for char in text:
        tracker.feed(char)
        if not tracker.valid:
            break
    return tracker


MUTATIONS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(["insert", "delete", "replace"]),
              st.sampled_from(list('{}[]",:0123456789-+.eE \\\n\x01tfnNaIuly') + ["NaN", "Infinity", "9" * 5000])),
    min_size=1, max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from([None, 2]), MUTATIONS, CUTS)
def test_broken_json_is_caught_at_the_same_character_however_it_is_fed_and_read(value, indent, mutations, cuts):
    text = json.dumps(value, indent=indent)
    for at, how, insert in mutations:
        at %= len(text) + 1
        if how == "insert":
            text = text[:at] + insert + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + insert + text[at + 1:]
    boundaries = sorted({cut % (len(text) + 1) for cut in cuts} | {len(text)})
    tracker, read = JsonPrefix(), 0
    for boundary in boundaries:
        tracker.feed(text[read:boundary])
        read = boundary
        tracker.valid  # noqa: B018 (a question between pieces: the reading so far is done here)
    reference = one_char_at_a_time(text)

    assert (tracker.valid and tracker.complete) == loads(text), text
    assert (tracker.error_at, tracker.error) == (reference.error_at, reference.error), text
    if tracker.error_at is not None:
        assert one_char_at_a_time(text[: tracker.error_at]).valid


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "9" * 5000, '"a\u00e9\ud800"', "1e999"])
def test_what_the_fast_scanner_would_read_differently_is_read_as_strict_json(value):
    text = f'{{"rows": [{value}, {value}], "more": [[{value}]]}}'
    tracker = JsonPrefix()
    tracker.feed(text)
    assert (tracker.valid and tracker.complete) == loads(text)
    assert tracker.valid == one_char_at_a_time(text).valid
