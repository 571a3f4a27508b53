"""Limits: documented defaults, overridable per call; what is cut is a deviation, never silent."""

from __future__ import annotations

import pytest

from llm_guard_json import ConfigError, Limits, normalize


def test_defaults_are_documented_values() -> None:
    assert Limits() == Limits(max_chars=2_000_000, max_depth=100, max_candidates=16, pattern_timeout_s=0.1)


def test_size_cut_keeps_the_raw_output_and_is_not_ok() -> None:
    raw = '{"a": "' + "x" * 500 + '"}'
    result = normalize(raw, {}, limits=Limits(max_chars=100))
    assert result.raw == raw
    assert "limit.size" in result.codes and not result.ok


def test_depth_is_overridable() -> None:
    raw = "[" * 30 + "]" * 30
    assert normalize(raw, {}).ok
    cut = normalize(raw, {}, limits=Limits(max_depth=10))
    assert "limit.depth" in cut.codes and not cut.ok


def test_candidates_are_capped_with_a_deviation() -> None:
    raw = " ".join(f'{{"n": {i}}}' for i in range(10))
    result = normalize(raw, {}, limits=Limits(max_candidates=3))
    assert "limit.candidates" in result.codes
    assert result.ok


def test_catastrophic_pattern_cannot_hang_coercion_or_validation() -> None:
    schema = {"type": "object", "properties": {"s": {"type": ["string", "null"], "pattern": "^(a+)+$"}}}
    result = normalize('{"s": "' + "a" * 40 + 'b"}', schema, limits=Limits(pattern_timeout_s=0.05))
    assert result.ok and result.value == {"s": None}
    assert "lost.value" in result.codes


@pytest.mark.parametrize(
    "kwargs", [{"max_chars": 0}, {"max_depth": -1}, {"max_candidates": True}, {"max_depth": 10_000}]
)
def test_bad_limits_name_the_fix(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match="Limits"):
        Limits(**kwargs)


def test_limits_must_be_limits() -> None:
    with pytest.raises(ConfigError, match="Limits"):
        normalize("{}", {}, limits={"max_depth": 3})  # type: ignore[arg-type]
