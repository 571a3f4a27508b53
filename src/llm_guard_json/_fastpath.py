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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._field import Field
from ._keys import key_table, unwrap_root
from ._scalars import branches, wanted_types
from ._schema import ANY, Schema, node_memo
from ._text import is_null_like
from ._types import JSON, Canonicalizers, SchemaNode


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the check needs to know of one schema node, read once."""

    node: SchemaNode
    branches: tuple[Any, ...]
    canonical: str | None
    props: Mapping[str, Any]
    order: tuple[str, ...]
    defaulted: frozenset[str]
    extra: Any
    patterned: bool
    items: Any
    prefix: Sequence[Any]
    strip: tuple[str, ...]
    float_ok: bool

    @classmethod
    def of(cls, node: SchemaNode, schema: Schema) -> _Plan:
        props: Mapping[str, Any] = node.get("properties") or {}
        types = wanted_types(node)
        name = node.get("x-canonical")
        return cls(
            node,
            branches(node),
            name if isinstance(name, str) else None,
            props,
            tuple(props),
            frozenset(p for p, sub in props.items() if "default" in schema.resolve(sub)),
            node.get("additionalProperties", True),
            bool(node.get("patternProperties")),
            node.get("items", ANY),
            node.get("prefixItems") or (),
            tuple(node.get("x-strip-prefixes") or ()),
            types is None or "number" in types,
        )


class _Check:
    """One read of a value: the schema, the canonicalizers, and a plan per node."""

    def __init__(self, schema: Schema, canonicalizers: Canonicalizers) -> None:
        self.schema = schema
        self.canonicalizers = canonicalizers

    def _plan(self, node: Any) -> _Plan | None:
        """The node's plan, None where anything goes; one lookup per visit."""

        def make() -> _Plan | None:
            resolved = self.schema.resolve(node)
            return _Plan.of(resolved, self.schema) if resolved else None

        return node_memo("plan", node, make)

    def settled(self, v: JSON, node: Any, key: str | None = None) -> bool:
        plan = self._plan(node)
        if plan is None:
            return True
        if plan.branches:
            return v is None or (not is_null_like(v) and any(self.settled(v, b, key) for b in plan.branches))
        if v is None or (isinstance(v, str) and is_null_like(v)):
            return v is None
        if plan.canonical is not None and plan.canonical in self.canonicalizers:
            out, devs = self.canonicalizers[plan.canonical](v, Field(plan.node, key, self.schema.resolve))
            if devs or out != v:
                return False
        if isinstance(v, dict):
            return self._object(v, plan)
        if isinstance(v, list):
            return self._array(v, plan)
        return plan.float_ok or not isinstance(v, float)

    def _object(self, v: dict[str, JSON], plan: _Plan) -> bool:
        props = plan.props
        keys = list(v)
        ours = [k for k in keys if k in props]
        if ours != [p for p in plan.order if p in v] or keys[: len(ours)] != ours:
            return False  # schema order first, then any extra keys
        if not plan.defaulted <= v.keys():
            return False  # a default the walk would fill
        extras = keys[len(ours) :]
        if extras and (plan.patterned or any(key_table(self.schema, plan.node).match(k) for k in extras)):
            return False  # an extra key the walk would rename or route elsewhere
        return all(self.settled(item, props.get(k, plan.extra), k) for k, item in v.items())

    def _array(self, v: list[JSON], plan: _Plan) -> bool:
        if plan.strip and any(isinstance(i, str) and i.startswith(plan.strip) for i in v):
            return False
        prefix = plan.prefix
        return all(
            not is_null_like(item) and self.settled(item, prefix[i] if i < len(prefix) else plan.items)
            for i, item in enumerate(v)
        )


def is_canonical(value: JSON, schema: Schema, canonicalizers: Canonicalizers) -> bool:
    """Whether the walk would return `value` unchanged, with no deviation (`value` validates)."""
    if unwrap_root(value, schema)[2]:
        return False
    return _Check(schema, canonicalizers).settled(value, schema.root)
