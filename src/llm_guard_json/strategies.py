"""Hypothesis strategies for property tests of code that reads model output through a schema.

    canonical_values(schema)            valid canonical values: normalize keeps each as it is
    damaged(text, schema=, kinds=)      a JSON text as a model writes it (DAMAGE_KINDS)
    messy_outputs(schema)               (raw, expected): recoverable damage of a canonical value's text

Imported on its own (`from llm_guard_json.strategies import ...`); needs hypothesis:
`pip install "llm-guard-json[strategies]"`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as e:
    raise ImportError(
        'llm_guard_json.strategies needs hypothesis; install it with: pip install "llm-guard-json[strategies]"'
    ) from e

from . import _damage
from ._pipeline import normalize
from ._schema import Schema, as_schema
from ._text import is_null_like

#: Every damage `damaged` may draw: wrappers, syntax habits, key spellings, a cut.
DAMAGE_KINDS: Final = (
    "fence",
    "prose",
    "think",
    "trailing_comma",
    "single_quotes",
    "bare_keys",
    "comments",
    "python_literals",
    "fullwidth",
    "key_alias",
    "truncation",
)
#: The damage normalize must undo exactly (CANONICAL.md rules 1, 2 and 4): all but truncation.
RECOVERABLE_KINDS: Final = tuple(k for k in DAMAGE_KINDS if k != "truncation")
#: Kinds that rewrite the JSON itself; the rest act on the text.
_SYNTAX = frozenset({"trailing_comma", "single_quotes", "bare_keys", "comments", "python_literals", "fullwidth"})

#: Characters of generated text: Latin, digits, punctuation with quotes and brackets, some Chinese;
#: no list separator (、 , ; 和 及 与 等) or other word a rule reads (岁 年 万 会 否认 无).
TEXT_CHARS: Final = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " .-_@#+:/\\()[]{}'\"“”‘’「」"
    "张伟李娜王芳刘洋北京上海深圳杭州工程师产品经理数据头痛发热咳嗽医院公司科技"
)
#: Prose a model writes around its answer: letters and spaces, some punctuation; no brackets,
#: quotes, fences, tags or digits, so it never reads as JSON.
PROSE: Final = st.text(
    alphabet=st.characters(categories=["L", "Zs"], include_characters="，。：！,.:!\n", exclude_characters="<>`~"),
    max_size=60,
)
_COMMENTS = ("note", "以下为抽取结果", "TODO check")
_MAX_DEPTH = 6  # past this, optional properties are left out and arrays take their fewest items
_GIVE_UP = 16  # past this, a schema that requires its own recursion yields nothing
_REJECT: Final = object()


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- canonical values ---------------------------------------------------------------------


def canonical_values(schema: Any) -> st.SearchStrategy[Any]:
    """Valid canonical values of `schema` (a shipped name, path, dict or Schema).

    Values are drawn from the schema's keywords (type, enum, const, properties, required,
    additionalProperties, items, prefixItems, minItems/maxItems, uniqueItems, minLength/maxLength,
    pattern, minimum/maximum and their exclusive forms, multipleOf, anyOf/oneOf, $ref) with text
    from TEXT_CHARS, then put through normalize: a value is kept, as normalize returns it, only when
    the result is ok and its canonical text normalizes to itself with no deviation.

    Not covered (such values come only where the generic draw happens to meet them): allOf, not,
    if/then/else, dependentRequired/dependentSchemas, patternProperties (no extra keys are drawn
    beside them), propertyNames, contains, min/maxProperties, format; text outside TEXT_CHARS
    (list separators, null-like words, control characters, other scripts); a union's values are
    drawn branch by branch, so oneOf values that fit two branches are dropped, not repaired; what
    an `x-canonical` canonicalizer accepts as raw text (`"月薪4.5万"`): a draw enters only as
    normalize reshapes it, so the canonical shapes are covered, their raw spellings are not.
    """
    compiled = as_schema(schema)
    raw = _Values(compiled).node(compiled.root, 0)
    return raw.map(lambda v: _settle(v, compiled)).filter(lambda v: v is not _REJECT)


def _settle(value: Any, schema: Schema) -> Any:
    """`value` as normalize returns it when that is ok and a fixed point; else _REJECT."""
    first = normalize(_text(value), schema)
    if not first.ok or first.text is None:
        return _REJECT
    again = normalize(first.text, schema)
    if again.deviations or again.text != first.text:
        return _REJECT
    return first.value


def _plain(text: str) -> bool:
    return text == text.strip() and not is_null_like(text)


class _Values:
    """Strategies for the values of one schema's nodes."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def node(self, node: Any, depth: int) -> st.SearchStrategy[Any]:
        node = self.schema.resolve(node)
        if depth > _GIVE_UP or node.get("not") == {}:
            return st.nothing()
        if "const" in node:
            return st.just(node["const"])
        if isinstance(node.get("enum"), list):
            return st.sampled_from(node["enum"]) if node["enum"] else st.nothing()
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                rest = {k: v for k, v in node.items() if k != key}
                return st.one_of([self.node({**rest, **self.schema.resolve(b)}, depth) for b in node[key]])
        types = node.get("type", _implied_type(node))
        if isinstance(types, list):
            return st.one_of([self.typed(t, node, depth) for t in types])
        return self.typed(types, node, depth)

    def typed(self, kind: str | None, node: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind in ("integer", "number"):
            return _numbers(node, kind == "integer")
        if kind == "string":
            return _strings(node)
        if kind == "array":
            return self.array(node, depth)
        if kind == "object":
            return self.object(node, depth)
        return _any_json()

    def object(self, node: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        props: Mapping[str, Any] = node.get("properties") or {}
        required = set(node.get("required") or ())
        fixed = {p: self.node(sub, depth + 1) for p, sub in props.items() if p in required}
        optional = {p: self.node(sub, depth + 1) for p, sub in props.items() if p not in required}
        base = st.fixed_dictionaries(fixed, optional={} if depth >= _MAX_DEPTH else optional)
        extra = node.get("additionalProperties", True)
        if extra is False or node.get("patternProperties") or depth >= _MAX_DEPTH:
            return base
        taken = {_damage.fold(p) for p in props} | {
            _damage.fold(a) for sub in props.values() for a in self.schema.resolve(sub).get("x-aliases") or ()
        }
        keys = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=8)
        keys = keys.filter(lambda k: _damage.fold(k) not in taken)
        more = st.dictionaries(keys, self.node(extra, depth + 1), max_size=2)
        return st.tuples(base, more).map(lambda p: {**p[0], **p[1]})

    def array(self, node: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
        prefix = [self.node(sub, depth + 1) for sub in node.get("prefixItems") or ()]
        low, high = node.get("minItems", 0), node.get("maxItems")
        rest_low = max(0, low - len(prefix))
        rest_high = rest_low if depth >= _MAX_DEPTH else rest_low + 3
        if isinstance(high, int):
            rest_high = min(rest_high, max(0, high - len(prefix)))
        if node.get("items") is False:
            rest_high = 0
        item = self.node(node.get("items", True), depth + 1) if rest_high else st.nothing()
        unique = _text if node.get("uniqueItems") is True else None
        rest = st.lists(item, min_size=rest_low, max_size=rest_high, unique_by=unique)
        if not prefix:
            return rest
        # prefix items first: a short array holds only the first of them
        return st.tuples(st.tuples(*prefix), rest).map(lambda p: [*p[0], *p[1]])


def _implied_type(node: Mapping[str, Any]) -> str | None:
    if "properties" in node or "required" in node or "additionalProperties" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    if "pattern" in node or "minLength" in node or "maxLength" in node:
        return "string"
    if any(k in node for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return None


def _numbers(node: Mapping[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    def bound(key: str, exclusive: str) -> tuple[float | None, bool]:
        value, excl = node.get(key), node.get(exclusive)
        if isinstance(excl, int | float) and not isinstance(excl, bool):
            return excl, True
        return (value, False) if isinstance(value, int | float) and not isinstance(value, bool) else (None, False)

    (low, low_excl), (high, high_excl) = bound("minimum", "exclusiveMinimum"), bound("maximum", "exclusiveMaximum")
    step = node.get("multipleOf")
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
        lo = None if low is None else math.floor(low / step) + 1 if low_excl else math.ceil(low / step)
        hi = None if high is None else math.ceil(high / step) - 1 if high_excl else math.floor(high / step)
        return st.integers(lo, hi).map(lambda k: k * step)
    lo_int = None if low is None else math.floor(low) + 1 if low_excl else math.ceil(low)
    hi_int = None if high is None else math.ceil(high) - 1 if high_excl else math.floor(high)
    ints = st.integers(lo_int, hi_int)
    if integer:
        return ints
    floats = st.floats(low, high, allow_nan=False, allow_infinity=False, exclude_min=low_excl, exclude_max=high_excl)
    return st.one_of(ints, floats)


def _strings(node: Mapping[str, Any]) -> st.SearchStrategy[str]:
    low, high = node.get("minLength", 0), node.get("maxLength")
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        text = st.from_regex(pattern, fullmatch=True, alphabet=TEXT_CHARS)
        try:
            text.validate()
        except InvalidArgument:  # the pattern needs characters beyond TEXT_CHARS
            text = st.from_regex(pattern, fullmatch=True, alphabet=st.characters(exclude_categories=["C"]))
        return text.filter(lambda s: low <= len(s) <= (len(s) if high is None else high) and _plain(s))
    size = max(low, 1) if high != 0 else 0
    return st.text(st.sampled_from(TEXT_CHARS), min_size=size, max_size=high).filter(_plain)


def _any_json() -> st.SearchStrategy[Any]:
    scalars = (
        st.none() | st.booleans() | st.integers() | st.text(st.sampled_from(TEXT_CHARS), min_size=1).filter(_plain)
    )
    keys = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=8)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3))


# -- damage -------------------------------------------------------------------------------


def damaged(text: str, *, schema: Any = None, kinds: Iterable[str] | None = None) -> st.SearchStrategy[str]:
    """`text` (JSON) as a model might write it, with at least one damage of `kinds` (default all).

    DAMAGE_KINDS names them: a markdown fence, prose around, a `<think>` block, trailing commas,
    single quotes, bare keys, comments, Python literals, full-width `：，“”`, key aliases (with
    `schema`: a property's key replaced by one of its `x-aliases` or a case/space/'_'/'-' variant),
    truncation (the text cut short, applied last). Raises ValueError for text that is not JSON,
    an unknown kind, or `key_alias` asked for without a schema.
    """
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValueError(f"damaged() takes JSON text; this is not: {e}") from e
    compiled = None if schema is None else as_schema(schema)
    return _damaged(value, text, compiled, _kinds(kinds, compiled))


def _kinds(kinds: Iterable[str] | None, schema: Schema | None) -> tuple[str, ...]:
    if kinds is None:
        return tuple(k for k in DAMAGE_KINDS if k != "key_alias" or schema is not None)
    chosen = tuple(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in DAMAGE_KINDS]
    if unknown or not chosen:
        raise ValueError(f"unknown damage kinds {unknown}; choose from {list(DAMAGE_KINDS)}")
    if "key_alias" in chosen and schema is None:
        raise ValueError("damage kind 'key_alias' needs the schema: damaged(text, schema=..., kinds=[...])")
    return chosen


@st.composite
def _damaged(draw: st.DrawFn, value: Any, text: str, schema: Schema | None, kinds: tuple[str, ...]) -> str:
    on = set(draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=len(kinds), unique=True)))
    if on & _SYNTAX or "key_alias" in on:
        if "key_alias" in on and schema is not None:
            value = _renamed(draw, value, schema)
        text = _damage.emit(value, draw(_styles(on)))
    if "fence" in on:
        text = _damage.fence(text, draw(st.sampled_from(["```", "~~~"])), draw(st.sampled_from(["", "json", "JSON"])))
    if "prose" in on:
        text = _damage.with_prose(text, *draw(st.tuples(PROSE, PROSE).filter(lambda p: any(s.strip() for s in p))))
    if "think" in on:
        text = _damage.with_think(text, draw(PROSE))
    if "truncation" in on and text:
        text = _damage.truncate(text, draw(st.integers(0, len(text) - 1)))
    return text


@st.composite
def _styles(draw: st.DrawFn, on: set[str]) -> _damage.Style:
    """A Style that shows every syntax kind in `on` and no other."""
    single, wide = "single_quotes" in on, "fullwidth" in on
    key = "" if "bare_keys" in on else draw(st.sampled_from(['"', "'"])) if single else '"'
    strings = ['"', *(["'"] if single else []), *(["“"] if wide else [])]
    string = "'" if single and key != "'" else draw(st.sampled_from(strings))
    colon, comma = ":", ","
    if wide:
        marks = [("：", ","), (":", "，"), ("：", "，"), *([(":", ",")] if string == "“" else [])]
        colon, comma = draw(st.sampled_from(marks))
    return _damage.Style(
        key_quote=key,
        string_quote=string,
        colon=colon,
        comma=comma,
        trailing_comma="trailing_comma" in on,
        comment=draw(st.sampled_from(["//", "/*"])) if "comments" in on else "",
        comment_text=draw(st.sampled_from(_COMMENTS)),
        python_literals="python_literals" in on,
        indent=draw(st.sampled_from([None, 2])),
    )


def _renamed(draw: st.DrawFn, value: Any, schema: Schema) -> Any:
    """`value` with at least one property key (where it has any) spelled another way (rule 4)."""
    sites = _damage.key_sites(value, schema)
    if not sites:
        return value
    chosen = draw(st.lists(st.sampled_from(range(len(sites))), min_size=1, max_size=len(sites), unique=True))
    return _damage.rename_keys(value, {sites[i][0]: draw(st.sampled_from(sites[i][1])) for i in chosen})


# -- messy outputs ------------------------------------------------------------------------


def messy_outputs(schema: Any) -> st.SearchStrategy[tuple[str, Any]]:
    """(raw, expected) pairs: `expected` from canonical_values(schema), `raw` its text with
    recoverable damage (RECOVERABLE_KINDS), so that normalize(raw, schema) is ok and its value
    is `expected`.

    Around a bare scalar (a schema whose root is a string, number, ...) only fences and
    `<think>` are drawn: there the text itself is a candidate (clarification 15), so prose or
    quotes around it change the answer.
    """
    compiled = as_schema(schema)
    return _messy(canonical_values(compiled), compiled)


@st.composite
def _messy(draw: st.DrawFn, values: st.SearchStrategy[Any], schema: Schema) -> tuple[str, Any]:
    expected = draw(values)
    kinds = RECOVERABLE_KINDS if isinstance(expected, dict | list) else ("fence", "think")
    return draw(_damaged(expected, _text(expected), schema, kinds)), expected


__all__ = [
    "DAMAGE_KINDS",
    "PROSE",
    "RECOVERABLE_KINDS",
    "TEXT_CHARS",
    "canonical_values",
    "damaged",
    "messy_outputs",
]
