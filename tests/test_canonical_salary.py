"""canonicalize_salary: text, numbers and objects to {amount, period, currency}."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json.canonical import canonicalize_salary
from test_canonical_registry import FIELDS, codes, json_values, strings_in, validates, with_key

FIELD = FIELDS["salary"]
ENUM_VALUES = {"month", "year", "CNY"}


def salary(amount: float, period: str) -> dict[str, Any]:
    return {"amount": amount, "period": period, "currency": "CNY"}


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ("月薪45000元", "薪资", salary(45000, "month")),
        ("45000元/月", "salary", salary(45000, "month")),
        ("4.5万/月", None, salary(45000, "month")),
        ("4.56万/月", None, salary(45600, "month")),
        ("年薪40万", "薪资", salary(400000, "year")),
        ("年薪三十万", "薪资", salary(300000, "year")),
        ("年薪120万", None, salary(1200000, "year")),
        ("月薪1万5", None, salary(15000, "month")),
        ("每月20k", None, salary(20000, "month")),
        ("20K per month", None, salary(20000, "month")),
        ("45,000 RMB monthly", None, salary(45000, "month")),
        ("annual salary 400k", None, salary(400000, "year")),
        ("税前月薪：2万左右", None, salary(20000, "month")),
        ("¥30000/月", None, salary(30000, "month")),
        ("月薪45000元（税前）", None, salary(45000, "month")),
        ("两万五", "月薪", salary(25000, "month")),
        ("35万", "年薪", salary(350000, "year")),
        ("20k", "monthly_salary", salary(20000, "month")),
        ("年薪40万", "月薪", salary(400000, "year")),  # the text wins over the key
        (800000, "年薪", salary(800000, "year")),
        (18000.5, "月薪", salary(18000.5, "month")),
        (["月薪45000元"], None, salary(45000, "month")),
    ],
)
def test_reads(raw: Any, key: str | None, expected: dict[str, Any]) -> None:
    out, devs = canonicalize_salary(raw, with_key(FIELD, key))
    assert out == expected
    assert "canon.salary" in codes(devs)
    assert validates(out, FIELD)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"amount": 20000, "period": "monthly", "currency": "RMB"}, salary(20000, "month")),
        ({"amount": 20000, "period": "年"}, {"amount": 20000, "period": "year"}),
        ({"金额": "2万", "周期": "月", "币种": "人民币"}, {"amount": "2万", "period": "month", "currency": "CNY"}),
        ({"月薪": 45000}, {"amount": 45000, "period": "month"}),
        ({"amount": "4.5万/月"}, {"amount": 45000, "period": "month"}),
    ],
)
def test_objects(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    """Period and CNY words and domain key synonyms; numbers in text stay the walk's (rule 5)."""
    out, devs = canonicalize_salary(raw, FIELD)
    assert out == expected
    assert codes(devs) == ["canon.salary"]


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("面议", "薪资"),  # no amount
        ("20K", "Salary"),  # no period in the text or the key
        ("45000", "薪资"),
        (45000, "薪资"),
        ("15-25k/月", "薪资"),  # a range where one amount is wanted
        ("月薪15k到25k", None),
        ("年薪40万，月薪3万", None),  # both periods
        ("$5000/月", None),  # another currency: nothing is converted
        ("5000美元/月", None),
        ("HKD 30000 per month", None),
        ("时薪50元", None),  # an hourly rate is neither month nor year
        ("200元/天", None),
        ("月薪", None),
        (-5000, "月薪"),
        (True, "月薪"),
        ({"amount": 45000, "period": "month", "currency": "CNY"}, None),
        ({"amount": "65,000", "period": "Month"}, None),  # the walk reads these (rules 5, 9)
        (None, "月薪"),
        ([], "月薪"),
    ],
)
def test_refuses_or_leaves_unchanged(raw: Any, key: str | None) -> None:
    assert canonicalize_salary(raw, with_key(FIELD, key)) == (raw, [])


# -- properties -------------------------------------------------------------------------

_AMOUNTS = st.sampled_from(["45000", "45,000", "4.5万", "20K", "20k", "三十万", "两万五", "1万5", "3.5w"])
_PERIODS = st.sampled_from(
    [
        ("月薪{}", "month"),
        ("{}/月", "month"),
        ("每月{}", "month"),
        ("{} per month", "month"),
        ("年薪{}", "year"),
        ("{}/年", "year"),
        ("{} annual", "year"),
        ("{}", None),
    ]
)
_CURRENCY = st.sampled_from(["", "元", " RMB", "人民币"])
_KEYS = st.sampled_from([None, "薪资", "月薪", "年薪", "salary"])


@given(_AMOUNTS, _PERIODS, _CURRENCY, _KEYS)
def test_output_validates_and_invents_nothing(
    amount: str, form: tuple[str, str | None], cny: str, key: str | None
) -> None:
    template, period = form
    raw = template.format(amount + cny)
    out, devs = canonicalize_salary(raw, with_key(FIELD, key))
    expected_period = period or {"月薪": "month", "年薪": "year"}.get(key or "")
    if expected_period is None:
        assert (out, devs) == (raw, [])
        return
    assert validates(out, FIELD)
    assert out["period"] == expected_period
    assert set(strings_in(out)) <= ENUM_VALUES


@given(json_values | _AMOUNTS.map(lambda a: "月薪" + a), _KEYS)
def test_canonical_output_is_a_fixed_point(raw: Any, key: str | None) -> None:
    field = with_key(FIELD, key)
    out, _ = canonicalize_salary(raw, field)
    assert canonicalize_salary(out, field) == (out, [])


@given(json_values, _KEYS)
def test_any_json_is_safe(raw: Any, key: str | None) -> None:
    out, devs = canonicalize_salary(raw, with_key(FIELD, key))
    if not devs:
        assert out == raw
