"""Deviations: one record per change the pipeline made, the table of codes, the score.

A code is API (stable, documented in docs/deviations.md beside its default weight);
`detail` is prose and may change. Paths are tuples of parts; `pointer` is derived.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ._errors import ConfigError
from ._types import Path

#: Every built-in code: (default weight, what it means). Families (`canon.*`,
#: `invalid.*`) cover codes built from a name: a canonicalizer's or a JSON Schema keyword's.
CODES: Mapping[str, tuple[float, str]] = {
    # input and extraction
    "input.decode": (0.5, "bytes were not valid UTF-8; invalid sequences were replaced"),
    "fence": (0.05, "the JSON was inside a markdown code fence"),
    "prose": (0.1, "text before or after the JSON was removed"),
    "think": (0.05, "a <think> reasoning block was removed"),
    "candidates": (0.1, "several JSON candidates were found; the best one was chosen"),
    "no_json": (1.0, "no JSON value was found in the output"),
    "limit.size": (1.0, "the output was longer than the size limit and was cut"),
    "limit.depth": (1.0, "nesting deeper than the depth limit was cut"),
    "limit.candidates": (0.1, "more candidates than the limit; the rest were not tried"),
    # syntax repair
    "repair.fullwidth": (0.1, "full-width punctuation was used as JSON syntax"),
    "repair.trailing_comma": (0.1, "a comma before a closing bracket was removed"),
    "repair.missing_comma": (0.1, "a missing comma between members or items was added"),
    "repair.missing_colon": (0.2, "a missing colon after a key was added"),
    "repair.single_quotes": (0.1, "single-quoted strings were re-quoted"),
    "repair.unquoted_key": (0.1, "an unquoted object key was quoted"),
    "repair.unquoted_value": (0.2, "an unquoted string value was quoted"),
    "repair.comment": (0.1, "a // or /* */ or # comment was removed"),
    "repair.python_literal": (0.1, "a Python literal (True, False, None) became JSON"),
    "repair.js_literal": (0.2, "a JavaScript literal (undefined, NaN, Infinity) became null"),
    "repair.escape": (0.05, "an invalid escape or a raw control character in a string was kept as text"),
    "repair.inner_quotes": (0.1, "unescaped quotes inside a string were kept as text"),
    "repair.stray_text": (0.2, "characters that are not JSON syntax were skipped"),
    "repair.mismatched_closer": (0.2, "a closing bracket of the wrong kind was read as the right one"),
    "repair.missing_closer": (0.2, "the text ended inside a string, array or object; it was closed"),
    "repair.truncated_value": (0.3, "the last value, cut off by the end of the text, was dropped"),
    "repair.dangling_key": (0.3, "a key with no value was dropped"),
    # structure and keys
    "wrapper": (0.1, "a wrapper object around the value was removed"),
    "wrapper.list": (0.1, "a list around the wanted object was removed"),
    "key.case": (0.05, "a key matched a property only ignoring case, spaces, '_' and '-'"),
    "key.alias": (0.1, "a key was an alias of a property"),
    "key.unknown": (0.1, "a key that matches no property was dropped"),
    "key.duplicate": (0.1, "two keys named the same property; the later one was kept"),
    "key.order": (0.01, "keys were put in the schema's order"),
    "default": (0.02, "an absent property was filled with its default"),
    # coercion
    "coerce.null_like": (0.05, "a null-like text became null, [] or was removed"),
    "coerce.number_from_text": (0.1, "a number was read from text"),
    "coerce.float_to_int": (0.05, "a whole float became an integer"),
    "coerce.number_to_text": (0.05, "a number became text"),
    "coerce.bool_from_text": (0.05, "a boolean was read from text"),
    "coerce.text_to_list": (0.1, "text was split into a list"),
    "coerce.scalar_to_list": (0.05, "a single value was wrapped in a list"),
    "coerce.list_to_scalar": (0.05, "a list of one was unwrapped"),
    "coerce.object_to_list": (0.05, "one object was wrapped in a list"),
    "coerce.keyed_object": (0.1, "an object keyed by labels became a list of items"),
    "coerce.enum_case": (0.05, "an enum value matched ignoring case or spaces"),
    "coerce.enum_alias": (0.1, "an enum alias became its canonical value"),
    "coerce.json_in_string": (0.1, "a string holding JSON was decoded"),
    "coerce.strip_prefix": (0.05, "a prefix word was removed from a list item"),
    "coerce.duplicate": (0.05, "a duplicate list item was removed"),
    # domain canonicalizers (canon.NAME)
    "canon.skills": (0.1, "skills were reshaped to a list of names"),
    "canon.education": (0.1, "education was reshaped to a list of degree/school/major/year"),
    "canon.salary": (0.1, "salary was read into amount, period and currency"),
    "canon.phone": (0.1, "a phone number was reduced to its digits"),
    "canon.duration": (0.1, "a duration was read into value and unit"),
    "canon.blood_pressure": (0.1, "a blood pressure was read into systolic and diastolic"),
    # loss and validation
    "lost.value": (1.0, "a value could not be made valid and was nulled or removed"),
    "missing.required": (1.0, "a required property is absent"),
    "invalid.type": (1.0, "the value still fails the schema (invalid.KEYWORD names the keyword)"),
}

#: Default weights of whole families, for codes not listed one by one.
FAMILY_WEIGHTS: Mapping[str, float] = {"canon": 0.1, "invalid": 1.0, "lost": 1.0}
_FAMILIES = frozenset(c.partition(".")[0] for c in CODES)
#: The weight of a code nobody listed (a user canonicalizer's own code, say).
DEFAULT_WEIGHT = 0.1


def default_weight(code: str) -> float:
    """The default weight of `code`: its own entry, else its family's, else DEFAULT_WEIGHT."""
    entry = CODES.get(code)
    if entry is not None:
        return entry[0]
    return FAMILY_WEIGHTS.get(code.partition(".")[0], DEFAULT_WEIGHT)


def brief(value: Any, limit: int = 80) -> str:
    """A value as JSON text, cut to `limit` characters, for a deviation's detail."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def escape_pointer_part(part: str | int) -> str:
    """One RFC 6901 reference token."""
    return str(part).replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class Deviation:
    """One change the pipeline made, or one problem it could not fix.

    `path` is where in the canonical value (str keys, int indices); `weight` defaults to
    the code's entry in CODES.
    """

    code: str
    path: Path = ()
    detail: str = ""
    weight: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.weight < 0:
            object.__setattr__(self, "weight", default_weight(self.code))

    @property
    def pointer(self) -> str:
        """The path as an RFC 6901 JSON Pointer (`""` is the whole value)."""
        return "".join("/" + escape_pointer_part(p) for p in self.path)

    def __reduce__(self) -> tuple[type[Deviation], tuple[str, Path, str, float]]:
        # A plain constructor call: pickling a frozen slots dataclass field by field costs
        # several times more, and normalize_many sends every deviation between processes.
        return (Deviation, (self.code, self.path, self.detail, self.weight))

    def under(self, prefix: Path) -> Deviation:
        """The same deviation, its path prefixed (a caller descending adds its own part)."""
        return replace(self, path=prefix + self.path) if prefix else self

    def as_dict(self) -> dict[str, Any]:
        """The one serialized form (CLI, pytest report, feedback store, golden files)."""
        return {
            "code": self.code,
            "pointer": self.pointer,
            "path": list(self.path),
            "detail": self.detail,
            "weight": self.weight,
        }


def check_weights(weights: Mapping[str, float] | None) -> Mapping[str, float]:
    """Validate a caller's weight overrides; raise ConfigError naming the fix."""
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise ConfigError(f"weights must be a mapping of code -> weight, not {type(weights).__name__}")
    for code, w in weights.items():
        known = code in CODES or code in _FAMILIES or code.partition(".")[0] in FAMILY_WEIGHTS
        if not known:
            raise ConfigError(
                f"unknown deviation code {code!r} in weights; use one of the codes in "
                "docs/deviations.md (llm_guard_json.CODES), or a 'canon.*' code"
            )
        if isinstance(w, bool) or not isinstance(w, int | float) or not w > 0:
            raise ConfigError(f"weight for {code!r} must be a positive number, not {w!r}")
    return weights


def reweigh(deviations: Iterable[Deviation], weights: Mapping[str, float]) -> tuple[Deviation, ...]:
    """Apply weight overrides (exact code first, then its family) to each deviation."""
    if not weights:
        return tuple(deviations)
    out = []
    for d in deviations:
        w = weights.get(d.code, weights.get(d.code.partition(".")[0]))
        out.append(replace(d, weight=float(w)) if w is not None else d)
    return tuple(out)


def score(deviations: Iterable[Deviation]) -> float:
    """1 / (1 + sum of weights): 1.0 only with no deviation; every deviation lowers it."""
    return 1.0 / (1.0 + sum(d.weight for d in deviations))
