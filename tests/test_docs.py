"""docs/deviations.md lists every code with its default weight."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_guard_json import CODES

DOC = (Path(__file__).resolve().parents[1] / "docs" / "deviations.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted(CODES))
def test_code_is_documented_with_its_weight(code: str) -> None:
    assert f"| `{code}` | {CODES[code][0]} |" in DOC
