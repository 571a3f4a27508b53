"""Keys: a model's keys matched to properties (rule 4, clarification 8), wrappers removed (rule 3,
clarification 4).

A key matches a property exactly, then ignoring case, spaces, '_' and '-', then through the
property's `x-aliases` compared the same way. A key matching none goes to `patternProperties`
or `additionalProperties`, or is dropped where those forbid it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._deviation import Deviation
from ._limits import DEFAULT_LIMITS
from ._scalars import search_pattern
from ._schema import Schema, node_memo
from ._text import fold_key
from ._types import JSON, Path, SchemaNode

#: How a key matched: exactly, ignoring case and separators, or through an alias.
EXACT, FOLDED, ALIAS = 0, 1, 2


@dataclass(frozen=True, slots=True)
class KeyTable:
    """The keys an object node's properties answer to (rule 4, clarification 8)."""

    exact: Mapping[str, str]
    folded: Mapping[str, str]
    aliases: Mapping[str, str]

    @classmethod
    def of(cls, node: SchemaNode, resolve: Callable[[Any], SchemaNode]) -> KeyTable:
        exact: dict[str, str] = {}
        folded: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for prop, sub in (node.get("properties") or {}).items():
            exact.setdefault(prop, prop)
            folded.setdefault(fold_key(prop), prop)
            for alias in resolve(sub).get("x-aliases") or ():
                aliases.setdefault(fold_key(alias), prop)
        return cls(exact, folded, aliases)

    def match(self, key: str) -> tuple[str, int] | None:
        """(property, how it matched) for a model's key, or None."""
        if key in self.exact:
            return self.exact[key], EXACT
        folded = fold_key(key)
        if folded in self.folded:
            return self.folded[folded], FOLDED
        return (self.aliases[folded], ALIAS) if folded in self.aliases else None


def key_table(schema: Schema, node: SchemaNode) -> KeyTable:
    """The node's KeyTable, built once per schema node."""
    return node_memo("keys", node, lambda: KeyTable.of(node, schema.resolve))


def extra_schema(node: SchemaNode, key: str) -> Any:
    """The subschema for a key that is no property: patternProperties, else additionalProperties.

    None when the key is not allowed at all.
    """
    for pattern, sub in (node.get("patternProperties") or {}).items():
        if search_pattern(pattern, key, DEFAULT_LIMITS.pattern_timeout_s):
            return sub
    extra = node.get("additionalProperties", True)
    return None if extra is False else extra


#: Wrapper keys unwrapped at the root whatever the inner object holds (rule 3).
WRAPPER_KEYS = frozenset({"resume", "data", "result", "results", "output", "response", "answer", "json"})


def unwrap_root(v: JSON, schema: Schema, depth: int = 0) -> tuple[JSON, Path, list[Deviation]]:
    """Rule 3 and clarification 4: (inner value, the raw path to it, deviations).

    A one-key object whose key is no property is unwrapped when the key is a known wrapper
    name (the schema's title and root `x-aliases` count) or the inner object fits the
    schema better, judged after unwrapping the level inside; at most two levels.
    """
    root = schema.resolve(schema.root)
    if depth >= 2 or not isinstance(v, dict) or len(v) != 1 or not root.get("properties"):
        return v, (), []
    ((key, inner),) = v.items()
    table = key_table(schema, root)
    if not isinstance(inner, dict) or table.match(key) is not None:
        return v, (), []
    inner, inner_path, devs = unwrap_root(inner, schema, depth + 1)
    names = WRAPPER_KEYS | {fold_key(n) for n in (root.get("x-aliases") or ())}
    names |= {fold_key(str(root.get("title", ""))), fold_key(schema.name)}
    if fold_key(key) in names or _fit(inner, table) > _fit(v, table):
        return inner, (key,) + inner_path, [Deviation("wrapper", (), f"wrapper {key!r} removed"), *devs]
    return v, (), []


def _fit(v: dict[str, JSON], table: KeyTable) -> int:
    return sum(1 for k in v if table.match(k) is not None)
