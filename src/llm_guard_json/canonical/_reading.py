"""What the domain canonicalizers read the same way: the field's object schema, object keys
(names, case-insensitive forms, `x-aliases`, a domain's own synonyms), enum aliases, JSON
held in a string, a list of one around the value, and the short quote a detail carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._deviation import Deviation, brief
from .._field import Field
from .._parse import strict
from .._scalars import enum_table
from .._schema import node_memo
from .._text import fold_key
from .._types import JSON, SchemaNode

Reader = Callable[[JSON, Field], tuple[JSON, list[Deviation]]]


def object_schema(node: SchemaNode, resolve: Callable[[SchemaNode], SchemaNode]) -> SchemaNode:
    """The node that declares the object's properties: the node itself or a union branch."""
    if "properties" in node:
        return node
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key) or ():
            if isinstance(branch, Mapping):
                found = object_schema(resolve(branch), resolve)
                if "properties" in found:
                    return found
    return node


def properties(node: SchemaNode, resolve: Callable[[SchemaNode], SchemaNode]) -> dict[str, SchemaNode]:
    """Property name -> resolved subschema of the object `node` declares."""

    def compute() -> dict[str, SchemaNode]:
        props = object_schema(node, resolve).get("properties") or {}
        return {name: resolve(sub) for name, sub in props.items() if isinstance(sub, Mapping)}

    return node_memo("properties", node, compute)


def key_lookup(props: Mapping[str, SchemaNode]) -> dict[str, str]:
    """Folded key -> property, by the property names and their `x-aliases` (rule 4, clar. 8)."""

    def compute() -> dict[str, str]:
        table: dict[str, str] = {}
        for name, sub in props.items():
            aliases = sub.get("x-aliases") or ()
            for word in (name, *[a for a in aliases if isinstance(a, str)]):
                table.setdefault(fold_key(word), name)
        return table

    return node_memo("keys", props, compute)


def keys_by_property(obj: Mapping[str, Any], lookup: Mapping[str, str]) -> dict[str, str]:
    """Property -> the object's key naming it (the first such key)."""
    found: dict[str, str] = {}
    for key in obj:
        prop = lookup.get(fold_key(key))
        if prop is not None:
            found.setdefault(prop, key)
    return found


def match_keys(
    obj: Mapping[str, JSON], props: Mapping[str, SchemaNode], synonyms: Mapping[str, Iterable[str]]
) -> tuple[dict[str, JSON], dict[str, str]]:
    """The object with each key that only a domain synonym names (`金额` for amount) renamed
    to its property, and property -> the key now naming it. Schema names and aliases are the
    walk's to map, so those keys stay as they are."""
    out = dict(obj)
    named = keys_by_property(obj, key_lookup(props))
    extra = node_memo(
        f"synonyms:{id(synonyms)}",
        props,
        lambda: {fold_key(w): p for p, words in synonyms.items() if p in props for w in words},
    )
    for prop, key in keys_by_property(obj, extra).items():
        if prop not in named and key in out:
            out[prop] = out.pop(key)
            named[prop] = prop
    return out, named


def enum_lookup(node: SchemaNode) -> dict[str, str]:
    """Trimmed, case-folded enum value or `x-enum-aliases` alias -> canonical value (rule 9)."""
    return node_memo("enum_text", node, lambda: {k: c for k, (c, _) in enum_table(node).items() if isinstance(c, str)})


def the_value(node: SchemaNode, fallback: str) -> str:
    """The one value a property can hold (`currency`: CNY, `unit`: mmHg): default, else sole enum."""
    default = node.get("default")
    if isinstance(default, str):
        return default
    values = [v for v in node.get("enum") or () if isinstance(v, str)]
    return values[0] if len(values) == 1 else fallback


def decode_json_text(value: JSON) -> tuple[JSON, list[Deviation]]:
    """A string holding a JSON object or array, decoded; anything else as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        decoded = strict(value)
        if isinstance(decoded, dict | list):
            return decoded, [Deviation("coerce.json_in_string", (), f"{brief(value)} held JSON; decoded")]
    return value, []


def unwrap_one(value: JSON, field: Field, read: Reader) -> tuple[JSON, list[Deviation]]:
    """Read a list of one as its item (the walk would unwrap it only after this domain ran)."""
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], list):
        out, devs = read(value[0], field)
        if devs:
            return out, [Deviation("coerce.list_to_scalar", (), "a list of one was unwrapped"), *devs]
        return value, []
    return read(value, field)


def read_value(value: JSON, field: Field, read: Reader) -> tuple[JSON, list[Deviation]]:
    """Run a domain's reader after decoding JSON text and unwrapping a list of one."""
    decoded, devs = decode_json_text(value)
    out, more = unwrap_one(decoded, field, read)
    if devs or more:
        return out, devs + more
    return value, []
