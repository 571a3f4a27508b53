"""Stage: walk the value and the schema together and coerce the value to what the schema asks.

The generic rules of CANONICAL.md (keys 4, null-likes 6, text to list 7, scalars 5/8,
enums 9, keyed objects 10) and clarifications 1, 7, 13, 14; a field's `x-canonical`
canonicalizer runs first and the generic rules finish its output. Defaults are filled
and keys put in schema order here too (the "complete" step), since both need the walk.

Clarification 1, the retreat: a node whose value cannot be made valid becomes null if it
admits null, else it is removed from its object or array; a required one removed makes
its object invalid in turn. Every step is a Deviation at the value's canonical path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ._deviation import Deviation, brief
from ._field import Field
from ._keys import EXACT, FOLDED, extra_schema, key_table
from ._limits import DEFAULT_LIMITS, Limits
from ._parse import json_in_string
from ._scalars import (
    admits,
    allows_null,
    branches,
    container_ok,
    enum_values,
    kind,
    leaf_ok,
    plain_text,
    to_boolean,
    to_enum,
    to_number,
    to_string,
    wanted_types,
)
from ._schema import ANY, Schema, node_memo
from ._text import is_null_like, split_text
from ._types import JSON, Canonicalizers, Path, SchemaNode


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: Returned for a value that is removed (its key dropped, or its item left out).
ABSENT: Final = _Absent()
_WANT_ORDER = ("object", "array", "integer", "number", "boolean", "string")


@dataclass
class Walk:
    """One coercion walk: its settings, the deviations found, and raw -> canonical paths."""

    schema: Schema
    canonicalizers: Canonicalizers
    limits: Limits = DEFAULT_LIMITS
    deviations: list[Deviation] = field(default_factory=list)
    #: Which deviations (canonicalizers') still have raw paths; `placed` translates them.
    raw_paths: set[int] = field(default_factory=set)
    moves: dict[Path, Path] = field(default_factory=dict)
    dropped: set[Path] = field(default_factory=set)

    def place(self, raw: Path) -> Path:
        """Where a raw path ended up in the canonical value: its nearest ancestor still there."""
        limit = next((i - 1 for i in range(len(raw) + 1) if raw[:i] in self.dropped), len(raw))
        for cut in range(limit, -1, -1):
            canonical = self.moves.get(raw[:cut])
            if canonical is not None:
                return canonical
        return ()

    def placed(self) -> list[Deviation]:
        """The deviations, every path in canonical coordinates."""
        return [
            Deviation(d.code, self.place(d.path), d.detail, d.weight) if i in self.raw_paths else d
            for i, d in enumerate(self.deviations)
        ]

    def _types(self, node: SchemaNode) -> set[str] | None:
        return node_memo("types", node, lambda: wanted_types(node))

    def _nullable(self, node: SchemaNode) -> bool:
        return node_memo("nullable", node, lambda: allows_null(node, self.schema.resolve))

    def note(self, code: str, path: Path, detail: str) -> None:
        self.deviations.append(Deviation(code, path, detail))

    def lost(self, path: Path, value: JSON, why: str = "") -> None:
        self.note("lost.value", path, f"{brief(value)} could not be made valid{': ' + why if why else ''}")

    # -- the dispatch ---------------------------------------------------------------

    def value(
        self, v: JSON, node: Any, path: Path, raw: Path, key: str | None = None, *, may_null: bool = True
    ) -> tuple[JSON, bool]:
        """Coerce `v` to `node`: (value or ABSENT, valid); not valid means reported lost.

        `may_null`: an optional field may retreat to null (clarification 1); a required
        field, an array item and the root may not.
        """
        node = self.schema.resolve(node)
        self.moves[raw] = path
        if not node:
            return v, True
        if "anyOf" in node or "oneOf" in node:
            return self._union(v, node, path, raw, key, may_null)
        one = isinstance(v, list) and len(v) == 1 and not isinstance(v[0], dict | list)
        if one and not admits(self._types(node), "array"):  # rule 8: a list of one where a scalar is wanted
            self.note("coerce.list_to_scalar", path, "a list of one was unwrapped")
            v, raw = v[0], raw + (0,)
        if is_null_like(v):
            return self._null_like(v, node, path)
        name = node.get("x-canonical")
        if isinstance(name, str) and name in self.canonicalizers:
            v = self._canonical(name, v, node, raw, key)
            if is_null_like(v):
                return self._null_like(v, node, path)
        out, ok = self._shape(v, node, path, raw)
        if not ok and may_null and self._nullable(node):
            return None, True  # the stage that failed has reported the loss
        return out, ok

    def _canonical(self, name: str, v: JSON, node: SchemaNode, raw: Path, key: str | None) -> JSON:
        out, devs = self.canonicalizers[name](v, Field(node, key, self.schema.resolve))
        for d in devs:
            self.raw_paths.add(len(self.deviations))
            self.deviations.append(d.under(raw))
        return out

    def _null_like(self, v: JSON, node: SchemaNode, path: Path) -> tuple[JSON, bool]:
        types = self._types(node)
        if self._nullable(node):
            if v is not None:
                self.note("coerce.null_like", path, f"{brief(v)} means no value: null")
            return None, True
        if v is not None and enum_values(node) is not None and to_enum(v, node) == (v, None):
            return v, True  # an enum value that happens to read like a null-like ("无")
        if types is not None and "array" in types:
            self.note("coerce.null_like", path, f"{brief(v)} means no value: []")
            return [], True
        self.note("coerce.null_like", path, f"{brief(v)} means no value: removed")
        return ABSENT, True

    def _shape(self, v: JSON, node: SchemaNode, path: Path, raw: Path) -> tuple[JSON, bool]:
        types = self._types(node)
        if enum_values(node) is not None and kind(v) not in ("object", "array"):
            return self._enum(v, node, path)
        k = kind(v)
        if admits(types, k):
            if k == "object":
                return self._object(v, node, path, raw)
            if k == "array":
                return self._array(v, node, path, raw)
            return self._leaf(v, node, path)
        if k == "number" and types is not None and "integer" in types:
            return self._convert(v, node, path, raw, ("integer",))
        return self._convert(v, node, path, raw, [t for t in _WANT_ORDER if types and t in types])

    def _leaf(self, v: JSON, node: SchemaNode, path: Path) -> tuple[JSON, bool]:
        if leaf_ok(v, node, self.limits.pattern_timeout_s):
            return v, True
        self.lost(path, v, "it breaks the field's constraints")
        return v, False

    def _enum(self, v: JSON, node: SchemaNode, path: Path) -> tuple[JSON, bool]:
        converted = to_enum(v, node)
        if converted is None:
            self.lost(path, v, f"not one of {enum_values(node)}")
            return v, False
        out, code = converted
        if code:
            self.note(code, path, f"{brief(v)} -> {brief(out)}")
        return out, True

    def _convert(
        self, v: JSON, node: SchemaNode, path: Path, raw: Path, wants: list[str] | tuple[str, ...]
    ) -> tuple[JSON, bool]:
        for want in wants:
            if want == "object":
                result = self._to_object(v, node, path, raw)
            elif want == "array":
                result = self._to_array(v, node, path, raw)
            else:
                result = self._to_scalar(v, node, path, want)
            if result is not None:
                return result
        self.lost(path, v, f"a {kind(v)} where {'/'.join(wants) or 'nothing'} is wanted")
        return v, False

    def _to_scalar(self, v: JSON, node: SchemaNode, path: Path, want: str) -> tuple[JSON, bool] | None:
        if want in ("integer", "number"):
            converted = to_number(v, integer=want == "integer")
        elif want == "boolean":
            converted = to_boolean(v)
        else:
            converted = to_string(v)
        if converted is None:
            return None
        out, code = converted
        if code:
            self.note(code, path, f"{brief(v)} -> {brief(out)}")
        return self._leaf(out, node, path)

    # -- objects ---------------------------------------------------------------------

    def _to_object(self, v: JSON, node: SchemaNode, path: Path, raw: Path) -> tuple[JSON, bool] | None:
        if isinstance(v, list) and len(v) == 1 and isinstance(v[0], dict):
            self.note("coerce.list_to_scalar", path, "a list of one object was unwrapped")
            return self._object(v[0], node, path, raw + (0,))
        decoded = json_in_string(v, dict)
        if decoded is not None:
            self.note("coerce.json_in_string", path, "a string holding a JSON object was decoded")
            return self._object(decoded, node, path, raw)
        return None

    def _object(self, v: dict[str, JSON], node: SchemaNode, path: Path, raw: Path) -> tuple[JSON, bool]:
        props: Mapping[str, Any] = node.get("properties") or {}
        chosen = self._match_keys(v, node, path)
        required = set(node.get("required") or ())
        out: dict[str, JSON] = {}
        given_but_lost: set[str] = set()
        for prop, (k, item) in chosen.items():
            sub = props[prop] if prop in props else extra_schema(node, prop)
            result, ok = self.value(item, sub, path + (prop,), raw + (k,), key=k, may_null=prop not in required)
            if not ok:
                given_but_lost.add(prop)
            if result is ABSENT or not ok:
                self.dropped.add(raw + (k,))
                continue
            out[prop] = result
        ordered = self._complete(out, props, path)
        if [p for p in chosen if p in props] != [p for p in props if p in chosen]:
            self.note("key.order", path, "keys were put in the schema's order")
        missing = [r for r in node.get("required") or () if r not in ordered]
        for name in missing:
            if name not in given_but_lost:
                self.note("missing.required", path + (name,), f"required property {name!r} is absent")
        if missing:
            self.lost(path, v, f"required {missing} missing")
            return ordered, False
        if not container_ok(ordered, node):
            self.lost(path, v, "it has too few or too many properties")
            return ordered, False
        return ordered, True

    def _complete(self, out: dict[str, JSON], props: Mapping[str, Any], path: Path) -> dict[str, JSON]:
        ordered: dict[str, JSON] = {}
        for prop, sub in props.items():
            if prop in out:
                ordered[prop] = out[prop]
                continue
            resolved = self.schema.resolve(sub)
            if "default" in resolved:
                ordered[prop] = copy.deepcopy(resolved["default"])
                self.note("default", path + (prop,), f"absent; filled with the default {brief(resolved['default'])}")
        ordered.update((k, val) for k, val in out.items() if k not in props)
        return ordered

    def _match_keys(self, v: dict[str, JSON], node: SchemaNode, path: Path) -> dict[str, tuple[str, JSON]]:
        """Property -> (the model's key, its value), by rule 4 and clarification 8."""
        table = key_table(self.schema, node)
        chosen: dict[str, tuple[str, JSON]] = {}
        rank: dict[str, tuple[bool, int]] = {}
        for k, item in v.items():
            found = table.match(k)
            if found is None:
                if extra_schema(node, k) is None:
                    self.note("key.unknown", path + (k,), f"key {k!r} matches no property; dropped")
                    continue
                found = (k, 0)
            prop, quality = found
            here = (not is_null_like(item), -quality)
            if prop in chosen:
                self.note("key.duplicate", path + (prop,), f"keys {chosen[prop][0]!r} and {k!r} both name {prop!r}")
                if here < rank[prop]:
                    continue
            chosen[prop], rank[prop] = (k, item), here
            if quality != EXACT:
                code = "key.case" if quality == FOLDED else "key.alias"
                self.note(code, path + (prop,), f"key {k!r} read as {prop!r}")
        return chosen

    # -- arrays ----------------------------------------------------------------------

    def _to_array(self, v: JSON, node: SchemaNode, path: Path, raw: Path) -> tuple[JSON, bool] | None:
        items = self.schema.resolve(node.get("items", ANY))
        item_types = self._types(items)
        if isinstance(v, dict):
            return self._object_to_array(v, node, items, path, raw)
        decoded = json_in_string(v, list)
        if decoded is not None:
            self.note("coerce.json_in_string", path, "a string holding a JSON array was decoded")
            return self._array(decoded, node, path, raw)
        if isinstance(v, str) and admits(item_types, "string"):
            parts = split_text(v, node.get("x-keep-whole") or ())
            code = "coerce.scalar_to_list" if parts == [v] else "coerce.text_to_list"
            self.note(code, path, f"{brief(v)} -> {len(parts)} items")
            return self._array(parts, node, path, raw)
        self.note("coerce.scalar_to_list", path, f"{brief(v)} wrapped in a list")
        return self._array([v], node, path, raw)

    def _object_to_array(
        self, v: dict[str, JSON], node: SchemaNode, items: SchemaNode, path: Path, raw: Path
    ) -> tuple[JSON, bool] | None:
        if not admits(self._types(items), "object"):
            return None
        table = key_table(self.schema, items)
        fits = any(table.match(k) is not None for k in v)
        key_field = items.get("x-key-field")
        if fits or not isinstance(key_field, str):
            self.note("coerce.object_to_list", path, "one object wrapped in a list")
            return self._array([v], node, path, raw)
        self.note("coerce.keyed_object", path, f"object keyed by {key_field!r} became a list")
        return self._array(self._keyed_items(v, node, items, key_field, path), node, path, raw)

    def _keyed_items(
        self, v: dict[str, JSON], node: SchemaNode, items: SchemaNode, key_field: str, path: Path
    ) -> list[JSON]:
        """Rule 10 and clarification 7: one item per key, the key in `key_field`."""
        out: list[JSON] = []
        props: Mapping[str, Any] = items.get("properties") or {}
        others = [p for p in props if p != key_field and plain_text(self.schema.resolve(props[p]))]
        canonical = node.get("x-canonical")
        for k, val in v.items():
            if isinstance(val, dict):
                out.append({key_field: k, **val})
            elif isinstance(val, str) and isinstance(canonical, str) and canonical in self.canonicalizers:
                shaped, devs = self.canonicalizers[canonical](f"{k} {val}", Field(node, None, self.schema.resolve))
                self.deviations.extend(Deviation(d.code, path, d.detail, d.weight) for d in devs)
                out.extend(shaped if isinstance(shaped, list) else [shaped])
            elif len(others) == 1 and not isinstance(val, list):
                out.append({key_field: k, others[0]: val})
            else:
                self.lost(path, val, f"no property of the item takes the value of {k!r}")
                out.append({key_field: k})
        return out

    def _array(self, v: list[JSON], node: SchemaNode, path: Path, raw: Path) -> tuple[JSON, bool]:
        prefix = node.get("prefixItems") or []
        strip = tuple(node.get("x-strip-prefixes") or ())
        out: list[JSON] = []
        for i, given in enumerate(v):
            sub = prefix[i] if i < len(prefix) else node.get("items", ANY)
            here = path + (len(out),)
            item = self._strip_prefix(given, strip, here) if isinstance(given, str) and strip else given
            if is_null_like(item) and not self._nullable(self.schema.resolve(sub)):
                self.note("coerce.null_like", here, f"null-like item {brief(item)} dropped")
                continue
            result, ok = self.value(item, sub, here, raw + (i,), may_null=False)
            if result is not ABSENT and ok:
                out.append(result)
            else:
                self.dropped.add(raw + (i,))
        if node.get("uniqueItems") is True:
            out = self._unique(out, path)
        if not container_ok(out, node):
            self.lost(path, v, "it has too few or too many items")
            return out, False
        return out, True

    def _strip_prefix(self, item: str, prefixes: tuple[str, ...], path: Path) -> str:
        for p in prefixes:
            if item.startswith(p):  # 否认 alone leaves nothing: the empty item is then dropped
                self.note("coerce.strip_prefix", path, f"prefix {p!r} removed from {brief(item)}")
                return item[len(p) :].strip()
        return item

    def _unique(self, items: list[JSON], path: Path) -> list[JSON]:
        seen: list[JSON] = []
        for item in items:
            if item in seen:
                self.note("coerce.duplicate", path, f"duplicate item {brief(item)} dropped")
            else:
                seen.append(item)
        return seen

    # -- unions ----------------------------------------------------------------------

    def _union(
        self, v: JSON, node: SchemaNode, path: Path, raw: Path, key: str | None, may_null: bool
    ) -> tuple[JSON, bool]:
        """anyOf / oneOf: the branch that takes the value with the lightest deviations."""
        if is_null_like(v):
            return self._null_like(v, node, path)
        best: tuple[float, JSON, Walk] | None = None
        for branch in branches(node):
            trial = Walk(self.schema, self.canonicalizers, self.limits)
            out, ok = trial.value(v, branch, path, raw, key, may_null=False)
            cost = sum(d.weight for d in trial.deviations)
            if ok and out is not ABSENT and (best is None or cost < best[0]):
                best = (cost, out, trial)
        if best is None:
            self.lost(path, v, "it fits none of the alternatives")
            return (None, True) if may_null and self._nullable(node) else (v, False)
        trial = best[2]
        self.raw_paths.update(i + len(self.deviations) for i in trial.raw_paths)
        self.deviations.extend(trial.deviations)
        self.moves.update(trial.moves)
        self.dropped.update(trial.dropped)
        return best[1], True
