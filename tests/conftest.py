"""Shared test data: the dev corpus (../shared when present, else the copy in tests/corpus)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
_SHARED = HERE.parents[1] / "shared" / "corpus" / "dev.jsonl"
CORPUS_PATH = _SHARED if _SHARED.is_file() else HERE / "corpus" / "dev.jsonl"


#: A megabyte of text, the largest adversarial size the tests use.
MB = 1_000_000


def repeat_to(unit: str, size: int) -> str:
    """`unit` repeated to exactly `size` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def load_corpus() -> list[dict[str, Any]]:
    with CORPUS_PATH.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_case(case: dict[str, Any]) -> None:
    """A golden case: the exact canonical value and text (key order too), or not ok with a reason."""
    from llm_guard_json import normalize

    result = normalize(case["raw"], case["schema"])
    expected = case["expected"]
    if expected is None:
        assert not result.ok, f"should not be ok; got {result.value!r}"
        assert result.deviations, "a result that is not ok must say why"
        return
    assert result.ok, [d.as_dict() for d in result.deviations]
    assert result.value == expected
    assert result.text == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))


def pytest_report_header(config: Any) -> str:
    """Says where tests/test_llama_server.py finds llama-server, or that its first test builds it."""
    import llama_server

    where = llama_server.cache_dir()
    state = "cached" if llama_server.is_built() else "not built yet: the first test builds it (5 to 15 min)"
    return f"llama-server {llama_server.VERSION} (tests/test_llama_server.py, marker llama_server): {state}, {where}"
