"""Every case of the dev corpus: the exact canonical value (key order too), or not ok."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import load_corpus
from llm_guard_json import normalize

CASES = load_corpus()


def test_corpus_is_loaded() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    result = normalize(case["raw"], case["schema"])
    expected = case["expected"]
    if expected is None:
        assert not result.ok, f"should not be ok; got {result.value!r}"
        assert result.deviations, "a result that is not ok must say why"
        return
    assert result.ok, [d.as_dict() for d in result.deviations]
    assert result.value == expected
    assert result.text == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
