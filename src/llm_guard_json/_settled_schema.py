"""The settled schema: the schema plus the structural rules of canonical form, checked in one call.

The fast path (`_fastpath`) must know that a value validates and that the walk would change
nothing in it. Most of what the walk changes can be said in JSON Schema, so jsonschema-rs
checks it in the same call that validates: every defaulted property present (`required`),
no null-like text where a schema node admits text (a `not` `pattern`), no null-like item
in an array, no `x-strip-prefixes` word at the start of an item. What JSON Schema cannot say
(key order, whole floats in integer fields, the canonicalizers, unions) stays in Python.

The derived schema only adds constraints, so a value it admits also validates against the
original. It is stricter than the Python rules where that is simpler (the null-like
pattern also refuses a few texts that are not null-like); a value it refuses takes the exact
path, never a wrong one. Schemas it cannot mirror (a `$ref` into a place it leaves as it
is, `$dynamicRef`, anything jsonschema-rs cannot compile) get None: the exact path always.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ._scalars import wanted_types
from ._text import NULL_LIKES
from ._types import SchemaNode
from ._validate import compile_fast

#: The characters `str.strip()` removes (`str.isspace`); a test checks the list is complete.
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
#: Besides ASCII letters, the characters whose `str.lower()` is an ASCII letter (a test checks).
_LOWERS_TO = {"k": "\u212a"}
#: Where the derived schema looks inside: each a place where a stricter subschema makes the
#: whole stricter. The rest (`not`, `oneOf`, `if`, `contains`, ...) is copied as it is.
_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_ONES = ("items", "additionalProperties")
_LISTS = ("prefixItems", "anyOf")


def _escape(char: str) -> str:
    return char if char.isalnum() else f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else char


def _word(text: str) -> str:
    """`text` as a pattern matching every string whose `lower()` is `text`."""
    out = []
    for char in text:
        if "a" <= char <= "z":
            out.append(f"[{char}{char.upper()}{_LOWERS_TO.get(char, '')}]")
        else:
            out.append(_escape(char))
    return "".join(out)


_SPACE = "[" + "".join(_escape(c) for c in SPACES) + "]*"
#: Matches a superset of the texts `is_null_like` accepts.
NULL_LIKE_PATTERN = f"^{_SPACE}(?:{'|'.join(sorted((_word(w) for w in NULL_LIKES), key=len, reverse=True))}){_SPACE}$"
_NOT_NULL_LIKE: SchemaNode = {"not": {"type": "string", "pattern": NULL_LIKE_PATTERN}}
_NO_NULL_ITEMS: SchemaNode = {
    "items": {"not": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": NULL_LIKE_PATTERN}]}}
}


def settled_schema(root: Any, resolve: Callable[[Any], SchemaNode]) -> Any:
    """The derived schema for `root` (resolved with `resolve`), or None where it cannot be mirrored."""
    if not isinstance(root, dict) or _unmirrored_refs(root):
        return None
    return _settle(copy.deepcopy(root), resolve, root)


def _settle(node: Any, resolve: Callable[[Any], SchemaNode], original: Any) -> Any:
    if not isinstance(node, dict) or not node:
        return node
    for key in _MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {k: _settle(sub, resolve, original[key][k]) for k, sub in node[key].items()}
    for key in _ONES:
        if key in node:
            node[key] = _settle(node[key], resolve, original[key])
    for key in _LISTS:
        if isinstance(node.get(key), list):
            node[key] = [_settle(sub, resolve, o) for sub, o in zip(node[key], original[key], strict=True)]
    extra = _constraints(resolve(original), resolve)
    if extra:
        node["allOf"] = [*(node.get("allOf") or ()), *extra]
    return node


def _constraints(node: SchemaNode, resolve: Callable[[Any], SchemaNode]) -> list[SchemaNode]:
    """What the walk would change in a value of this (resolved) node, as JSON Schema."""
    if not node:
        return []
    types = wanted_types(node)
    out: list[SchemaNode] = []
    if types is None or "string" in types:
        out.append(_NOT_NULL_LIKE)
    if types is None or "array" in types:
        out.append(_NO_NULL_ITEMS)
        prefixes = [p for p in node.get("x-strip-prefixes") or () if isinstance(p, str)]
        if prefixes:
            starts = "|".join("".join(_escape(c) for c in p) for p in prefixes)
            out.append({"items": {"not": {"type": "string", "pattern": f"^(?:{starts})"}}})
    props = node.get("properties")
    if isinstance(props, dict):
        defaulted = [p for p, sub in props.items() if "default" in resolve(sub)]
        if defaulted:
            out.append({"required": defaulted})
    return out


def _unmirrored_refs(root: dict[str, Any]) -> bool:
    """Whether a reference could land where the derived schema adds nothing (then: no fast check)."""
    inside = set(_MAPS) | set(_ONES) | set(_LISTS)
    todo: list[Any] = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if "$dynamicRef" in node or "$recursiveRef" in node:
                return True
            ref = node.get("$ref")
            if ref is not None and not _mirrored(ref, inside):
                return True
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return False


def _mirrored(ref: Any, inside: set[str]) -> bool:
    """A local JSON Pointer whose every step goes through a keyword the derivation enters."""
    if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
        return False
    parts = ref[2:].split("/") if ref != "#" else []
    expect_keyword = True
    for part in parts:
        if expect_keyword and part not in inside:
            return False
        # a map or list keyword is followed by a name or an index, then a keyword again
        expect_keyword = not expect_keyword or part in _ONES
    return expect_keyword


def compile_settled(root: Any, resolve: Callable[[Any], SchemaNode]) -> Any:
    """A jsonschema-rs validator for the settled schema, or None."""
    derived = settled_schema(root, resolve)
    return compile_fast(derived) if derived is not None else None
