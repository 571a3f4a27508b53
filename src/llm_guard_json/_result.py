"""Result: what normalize returns for one model output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._deviation import Deviation
from ._errors import ConfigError, OutputRejected
from ._types import JSON

if TYPE_CHECKING:
    from ._schema import Schema


def canonical_text(value: JSON) -> str:
    """The canonical text of a value: compact, `ensure_ascii=False`, keys as they stand."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Result:
    """One output, normalized.

    `value` is the canonical value (None when no JSON was found); `ok` says it validates;
    `deviations` lists every change and problem; `score` is 1.0 only when nothing
    deviated; `text` is the canonical JSON text (None when no JSON was found).
    """

    raw: str
    value: JSON
    ok: bool
    deviations: tuple[Deviation, ...]
    score: float
    schema: Schema | None = field(default=None, repr=False, compare=False)
    found: bool = field(default=True, repr=False)
    """False when the output held no JSON value at all (then `value` and `text` are None)."""
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def text(self) -> str | None:
        """The canonical JSON text, written on first use (None when no JSON was found)."""
        if self._text is None and self.found:
            object.__setattr__(self, "_text", canonical_text(self.value))
        return self._text

    @property
    def codes(self) -> list[str]:
        """The deviation codes, in order (handy in assertions)."""
        return [d.code for d in self.deviations]

    @property
    def model(self) -> Any:
        """The validated pydantic model instance, for a Schema built from a model class."""
        model_class = self.schema.model if self.schema is not None else None
        if model_class is None:
            raise ConfigError("Result.model needs a Schema built from a pydantic model class")
        if not self.ok:
            raise OutputRejected("the output is not valid, so there is no model instance", self)
        return model_class.model_validate(self.value)

    def raise_for_deviations(self, *, allow: Iterable[str] = ()) -> Result:
        """Raise OutputRejected unless ok with no deviations beyond the `allow`ed codes."""
        allowed = set(allow)
        bad = [d for d in self.deviations if d.code not in allowed]
        if not self.ok or bad:
            lines = "; ".join(f"{d.code} at {d.pointer or '/'}: {d.detail}" for d in bad[:10])
            raise OutputRejected(f"output {'not valid' if not self.ok else 'deviated'}: {lines}", self)
        return self

    def as_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready form (the CLI's and the feedback store's)."""
        return {
            "value": self.value,
            "ok": self.ok,
            "score": self.score,
            "text": self.text,
            "deviations": [d.as_dict() for d in self.deviations],
        }
