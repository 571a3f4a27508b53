"""canonicalize_duration: text and objects to {value, unit}."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json._numbers import chinese_numeral, scan_numbers
from llm_guard_json.canonical import canonicalize_duration
from test_canonical_registry import FIELDS, codes, field_for, json_values, strings_in, validates

FIELD = FIELDS["duration"]
UNITS = {"分钟", "小时", "天", "周", "月", "年"}
RANGE = re.compile(r"^\d+(?:\.\d+)?-\d+(?:\.\d+)?$")


def dur(value: float | str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3月", dur(3, "月")),
        ("3个月", dur(3, "月")),
        ("2年", dur(2, "年")),
        ("2-3小时", dur("2-3", "小时")),
        ("2～3天", dur("2-3", "天")),
        ("2~3天", dur("2-3", "天")),
        ("2到3周", dur("2-3", "周")),
        ("两到三天", dur("2-3", "天")),
        ("2天-3天", dur("2-3", "天")),
        ("5-10分钟", dur("5-10", "分钟")),
        ("两三天", dur("2-3", "天")),
        ("三四个月", dur("3-4", "月")),
        ("三天", dur(3, "天")),
        ("十二年", dur(12, "年")),
        ("一个月", dur(1, "月")),
        ("两周", dur(2, "周")),
        ("2个星期", dur(2, "周")),
        ("3日", dur(3, "天")),
        ("１０分钟", dur(10, "分钟")),
        ("0.5小时", dur(0.5, "小时")),
        ("半年", dur(0.5, "年")),
        ("半个月", dur(0.5, "月")),
        ("一年半", dur(1.5, "年")),
        ("两个半月", dur(2.5, "月")),
        ("3个多月", dur(3, "月")),
        ("3月余", dur(3, "月")),
        ("约2周", dur(2, "周")),
        ("持续10分钟左右", dur(10, "分钟")),
        ("3 days", dur(3, "天")),
        ("2-3 hours", dur("2-3", "小时")),
        ("1 week", dur(1, "周")),
        ("10 mins", dur(10, "分钟")),
        ("1.5h", dur(1.5, "小时")),
        (["3天"], dur(3, "天")),
        ({"value": "2～3", "unit": "小时"}, dur("2-3", "小时")),
        ({"value": "3", "unit": "天"}, dur(3, "天")),
        ({"value": "三", "unit": "周"}, dur(3, "周")),
        ({"value": "3个月"}, dur(3, "月")),
        ({"数值": 3, "单位": "天"}, dur(3, "天")),
    ],
)
def test_reads(raw: Any, expected: dict[str, Any]) -> None:
    out, devs = canonicalize_duration(raw, FIELD)
    assert out == expected
    assert "canon.duration" in codes(devs)
    assert validates(out, FIELD)


@pytest.mark.parametrize(
    "raw",
    [
        "好几个月",  # no amount: clarification 1
        "数天",
        "几年",
        "十几年",
        "很久",
        "3",  # no unit
        3,
        "3天前",  # a point in time, not a length
        "3-2天",
        "3米",
        {"value": 6, "unit": "个月"},  # the walk maps unit aliases (rule 9)
        {"value": 2, "unit": "weeks"},
        {"value": "2-3", "unit": "小时"},
        {"value": 3},
        dur(3, "天"),
        None,
        [],
    ],
)
def test_refuses_or_leaves_unchanged(raw: Any) -> None:
    assert canonicalize_duration(raw, FIELD) == (raw, [])


def test_units_come_from_the_schema() -> None:
    """Every duration field of the medical schema reads the same, through its `$ref`."""
    field = field_for("medical_record", "past_medical_history", "conditions")
    items = field.resolve(field.schema["items"])
    sub = field.resolve(items["properties"]["duration"])
    branch = next(field.resolve(b) for b in sub["anyOf"] if "x-canonical" in field.resolve(b))
    condition = type(field)(branch, "duration", field.resolve)
    assert canonicalize_duration("15年", condition)[0] == dur(15, "年")


# -- properties -------------------------------------------------------------------------

_AMOUNTS = st.sampled_from(["3", "三", "12", "十二", "1.5", "2-3", "2～3", "两到三", "两三", "半"])
_UNIT_WORDS = st.sampled_from(["分钟", "小时", "天", "日", "周", "星期", "月", "个月", "年", " days", " hours", "h"])


def _numbers_in(text: str) -> set[float]:
    """Numbers the text spells: as the shared reader finds them, and each Chinese digit alone."""
    found: set[float] = {n.value for n in scan_numbers(text)}
    return found | {v for c in text if (v := chinese_numeral(c)) is not None}


@given(_AMOUNTS, _UNIT_WORDS)
def test_output_validates_and_invents_nothing(amount: str, unit: str) -> None:
    raw = amount + unit
    out, devs = canonicalize_duration(raw, FIELD)
    if not devs:
        assert out == raw
        return
    assert validates(out, FIELD)
    for s in strings_in(out):  # a unit the schema names, or a range of numbers the text spells
        assert s in UNITS or (RANGE.match(s) and {float(n) for n in s.split("-")} <= _numbers_in(raw))


@given(json_values | st.builds(str.__add__, _AMOUNTS, _UNIT_WORDS))
def test_canonical_output_is_a_fixed_point(raw: Any) -> None:
    out, devs = canonicalize_duration(raw, FIELD)
    assert canonicalize_duration(out, FIELD) == (out, [])
    if not devs:
        assert out == raw
