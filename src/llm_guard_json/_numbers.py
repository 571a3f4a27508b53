"""The one number reader: Arabic and Chinese numerals, multipliers, ranges.

Grammar of one number (after full-width digits become ASCII):
  arabic   := digits with optional thousands commas and decimals   "45,000"  "4.5"
  chinese  := 零〇一二两三四五六七八九十百千万亿 in the usual way     "三十五" "两万五" "二〇一九"
  number   := (arabic | chinese) multiplier?                         "4.5万" "20K" "3千"
  multiplier := 万 w W (10^4) | k K 千 (10^3) | 百万 (10^6) | 亿 (10^8), spaces allowed before it
Colloquial tails count: 两万五 is 25000, 三千五 is 3500, 一百二 is 120, 1万5 is 15000.
Two bare Chinese digits (两三, 三四) are a rough range, not a number.
A range is two numbers joined by - ~ ～ 〜 — – 至 到: "2-3", "2～3", "30到35".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import regex

_FULLWIDTH = str.maketrans("０１２３４５６７８９．，ｋＫｗＷ－～＋", "0123456789.,kKwW-~+")
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_MULTIPLIERS = {
    "万": 10_000,
    "w": 10_000,
    "W": 10_000,
    "k": 1000,
    "K": 1000,
    "千": 1000,
    "百万": 1_000_000,
    "亿": 100_000_000,
}

_CN_CHARS = "零〇一二两三四五六七八九十百千万亿"
_NUMBER = (
    rf"(?:(?P<arabic>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?:[ \t]*(?P<mult>百万|[万wWkK千亿](?![A-Za-z]))(?:(?<=[万wWkK千])(?P<tail>\d)(?:(?<=[万wW]\d)千)?(?![\d.]))?)?"
    rf"|(?P<chinese>[{_CN_CHARS}]+))"
)
_NUMBER_RE = regex.compile(_NUMBER)
_RANGE_SEP = r"\s*(?:-|~|〜|—|–|至|到)\s*"
_RANGE_RE = regex.compile(
    rf"(?P<a>{_NUMBER.replace('?P<', '?P<a_')}){_RANGE_SEP}(?P<b>{_NUMBER.replace('?P<', '?P<b_')})"
)

#: Unit words that may follow a number read as a whole field (`35岁`, `12年`, `45,000元`).
UNITS = (
    "周岁",
    "岁",
    "年",
    "个月",
    "月",
    "周",
    "天",
    "日",
    "小时",
    "分钟",
    "元",
    "块",
    "人",
    "次",
    "个",
    "years old",
    "years",
    "year",
    "yrs",
    "yr",
    "yuan",
    "rmb",
    "cny",
    "mmhg",
    "mm hg",
    "毫米汞柱",
    "kg",
    "公斤",
    "斤",
    "cm",
    "厘米",
    "分",
    "次/分",
    "bpm",
    "%",
)
_WHOLE_RE = regex.compile(
    rf"(?P<sign>[+-])?\s*[¥￥$]?\s*(?P<num>{_NUMBER})\s*(?P<unit>{'|'.join(map(regex.escape, UNITS))})?",
    regex.IGNORECASE,
)

Number = int | float


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """A number found in text: its value and where it stood."""

    value: Number
    start: int
    end: int


def halfwidth(text: str) -> str:
    """Full-width digits, '.', ',', k/w, '-', '~' and '+' as their ASCII forms (same length)."""
    return text.translate(_FULLWIDTH)


def _whole(value: float | Decimal) -> Number | None:
    """An int when whole, else a finite float; None for what no JSON number can hold."""
    if value == int(value):
        return int(value)
    as_float = float(value)
    return as_float if math.isfinite(as_float) else None


def chinese_numeral(text: str) -> int | None:
    """Read a Chinese numeral (`三十五`, `两万五`, `二〇一九`); None if it is not one."""
    if not text or any(c not in _CN_CHARS for c in text) or text[0] in _CN_BIG:
        return None
    if all(c in _CN_DIGITS for c in text):  # digit by digit: 二〇一九
        if len(text) == 2 or (len(text) > 2 and "两" in text):
            return None  # 两三, 三四: "two or three", a rough range, not 23 or 34
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total = section = digit = 0
    last_unit = 1
    after_zero = False
    for c in text:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
            after_zero = after_zero or c in "零〇"
        elif c in _CN_UNITS:
            unit = _CN_UNITS[c]
            section += (digit or (1 if c == "十" else 0)) * unit
            if digit == 0 and c != "十":
                return None  # 百 or 千 with nothing before it
            digit, last_unit, after_zero = 0, unit, False
        else:
            big = _CN_BIG[c]
            total = (total + section + digit) * big if c == "亿" else total + (section + digit) * big
            section = digit = 0
            last_unit, after_zero = big, False
    if digit and last_unit >= 100 and not after_zero:
        digit *= last_unit // 10  # colloquial tail: 两万五, 三千五, 一百二
    return total + section + digit


def _value(m: regex.Match[str], prefix: str = "") -> Number | None:
    chinese = m.group(prefix + "chinese")
    if chinese:
        return chinese_numeral(chinese)
    # Decimal, so 4.56万 is 45600 and not 45599.99999999999
    value = Decimal(m.group(prefix + "arabic").replace(",", ""))
    mult = m.group(prefix + "mult")
    if mult:
        value *= _MULTIPLIERS[mult]
        tail = m.group(prefix + "tail")
        if tail:  # colloquial tail: 1万5 is 15000, 3k5 is 3500
            value += int(tail) * _MULTIPLIERS[mult] // 10
    return _whole(value)


def parse_number(token: str) -> Number | None:
    """Read one number token with nothing around it (`45,000`, `4.5万`, `三十五`, `２６`)."""
    m = _NUMBER_RE.fullmatch(halfwidth(token.strip()))
    return _value(m) if m else None


def scan_numbers(text: str) -> list[NumberSpan]:
    """Every number in `text`, left to right (offsets index the original text)."""
    spans = []
    for m in _NUMBER_RE.finditer(halfwidth(text)):
        value = _value(m)
        if value is not None:
            spans.append(NumberSpan(value, m.start(), m.end()))
    return spans


def read_number(text: str) -> Number | None:
    """The whole text as one number, with an optional sign, currency mark and unit word.

    `"35岁"` -> 35, `"45,000"` -> 45000, `"40万"` -> 400000, `"三十五"` -> 35. Anything
    else, two numbers included (`"15-25k"`, `"30到35岁"`), is None: no guessing.
    """
    m = _WHOLE_RE.fullmatch(halfwidth(text.strip()))
    if m is None:
        return None
    value = _value(m)
    if value is None:
        return None
    return -value if m.group("sign") == "-" else value


def read_range(text: str) -> tuple[Number, Number] | None:
    """Two numbers joined by a range mark (`2-3`, `2～3`, `30到35`) filling the whole text."""
    m = _RANGE_RE.fullmatch(halfwidth(text.strip()))
    if m is None:
        return None
    a, b = _value(m, "a_"), _value(m, "b_")
    return (a, b) if a is not None and b is not None else None
