"""Type aliases shared by the stages: JSON values, paths, canonicalizers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from ._deviation import Deviation
    from ._field import Field

#: A decoded JSON value. `Any` because JSON is recursive and mypy cannot check it usefully.
JSON: TypeAlias = Any
#: A location in a JSON value: object keys and array indices, outermost first.
Path: TypeAlias = tuple[str | int, ...]
#: A JSON Schema (sub)schema as a mapping.
SchemaNode: TypeAlias = Mapping[str, Any]
#: A domain canonicalizer: the field's raw value and context in, the reshaped value and
#: what it changed (paths relative to the field) out. It returns the value unchanged, with
#: no deviations, when it cannot read it; the generic rules then decide.
Canonicalizer: TypeAlias = Callable[["JSON", "Field"], "tuple[JSON, list[Deviation]]"]
Canonicalizers: TypeAlias = Mapping[str, Canonicalizer]
