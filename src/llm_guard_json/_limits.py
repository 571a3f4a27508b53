"""Limits: the caps that keep normalize's work bounded whatever the output holds.

Every stage is linear in the size of its input; these caps bound the input itself. What
is cut is never silent: `limit.size`, `limit.depth` (the result is then not ok) and
`limit.candidates` deviations say so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ._errors import ConfigError


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps for one normalize call; pass `limits=Limits(max_depth=200)` to change one.

    max_chars: outputs longer than this many characters are cut (`limit.size`).
    max_depth: arrays and objects nested deeper are cut (`limit.depth`).
    max_candidates: JSON candidates tried per output; fences first, then the longest.
    pattern_timeout_s: a schema `pattern` that runs longer on one value counts as failing.
    """

    max_chars: int = 2_000_000
    max_depth: int = 100
    max_candidates: int = 16
    pattern_timeout_s: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"Limits.{f.name} must be a positive number, not {value!r}")
        if self.max_depth > 200:
            raise ConfigError("Limits.max_depth above 200 risks Python's recursion limit; use at most 200")


DEFAULT_LIMITS = Limits()
