"""The fast path: a value that validates and is already canonical skips the coercion walk.

`settled` says whether the walk would return a value unchanged, with no deviation, and
changes nothing. On a value that validates, the walk could still change only these: keys
out of schema order, a defaulted property missing, null-like text, a whole float in an
integer-only field, an `x-strip-prefixes` word left on an item, a wrapper to remove, and an
`x-canonical` field its canonicalizer would reshape.

Two routes, one answer:
- quick: jsonschema-rs checks the settled schema (`_settled_schema`: validity, defaults,
  null-likes and prefixes in one call); then Python visits only the nodes where the rest
  can happen (objects with properties, integer fields, canonical fields) for key order,
  floats and the canonicalizers;
- exact (`is_canonical`), where the settled schema says no: Python reads the whole value.
A union counts as settled only where exactly one alternative admits the value's type (so
the walk could take no other) and the value is settled under it. Any doubt answers False
and the coercion walk runs; property tests hold both routes to the walk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from ._field import Field
from ._keys import key_table, unwrap_root
from ._scalars import admits, branches, kind, wanted_types
from ._schema import ANY, Schema, node_memo
from ._text import is_null_like
from ._types import JSON, Canonicalizers, SchemaNode


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the check needs to know of one schema node, read once."""

    node: SchemaNode
    types: frozenset[str] | None
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

    @classmethod
    def of(cls, node: SchemaNode, schema: Schema) -> _Plan:
        props: Mapping[str, Any] = node.get("properties") or {}
        types = wanted_types(node)
        name = node.get("x-canonical")
        return cls(
            node,
            frozenset(types) if types is not None else None,
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
        )

    @property
    def whole(self) -> bool:
        """Integers only: a float here (35.0) is one the walk would rewrite."""
        return self.types is not None and "integer" in self.types and "number" not in self.types


class _Check:
    """The exact route: one read of a whole value against the schema and the canonicalizers."""

    def __init__(self, schema: Schema, canonicalizers: Canonicalizers) -> None:
        self.schema = schema
        self.canonicalizers = canonicalizers

    def _plan(self, node: Any) -> _Plan | None:
        """The node's plan, None where anything goes; one lookup per visit."""

        def make() -> _Plan | None:
            resolved = self.schema.resolve(node)
            return _Plan.of(resolved, self.schema) if resolved else None

        return node_memo("plan", node, make)

    def _branch(self, v: JSON, plan: _Plan) -> Any:
        """The one alternative of a union that admits the value's type, else None."""
        k = kind(v)
        fitting = [b for b in plan.branches if admits(_types(self._plan(b)), k)]
        return fitting[0] if len(fitting) == 1 else None

    def settled(self, v: JSON, node: Any, key: str | None = None) -> bool:
        plan = self._plan(node)
        if plan is None:
            return True
        if plan.branches:
            if v is None:
                return True
            branch = None if is_null_like(v) else self._branch(v, plan)
            return branch is not None and self.settled(v, branch, key)
        if v is None or (isinstance(v, str) and is_null_like(v)):
            return v is None
        if not self._canonical(v, plan, key):
            return False
        if isinstance(v, dict):
            return plan.defaulted <= v.keys() and self._keys(v, plan) and self._members(v, plan)
        if isinstance(v, list):
            return self._array(v, plan)
        return not (plan.whole and isinstance(v, float))

    def _canonical(self, v: JSON, plan: _Plan, key: str | None) -> bool:
        """Whether the node's canonicalizer (if any) returns `v` unchanged, with no deviation."""
        if plan.canonical is None or plan.canonical not in self.canonicalizers:
            return True
        out, devs = self.canonicalizers[plan.canonical](v, Field(plan.node, key, self.schema.resolve))
        return not devs and out == v

    def _keys(self, v: dict[str, JSON], plan: _Plan) -> bool:
        """Schema order first, then any extra keys, none of which the walk would rename or route."""
        keys = tuple(v)
        if keys == plan.order:
            return True
        props = plan.props
        ours = [k for k in keys if k in props]
        if ours != [p for p in plan.order if p in v] or list(keys[: len(ours)]) != ours:
            return False
        extras = keys[len(ours) :]
        return not extras or not (plan.patterned or any(key_table(self.schema, plan.node).match(k) for k in extras))

    def _members(self, v: dict[str, JSON], plan: _Plan) -> bool:
        return all(self.settled(item, plan.props.get(k, plan.extra), k) for k, item in v.items())

    def _array(self, v: list[JSON], plan: _Plan) -> bool:
        if plan.strip and any(isinstance(i, str) and i.startswith(plan.strip) for i in v):
            return False
        prefix = plan.prefix
        return all(
            not is_null_like(item) and self.settled(item, prefix[i] if i < len(prefix) else plan.items)
            for i, item in enumerate(v)
        )


def _types(plan: _Plan | None) -> set[str] | None:
    return None if plan is None or plan.types is None else set(plan.types)


@dataclass(frozen=True, slots=True)
class _Route:
    """What the quick route visits at and below one node: only what needs a look."""

    plan: _Plan
    members: tuple[tuple[str, _Route], ...] = ()  # the properties that need a visit
    wholes: tuple[str, ...] = ()  # integer-only properties: a float is checked here, no visit
    extra: bool = False  # whether a key outside the properties needs a look
    items: bool = False  # whether the items need a look
    exact: bool = False  # a `oneOf`, or a node inside a cycle: the exact route reads it
    each: _Route | None = None  # the items' route, where there is one for all (no prefixItems)
    fields: dict[str | None, Field] = dataclass_field(default_factory=dict)  # the canonicalizer's, by key


class _Quick(_Check):
    """The quick route, for a value the settled schema admitted: a valid value with no null-like
    text, no prefix word and no missing default."""

    def check(self, value: JSON) -> bool:
        return self.settled(value, self.schema.root)

    def settled(self, v: JSON, node: Any, key: str | None = None) -> bool:
        route = self._route(node)
        return route is None or self._visit(v, route, key)

    def _visit(self, v: JSON, route: _Route, key: str | None) -> bool:
        if v is None:
            return True
        plan = route.plan
        if route.exact:
            return _Check(self.schema, self.canonicalizers).settled(v, plan.node, key)
        if plan.branches:  # anyOf alone: the settled schema covered its alternatives
            branch = self._branch(v, plan)
            return branch is not None and self.settled(v, branch, key)
        canonicalize = self.canonicalizers.get(plan.canonical) if plan.canonical is not None else None
        if canonicalize is not None:
            field = route.fields.get(key)
            if field is None:
                field = route.fields[key] = Field(plan.node, key, self.schema.resolve)
            out, devs = canonicalize(v, field)
            if devs or out != v:
                return False
        if isinstance(v, dict):
            if tuple(v) != plan.order and not self._keys(v, plan):
                return False
            for k in route.wholes:
                if isinstance(v.get(k), float):
                    return False
            for k, sub in route.members:
                x = v.get(k)
                if x is not None and not self._visit(x, sub, k):
                    return False
            if route.extra and tuple(v) != plan.order:
                return all(self.settled(i, plan.extra, k) for k, i in v.items() if k not in plan.props)
            return True
        if isinstance(v, list):
            if route.each is not None:  # one schema for every item
                return all(item is None or self._visit(item, route.each, None) for item in v)
            prefix = plan.prefix
            return not route.items or all(
                self.settled(item, prefix[i] if i < len(prefix) else plan.items) for i, item in enumerate(v)
            )
        return not (plan.whole and isinstance(v, float))

    def _route(self, node: Any, seen: frozenset[int] = frozenset()) -> _Route | None:
        """The node's route, None where nothing at or below it needs a look."""
        plan = self._plan(node)
        if plan is None:
            return None
        if id(node) in seen or "oneOf" in plan.node:
            return _Route(plan, exact=True)

        def compute() -> _Route | None:
            inner = seen | {id(node)}
            if plan.branches:
                return _Route(plan) if any(self._route(b, inner) is not None for b in plan.branches) else None
            routes = [(k, r) for k, sub in plan.props.items() if (r := self._route(sub, inner)) is not None]
            wholes = tuple(k for k, r in routes if _only_whole(r))
            members = tuple((k, r) for k, r in routes if k not in wholes)
            extra = self._route(plan.extra, inner) is not None
            items = any(self._route(sub, inner) is not None for sub in (plan.items, *plan.prefix))
            each = self._route(plan.items, inner) if items and not plan.prefix else None
            if plan.canonical or plan.order or plan.patterned or plan.whole or routes or extra or items:
                return _Route(plan, members, wholes, extra, items, each=each)
            return None

        return node_memo("route", node, compute)


def _only_whole(route: _Route) -> bool:
    """A leaf whose only check is the float one (the parent does it without a visit)."""
    plan = route.plan
    plain = not (plan.branches or plan.canonical or plan.order or plan.patterned)
    return plain and plan.whole and not (route.members or route.wholes or route.extra or route.items or route.exact)


def is_canonical(value: JSON, schema: Schema, canonicalizers: Canonicalizers) -> bool:
    """The exact route: whether the walk would return `value` (which validates) unchanged,
    with no deviation."""
    if unwrap_root(value, schema)[2]:
        return False
    return _Check(schema, canonicalizers).settled(value, schema.root)


def settled(value: JSON, schema: Schema, canonicalizers: Canonicalizers) -> bool:
    """Whether `value` validates and the walk would return it unchanged, with no deviation."""
    if unwrap_root(value, schema)[2]:
        return False
    fast = schema.settled_validator
    if fast is not None:
        try:
            admitted = fast.is_valid(value)
        except (ValueError, TypeError, OverflowError):
            admitted = False  # a value jsonschema-rs cannot read (an integer past 64 bits)
        if admitted:
            return _Quick(schema, canonicalizers).check(value)
    return not schema.problems(value) and _Check(schema, canonicalizers).settled(value, schema.root)
