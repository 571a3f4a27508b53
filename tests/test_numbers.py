"""The shared number reader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json._numbers import chinese_numeral, parse_number, read_number, read_range, scan_numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("35", 35),
        ("35岁", 35),
        ("35 周岁", 35),
        ("12年", 12),
        ("45,000", 45000),
        ("45,000元", 45000),
        ("三十五", 35),
        ("十二", 12),
        ("两", 2),
        ("三十万", 300000),
        ("两万五", 25000),
        ("三千五", 3500),
        ("一百零五", 105),
        ("二〇一九", 2019),
        ("40万", 400000),
        ("4.5k", 4500),
        ("20K", 20000),
        ("1.5w", 15000),
        ("３５", 35),
        ("２６岁", 26),
        ("35.5", 35.5),
        ("-3", -3),
        ("10 years", 10),
        ("¥3000", 3000),
        ("七十二岁", 72),
    ],
)
def test_read_number(text: str, value: float) -> None:
    assert read_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "15-25k", "30到35岁", "约35岁", "35岁左右", "万", "12年以上", "two"])
def test_read_number_refuses(text: str) -> None:
    assert read_number(text) is None


@pytest.mark.parametrize(
    ("text", "pair"), [("2-3", (2, 3)), ("2～3", (2, 3)), ("5 - 10", (5, 10)), ("30到35", (30, 35)), ("三至五", (3, 5))]
)
def test_read_range(text: str, pair: tuple[int, int]) -> None:
    assert read_range(text) == pair


def test_scan_numbers_offsets() -> None:
    spans = scan_numbers("BP 135/85mmHg")
    assert [(s.value, s.start, s.end) for s in spans] == [(135, 3, 6), (85, 7, 9)]


@given(st.integers(min_value=0, max_value=10**12))
def test_arabic_round_trip(n: int) -> None:
    assert parse_number(str(n)) == n
    assert parse_number(f"{n:,}") == n


_DIGITS = "零一二三四五六七八九"


def _section(n: int) -> str:
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            out += ("零" if zero and out else "") + _DIGITS[d] + unit
            zero = False
        else:
            zero = True
    return out


def _to_chinese(n: int) -> str:
    """A plain reference writer for 1..99999999 (every unit explicit), independent of the reader."""
    high, low = divmod(n, 10_000)
    head = _section(high) + "万" if high else ""
    return head + ("零" if high and 0 < low < 1000 else "") + (_section(low) if low else "")


@given(st.integers(min_value=1, max_value=99_999_999))
def test_chinese_numerals_agree_with_a_reference_writer(n: int) -> None:
    assert chinese_numeral(_to_chinese(n)) == n


@pytest.mark.parametrize(
    ("text", "value"), [("30 万", 300000), ("2.5 万", 25000), ("4.5 k", 4500), ("140mmHg", 140), ("140 mmHg", 140)]
)
def test_spaces_before_multipliers_and_units(text: str, value: int) -> None:
    assert read_number(text) == value
