"""canonicalize_blood_pressure: a reading to {systolic, diastolic, unit}."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json.canonical import canonicalize_blood_pressure
from test_canonical_registry import FIELDS, codes, json_values, strings_in, validates

FIELD = FIELDS["blood_pressure"]


def bp(systolic: int, diastolic: int) -> dict[str, Any]:
    return {"systolic": systolic, "diastolic": diastolic, "unit": "mmHg"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("135/85mmHg", bp(135, 85)),
        ("BP 135/85", bp(135, 85)),
        ("135/85 mmHg", bp(135, 85)),
        ("BP: 120/78 mmHg", bp(120, 78)),
        ("B/P 118/76", bp(118, 76)),
        ("血压：150／90mmHg", bp(150, 90)),
        ("血压150/90毫米汞柱", bp(150, 90)),
        ("Blood Pressure: 135/85 mm Hg", bp(135, 85)),
        ("１３５/８５mmHg", bp(135, 85)),
        ("收缩压135mmHg，舒张压85mmHg", bp(135, 85)),
        ("高压140 低压90", bp(140, 90)),
        ("systolic 130, diastolic 80", bp(130, 80)),
        (["148/86mmHg"], bp(148, 86)),
        ({"value": "135/85", "unit": "mmHg"}, bp(135, 85)),
    ],
)
def test_reads(raw: Any, expected: dict[str, Any]) -> None:
    out, devs = canonicalize_blood_pressure(raw, FIELD)
    assert out == expected
    assert "canon.blood_pressure" in codes(devs)
    assert validates(out, FIELD)


@pytest.mark.parametrize(
    "raw",
    [
        "135",  # one number: clarification 1
        "135mmHg",
        "BP 135",
        "偏高",
        "正常",
        "18/11kPa",  # another unit: nothing is converted
        {"value": "18/11", "unit": "kPa"},
        "135/85/70",
        "135-85",
        "135/85mmHg，心率80次/分",
        135,
        {"systolic": 110, "diastolic": 70},  # the walk fills the unit
        {"收缩压": "100", "舒张压": "60"},  # the walk maps the aliases and reads the numbers
        bp(135, 85),
        None,
        [],
    ],
)
def test_refuses_or_leaves_unchanged(raw: Any) -> None:
    assert canonicalize_blood_pressure(raw, FIELD) == (raw, [])


# -- properties -------------------------------------------------------------------------

_FORMS = st.sampled_from(["{}/{}", "{}/{}mmHg", "BP {}/{}", "{}/{} mmHg", "血压{}/{}mmHg", "收缩压{}，舒张压{}"])


@given(_FORMS, st.integers(60, 250), st.integers(30, 150))
def test_output_validates_and_invents_nothing(form: str, systolic: int, diastolic: int) -> None:
    out, _ = canonicalize_blood_pressure(form.format(systolic, diastolic), FIELD)
    assert out == bp(systolic, diastolic)
    assert validates(out, FIELD)
    assert set(strings_in(out)) == {"mmHg"}


@given(json_values | st.builds("{}/{}".format, st.integers(0, 999), st.integers(0, 999)))
def test_canonical_output_is_a_fixed_point(raw: Any) -> None:
    out, devs = canonicalize_blood_pressure(raw, FIELD)
    assert canonicalize_blood_pressure(out, FIELD) == (out, [])
    if not devs:
        assert out == raw
