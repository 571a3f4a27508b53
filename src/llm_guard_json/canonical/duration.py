"""Durations: text -> {value, unit} (`x-canonical: duration`).

Grammar (full-width digits count, Latin case-insensitive):
  duration := [about] amount [个] [多|余] unit [tail]          "3个月" "三天" "2-3小时" "3个多月"
            | [about] amount unit 半                            "一年半" -> 1.5 年
  amount   := number | range | 半 | number [个] 半               "3" "1.5" "两" "半" "两个半"
  range    := number (- ~ ～ 〜 — – 至 到) number, the unit maybe on both sides ("2天-3天"),
              or two neighbouring Chinese digits ("两三天", "三四个月"); kept as text "a-b"
  unit     := a value or `x-enum-aliases` alias of the schema's unit enum
              (分钟 小时 天 周 月 年; 个月 星期 礼拜 day weeks h min ...), longest first
  about    := 约 大约 大概 持续 共 近 历时 病程 已;  tail := 余 多 左右 许 +
A number alone has no unit, and vague amounts (好几个月, 数天, 十几年) have no value: both
are left unchanged for the walk to report. An object keeps its keys; its `value` text is
read (`"2～3"` -> `"2-3"`, `"3"` -> 3, `"3个月"` with no unit -> value and unit).
"""

from __future__ import annotations

from collections.abc import Mapping

import regex

from .._deviation import Deviation, brief
from .._field import Field
from .._numbers import Number, halfwidth, parse_number, read_range
from .._types import JSON
from ._reading import enum_lookup, match_keys, properties, read_value

#: Used when the schema names no unit enum (the shipped schema's table).
_DEFAULT_UNITS = {
    "分钟": ("分", "min", "minute", "minutes"),
    "小时": ("h", "hour", "hours", "钟头"),
    "天": ("日", "d", "day", "days"),
    "周": ("星期", "礼拜", "week", "weeks"),
    "月": ("个月", "month", "months"),
    "年": ("year", "years"),
}
_SYNONYMS = {"value": ("数值", "值", "数量", "时长", "number", "num", "amount"), "unit": ("单位",)}
_ABOUT = regex.compile(r"^(?:大约|大概|约|持续|历时|病程|共|近|已)\s*")
_TAIL = regex.compile(r"(?:余|多|左右|许|\+)$")
_CN_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九", 1)} | {"两": 2}
_RANGE_MARK = r"\s*(?=[-~～〜—–至到])"

Amount = Number | str


def _units(field: Field) -> dict[str, str]:
    table = enum_lookup(properties(field.schema, field.resolve).get("unit", {}))
    if table:
        return table
    return {a.casefold(): canon for canon, words in _DEFAULT_UNITS.items() for a in (canon, *words)}


def read_amount(text: str) -> Amount | None:
    """A duration's value: a number (`3`, `三`, `1.5`, `半`) or a range as text `"2-3"`."""
    t = halfwidth(text).strip()
    while t[-1:] in ("个", "多", "余") and len(t) > 1:
        t = t[:-1].rstrip()
    if t == "半":
        return 0.5
    if t.endswith("半"):
        base = read_amount(t[:-1])
        return base + 0.5 if isinstance(base, int | float) else None
    n = parse_number(t)
    if n is not None:
        return n
    if len(t) == 2 and all(c in _CN_DIGITS for c in t):  # 两三天: two or three days
        a, b = _CN_DIGITS[t[0]], _CN_DIGITS[t[1]]
        return f"{a}-{b}" if b == a + 1 else None
    pair = read_range(t)
    if pair is not None and pair[0] < pair[1]:
        return f"{pair[0]}-{pair[1]}"
    return None


def read_duration(text: str, units: Mapping[str, str]) -> tuple[Amount, str] | None:
    """(value, canonical unit) from text such as `3个月` or `2-3 hours`; None if unreadable."""
    body = _ABOUT.sub("", text.strip().rstrip("。.")).strip()
    body = _TAIL.sub("", body).strip()
    if body.endswith("半") and len(body) > 1:  # 一年半: the half follows the unit
        inner = read_duration(body[:-1], units)
        if inner is None or not isinstance(inner[0], int | float):
            return None
        return inner[0] + 0.5, inner[1]
    folded = body.casefold()
    for alias in sorted(units, key=len, reverse=True):
        if alias and folded.endswith(alias) and len(folded) > len(alias):
            amount_text = body[: len(body) - len(alias)]
            amount_text = regex.sub(regex.escape(alias) + _RANGE_MARK, "", amount_text, flags=regex.IGNORECASE)
            amount = read_amount(amount_text) if amount_text.strip() else None
            return (amount, units[alias]) if amount is not None else None
    if folded.endswith("s") and len(folded) > 1:  # "10 mins": an English plural the schema lacks
        return read_duration(body[:-1], units) if body[:-1].casefold() != body.casefold() else None
    return None


def _from_object(value: Mapping[str, JSON], field: Field) -> tuple[JSON, list[Deviation]]:
    out, named = match_keys(value, properties(field.schema, field.resolve), _SYNONYMS)
    vkey, ukey = named.get("value"), named.get("unit")
    if vkey is not None and isinstance(out[vkey], str):
        amount = read_amount(out[vkey])
        whole = read_duration(out[vkey], _units(field)) if amount is None else None
        if amount is not None:
            out[vkey] = amount
        elif whole is not None and ukey is None:
            out[vkey], out["unit"] = whole
    if out == value and list(out) == list(value):
        return value, []
    return out, [Deviation("canon.duration", (), f"read {brief(value)} as a value and a unit")]


def _read(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    if isinstance(value, dict):
        return _from_object(value, field)
    if not isinstance(value, str):
        return value, []
    found = read_duration(value, _units(field))
    if found is None:
        return value, []
    out = {"value": found[0], "unit": found[1]}
    return out, [Deviation("canon.duration", (), f"read {brief(value)} as {found[0]} {found[1]}")]


def canonicalize_duration(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    """A duration such as `3个月` or `2-3小时` -> {"value": 3, "unit": "月"} / {"value": "2-3", ...}."""
    if _settled(value, field):
        return value, []
    return read_value(value, field, _read)


def _settled(value: JSON, field: Field) -> bool:
    """Every property, in order, and a number: nothing to read."""
    if not isinstance(value, dict) or isinstance(value.get("value"), bool):
        return False
    return isinstance(value.get("value"), int | float) and list(value) == list(properties(field.schema, field.resolve))
