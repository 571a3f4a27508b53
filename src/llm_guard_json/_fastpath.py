"""The fast path: a value that validates and is already canonical skips the coercion walk.

`is_canonical` reads the value against the schema and changes nothing. On a value that
already validates (jsonschema-rs said so), the walk could still change only these, so
these are what it checks: keys in schema order with every defaulted property present, no
null-like text, no whole float in an integer-only field, no `x-strip-prefixes` word left
on an item, no wrapper to remove, and each `x-canonical` field returned unchanged with no
deviations by its canonicalizer. Any doubt answers False and the walk runs; a property
test holds the two together (whenever this says True, the walk changes nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._field import Field
from ._keys import key_table, unwrap_root
from ._scalars import wanted_types
from ._schema import ANY, Schema
from ._text import is_null_like
from ._types import JSON, Canonicalizers


def is_canonical(value: JSON, schema: Schema, canonicalizers: Canonicalizers) -> bool:
    """Whether the walk would return `value` unchanged, with no deviation (`value` validates)."""
    if unwrap_root(value, schema)[2]:
        return False
    return _settled(value, schema.root, schema, canonicalizers, None)


def _settled(v: JSON, node: Any, schema: Schema, canon: Canonicalizers, key: str | None) -> bool:
    node = schema.resolve(node)
    if not node:
        return True
    if "anyOf" in node or "oneOf" in node:
        branches = [*(node.get("anyOf") or ()), *(node.get("oneOf") or ())]
        return v is None or (not is_null_like(v) and any(_settled(v, b, schema, canon, key) for b in branches))
    if is_null_like(v):
        return v is None
    name = node.get("x-canonical")
    if isinstance(name, str) and name in canon:
        out, devs = canon[name](v, Field(node, key, schema.resolve))
        if devs or out != v:
            return False
    if isinstance(v, dict):
        return _settled_object(v, node, schema, canon)
    if isinstance(v, list):
        return _settled_array(v, node, schema, canon)
    if isinstance(v, float):
        types = wanted_types(node)
        return types is None or "number" in types
    return True


def _settled_object(v: dict[str, JSON], node: Mapping[str, Any], schema: Schema, canon: Canonicalizers) -> bool:
    props: Mapping[str, Any] = node.get("properties") or {}
    order = [k for k in v if k in props]
    if order != [p for p in props if p in v] or any(k not in props for k in list(v)[: len(order)]):
        return False  # schema order first, then any extra keys
    for prop, sub in props.items():
        if prop not in v and "default" in schema.resolve(sub):
            return False
    extras = [k for k in v if k not in props]
    if extras and (node.get("patternProperties") or any(key_table(schema, node).match(k) for k in extras)):
        return False  # an extra key the walk would rename or route elsewhere
    extra = node.get("additionalProperties", True)
    return all(_settled(item, props.get(k, extra), schema, canon, k) for k, item in v.items())


def _settled_array(v: list[JSON], node: Mapping[str, Any], schema: Schema, canon: Canonicalizers) -> bool:
    strip = tuple(node.get("x-strip-prefixes") or ())
    if strip and any(isinstance(i, str) and i.startswith(strip) and i not in strip for i in v):
        return False
    prefix = node.get("prefixItems") or []
    items = node.get("items", ANY)
    return all(
        not is_null_like(item) and _settled(item, prefix[i] if i < len(prefix) else items, schema, canon, None)
        for i, item in enumerate(v)
    )
