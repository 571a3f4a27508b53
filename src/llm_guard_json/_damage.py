"""JSON written the way a model writes it: quoting, punctuation and literal habits, wrappers, cuts.

Pure functions, no randomness: `strategies.py` draws the choices, and any script may call these.
`emit(value, Style(...))` writes a JSON value with the habits a Style names; `fence`, `with_prose`,
`with_think` and `truncate` act on the text. `key_sites` finds the keys of a value that its schema
lets a model spell another way (`key_spellings`: the property's `x-aliases`, and case, space, '_' and
'-' variants: CANONICAL.md rule 4 and clarification 8); `rename_keys` respells them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._schema import Schema
from ._types import Path, SchemaNode

Resolve = Callable[[Any], SchemaNode]

#: Closing quote of each opening quote a Style may use.
_CLOSERS = {'"': '"', "'": "'", "“": "”"}
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_PYTHON = {True: "True", False: "False", None: "None"}
_JSON = {True: "true", False: "false", None: "null"}
_KEY_NOISE = re.compile(r"[\s_\-\u3000]+")


@dataclass(frozen=True, slots=True)
class Style:
    """How a model writes JSON; the default is plain compact JSON.

    key_quote: `"`, `'`, or "" for bare keys where the key is an identifier (else `"`).
    string_quote: `"`, `'`, or `“` for full-width “…” (`"` for a string holding `”`).
    comment: "", "//" or "/*": a comment with `comment_text` after each opening bracket.
    indent: None for compact text, else newlines and this many spaces a level.
    """

    key_quote: str = '"'
    string_quote: str = '"'
    colon: str = ":"
    comma: str = ","
    trailing_comma: bool = False
    comment: str = ""
    comment_text: str = "note"
    python_literals: bool = False
    indent: int | None = None


PLAIN = Style()


def quote(text: str, opener: str) -> str:
    """`text` as a string literal opened by `opener` (a key of _CLOSERS), escaped as JSON escapes."""
    closer = _CLOSERS[opener]
    if opener == '"' or closer in text:
        return json.dumps(text, ensure_ascii=False)
    body = "".join(_ESCAPES.get(c) or ("\\" + c if c == closer else f"\\u{ord(c):04x}" if c < " " else c) for c in text)
    return opener + body + closer


def emit(value: Any, style: Style = PLAIN) -> str:
    """`value` (plain JSON data) written as text in `style`."""
    return _emit(value, style, 0)


def _emit(value: Any, style: Style, depth: int) -> str:
    if isinstance(value, bool) or value is None:
        return (_PYTHON if style.python_literals else _JSON)[value]
    if isinstance(value, str):
        return quote(value, style.string_quote)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        members = [f"{_key(k, style)}{style.colon}{' ' if style.indent is not None else ''}" for k in value]
        parts = [m + _emit(v, style, depth + 1) for m, v in zip(members, value.values(), strict=True)]
        return _container("{", parts, "}", style, depth)
    if isinstance(value, list):
        return _container("[", [_emit(v, style, depth + 1) for v in value], "]", style, depth)
    raise TypeError(f"not JSON data: {type(value).__name__}")


def _key(key: str, style: Style) -> str:
    if style.key_quote == "":
        return key if key.isidentifier() else quote(key, '"')
    return quote(key, style.key_quote)


def _container(opener: str, parts: list[str], closer: str, style: Style, depth: int) -> str:
    if style.indent is None:
        inner, outer = "", ""
    else:
        inner, outer = "\n" + " " * (style.indent * (depth + 1)), "\n" + " " * (style.indent * depth)
    lead = ""
    if style.comment:
        lead = f"// {style.comment_text}" if style.comment == "//" else f"/* {style.comment_text} */"
        lead = inner + lead if inner else lead + ("\n" if style.comment == "//" else "")
    if not parts:
        return opener + lead + outer + closer
    tail = style.comma if style.trailing_comma else ""
    return opener + lead + inner + (style.comma + inner).join(parts) + tail + outer + closer


def fence(text: str, marker: str = "```", tag: str = "json") -> str:
    """`text` in a markdown code fence opened by `marker` (``` or ~~~) and an optional language tag."""
    return f"{marker}{tag}\n{text}\n{marker}"


def with_prose(text: str, before: str = "", after: str = "") -> str:
    """`text` with prose on the lines before and after it (none where empty)."""
    return "".join((f"{before}\n" if before else "", text, f"\n{after}" if after else ""))


def with_think(text: str, thought: str) -> str:
    """`text` after a `<think>…</think>` block holding `thought`."""
    return f"<think>\n{thought}\n</think>\n{text}"


def truncate(text: str, keep: int) -> str:
    """The first `keep` characters of `text`: an output cut off by a token limit."""
    return text[:keep]


def fold(key: str) -> str:
    """A key as rule 4 compares it: case, spaces, '_' and '-' ignored."""
    return _KEY_NOISE.sub("", key).casefold()


def _variants(name: str) -> list[str]:
    words = [w for w in _KEY_NOISE.split(name) if w]
    camel = words[:1] + [w[:1].upper() + w[1:] for w in words[1:]]
    return [name, name.upper(), " ".join(w.capitalize() for w in words), "-".join(words), "".join(camel)]


def key_spellings(node: SchemaNode, prop: str, resolve: Resolve) -> list[str]:
    """Other keys that must be read as property `prop` of object node `node`, in a stable order.

    Case/space/'_'/'-' variants of the name and of each `x-aliases` entry; an alias that folds to
    another property's name, or that two properties of the node share, is left out (the contract
    does not say which property it names).
    """
    props: Mapping[str, Any] = node.get("properties") or {}
    names = {fold(p) for p in props}
    owners: dict[str, set[str]] = {}
    for p, sub in props.items():
        for alias in resolve(sub).get("x-aliases") or ():
            owners.setdefault(fold(alias), set()).add(p)
    aliases = [a for a in resolve(props[prop]).get("x-aliases") or () if owners.get(fold(a)) == {prop}]
    found = [v for v in _variants(prop) if fold(v) == fold(prop)]
    found += [v for a in aliases if fold(a) not in names - {fold(prop)} for v in _variants(a) if fold(v) == fold(a)]
    return [s for s in dict.fromkeys(found) if s != prop and s.strip() == s and s]


def key_sites(value: Any, schema: Schema) -> list[tuple[Path, list[str]]]:
    """(path of a property's value, other spellings of its key) for each key of `value` that has some.

    A union is followed only where exactly one branch takes the value's kind (object, array or
    scalar); below any other, keys are left alone.
    """
    sites: list[tuple[Path, list[str]]] = []
    todo: list[tuple[Any, Any, Path]] = [(value, schema.root, ())]
    while todo:
        v, node, path = todo.pop()
        node = _branch(schema.resolve(node), v, schema.resolve)
        if isinstance(v, dict):
            props: Mapping[str, Any] = node.get("properties") or {}
            for k, item in v.items():
                spellings = [s for s in key_spellings(node, k, schema.resolve) if s not in v] if k in props else []
                if spellings:
                    sites.append((path + (k,), spellings))
                todo.append((item, props.get(k, node.get("additionalProperties", True)), path + (k,)))
        elif isinstance(v, list):
            prefix, items = node.get("prefixItems") or [], node.get("items", True)
            todo.extend((item, prefix[i] if i < len(prefix) else items, path + (i,)) for i, item in enumerate(v))
    return sorted(sites, key=lambda site: [str(p) for p in site[0]])


def rename_keys(value: Any, renames: Mapping[Path, str], path: Path = ()) -> Any:
    """`value` with the key of each path in `renames` replaced by its new spelling."""
    if isinstance(value, dict):
        return {renames.get(path + (k,), k): rename_keys(v, renames, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_keys(v, renames, path + (i,)) for i, v in enumerate(value)]
    return value


def _branch(node: SchemaNode, value: Any, resolve: Resolve) -> SchemaNode:
    branches = [*(node.get("anyOf") or ()), *(node.get("oneOf") or ())]
    if not branches:
        return node
    kind = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "scalar"
    fits = [b for b in map(resolve, branches) if kind in _kinds(b)]
    return fits[0] if len(fits) == 1 else {}


def _kinds(node: SchemaNode) -> set[str]:
    t = node.get("type")
    types = {t} if isinstance(t, str) else set(t) if isinstance(t, list) else None
    if types is None:
        if "properties" in node:
            return {"object"}
        return {"array"} if "items" in node or "prefixItems" in node else {"object", "array", "scalar"}
    return {x if x in ("object", "array") else "scalar" for x in types}
