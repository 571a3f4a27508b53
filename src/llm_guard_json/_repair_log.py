"""The repair parser's log: repairs in, deviations out.

One deviation per (code, container path), placed at the first repair of its kind there as
`line:col` (1-based) and counting the rest as "(N times)". Past 20 containers for one code, further
containers are summed into one deviation at the root, "(and in other places)", so a huge broken
document cannot give a huge report. Deviations come out in text order; one pass over the text.
"""

from __future__ import annotations

from typing import Any

from ._deviation import Deviation
from ._types import Path

_MAX_PER_CODE = 20  # containers named one by one per code; the rest are summed into one deviation


class RepairLog:
    """Repairs, one entry per (code, container path): [count, first position, what]."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.entries: dict[tuple[str, Path], list[Any]] = {}
        self.per_code: dict[str, int] = {}
        self.overflow: dict[str, list[Any]] = {}

    def add(self, code: str, path: Path, pos: int, what: str, count: int = 1) -> None:
        entry = self.entries.get((code, path))
        if entry is None and self.per_code.get(code, 0) >= _MAX_PER_CODE:
            entry = self.overflow.setdefault(code, [0, pos, what + " (and in other places)"])
        elif entry is None:
            self.per_code[code] = self.per_code.get(code, 0) + 1
            entry = self.entries[(code, path)] = [0, pos, what]
        entry[0] += count

    def merge(self, other: RepairLog) -> None:
        for (code, path), (count, pos, what) in other.entries.items():
            self.add(code, path, pos, what, count)

    def deviations(self) -> tuple[Deviation, ...]:
        rows = [(pos, code, path, count, what) for (code, path), (count, pos, what) in self.entries.items()]
        rows += [(pos, code, (), count, what) for code, (count, pos, what) in self.overflow.items()]
        rows.sort(key=lambda r: r[0])
        line, line_start, at, out = 1, 0, 0, []
        for pos, code, path, count, what in rows:  # positions ascend, so counting lines stays linear
            line += self.text.count("\n", at, pos)
            line_start = max(line_start, self.text.rfind("\n", at, pos) + 1)
            at = pos
            times = f" ({count} times)" if count > 1 else ""
            out.append(Deviation(code, path, f"{what} at {line}:{pos - line_start + 1}{times}"))
        return tuple(out)


__all__ = ["RepairLog"]
