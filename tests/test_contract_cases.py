"""Cases written from the contract (CANONICAL.md), one or more per rule and clarification; the
`rule` field names which. Each gives the exact canonical value (key order too), or not ok."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import check_case

CASES_PATH = Path(__file__).resolve().parent / "data" / "contract_cases.jsonl"
CASES = [json.loads(line) for line in CASES_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_contract_cases_are_loaded() -> None:
    assert len(CASES) >= 120
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['id']}-{c['rule']}" for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    check_case(case)
