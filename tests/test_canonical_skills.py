"""canonicalize_skills: text and lists to a list of skill names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json._text import fold_key
from llm_guard_json.canonical import canonicalize_skills
from test_canonical_registry import FIELDS, as_text, codes, json_values, strings_in, validates

FIELD = FIELDS["skills"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("擅长Python和Java开发", ["Python", "Java"]),
        ("熟悉用户研究和数据分析", ["用户研究", "数据分析"]),
        ("熟悉Go和mysql", ["Go", "MySQL"]),
        ("python、PyTorch和Spark", ["Python", "PyTorch", "Spark"]),
        ("精通JAVA、Spring Boot和mysql", ["Java", "Spring Boot", "MySQL"]),
        ("javascript、Vue和CSS等", ["JavaScript", "Vue", "CSS"]),
        ("会C和c++编程", ["C", "C++"]),
        ("会Python", ["Python"]),
        ("会计核算、税务筹划和财务分析", ["会计核算", "税务筹划", "财务分析"]),
        ("会议组织和会展策划", ["会议组织", "会展策划"]),
        ("熟悉TCP/IP、Linux和CI/CD", ["TCP/IP", "Linux", "CI/CD"]),
        ("javascript/TypeScript", ["JavaScript", "TypeScript"]),
        ("Excel/VBA", ["Excel", "VBA"]),
        ("熟练使用Excel及PPT", ["Excel", "PPT"]),
        ("会使用Photoshop与Figma", ["Photoshop", "Figma"]),
        ("掌握Docker；了解Kubernetes", ["Docker", "Kubernetes"]),
        ("熟悉Python，精通Java", ["Python", "Java"]),
        ("熟悉Python、Java等编程语言", ["Python", "Java"]),
        ("熟练掌握mysql数据库和go语言", ["MySQL数据库", "Go语言"]),
        ("技能：SQL、Tableau", ["SQL", "Tableau"]),
        (
            "user interviews, usability testing and survey design",
            ["user interviews", "usability testing", "survey design"],
        ),
        ("go-to-market strategy and pricing", ["go-to-market strategy", "pricing"]),
        ("PLC编程", ["PLC"]),
        ("前端开发、后端开发", ["前端开发", "后端开发"]),
        ("Python、python和PYTHON", ["Python"]),
        ("参与需求评审和及时交付", ["参与需求评审", "及时交付"]),
        ('["python", "Go"]', ["Python", "Go"]),
        (["python", "JAVA", "mysql", "无"], ["Python", "Java", "MySQL"]),
        (["Python", "python"], ["Python"]),
        (["c++", "node.js", "spring boot", "PLC编程"], ["C++", "Node.js", "Spring Boot", "PLC编程"]),
        ({"编程语言": "Python、java", "工具": ["Git", "docker"]}, ["Python", "Java", "Git", "Docker"]),
        ({"语言": "Go", "数据库": "无"}, ["Go"]),
    ],
)
def test_reads(raw: Any, expected: list[str]) -> None:
    out, devs = canonicalize_skills(raw, FIELD)
    assert out == expected
    assert devs
    assert validates(out, FIELD)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (["python", "无"], ["canon.skills", "coerce.null_like"]),
        (["Go", "go"], ["coerce.duplicate"]),
        ("熟悉Go和mysql", ["canon.skills"]),
    ],
)
def test_codes(raw: Any, code: list[str]) -> None:
    assert codes(canonicalize_skills(raw, FIELD)[1]) == code


@pytest.mark.parametrize(
    "raw",
    [
        "Lean",
        "精益生产",
        ["Python", "SQL"],
        ["剧情设计", "Excel"],
        42,
        None,
        {"a": 1},
        {"a": [1]},
        {},
        [],
        "擅长",
        ["PLC编程"],
        {"语言": "无"},
    ],
)
def test_left_unchanged(raw: Any) -> None:
    """Canonical lists, one plain item (the walk wraps it), and what is not skills at all."""
    assert canonicalize_skills(raw, FIELD) == (raw, [])


# -- properties -------------------------------------------------------------------------

_NAMES = st.sampled_from(
    ["python", "Java", "mysql", "数据分析", "用户研究", "C++", "node.js", "TCP/IP", "Spring Boot", "Excel", "go语言"]
)
_SEPARATORS = st.sampled_from(["、", "，", ",", "和", "及", "与", "；", " and "])
_VERBS = st.sampled_from(["", "熟悉", "擅长", "精通", "掌握", "了解", "熟练使用", "会使用", "会"])
_TAILS = st.sampled_from(["", "等", "开发", "编程", "等等"])


@st.composite
def skills_text(draw: st.DrawFn) -> str:
    names = draw(st.lists(_NAMES, min_size=1, max_size=4))
    text = names[0]
    for name in names[1:]:
        text += draw(_SEPARATORS) + name
    return draw(_VERBS) + text + draw(_TAILS)


def _folded(text: str) -> str:
    return fold_key(text).replace(".", "")


@given(json_values | skills_text())
def test_canonical_output_is_a_fixed_point(raw: Any) -> None:
    out, _ = canonicalize_skills(raw, FIELD)
    assert canonicalize_skills(out, FIELD) == (out, [])


@given(skills_text())
def test_output_validates_and_invents_nothing(raw: str) -> None:
    out, devs = canonicalize_skills(raw, FIELD)
    if devs:
        assert validates(out, FIELD)
    for s in strings_in(out):  # known names change only case, spaces and dots
        assert _folded(s) in _folded(as_text(raw))


@given(json_values)
def test_any_json_is_safe(raw: Any) -> None:
    out, devs = canonicalize_skills(raw, FIELD)
    if not devs:
        assert out == raw
    for s in strings_in(out):
        assert _folded(s) in _folded(as_text(raw))
