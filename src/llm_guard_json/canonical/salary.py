"""Salary: text or a number -> {amount, period, currency} (`x-canonical: salary`).

Text grammar (full-width digits count, Latin case-insensitive):
  salary  := words* amount words*, where the words are
  period  := month: 月薪 月收入 月入 每月 每个月 /月 per month a month monthly /mo /month
             year:  年薪 年收入 年入 每年 /年 per year a year per annum annual annually yearly /yr /year
  CNY     := 人民币 RMB CNY yuan 元 块 ¥ ￥    filler := 税前 税后 薪资 薪水 工资 收入 待遇 salary
             约 大约 左右 : ： and brackets
  amount  := one number of the shared reader: 45000, 45,000, 4.5万, 20K, 三十万, 两万五, 1万5
The period comes from the text, else from the field's key (月薪, 年薪, monthly_salary, ...)
(clarification 6). Left unchanged, for the walk to report: no amount (面议), no period
(`20K` under `salary`), a range (15-25k), both periods, another currency ($, 美元, HKD, ...)
or an hourly/daily/weekly rate. A bare number takes the period from the key.
An object keeps its keys, with `金额`/`周期`/`币种` and `{"月薪": 45000}` read as the
properties; its period words (月, monthly) and CNY words (人民币, RMB) become enum values.
"""

from __future__ import annotations

from collections.abc import Mapping

import regex

from .._deviation import Deviation, brief
from .._field import Field
from .._numbers import Number, halfwidth, parse_number, read_number
from .._types import JSON
from ._reading import enum_lookup, match_keys, properties, read_value, the_value

_BRACKETS = regex.compile(r"[()（）\[\]【】]")
_NOTE = regex.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_MONTH = regex.compile(
    r"月薪|月收入|月入|每个?月|/\s*月|per\s+month|a\s+month|monthly|/\s*mo(?:nth)?\b|\bmonth\b", regex.IGNORECASE
)
_YEAR = regex.compile(
    r"年薪|年收入|年入|每年|/\s*年|per\s+(?:year|annum)|a\s+year|annual(?:ly)?|yearly|/\s*y(?:ea)?r\b|\byear\b",
    regex.IGNORECASE,
)
_CNY = regex.compile(r"人民币|\bRMB\b|\bCNY\b|\byuan\b|元|块|[¥￥]", regex.IGNORECASE)
_FILLER = regex.compile(r"税前|税后|薪资|薪水|工资|收入|待遇|\bsalary\b|大约|约|左右|[:：]", regex.IGNORECASE)
_SYNONYMS = {
    "amount": ("金额", "数额", "数值", "薪资", "薪水", "工资", "value", "salary"),
    "period": ("周期", "计薪周期", "发放周期", "per"),
    "currency": ("币种", "货币", "币别"),
}
_KINDS = ("month", "year")


def periods_in(text: str) -> set[str]:
    """The periods the text names: {"month"}, {"year"}, none, or both (then it is unreadable)."""
    return {kind for kind, rx in zip(_KINDS, (_MONTH, _YEAR), strict=True) if rx.search(text)}


def period_of(text: str) -> str | None:
    """ "month" or "year" when the text names exactly one period; None otherwise."""
    found = periods_in(text)
    return found.pop() if len(found) == 1 else None


def _period_word(word: str) -> str | None:
    """The period a lone word names: 月, 每月, monthly, mo -> month; 年, annual -> year."""
    w = word.strip().casefold()
    if w in ("月", "个月", "月份", "mo", "month", "mon"):
        return "month"
    if w in ("年", "年度", "yr", "year", "p.a."):
        return "year"
    whole_word = _MONTH.sub("", _YEAR.sub("", w)).strip() == ""
    return period_of(w) if whole_word else None


def read_salary(text: str) -> tuple[Number, str | None] | None:
    """(amount, period or None) from salary text; None where there is not exactly one amount
    or where the text names both periods."""
    body = halfwidth(text)
    if len(periods_in(body)) > 1:
        return None
    rest = _FILLER.sub(" ", _CNY.sub(" ", _YEAR.sub(" ", _MONTH.sub(" ", body))))
    rest = _BRACKETS.sub(" ", rest)  # 45000元（税前）: brackets left around removed words
    amount = parse_number(rest.strip())
    if amount is None:
        return None
    return amount, period_of(body)


def _enum_for(kind: str, node: Mapping[str, JSON]) -> str:
    """The schema's enum value for a period kind (`month`, or a user schema's `月`)."""
    for value in node.get("enum") or ():
        if isinstance(value, str) and (value == kind or _period_word(value) == kind):
            return value
    return kind


def _shape(amount: Number, kind: str, field: Field) -> dict[str, JSON]:
    props = properties(field.schema, field.resolve)
    period = _enum_for(kind, props.get("period", {}))
    return {"amount": amount, "period": period, "currency": the_value(props.get("currency", {}), "CNY")}


def _key_period(field: Field) -> str | None:
    return period_of(field.key.replace("_", " ").replace("-", " ")) if field.key else None


def _from_text(text: str, field: Field) -> tuple[JSON, list[Deviation]]:
    found = read_salary(text) or read_salary(_NOTE.sub(" ", text))  # 30万/年（含奖金）: a note aside
    kind = (found[1] or _key_period(field)) if found else None
    if found is None or kind is None:
        return text, []
    out = _shape(found[0], kind, field)
    return out, [Deviation("canon.salary", (), f"read {brief(text)} as {found[0]} a {kind}")]


def _from_number(value: Number, field: Field) -> tuple[JSON, list[Deviation]]:
    kind = _key_period(field)
    if kind is None or value < 0:
        return value, []
    out = _shape(value, kind, field)
    return out, [Deviation("canon.salary", (), f"{brief(value)} under the key {brief(field.key)}: a {kind}")]


def _amount_from_key(out: dict[str, JSON], props: Mapping[str, JSON]) -> str | None:
    """`{"月薪": 45000}`: a key naming a period holds the amount; the period it names."""
    for key in list(out):
        kind = period_of(key) if key not in props else None
        val = out[key]
        readable = isinstance(val, int | float) and not isinstance(val, bool)
        if kind and (readable or (isinstance(val, str) and read_salary(val) is not None)):
            out["amount"] = out.pop(key)
            return kind
    return None


def _text_amount(out: dict[str, JSON], key: str) -> str | None:
    """`{"amount": "4.5万/月"}`: the number of an amount text the walk could not read, and its period."""
    text = out[key]
    if not isinstance(text, str) or read_number(text) is not None:
        return None  # plain numbers in text are the walk's (rule 5)
    found = read_salary(text)
    if found is None:
        return None
    out[key] = found[0]
    return found[1]


def _enum_word(out: dict[str, JSON], key: str | None, node: Mapping[str, JSON], word_kind: str | None) -> None:
    if key is None or not isinstance(out.get(key), str) or word_kind is None:
        return
    if out[key].strip().casefold() not in enum_lookup(node):
        out[key] = _enum_for(word_kind, node) if word_kind in _KINDS else the_value(node, "CNY")


def _from_object(value: Mapping[str, JSON], field: Field) -> tuple[JSON, list[Deviation]]:
    props = properties(field.schema, field.resolve)
    out, named = match_keys(value, props, _SYNONYMS)
    kind = None
    if "amount" not in named and (kind := _amount_from_key(out, props)):
        named["amount"] = "amount"
    if "amount" in named:
        kind = _text_amount(out, named["amount"]) or kind
    if kind and "period" not in named:
        out["period"] = _enum_for(kind, props.get("period", {}))
    pkey, ckey = named.get("period"), named.get("currency")
    period_text = out.get(pkey) if pkey else None
    _enum_word(out, pkey, props.get("period", {}), _period_word(period_text) if isinstance(period_text, str) else None)
    currency_text = out.get(ckey) if ckey else None
    is_cny = isinstance(currency_text, str) and _CNY.fullmatch(currency_text.strip()) is not None
    _enum_word(out, ckey, props.get("currency", {}), "CNY" if is_cny else None)
    if out == value and list(out) == list(value):
        return value, []
    return out, [Deviation("canon.salary", (), f"read {brief(value)} as amount, period and currency")]


def _read(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    if isinstance(value, str):
        return _from_text(value, field)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_number(value, field)
    if isinstance(value, dict):
        return _from_object(value, field)
    return value, []


def _settled(value: JSON, field: Field) -> bool:
    """Already canonical: every property, in order, a numeric amount and exact enum words."""
    if not isinstance(value, dict) or isinstance(value.get("amount"), str):
        return False
    props = properties(field.schema, field.resolve)
    if list(value) != list(props):
        return False
    return all(not isinstance(v, str) or v in (props[k].get("enum") or ()) for k, v in value.items())


def canonicalize_salary(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    """Salary text such as `年薪40万` -> {"amount": 400000, "period": "year", "currency": "CNY"}."""
    if _settled(value, field):
        return value, []
    return read_value(value, field, _read)
