"""Field: what a canonicalizer is told about the value it reshapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._types import SchemaNode


@dataclass(frozen=True, slots=True)
class Field:
    """The context of one field's value.

    `schema` is the field's subschema with `$ref` resolved; `key` is the key the model
    used for it (`"月薪"` for salary, say), or None for array items and the root;
    `resolve` follows `$ref` in any of its subschemas (`field.resolve(schema["items"])`).
    """

    schema: SchemaNode
    key: str | None
    resolve: Callable[[SchemaNode], SchemaNode]
