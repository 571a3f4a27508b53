"""Schema: a JSON Schema loaded by name, path, dict or pydantic model; checked, compiled, cached.

The `x-` keywords (CANONICAL.md) are checked here too, so a typo fails at load time with
the keyword and its location, not as odd output later.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path as FilePath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

from ._errors import ConfigError, SchemaError
from ._types import Canonicalizers, SchemaNode
from ._validate import Problem, compile_fast, problems

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = (
    "items",
    "additionalProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
_STRING_LISTS = ("x-aliases", "x-strip-prefixes", "x-keep-whole")
T = TypeVar("T")
#: The schema that admits anything (`true`, an absent `items`), and the one that admits nothing.
ANY: Final[SchemaNode] = MappingProxyType({})
NOTHING: Final[SchemaNode] = MappingProxyType({"not": {}})


_MEMO: dict[tuple[str, int], tuple[Any, Any]] = {}
_MEMO_SIZE = 8192


def node_memo(kind: str, node: Any, compute: Callable[[], T]) -> T:
    """`compute()` once per schema node (values repeat; their schema's tables need not be rebuilt).

    Keyed by the node's identity; each entry holds its node, so an id is never reused while
    cached. Bounded: past _MEMO_SIZE entries it starts afresh.
    """
    entry = _MEMO.get((kind, id(node)))
    if entry is not None and entry[0] is node:
        return entry[1]  # type: ignore[no-any-return]
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    value = compute()
    _MEMO[(kind, id(node))] = (node, value)
    return value


def shipped_dir() -> FilePath:
    """Where the shipped schemas live: inside the wheel, or schemas/ of a source checkout."""
    packaged = FilePath(str(resources.files("llm_guard_json"))) / "schemas"
    return packaged if packaged.is_dir() else FilePath(__file__).resolve().parents[2] / "schemas"


def shipped_names() -> list[str]:
    """Names of the shipped schemas (`resume`, `medical_record`, ...)."""
    return sorted(p.name.removesuffix(".schema.json") for p in shipped_dir().glob("*.schema.json"))


def _walk(node: Any, pointer: str = "") -> Iterator[tuple[SchemaNode, str]]:
    if not isinstance(node, Mapping):
        return
    yield node, pointer
    for key in _SUBSCHEMA_MAPS:
        for name, sub in (node.get(key) or {}).items() if isinstance(node.get(key), Mapping) else ():
            yield from _walk(sub, f"{pointer}/{key}/{name}")
    for key in _SUBSCHEMA_LISTS:
        for i, sub in enumerate(node.get(key) or ()) if isinstance(node.get(key), list) else ():
            yield from _walk(sub, f"{pointer}/{key}/{i}")
    for key in _SUBSCHEMA_ONE:
        if key in node:
            yield from _walk(node[key], f"{pointer}/{key}")


def _bad(keyword: str, location: str, why: str) -> SchemaError:
    return SchemaError(f"invalid schema: {keyword!r} at {location or '/'} {why}", keyword=keyword, location=location)


def _check_extensions(root: SchemaNode) -> None:
    for node, where in _walk(root):
        for key in _STRING_LISTS:
            if key in node and not (isinstance(node[key], list) and all(isinstance(a, str) and a for a in node[key])):
                raise _bad(key, where, "must be a list of non-empty strings")
        if "x-canonical" in node and not isinstance(node["x-canonical"], str):
            raise _bad("x-canonical", where, "must be the name of a canonicalizer (a string)")
        if "x-enum-aliases" in node:
            aliases = node["x-enum-aliases"]
            if not isinstance(aliases, Mapping) or not all(
                isinstance(v, list) and all(isinstance(a, str) for a in v) for v in aliases.values()
            ):
                raise _bad("x-enum-aliases", where, "must map each enum value to a list of strings")
            missing = [k for k in aliases if k not in (node.get("enum") or ())]
            if missing:
                raise _bad("x-enum-aliases", where, f"names {missing} which are not in this node's enum")
        if "x-key-field" in node:
            field = node["x-key-field"]
            if not isinstance(field, str) or field not in (node.get("properties") or {}):
                raise _bad("x-key-field", where, "must name one of this item object's properties")


def _check(schema: Any) -> type[Validator]:
    import jsonschema  # the reference checker, imported on the first Schema: import stays light

    if isinstance(schema, bool):
        return jsonschema.Draft202012Validator
    if not isinstance(schema, Mapping):
        raise SchemaError(f"a schema must be a JSON object or a boolean, not {type(schema).__name__}")
    cls: type[Validator] = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except jsonschema.SchemaError as e:
        # e.path runs through the user's schema to the bad keyword's value: name that keyword
        parts = list(e.path)
        while parts and not isinstance(parts[-1], str):
            parts.pop()
        keyword = str(parts.pop()) if parts else str(e.validator)
        where = "".join(f"/{p}" for p in parts)
        raise SchemaError(
            f"invalid schema: keyword {keyword!r} at {where or '/'}: {e.message}", keyword=keyword, location=where
        ) from e
    _check_extensions(schema)
    return cls


def _load_source(source: Any) -> tuple[Any, str, type[Any] | None]:
    """(schema dict, name, pydantic model class or None) from what the caller gave."""
    if isinstance(source, type) and hasattr(source, "model_json_schema"):
        return source.model_json_schema(), source.__name__, source
    if isinstance(source, FilePath) or (isinstance(source, str) and (source.endswith(".json") or "/" in source)):
        path = FilePath(source)
        try:
            return json.loads(path.read_text(encoding="utf-8")), path.name.removesuffix(".json"), None
        except OSError as e:
            raise ConfigError(f"cannot read schema file {str(path)!r}: {e.strerror}") from e
        except json.JSONDecodeError as e:
            raise SchemaError(f"schema file {str(path)!r} is not valid JSON: {e}") from e
    if isinstance(source, str):
        path = shipped_dir() / f"{source}.schema.json"
        if not path.is_file():
            raise ConfigError(
                f"unknown schema name {source!r}; shipped schemas are {shipped_names()}; "
                "or pass a path, a dict or a pydantic model class"
            )
        return json.loads(path.read_text(encoding="utf-8")), source, None
    if isinstance(source, Mapping | bool):
        title = source.get("title") if isinstance(source, Mapping) else None
        return copy.deepcopy(source), str(title or "schema"), None
    raise ConfigError(
        f"cannot build a Schema from {type(source).__name__}; pass a shipped name like 'resume', "
        "a path to a .json file, a dict, or a pydantic BaseModel subclass"
    )


class Schema:
    """A compiled schema: the validator, `$ref` resolution and the coercion settings.

    Build from a shipped name (`Schema("resume")`), a path, a dict, or a pydantic v2
    model class (then `Result.model` is the validated instance). `canonicalizers`
    defaults to DEFAULT_CANONICALIZERS. Schemas built from names and paths are cached.
    """

    def __init__(self, source: Any, *, canonicalizers: Canonicalizers | None = None) -> None:
        if isinstance(source, Schema):
            source = source.source
        self.source: Any = source
        self.root, self.name, self.model = _load_source(source)
        validator_class = _check(self.root)
        #: The reference validator (python jsonschema); `problems` uses the fast one first.
        self.validator: Validator = validator_class(self.root)
        self._fast = compile_fast(self.root)
        self.canonicalizers = canonicalizers

    def __repr__(self) -> str:
        return f"Schema({self.name!r})"

    @property
    def title(self) -> str:
        """The schema's title, else its name."""
        return str(self.root.get("title") or self.name) if isinstance(self.root, Mapping) else self.name

    def resolve(self, node: Any) -> SchemaNode:
        """`node` with a local `$ref` followed and its sibling keywords kept.

        `True` and unknown references read as ANY, `False` as NOTHING.
        """
        if not isinstance(node, Mapping):
            return ANY if node is True or node is None else NOTHING
        if "$ref" not in node:
            return node
        return node_memo("resolve", node, lambda: self._follow(node))

    def _follow(self, node: SchemaNode) -> SchemaNode:
        resolved: SchemaNode = node
        for _ in range(32):
            if "$ref" not in resolved:
                break
            target = self._lookup(resolved["$ref"])
            resolved = {**target, **{k: v for k, v in resolved.items() if k != "$ref"}}
        return resolved

    def _lookup(self, ref: Any) -> SchemaNode:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node: Any = self.root
        for token in ref[1:].split("/")[1:]:
            part = token.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else {}

    def problems(self, value: Any) -> list[Problem]:
        """Every keyword `value` fails against the schema; [] when it is valid."""
        return problems(self._fast, self.validator, value)

    @functools.cached_property
    def settled_validator(self) -> Any:
        """jsonschema-rs for the settled schema (`_settled_schema`), or None; built on first use."""
        from ._settled_schema import compile_settled

        return compile_settled(self.root, self.resolve)

    @functools.cached_property
    def canonicalizer_names(self) -> frozenset[str]:
        """Every `x-canonical` name the schema uses."""
        return frozenset(n["x-canonical"] for n, _ in _walk(self.root) if "x-canonical" in n)


@functools.lru_cache(maxsize=256)
def _cached(source: str | type[Any]) -> Schema:
    return Schema(source)


def as_schema(schema: Any) -> Schema:
    """A Schema from whatever the caller passed to normalize (cached where hashable)."""
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, str | FilePath | type):
        return _cached(str(schema) if isinstance(schema, FilePath) else schema)
    if isinstance(schema, Mapping | bool):
        return _cached_json(json.dumps(schema, default=str))
    return Schema(schema)  # raises ConfigError naming what to pass


@functools.lru_cache(maxsize=256)
def _cached_json(text: str) -> Schema:
    return Schema(json.loads(text))
