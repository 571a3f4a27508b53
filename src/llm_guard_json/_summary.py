"""What a run of outputs came to: counts, scores, and which deviation codes hit which fields.

`Summary` adds results one at a time in constant memory (fields are counted with array
indices folded to `*`, at most a few hundred per code); `table` renders it with rich.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._result import Result

if TYPE_CHECKING:
    from rich.table import Table

_INDEX = re.compile(r"/\d+(?=/|$)")
_FIELDS_PER_CODE = 200  # distinct fields counted per code; the rest are counted as "other"


def field_of(pointer: str) -> str:
    """A JSON Pointer with its array indices folded: /education/0/school -> /education/*/school."""
    return _INDEX.sub("/*", pointer) or "/"


@dataclass
class Summary:
    """Counts over a run of results."""

    outputs: int = 0
    ok: int = 0
    under: int = 0  # ok but scored under the run's minimum
    score_sum: float = 0.0
    skipped: int = 0  # input lines that held no output
    codes: Counter[str] = field(default_factory=Counter)  # deviations, by code
    hit: Counter[str] = field(default_factory=Counter)  # outputs with at least one, by code
    fields: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, result: Result, min_score: float | None = None) -> None:
        self.outputs += 1
        self.ok += result.ok
        self.under += result.ok and min_score is not None and result.score < min_score
        self.score_sum += result.score
        self.hit.update({d.code for d in result.deviations})
        for d in result.deviations:
            self.codes[d.code] += 1
            where = self.fields.setdefault(d.code, Counter())
            key = field_of(d.pointer)
            where[key if key in where or len(where) < _FIELDS_PER_CODE else "(other)"] += 1

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.outputs if self.outputs else 0.0

    @property
    def passed(self) -> bool:
        """Every output ok and over the minimum, and no input line skipped."""
        return self.ok == self.outputs and not self.under and not self.skipped

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        return {
            "outputs": self.outputs,
            "ok": self.ok,
            "under_min_score": self.under,
            "skipped_lines": self.skipped,
            "mean_score": round(self.mean_score, 4),
            "codes": [
                {"code": code, "count": n, "outputs": self.hit[code], "fields": dict(self.fields[code].most_common(5))}
                for code, n in self.codes.most_common(top)
            ],
        }


def table(summary: Summary, *, title: str = "llm-guard-json", top: int = 10) -> list[Table]:
    """The summary as two rich tables: the totals, then the commonest codes and their fields."""
    from rich.table import Table

    totals = Table(title=title, show_header=False, title_justify="left")
    totals.add_column("what")
    totals.add_column("value", justify="right")
    share = f" ({summary.ok / summary.outputs:.1%})" if summary.outputs else ""
    totals.add_row("outputs", f"{summary.outputs:,}")
    totals.add_row("ok", f"{summary.ok:,}{share}")
    if summary.under:
        totals.add_row("ok but under --min-score", f"{summary.under:,}")
    totals.add_row("mean score", f"{summary.mean_score:.3f}")
    if summary.skipped:
        totals.add_row("input lines skipped", f"{summary.skipped:,}")
    codes = Table(title=f"deviation codes (top {top})", title_justify="left")
    codes.add_column("code")
    codes.add_column("count", justify="right")
    codes.add_column("outputs", justify="right")
    codes.add_column("fields it hit (count)")
    for code, n in summary.codes.most_common(top):
        where = ", ".join(f"{f} ({c})" for f, c in summary.fields[code].most_common(3))
        hit = summary.hit[code]
        codes.add_row(code, f"{n:,}", f"{hit:,} ({hit / summary.outputs:.0%})", where)
    return [totals, codes] if summary.codes else [totals]
