"""A small JSON Schema checker for the tests: the keywords the mock's tool inputs must honour."""

import math
import re
from typing import Any

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def problems(value: Any, schema: Any, root: Any = None, where: str = "$") -> list[str]:
    """Every way `value` breaks `schema` (empty: it fits)."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        target = root
        for key in schema["$ref"].removeprefix("#/").split("/"):
            target = target[key]
        return problems(value, {**{k: v for k, v in schema.items() if k != "$ref"}, **target}, root, where)
    found: list[str] = []
    for part in schema.get("allOf", []):
        found += problems(value, part, root, where)
    for key in ("anyOf", "oneOf"):
        if key in schema and all(problems(value, option, root, where) for option in schema[key]):
            found.append(f"{where}: fits none of {key}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} is not the const")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in enum")
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, kind) for kind in kinds):
            return [*found, f"{where}: {value!r} is not {kinds}"]
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: {name} missing")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found += problems(value[name], sub, root, f"{where}.{name}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", math.inf):
            found.append(f"{where}: {len(value)} items")
        if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
            found.append(f"{where}: items repeat")
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items", {})
            found += problems(item, sub, root, f"{where}[{i}]")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", math.inf):
            found.append(f"{where}: length {len(value)}")
        if schema.get("format") == "date-time" and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value):
            found.append(f"{where}: not a date-time")
        if schema.get("format") == "uuid" and not re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", value):
            found.append(f"{where}: not a uuid")
    if isinstance(value, int | float) and not isinstance(value, bool):
        found += _range_problems(value, schema, where)
    return found


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, TYPES[kind])


def _range_problems(value: float, schema: dict[str, Any], where: str) -> list[str]:
    low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
    low_open, high_open = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    broken = value < low or value > high
    broken |= low_open is True and value <= low or high_open is True and value >= high
    broken |= _is(low_open, "number") and value <= low_open
    broken |= _is(high_open, "number") and value >= high_open
    return [f"{where}: {value} out of range"] if broken else []
