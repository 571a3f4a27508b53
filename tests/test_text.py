"""Text rules: null-likes, key folding, text to list."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_guard_json._text import fold_key, is_null_like, split_text


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("用户研究和数据分析", ["用户研究", "数据分析"]),
        ("文案写作、数据分析", ["文案写作", "数据分析"]),
        ("a, b; c；d，e", ["a", "b", "c", "d", "e"]),
        (
            "user interviews, usability testing and survey design",
            ["user interviews", "usability testing", "survey design"],
        ),
        ("Go以及Rust", ["Go", "Rust"]),
        ("Java及Python", ["Java", "Python"]),
        ("产品与运营", ["产品", "运营"]),
        ("参与项目管理", ["参与项目管理"]),
        ("及时沟通", ["及时沟通"]),
        ("和谐团队", ["和谐团队"]),
        ("与会人员", ["与会人员"]),
        ("TCP/IP", ["TCP/IP"]),
        ("CI/CD、Docker", ["CI/CD", "Docker"]),
        ("javascript/TypeScript", ["javascript", "TypeScript"]),
        ("Excel/VBA", ["Excel", "VBA"]),
        ("1/2", ["1/2"]),
        ("Python、Java等", ["Python", "Java"]),
        ("Python、Java等等", ["Python", "Java"]),
        ("高等数学、平等", ["高等数学", "平等"]),
        ("Python、python、PYTHON", ["Python"]),
        ("Python、无、、", ["Python"]),
        ("R&D", ["R&D"]),
    ],
)
def test_split_text(text: str, items: list[str]) -> None:
    assert split_text(text) == items


def test_keep_whole_terms_from_the_schema() -> None:
    assert split_text("Excel/VBA、SAP/ABAP", keep_whole=["SAP/ABAP"]) == ["Excel", "VBA", "SAP/ABAP"]


@given(st.text(max_size=200))
def test_split_items_are_trimmed_nonempty_unique_and_from_the_input(text: str) -> None:
    items = split_text(text)
    assert all(item and item == item.strip() and item in text for item in items)
    assert len({i.casefold() for i in items}) == len(items)


@pytest.mark.parametrize("value", [None, "", " ", "无", "暂无", "未知", "不详", "未提及", "N/A", "null", "None", "-"])
def test_null_likes(value: object) -> None:
    assert is_null_like(value)


@pytest.mark.parametrize("value", ["0", "无锡", "None of them", 0, False, []])
def test_not_null_likes(value: object) -> None:
    assert not is_null_like(value)


def test_fold_key() -> None:
    assert fold_key("Years Of Experience") == fold_key("years_of_experience") == fold_key("years-of-experience")
