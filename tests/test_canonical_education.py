"""canonicalize_education: text, objects, keyed objects and lists to degree/school/major/year items."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json.canonical import canonicalize_education
from test_canonical_registry import FIELDS, as_text, codes, json_values, strings_in, validates

FIELD = FIELDS["education"]
DEGREES = {"大专", "本科", "硕士", "博士"}


def item(
    degree: str | None = None, school: str | None = None, major: str | None = None, year: int | None = None
) -> dict[str, Any]:
    values = {"degree": degree, "school": school, "major": major, "graduation_year": year}
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2010年毕业于清华大学计算机系", [item(None, "清华大学", "计算机", 2010)]),
        (
            "本科毕业于北京大学工商管理专业，研究生毕业于复旦大学",
            [item("本科", "北京大学", "工商管理"), item("硕士", "复旦大学")],
        ),
        (
            {"本科": "北京大学工商管理专业", "研究生": "复旦大学"},
            [item("本科", "北京大学", "工商管理"), item("硕士", "复旦大学")],
        ),
        ("本科 北京大学工商管理专业", [item("本科", "北京大学", "工商管理")]),
        ("2017年本科毕业于江西财经大学会计学专业", [item("本科", "江西财经大学", "会计学", 2017)]),
        ("二〇一九年毕业于浙江大学", [item(None, "浙江大学", None, 2019)]),
        ("2019年硕士毕业于中国科学院大学计算机技术专业", [item("硕士", "中国科学院大学", "计算机技术", 2019)]),
        ("专科毕业于广东机电职业技术学院", [item("大专", "广东机电职业技术学院")]),
        ("博士研究生毕业于中国科学院大学", [item("博士", "中国科学院大学")]),
        ("硕士研究生毕业于复旦大学", [item("硕士", "复旦大学")]),
        ("东南大学", [item(None, "东南大学")]),
        ("北京大学本科", [item("本科", "北京大学")]),
        ("北京大学（985）计算机专业本科", [item("本科", "北京大学", "计算机")]),
        ("北京大学计算机学院", [item(None, "北京大学计算机学院")]),
        ("中国青年政治学院社会工作专业", [item(None, "中国青年政治学院", "社会工作")]),
        ("毕业院校：北京大学", [item(None, "北京大学")]),
        ("北京大学，本科，2015年毕业", [item("本科", "北京大学", None, 2015)]),
        ("本科，北京大学，计算机专业", [item("本科", "北京大学", "计算机")]),
        ("2012年入学北京大学", [item(None, "北京大学")]),  # a year not beside 毕业 is no graduation year
        ("北京大学、清华大学", [item(None, "北京大学"), item(None, "清华大学")]),
        ("本科和硕士均毕业于北京大学", [item("本科", "北京大学"), item("硕士", "北京大学")]),
        ("MBA, Harvard Business School", [item("硕士", "Harvard Business School")]),
        ("Ph.D., Massachusetts Institute of Technology", [item("博士", "Massachusetts Institute of Technology")]),
        ("MS in Statistics from Columbia University", [item("硕士", "Columbia University", "Statistics")]),
        (
            "Graduated from University of Toronto in 2015 with a BSc",
            [item("本科", "University of Toronto", None, 2015)],
        ),
        (
            "Master of Science in Computer Science, Stanford University",
            [item("硕士", "Stanford University", "Computer Science")],
        ),
        (
            ["本科毕业于南京大学汉语言文学专业", "硕士毕业于北京师范大学"],
            [item("本科", "南京大学", "汉语言文学"), item("硕士", "北京师范大学")],
        ),
        ({"学历": "本科毕业于北京大学"}, [item("本科", "北京大学")]),
        ([{"本科": "北京大学"}], [item("本科", "北京大学")]),
        ('["2010年毕业于清华大学计算机系"]', [item(None, "清华大学", "计算机", 2010)]),
    ],
)
def test_reads_text(raw: Any, expected: list[dict[str, Any]]) -> None:
    out, devs = canonicalize_education(raw, FIELD)
    assert out == expected
    assert "canon.education" in codes(devs)
    assert validates(out, FIELD)


def test_keyed_object_values_take_the_key_as_degree() -> None:
    raw = {
        "Bachelor": {"school": "Heidelberg University", "major": "Chemistry", "year": 2011},
        "清华大学": {"major": "物理"},
    }
    out, devs = canonicalize_education(raw, FIELD)
    assert out == [
        {"degree": "本科", "school": "Heidelberg University", "major": "Chemistry", "year": 2011},
        {"school": "清华大学", "major": "物理"},
    ]
    assert [d.path for d in devs] == [(0,), (1,)]


def test_a_readable_entry_beside_an_unreadable_one_is_kept() -> None:
    out, _ = canonicalize_education(["本科毕业于北京大学", "本科"], FIELD)
    assert out == [item("本科", "北京大学"), "本科"]  # the walk removes "本科" and reports it


@pytest.mark.parametrize(
    "raw",
    [
        "本科",  # no school: clarification 1
        "某某培训机构",
        "北京大学清华大学",  # two schools, no separator to trust
        "毕业于北京大学清华大学计算机系",
        "本科北京大学硕士清华大学",
        "北京大学和清华大学",
        "北京电影学院北京大学",
        "本科毕业于北京大学，研究生毕业于复旦大学清华大学",  # one ambiguous clause refuses the text
        {"school": "山东大学", "major": "物流管理", "degree": "学士"},  # an item: the walk's
        {"学校": "山东大学", "专业": "物流管理", "学位": "学士", "毕业时间": "2007年"},
        [{"degree": "MBA", "school": "Seoul National University"}],
        {"本科": "某校"},
        [item("本科", "北京大学", "工商管理")],
        2010,
        None,
        True,
        [],
    ],
)
def test_refuses_or_leaves_unchanged(raw: Any) -> None:
    assert canonicalize_education(raw, FIELD) == (raw, [])


# -- properties -------------------------------------------------------------------------

_SCHOOLS = st.sampled_from(["北京大学", "复旦大学", "中国科学院大学", "广东机电职业技术学院", "Columbia University"])
_MAJORS = st.sampled_from(["", "计算机系", "工商管理专业", "软件工程专业", "数学"])
_DEGREE_WORDS = st.sampled_from(["", "本科", "硕士", "研究生", "博士研究生", "专科", "MBA", "学士"])
_YEARS = st.sampled_from(["", "2010年", "2019年", "二〇一九年"])


@st.composite
def education_text(draw: st.DrawFn) -> str:
    clauses = []
    for _ in range(draw(st.integers(1, 3))):
        school, major = draw(_SCHOOLS), draw(_MAJORS)
        clause = f"{draw(_YEARS)}{draw(_DEGREE_WORDS)}毕业于{school}{major if school.isascii() is False else ''}"
        clauses.append(clause)
    return "，".join(clauses)


@given(json_values | education_text())
def test_canonical_output_is_a_fixed_point(raw: Any) -> None:
    out, _ = canonicalize_education(raw, FIELD)
    assert canonicalize_education(out, FIELD) == (out, [])


@given(education_text())
def test_output_validates_and_invents_nothing(raw: str) -> None:
    out, devs = canonicalize_education(raw, FIELD)
    assert devs  # every generated text names a school
    assert validates(out, FIELD)
    for s in strings_in(out):
        assert s in DEGREES or s in raw


@given(json_values)
def test_any_json_is_safe(raw: Any) -> None:
    out, devs = canonicalize_education(raw, FIELD)
    if not devs:
        assert out == raw
    for s in strings_in(out):
        assert s in DEGREES or s in as_text(raw)
