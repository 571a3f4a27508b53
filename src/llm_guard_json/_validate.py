"""Stage: validate the coerced value with JSON Schema 2020-12; what still fails becomes deviations.

jsonschema-rs runs on the hot path: about 1 µs per resume against about 190 µs for the
pure-Python validator (benchmarks/), and its regex engine is linear, so a catastrophic
user `pattern` such as `^(a+)+$` cannot hang validation. The python `jsonschema` stays the
reference for checking schemas, and validates where jsonschema-rs cannot compile a schema
(a remote `$ref`, say) or read a value (an integer wider than 64 bits). Where the engines
differ, jsonschema-rs decides: its `pattern` follows ECMA-262, as JSON Schema specifies
(Python's `re` counts the separators U+001C to U+001F as whitespace, ECMA-262 does not).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

from ._deviation import Deviation
from ._types import JSON, Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed keyword: where in the value, which keyword, the validator's message.

    For `required`, `path` names the missing property itself.
    """

    path: Path
    keyword: str
    message: str


def compile_fast(root: Any) -> Any:
    """A jsonschema-rs validator for the schema, or None where it cannot compile it."""
    try:
        return jsonschema_rs.validator_for(root, validate_formats=False)
    except (ValueError, TypeError, jsonschema_rs.ValidationError):
        return None


def _fast_problems(fast: Any, value: JSON) -> Iterator[Problem]:
    for error in fast.iter_errors(value):
        keyword = next((p for p in reversed(error.schema_path) if isinstance(p, str)), "schema")
        path: Path = tuple(error.instance_path)
        missing = getattr(error.kind, "property", None) if keyword == "required" else None
        yield Problem(path + (missing,) if isinstance(missing, str) else path, keyword, error.message)


def _slow_problems(reference: Validator, value: JSON) -> Iterator[Problem]:
    for error in reference.iter_errors(value):
        path: Path = tuple(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            wanted = error.validator_value if isinstance(error.validator_value, list) else []
            for name in (n for n in wanted if n not in error.instance):
                yield Problem(path + (name,), "required", f"{name!r} is a required property")
        else:
            yield Problem(path, str(error.validator), error.message)


def problems(fast: Any, reference: Validator, value: JSON) -> list[Problem]:
    """Every keyword the value fails; [] when it is valid."""
    if fast is not None:
        try:
            return [] if fast.is_valid(value) else list(_fast_problems(fast, value))
        except (ValueError, TypeError, OverflowError):
            pass  # a value jsonschema-rs cannot read: ask the reference validator
    return list(_slow_problems(reference, value))


def validate(found: list[Deviation], failures: list[Problem]) -> list[Deviation]:
    """`invalid.KEYWORD` deviations for the failures no lost/missing deviation already explains."""
    covered = {d.path for d in found if d.code.startswith(("lost.", "missing."))}
    out = []
    for p in failures:
        if any(p.path[: len(c)] == c for c in covered):
            continue
        out.append(Deviation(f"invalid.{p.keyword}", p.path, p.message[:200]))
    return out
