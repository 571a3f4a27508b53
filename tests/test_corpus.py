"""Every case of the dev corpus: the exact canonical value (key order too), or not ok."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import check_case, load_corpus

CASES = load_corpus()


def test_corpus_is_loaded() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    check_case(case)
