"""canonicalize_phone_cn: a Chinese phone number as its digits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json._numbers import halfwidth
from llm_guard_json._types import SchemaNode
from llm_guard_json.canonical import canonicalize_phone_cn
from test_canonical_registry import FIELDS, codes, json_values, validates

FIELD = FIELDS["phone_cn"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-1234-5678", "13812345678"),
        ("+86 139 2345 6789", "13923456789"),
        ("+8615012345678", "15012345678"),
        ("+86-138-0000-1111", "13800001111"),
        ("0086 186 1234 5678", "18612345678"),
        ("(+86) 138 1234 5678", "13812345678"),
        ("（+86）138 1234 5678", "13812345678"),
        ("86 138 1234 5678", "13812345678"),
        ("139 2888 6666", "13928886666"),
        ("138.1234.5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("手机：138-1234-5678", "13812345678"),
        ("Mobile: +86 135 7000 8899", "13570008899"),
        (["+86 138 1234 5678"], "13812345678"),
    ],
)
def test_reads(raw: Any, expected: str) -> None:
    out, devs = canonicalize_phone_cn(raw, FIELD)
    assert out == expected
    assert "canon.phone" in codes(devs)
    assert validates(out, FIELD)


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",  # already canonical
        "138****5678",  # masked: clarification 1, for the walk to report
        "138 **** 5678",
        "010-12345678",  # a landline the field's pattern rejects: the original text is reported
        "13812345678/13912345678",  # two numbers
        "+1 415 555 0100",  # another country
        "call me",
        13812345678,  # a number: the walk's rule 8 makes it text
        None,
        {"phone": "13812345678"},
    ],
)
def test_refuses_or_leaves_unchanged(raw: Any) -> None:
    assert canonicalize_phone_cn(raw, FIELD) == (raw, [])


def test_a_field_without_pattern_takes_any_digits() -> None:
    schema: SchemaNode = {"type": "string", "x-canonical": "phone_cn"}
    out, devs = canonicalize_phone_cn("010-1234 5678", type(FIELD)(schema, None, FIELD.resolve))
    assert (out, codes(devs)) == ("01012345678", ["canon.phone"])


# -- properties -------------------------------------------------------------------------

_PREFIX = st.sampled_from(["", "+86 ", "+86-", "0086 ", "(+86)", "86 "])
_SEPARATOR = st.sampled_from(["", " ", "-", ".", "　"])


@st.composite
def phone_text(draw: st.DrawFn) -> str:
    digits = (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    )
    sep = draw(_SEPARATOR)
    return draw(_PREFIX) + digits[:3] + sep + digits[3:7] + sep + digits[7:]


@given(phone_text())
def test_output_validates_and_invents_nothing(raw: str) -> None:
    out, _ = canonicalize_phone_cn(raw, FIELD)
    assert validates(out, FIELD)
    assert out.isdigit()
    assert out == "".join(c for c in halfwidth(raw) if c.isdigit())[-11:]


@given(json_values | phone_text())
def test_canonical_output_is_a_fixed_point(raw: Any) -> None:
    out, devs = canonicalize_phone_cn(raw, FIELD)
    assert canonicalize_phone_cn(out, FIELD) == (out, [])
    if not devs:
        assert out == raw
