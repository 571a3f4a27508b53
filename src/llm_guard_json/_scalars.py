"""Scalar rules of the coercion walk: JSON kinds, wanted types, enums, numbers, leaf checks.

Each `to_*` function returns (value, code) on success, code None when nothing changed,
or None when the value cannot be read as that type (no guessing).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import regex

from ._numbers import read_number
from ._schema import node_memo
from ._types import JSON, SchemaNode

_KINDS = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
_TRUE = frozenset({"true", "yes", "y", "是", "对"})
_FALSE = frozenset({"false", "no", "n", "否", "不是"})

Converted = tuple[JSON, str | None] | None


def finite(number: float) -> bool:
    """Not NaN or Infinity (an int of any size is finite; math.isfinite would overflow on it)."""
    return not isinstance(number, float) or math.isfinite(number)


def kind(value: JSON) -> str:
    """The JSON type name of a decoded value (`integer` for whole ints, not bools)."""
    k = _KINDS.get(type(value))
    if k:
        return k
    return "integer" if isinstance(value, int) else "number"


def wanted_types(node: SchemaNode) -> set[str] | None:
    """The JSON types a node admits through `type`, `enum` and `const`; None if any."""
    t = node.get("type")
    types = {t} if isinstance(t, str) else set(t) if isinstance(t, list) else None
    values = node["enum"] if isinstance(node.get("enum"), list) else [node["const"]] if "const" in node else None
    if values is not None:
        from_values = {kind(v) for v in values}
        types = from_values if types is None else {t for t in from_values if admits(types, t)}
    return types


def admits(types: set[str] | None, value_kind: str) -> bool:
    """Whether a value of `value_kind` has a type the node admits."""
    if types is None:
        return True
    return value_kind in types or (value_kind == "integer" and "number" in types)


def enum_values(node: SchemaNode) -> list[JSON] | None:
    """The node's allowed values (`enum`, or `const` as a list of one), else None."""
    if isinstance(node.get("enum"), list):
        return list(node["enum"])
    return [node["const"]] if "const" in node else None


def _same(a: JSON, b: JSON) -> bool:
    return (a == b and kind(a) == kind(b)) or (
        kind(a) in ("integer", "number") and kind(b) in ("integer", "number") and a == b
    )


def enum_table(node: SchemaNode) -> dict[str, tuple[JSON, str]]:
    """Trimmed, case-folded enum text or `x-enum-aliases` alias -> (enum value, the code saying how)."""

    def compute() -> dict[str, tuple[JSON, str]]:
        values = enum_values(node) or []
        table = {e.strip().casefold(): (e, "coerce.enum_case") for e in reversed(values) if isinstance(e, str)}
        aliases: Mapping[str, list[str]] = node.get("x-enum-aliases") or {}
        for canonical, names in aliases.items():
            for name in names if canonical in values else ():
                table.setdefault(name.strip().casefold(), (canonical, "coerce.enum_alias"))
        return table

    return node_memo("enum", node, compute)


def to_enum(value: JSON, node: SchemaNode) -> Converted:
    """Rule 9: exact, then case-insensitive, then `x-enum-aliases`; numbers from text."""
    values = enum_values(node) or []
    if any(_same(value, e) for e in values):
        return value, None
    if isinstance(value, str):
        found = enum_table(node).get(value.strip().casefold())
        if found is not None:
            return found
        number = read_number(value)
        if number is not None and any(_same(number, e) for e in values):
            return next(e for e in values if _same(number, e)), "coerce.number_from_text"
    elif kind(value) in ("integer", "number"):
        text = number_text(value)
        if text in values:
            return text, "coerce.number_to_text"
    return None


def number_text(value: int | float) -> str:
    """A number as the text a person would write (45000, 4.5)."""
    return str(value) if isinstance(value, int) else json.dumps(value)


def to_number(value: JSON, integer: bool) -> Converted:
    """Rule 5 and clarification 5: a number from text; a whole float for an integer."""
    code = None
    if isinstance(value, str):
        number = read_number(value)
        if number is None:
            return None
        value, code = number, "coerce.number_from_text"
    if isinstance(value, bool) or not isinstance(value, int | float) or not finite(value):
        return None
    if integer and isinstance(value, float):
        if not value.is_integer():
            return None
        return int(value), code or "coerce.float_to_int"
    return value, code


def to_string(value: JSON) -> Converted:
    """Rule 8: numbers where text is wanted become text."""
    if kind(value) in ("integer", "number") and finite(value):
        return number_text(value), "coerce.number_to_text"
    return None


def to_boolean(value: JSON) -> Converted:
    """true/false, yes/no, 是/否 as text become booleans."""
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE or folded in _FALSE:
            return folded in _TRUE, "coerce.bool_from_text"
    return None


@functools.lru_cache(maxsize=512)
def _pattern(pattern: str) -> regex.Pattern[str] | None:
    try:
        return regex.compile(pattern)
    except (regex.error, ValueError):
        return None  # the validator reports a pattern it cannot use


def search_pattern(pattern: str, value: str, timeout: float) -> bool:
    """Whether a schema `pattern` matches; one that cannot compile matches, one that runs too long does not."""
    compiled = _pattern(pattern)
    if compiled is None:
        return True
    try:
        return compiled.search(value, timeout=timeout) is not None
    except TimeoutError:
        return False


def _string_ok(value: str, node: SchemaNode, timeout: float) -> bool:
    if len(value) < node.get("minLength", 0) or len(value) > node.get("maxLength", math.inf):
        return False
    pattern = node.get("pattern")
    return search_pattern(pattern, value, timeout) if isinstance(pattern, str) else True


def _number_ok(value: float, node: SchemaNode) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and Infinity are no JSON numbers
    checks: list[tuple[str, Any]] = [
        ("minimum", lambda b: value >= b),
        ("maximum", lambda b: value <= b),
        ("exclusiveMinimum", lambda b: value > b),
        ("exclusiveMaximum", lambda b: value < b),
        ("multipleOf", lambda b: b > 0 and (value / b).is_integer()),
    ]
    return all(
        check(node[k])
        for k, check in checks
        if isinstance(node.get(k), int | float) and not isinstance(node.get(k), bool)
    )


def leaf_ok(value: JSON, node: SchemaNode, pattern_timeout: float) -> bool:
    """Whether a scalar meets its node's string and number keywords (not `type`)."""
    if isinstance(value, str):
        return _string_ok(value, node, pattern_timeout)
    if kind(value) in ("integer", "number"):
        return _number_ok(value, node)
    return True


def container_ok(value: JSON, node: SchemaNode) -> bool:
    """Whether an array or object meets its node's size keywords (minItems, maxProperties, ...)."""
    size = len(value)
    low, high = ("minItems", "maxItems") if isinstance(value, list) else ("minProperties", "maxProperties")
    minimum, maximum = node.get(low), node.get(high)
    return not (isinstance(minimum, int) and size < minimum) and not (isinstance(maximum, int) and size > maximum)


def allows_null(node: SchemaNode, resolve: Callable[[Any], SchemaNode]) -> bool:
    """Whether null is valid for the node (through `type`, `enum` or a union branch)."""
    types = wanted_types(node)
    if types is not None and "null" in types:
        return True
    return any(allows_null(resolve(branch), resolve) for branch in branches(node))


def branches(node: SchemaNode) -> tuple[Any, ...]:
    """The alternatives of a union node (`anyOf`, then `oneOf`); () for any other node."""
    return (*(node.get("anyOf") or ()), *(node.get("oneOf") or ()))


def plain_text(node: SchemaNode) -> bool:
    """A property that takes text (and maybe null) and nothing else: where a keyed value may go."""
    types = wanted_types(node)
    return types is not None and "string" in types and types <= {"string", "null"}
