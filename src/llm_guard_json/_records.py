"""The command line's input: model outputs read one at a time from JSONL or a text file.

A JSONL file holds one JSON object per line with the output in a string field (`output`,
else `completion`, `response` or `text`; `--field` names another). A text file is one
output. `auto` reads a file as JSONL when its name ends in .jsonl or its first non-empty
line is such an object. A bad line is reported with its number and skipped; the rest go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

FIELDS = ("output", "completion", "response", "text")


@dataclass(slots=True)
class Record:
    """One output and where it came from: its line number and its JSONL fields (none for text)."""

    number: int
    output: str
    fields: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # the field that held the output


class Reader:
    """Reads records from a text stream, counting what it read and what it had to skip."""

    def __init__(
        self,
        stream: TextIO,
        name: str,
        *,
        fmt: str = "auto",
        field: str | None = None,
        warn: Callable[[str], None] = lambda message: None,
        progress: Callable[[int], None] = lambda size: None,
    ) -> None:
        self.stream, self.name, self.fmt = stream, name, fmt
        self.names = (field,) if field else FIELDS
        self.warn, self.progress = warn, progress
        self.skipped = 0

    def __iter__(self) -> Iterator[Record]:
        lines = iter(self.stream)
        head: list[str] = []
        for line in lines:  # the first non-empty line decides the format
            head.append(line)
            if line.strip():
                break
        if not self._jsonl(head[-1] if head else ""):
            text = "".join(head) + "".join(lines)
            self.progress(len(text.encode("utf-8", "surrogatepass")))
            yield Record(1, text)
            return
        for number, line in enumerate(_chain(head, lines), 1):
            self.progress(len(line.encode("utf-8", "surrogatepass")))
            if line.strip():
                record = self._record(number, line)
                if record is not None:
                    yield record

    def _jsonl(self, first: str) -> bool:
        if self.fmt != "auto":
            return self.fmt == "jsonl"
        return self.name.endswith(".jsonl") or self._key(_object(first)) is not None

    def _key(self, obj: dict[str, Any] | None) -> str | None:
        return next((n for n in self.names if obj is not None and isinstance(obj.get(n), str)), None)

    def _record(self, number: int, line: str) -> Record | None:
        obj = _object(line)
        key = self._key(obj)
        if obj is None or key is None:
            self.skipped += 1
            why = "not a JSON object" if obj is None else f"no string field {' / '.join(self.names)}"
            self.warn(f"{self.name}:{number}: {why}; skipped")
            return None
        return Record(number, obj[key], obj, key)


def _object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest
