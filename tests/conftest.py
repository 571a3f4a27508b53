"""Shared test data: the dev corpus (../shared when present, else the copy in tests/corpus)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_SHARED = HERE.parents[1] / "shared" / "corpus" / "dev.jsonl"
CORPUS_PATH = _SHARED if _SHARED.is_file() else HERE / "corpus" / "dev.jsonl"


def load_corpus() -> list[dict[str, Any]]:
    with CORPUS_PATH.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
