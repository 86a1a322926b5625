"""The tool inputs the mock makes fit the caller's input_schema, for every keyword it honours."""

import json
import random

import pytest

from streamwatch.mock.answers import WORDS, tool_call_input
from streamwatch.mock.schema import schema_value
from tests.mock.schema_check import problems

SCHEMAS = {
    "weather": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and state"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["location", "unit"],
    },
    "nested": {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {
                    "lines": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 4,
                        "items": {
                            "type": "object",
                            "properties": {"sku": {"type": "string", "minLength": 8, "maxLength": 8},
                                           "qty": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3}},
                            "required": ["sku", "qty"],
                        },
                    },
                    "rush": {"type": "boolean"},
                    "note": {"type": ["string", "null"], "maxLength": 5},
                },
                "required": ["lines", "rush", "note"],
            }
        },
        "required": ["order"],
    },
    "numbers": {
        "type": "object",
        "properties": {
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "draft4": {"type": "number", "minimum": 2, "exclusiveMinimum": True, "maximum": 2.5},
            "negative": {"type": "integer", "maximum": -10},
            "tiny": {"type": "integer", "minimum": 0.5, "maximum": 1.5},
        },
        "required": ["ratio", "draft4", "negative", "tiny"],
    },
    "formats_and_consts": {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "kind": {"const": "fixed"},
            "long": {"type": "string", "minLength": 120},
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True, "minItems": 2},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}], "minItems": 2, "maxItems": 2},
        },
        "required": ["when", "id", "kind", "long", "tags", "pair"],
    },
    "refs_and_combinators": {
        "type": "object",
        "$defs": {
            "point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                      "required": ["x", "y"]},
            "tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
                     "required": ["children"]},
        },
        "properties": {
            "at": {"$ref": "#/$defs/point"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 5, "maximum": 5}]},
            "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                               {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]},
            "tree": {"$ref": "#/$defs/tree"},
        },
        "required": ["at", "maybe", "both", "tree"],
    },
    "no_properties": {"type": "object"},
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_values_fit_the_schema_for_any_seed(name: str) -> None:
    schema = SCHEMAS[name]

    for seed in range(200):
        value = schema_value(schema, random.Random(seed), WORDS)

        assert problems(value, schema) == [], (seed, value)


def test_required_properties_are_always_there_and_optional_ones_sometimes() -> None:
    values = [schema_value(SCHEMAS["weather"], random.Random(seed), WORDS) for seed in range(100)]

    assert all({"location", "unit"} <= set(value) for value in values)
    assert 10 < sum("days" in value for value in values) < 90


def test_strings_are_a_few_words() -> None:
    lengths = {len(schema_value({"type": "string"}, random.Random(seed), WORDS).split()) for seed in range(100)}

    assert min(lengths) >= 1 and max(lengths) <= 6 and len(lengths) > 3


def test_a_tool_input_is_a_json_object_and_the_same_for_the_same_conversation() -> None:
    schema = SCHEMAS["nested"]

    first = tool_call_input(b"conversation", "place_order", schema)

    assert isinstance(json.loads(first), dict)
    assert tool_call_input(b"conversation", "place_order", schema) == first
    assert tool_call_input(b"another", "place_order", schema) != first


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]},
        {"type": "object", "properties": {"a": {"$ref": "#"}, "b": {"$ref": "#"}}, "required": ["a", "b"]},
        {"anyOf": [{"$ref": "#"}]},
        {"type": "object", "allOf": [{"$ref": "#"}], "properties": {"x": {"allOf": [{"$ref": "#/properties/x"}]}}},
        {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
        {"type": "array", "minItems": 10**9, "items": {"type": "string", "minLength": 10**9}},
        {"type": "array", "minItems": 90, "items": {"type": "array", "minItems": 90, "items": {
            "type": "array", "minItems": 90, "items": {"type": "array", "minItems": 90}}}},
    ],
)
def test_a_schema_asking_for_too_much_gets_a_bounded_value_at_once(schema: dict) -> None:
    value = schema_value(schema, random.Random(0), WORDS)

    assert len(json.dumps(value)) < 2_000_000
