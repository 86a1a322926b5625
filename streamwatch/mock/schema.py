"""A value that fits a JSON Schema: what the mock passes to a declared tool as its input.

Honoured: `type` (one or a list), `const`, `enum`, `properties` (every required one, and each
optional one half the time), `required`, `items` and `prefixItems`, `minItems` / `maxItems`,
`minLength` / `maxLength`, `format` (date-time, date, time, email, uri, uuid), `minimum` /
`maximum` and their exclusive forms, `anyOf` / `oneOf` (the first option that is not null),
`allOf` (merged), and `$ref` into the schema's own `$defs` or `definitions`. Strings are a few
words. Below `MAX_DEPTH` nested levels only required properties and minimal arrays are made, so a
recursive schema ends. Anything else (`pattern`, `not`, conditionals) is ignored.

A schema that asks for more than the mock makes in one value (`MAX_VALUES` values in all, arrays of
over `MAX_ITEMS`, strings over `MAX_LENGTH` characters, nesting past `MAX_NESTING`) gets less than
it asks for there, so no schema can hold the server: empty objects and arrays, capped lengths.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

MAX_DEPTH = 6
MAX_NESTING = 24
MAX_VALUES = 10_000
MAX_ITEMS = 100
MAX_LENGTH = 10_000
_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_FORMATS = {
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00Z",
    "email": "river@example.com",
    "uri": "https://example.com/river",
    "url": "https://example.com/river",
}
_SPAN = 100
"""How far from one bound a number goes when the other is missing."""


def schema_value(schema: Any, rng: random.Random, words: Sequence[str]) -> Any:
    """A value fitting `schema`, drawn from `rng`; strings are made of `words`."""
    return _Maker(schema, rng, words).value(schema, 0)


class _Maker:
    def __init__(self, root: Any, rng: random.Random, words: Sequence[str]) -> None:
        self._root = root
        self._rng = rng
        self._words = words
        self._left = MAX_VALUES

    def value(self, schema: Any, depth: int) -> Any:
        schema = self._resolved(schema)
        self._left -= 1
        if self._left < 0 or depth > MAX_NESTING:
            return _least(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._pick(schema["enum"])
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                rest = {k: v for k, v in schema.items() if k != key}
                return self.value({**rest, **self._first_not_null(options)}, depth + 1)
        match _type_of(schema):
            case "object":
                return self._object(schema, depth)
            case "array":
                return self._array(schema, depth)
            case "integer":
                return self._integer(schema)
            case "number":
                return self._number(schema)
            case "boolean":
                return self._rng.random() < 0.5
            case "null":
                return None
        return self._string(schema)

    def _resolved(self, schema: Any, nesting: int = 0) -> dict[str, Any]:
        """The schema with its `$ref` followed and its `allOf` merged in (`MAX_DEPTH` levels deep)."""
        if not isinstance(schema, dict) or nesting > MAX_DEPTH:
            return {}
        for _ in range(MAX_DEPTH):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                break
            target = self._pointer(ref)
            schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
        parts = schema.get("allOf")
        if isinstance(parts, list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                merged = _merge(merged, self._resolved(part, nesting + 1))
            schema = merged
        return schema

    def _pointer(self, ref: str) -> dict[str, Any]:
        node: Any = self._root
        if not ref.startswith("#"):
            return {}
        for key in filter(None, ref[1:].split("/")):
            key = key.replace("~1", "/").replace("~0", "~")
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def _first_not_null(self, options: list[Any]) -> dict[str, Any]:
        resolved = [self._resolved(option) for option in options]
        return next((o for o in resolved if _type_of(o) != "null"), resolved[0])

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        value: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or (depth < MAX_DEPTH and self._rng.random() < 0.5):
                value[name] = self.value(sub, depth + 1)
        for name in required:
            if name not in value:
                value[name] = self._string({})
        return value

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = min(_whole(schema.get("minItems"), 0), MAX_ITEMS)
        high = _whole(schema.get("maxItems"), low + 3)
        if depth >= MAX_DEPTH:
            count = low
        else:
            count = self._between(max(low, min(1, high)), min(high, low + 3))
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", {})
        values = [self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)]
        if schema.get("uniqueItems") is True:
            values = self._unique(values, items, depth, low)
        return values

    def _unique(self, values: list[Any], items: Any, depth: int, low: int) -> list[Any]:
        unique: list[Any] = []
        for value in values:
            tries = 0
            while value in unique and tries < 20:
                value, tries = self.value(items, depth + 1), tries + 1
            if value not in unique:
                unique.append(value)
        return unique if len(unique) >= low else values

    def _string(self, schema: dict[str, Any]) -> str:
        fixed = _FORMATS.get(schema.get("format", ""))
        if schema.get("format") == "uuid":
            digits = "".join(self._pick("0123456789abcdef") for _ in range(32))
            fixed = f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-8{digits[17:20]}-{digits[20:]}"
        low = min(_whole(schema.get("minLength"), 0), MAX_LENGTH)
        high = _whole(schema.get("maxLength"), None)
        text = fixed or " ".join(self._pick(self._words) for _ in range(self._between(1, 6)))
        while len(text) < low:
            text += " " + self._pick(self._words)
        if high is not None and len(text) > high:
            text = text[:high].rstrip() if len(text[:high].rstrip()) >= low else text[:high]
        return text

    def _integer(self, schema: dict[str, Any]) -> int:
        low, low_open, high, high_open = _bounds(schema)
        first = None if low is None else math.floor(low) + 1 if low_open else math.ceil(low)
        last = None if high is None else math.ceil(high) - 1 if high_open else math.floor(high)
        first, last = _spread(first, last)
        return self._between(first, max(first, last))

    def _number(self, schema: dict[str, Any]) -> float:
        low, low_open, high, high_open = _bounds(schema)
        low, high = _spread(low, high)
        value = round(low + self._rng.random() * (high - low), 2)
        inside = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
        return value if inside else (low + high) / 2

    def _pick(self, choices: Any) -> Any:
        return choices[int(self._rng.random() * len(choices))]

    def _between(self, low: int, high: int) -> int:
        return low + int(self._rng.random() * (high - low + 1))


def _least(schema: dict[str, Any]) -> Any:
    """The smallest value of the schema's type, made without looking inside it."""
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return {"object": {}, "array": [], "integer": 0, "number": 0, "boolean": False, "null": None}.get(
        _type_of(schema), ""
    )


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k in _TYPES]
        kind = next((k for k in kinds if k != "null"), kinds[0] if kinds else None)
    if kind in _TYPES:
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _merge(into: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    merged = {**into, **part}
    if isinstance(into.get("properties"), dict) and isinstance(part.get("properties"), dict):
        merged["properties"] = {**into["properties"], **part["properties"]}
    if isinstance(into.get("required"), list) and isinstance(part.get("required"), list):
        merged["required"] = [*into["required"], *part["required"]]
    return merged


def _whole(value: Any, default: int | None) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _number_or_none(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bounds(schema: dict[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """The lowest and highest allowed and whether each excludes itself, from `minimum` /
    `maximum` and `exclusiveMinimum` / `exclusiveMaximum` (a number, or draft 4's boolean)."""
    low, low_open = _bound(schema, "minimum", "exclusiveMinimum", max)
    high, high_open = _bound(schema, "maximum", "exclusiveMaximum", min)
    return low, low_open, high, high_open


def _bound(schema: dict[str, Any], plain: str, exclusive: str, tighter: Any) -> tuple[float | None, bool]:
    value = _number_or_none(schema.get(plain))
    flag = schema.get(exclusive)
    if flag is True:
        return value, value is not None
    open_value = _number_or_none(flag)
    if open_value is None:
        return value, False
    if value is None or tighter(value, open_value) == open_value:
        return open_value, True
    return value, False


def _spread(low: Any, high: Any) -> tuple[Any, Any]:
    """Both bounds, a missing one `_SPAN` from the other (or 0 and `_SPAN` with neither)."""
    if low is None and high is None:
        return 0, _SPAN
    if low is None:
        return high - _SPAN, high
    if high is None:
        return low, low + _SPAN
    return low, high
