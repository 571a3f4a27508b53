"""parse(): candidate text -> value, each repair a deviation; linear and never raising."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MB, repeat_to
from llm_guard_json._damage import Style, emit
from llm_guard_json._deviation import CODES
from llm_guard_json._errors import ConfigError
from llm_guard_json._parse import MISSING, Parsed, parse, quick, repair

R = "repair."
# (id, text, expected value, expected codes without the "repair." prefix)
CASES: list[tuple[str, str, Any, set[str]]] = [
    # valid JSON: the fast path, no deviations
    ("valid_object", '{"a": [1, 2.5, "x"], "b": null}', {"a": [1, 2.5, "x"], "b": None}, set()),
    ("valid_scalar_number", "42", 42, set()),
    ("valid_scalar_string", '"text"', "text", set()),
    ("double_encoded", '"{\\"a\\": 1, \\"b\\": [1, 2]}"', '{"a": 1, "b": [1, 2]}', set()),
    (
        "windows_path_valid_escapes",
        '{"path": "C:\\new\\table.txt", "ok": true}',
        {"path": "C:\new\table.txt", "ok": True},
        set(),
    ),  # valid JSON: read as JSON says, like every peer
    # the failure modes of other JSON repairers that this stage handles
    (
        "python_literals",
        "{'ok': True, 'missing': None, 'flag': False}",
        {"ok": True, "missing": None, "flag": False},
        {"single_quotes", "python_literal"},
    ),
    (
        "comments_all_kinds",
        '{\n  // user\n  "id": 7, /* pk */\n  "tags": ["a", "b"] # tail\n}',
        {"id": 7, "tags": ["a", "b"]},
        {"comment"},
    ),
    ("undefined_value", '{"a": 1, "b": undefined, "c": 2}', {"a": 1, "b": None, "c": 2}, {"js_literal"}),
    (
        "ellipsis_in_array",
        '{"items": [1, 2, 3, ...], "total": 10}',
        {"items": [1, 2, 3], "total": 10},
        {"stray_text", "trailing_comma"},
    ),
    ("thousands_separator", '{"price": 1,299.50, "qty": 2}', {"price": "1,299.50", "qty": 2}, {"unquoted_value"}),
    ("missing_commas_array", '[{"id": 1} {"id": 2}\n{"id": 3}]', [{"id": 1}, {"id": 2}, {"id": 3}], {"missing_comma"}),
    ("single_quote_apostrophe", "{'text': 'it's fine', 'n': 1}", {"text": "it's fine", "n": 1}, {"single_quotes"}),
    (
        "trunc_mid_string",
        '{"name": "Alice", "bio": "Works at Acme, loves hiking',
        {"name": "Alice"},
        {"truncated_value", "missing_closer"},
    ),
    ("trunc_mid_key", '{"name": "Alice", "ag', {"name": "Alice"}, {"dangling_key", "missing_closer"}),
    ("trunc_after_colon", '{"name": "Alice", "age": ', {"name": "Alice"}, {"dangling_key", "missing_closer"}),
    ("trunc_in_array", '{"tags": ["a", "b", "c', {"tags": ["a", "b"]}, {"truncated_value", "missing_closer"}),
    (
        "raw_newline_in_string",
        '{"text": "line one\nline two", "n": 1}',
        {"text": "line one\nline two", "n": 1},
        {"escape"},
    ),
    (
        "unescaped_inner_quotes",
        '{"quote": "He said "hello, world" and left", "n": 1}',
        {"quote": 'He said "hello, world" and left', "n": 1},
        {"inner_quotes"},
    ),
    (
        "invalid_escape_path",
        '{"path": "C:\\Users\\me\\docs", "n": 1}',
        {"path": "C:\\Users\\me\\docs", "n": 1},
        {"escape"},
    ),
    ("latex_backslashes", '{"f": "\\alpha + \\beta", "n": 1}', {"f": "\\alpha + \\beta", "n": 1}, {"escape"}),
    ("fw_all_syntax", "{“name”：“张伟”，“age”：35}", {"name": "张伟", "age": 35}, {"fullwidth"}),
    ("fw_colon_comma_ascii_quotes", '{"name"："张伟"，"age"：35}', {"name": "张伟", "age": 35}, {"fullwidth"}),
    (
        "fw_pretty_multiline",
        "{\n  “name”：“张伟”，\n  “city”：“北京”，\n  “tags”：[“工程师”，“经理”]\n}",
        {"name": "张伟", "city": "北京", "tags": ["工程师", "经理"]},
        {"fullwidth"},
    ),
    ("fw_colon_only", '{"name"："张伟", "age"：35}', {"name": "张伟", "age": 35}, {"fullwidth"}),
    (
        "fw_comma_only",
        '{"name": "张伟"，"age": 35，"city": "北京"}',
        {"name": "张伟", "age": 35, "city": "北京"},
        {"fullwidth"},
    ),
    ("fw_comma_in_array", '{"tags": ["工程师"，"经理"]}', {"tags": ["工程师", "经理"]}, {"fullwidth"}),
    ("fw_unquoted_keys", '{name："张伟", age：35}', {"name": "张伟", "age": 35}, {"fullwidth", "unquoted_key"}),
    (
        "fw_literal_then_comma",
        "{“ok”：true，“note”：null，“name”：“张伟”}",
        {"ok": True, "note": None, "name": "张伟"},
        {"fullwidth"},
    ),
    ("fw_braces_too", "｛“name”：“张伟”，“age”：35｝", {"name": "张伟", "age": 35}, {"fullwidth"}),
    ("fw_curly_single_quotes", "{‘name’: ‘张伟’, ‘age’: 35}", {"name": "张伟", "age": 35}, {"fullwidth"}),
    (
        "cjk_quotes_inside_value",
        '{"来源": "不仅有“咖啡、葡萄”还有百年孤独", "n": 1,}',
        {"来源": "不仅有“咖啡、葡萄”还有百年孤独", "n": 1},
        {"trailing_comma"},
    ),
    (
        "fw_punct_inside_value",
        '{"标题": "会议：周一，上午", "人数": 5,}',
        {"标题": "会议：周一，上午", "人数": 5},
        {"trailing_comma"},
    ),
    (
        "fence_json5_content",
        '\n{name: "Bob", // comment\n age: 3,}\n',
        {"name": "Bob", "age": 3},
        {"unquoted_key", "comment", "trailing_comma"},
    ),
    # the brief's cases
    ("fw_ascii_quotes_brief", '{"name"："董琳"，"age"：41}', {"name": "董琳", "age": 41}, {"fullwidth"}),
    ("fw_literals_brief", "{“ok”：true，“note”：null}", {"ok": True, "note": None}, {"fullwidth"}),
    ("fw_enumeration_comma", '["a"、"b"]', ["a", "b"], {"fullwidth"}),
    ("fw_brackets", "［1，2］", [1, 2], {"fullwidth"}),
    ("fw_corner_quotes", "{「name」: 「张伟」}", {"name": "张伟"}, {"fullwidth"}),
    (
        "unquoted_values",
        "{name: Bob Smith, city: 北京}",
        {"name": "Bob Smith", "city": "北京"},
        {"unquoted_key", "unquoted_value"},
    ),
    (
        "key_value_lines",
        "{\nname: Bob\nage: 3\n}",
        {"name": "Bob", "age": 3},
        {"unquoted_key", "unquoted_value", "missing_comma"},
    ),
    ("missing_comma_members", '{"a": 1 "b": "x"\n"c": 2}', {"a": 1, "b": "x", "c": 2}, {"missing_comma"}),
    ("missing_comma_strings", '["a" "b"]', ["a", "b"], {"missing_comma"}),
    ("missing_colon", '{"a" 1, "b" "x"}', {"a": 1, "b": "x"}, {"missing_colon"}),
    ("trailing_commas", "[1, 2,]", [1, 2], {"trailing_comma"}),
    ("js_literals", "[NaN, Infinity, -Infinity, undefined]", [None, None, None, None], {"js_literal"}),
    ("huge_float", "[1e999]", [None], {"js_literal"}),
    (
        "words_with_numbers",
        '{"age": 35岁, "date": 2024-01-01, "pay": 4.5k, "at": 10:30}',
        {"age": "35岁", "date": "2024-01-01", "pay": "4.5k", "at": "10:30"},
        {"unquoted_value"},
    ),
    (
        "literal_prefix_is_a_word",
        "{a: nullable, b: Nonesuch}",
        {"a": "nullable", "b": "Nonesuch"},
        {"unquoted_key", "unquoted_value"},
    ),
    (
        "url_value",
        "{url: http://x.com/a // c\n}",
        {"url": "http://x.com/a"},
        {"unquoted_key", "unquoted_value", "comment"},
    ),
    ("escaped_single_quote", "{'a': 'it\\'s'}", {"a": "it's"}, {"single_quotes"}),
    ("control_char", '["a\tb"]', ["a\tb"], {"escape"}),
    ("bad_unicode_escape", '["\\uZZ", 1,]', ["\\uZZ", 1], {"escape", "trailing_comma"}),
    ("surrogate_pair", '["\\ud83d\\ude00", 1,]', ["😀", 1], {"trailing_comma"}),
    ("mismatched_closer", '{"a": [1, 2}, "b": 3}', {"a": [1, 2], "b": 3}, {"mismatched_closer"}),
    ("mismatched_closer_object", '[{"a": 1], {"b": 2}]', [{"a": 1}, {"b": 2}], {"mismatched_closer"}),
    ("extra_comma", "[1,,2]", [1, 2], {"stray_text"}),
    ("ellipsis_member", '{"a": 1, ...}', {"a": 1}, {"stray_text", "trailing_comma"}),
    ("unicode_ellipsis", "[1, 2, …]", [1, 2], {"stray_text", "trailing_comma"}),
    ("value_where_key_expected", '{"a": 1, {"b": 2}}', {"a": 1}, {"stray_text"}),
    ("key_without_value", '{"a", "b": 1}', {"b": 1}, {"dangling_key"}),
    ("key_colon_without_value", '{"a": , "b": 1}', {"b": 1}, {"dangling_key"}),
    ("placeholder_object", "{placeholder}", {}, {"unquoted_key", "dangling_key"}),
    ("leading_comment", '// note\n{"a": 1}', {"a": 1}, {"comment"}),
    ("trailing_words", '{"a": 1}\nsome words', {"a": 1}, {"stray_text"}),
    ("leading_words", 'Result: {"a": 1}', {"a": 1}, {"stray_text"}),
    ("jsonl_in_one_candidate", '{"a": 1}\n{"b": 2}', {"a": 1}, {"stray_text"}),
    ("bom", '\ufeff{"a": 1}', {"a": 1}, {"stray_text"}),
    ("ideographic_space", '{"a":\u30001}', {"a": 1}, {"fullwidth"}),
    # truncation (CANONICAL.md clarification 11)
    ("trunc_number", '{"a": "x", "b": 4', {"a": "x"}, {"truncated_value", "missing_closer"}),
    (
        "trunc_closer_only",
        '{"skills": ["Hive", "Flink", "Kafka"',
        {"skills": ["Hive", "Flink", "Kafka"]},
        {"missing_closer"},
    ),
    ("trunc_whole_string", '{"email": "wang@hik', {}, {"truncated_value", "missing_closer"}),
    ("trunc_key", '{"a": 1, "b', {"a": 1}, {"dangling_key", "missing_closer"}),
    ("trunc_colon", '{"a": 1, "b": ', {"a": 1}, {"dangling_key", "missing_closer"}),
    ("trunc_key_no_colon", '{"a": 1, "b"', {"a": 1}, {"dangling_key", "missing_closer"}),
    ("trunc_array_number", "[1, 2, 3", [1, 2], {"truncated_value", "missing_closer"}),
    ("trunc_after_number_space", "[1, 2, 3 ", [1, 2, 3], {"missing_closer"}),
    ("trunc_after_comma", "[1, 2,", [1, 2], {"missing_closer"}),
    ("trunc_literal", '{"a": 1, "b": tr', {"a": 1}, {"truncated_value", "missing_closer"}),
    ("trunc_whole_literal", '{"a": 1, "b": true', {"a": 1}, {"truncated_value", "missing_closer"}),
    ("trunc_unquoted_value", "{name: Bob Smi", {}, {"unquoted_key", "truncated_value", "missing_closer"}),
    ("trunc_nested", '{"a": {"b": [1, {"c": "x', {"a": {"b": [1, {}]}}, {"truncated_value", "missing_closer"}),
    ("trunc_single_quoted", "['a', 'b", ["a"], {"single_quotes", "truncated_value", "missing_closer"}),
    ("trunc_in_comment", '{"a": 1 /* note', {"a": 1}, {"comment", "missing_closer"}),
    ("trunc_open_only", "{", {}, {"missing_closer"}),
    # nothing readable
    ("plain_key_value_lines", "姓名：曹颖\n性别：女", MISSING, set()),
    ("refusal", "I'm sorry, I can't help with that.", MISSING, set()),
    ("empty", "", MISSING, set()),
    ("blank", " \n\t", MISSING, set()),
    ("truncated_root_string", '"abc', MISSING, set()),
    ("scalar_with_words", "42 apples", MISSING, set()),
    # repaired scalars at the root
    ("root_single_quoted", "'text'", "text", {"single_quotes"}),
    ("root_python_literal", "True", True, {"python_literal"}),
    ("root_scalar_comment", "42 // the answer", 42, {"comment"}),
]


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: types and key order too (True is not 1)."""
    if a is MISSING or b is MISSING:
        return a is b
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


@pytest.mark.parametrize(("text", "value", "codes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse(text: str, value: Any, codes: set[str]) -> None:
    got = parse(text)
    assert isinstance(got, Parsed)
    assert _same(got.value, value), got.value
    assert {d.code for d in got.deviations} == {c if c.startswith("limit.") else R + c for c in codes}
    assert all(d.code in CODES for d in got.deviations)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": [1, 2,], "b": {"c": 1,}}', {("repair.trailing_comma", ("a",)), ("repair.trailing_comma", ("b",))}),
        ('[{"x": 1,}, [2,]]', {("repair.trailing_comma", (0,)), ("repair.trailing_comma", (1,))}),
        ('{"a": {"b": "x', {("repair.truncated_value", ("a",)), ("repair.missing_closer", ("a",))}),
        ("{'a': 1}", {("repair.single_quotes", ())}),
        ('{"a": [1 2]}', {("repair.missing_comma", ("a",))}),
    ],
)
def test_paths_name_the_container(text: str, where: set[tuple[str, tuple[str | int, ...]]]) -> None:
    assert {(d.code, d.path) for d in repair(text).deviations} == where


@pytest.mark.parametrize(
    ("text", "value", "codes"),
    [
        ('{"a": [1, 2,], "b": {"c": 1,},}', {"a": [1, 2], "b": {"c": 1}}, {"repair.trailing_comma"}),
        (
            '{"a": True, "b": None, // note\n "c": "x, ]"}',
            {"a": True, "b": None, "c": "x, ]"},
            {"repair.python_literal", "repair.comment"},
        ),
        (
            '{"url": "http://x.cn/#a", /* c */ "n": False,}',
            {"url": "http://x.cn/#a", "n": False},
            {"repair.comment", "repair.python_literal", "repair.trailing_comma"},
        ),
    ],
)
def test_the_quick_repair_agrees_with_the_tolerant_parser(text: str, value: object, codes: set[str]) -> None:
    quick = parse(text)
    assert quick.value == value == repair(text).value
    assert {d.code for d in quick.deviations} == codes
    assert all(d.path == () for d in quick.deviations)  # the quick repair reports at the root


def test_the_quick_repair_leaves_strings_alone() -> None:
    text = '{"a": "True, None // not a comment", "b": [1,],}'
    assert parse(text).value == {"a": "True, None // not a comment", "b": [1]}


def test_one_deviation_per_code_and_container_with_a_count() -> None:
    got = parse("[" + "1 " * 500 + "]")
    assert [d.code for d in got.deviations] == ["repair.missing_comma"]
    assert "499" in got.deviations[0].detail and "1:" in got.deviations[0].detail


def test_many_containers_are_summed_not_listed() -> None:
    got = parse("[" + "[1,]," * 1000 + "]")
    assert len(got.deviations) < 30
    assert {d.code for d in got.deviations} == {"repair.trailing_comma"}


def test_detail_names_line_and_column() -> None:
    (dev,) = parse('{\n  "a": 1,\n  "b": True\n}').deviations
    assert dev.code == "repair.python_literal" and "3:8" in dev.detail


@pytest.mark.parametrize(
    "text", ["[" * 100_000, '{"a":' * 50_000, "[" * 5000 + "]" * 5000, "[" * 150 + "]" * 150, '{"a": ' * 200 + "1"]
)
def test_depth_is_cut_never_a_recursion_error(text: str) -> None:
    got = parse(text)
    assert "limit.depth" in {d.code for d in got.deviations}
    assert _depth(got.value) == 100


def _depth(value: Any) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max(map(_depth, children), default=0)


def test_depth_limit_is_configurable() -> None:
    got = parse('{"a": [1, [2, [3]]], "b": 4}', max_depth=2)
    assert _same(got.value, {"a": [1], "b": 4})
    assert {d.code for d in got.deviations} == {"limit.depth"}


@pytest.mark.parametrize("bad", [0, -3, True, 2.0])
def test_bad_max_depth_raises(bad: object) -> None:
    with pytest.raises(ConfigError):
        parse("{}", max_depth=bad)  # type: ignore[arg-type]


def test_missing_is_one_sentinel() -> None:
    assert repr(MISSING) == "MISSING"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING


# Adversarial shapes at 1 MB: a generous hang guard, never a fine timing.
ADVERSARIAL = {
    "open_braces": "{" * MB,
    "open_brackets": "[" * MB,
    "open_key_colon": '{"a": ' * (MB // 6),
    "quote_storm": '{"a": "' + repeat_to('x", "y": "z, ', MB),
    "unclosed_string_braces": '{"a": "' + repeat_to('{}[]", ', MB),
    "single_quote_storm": "{'a': '" + repeat_to("it's, 'b': ", MB),
    "trailing_comma_doc": "[" + repeat_to('{"a": [1, 2,], "b": "x",},', MB) + "]",
    "backslashes": '{"a": "' + "\\" * MB,
    "stray_dots": "[" + "." * MB + "]",
    "latex_in_brackets": "[" + repeat_to(r"Let $x_{i}$ and $A[i]$ be \frac{a}{b}. ", MB),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_input_is_read_without_a_hang(text: str) -> None:
    result = parse(text)
    assert result.value is MISSING or result.deviations  # broken input is never read silently


# Properties
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
JSONISH = st.text(alphabet="{}[]\"',:：，、“”‘’「」｛｝［］\\/#*\n \ttfnTFNul0123456789.-eE+ab中")
JUNK = st.binary(max_size=300).map(lambda b: b.decode("latin-1")) | st.text() | JSONISH


@given(JUNK)
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_parse_never_raises_and_returns_json(text: str) -> None:
    got = parse(text)
    if got.value is not MISSING:
        json.dumps(got.value, allow_nan=False)
    for d in got.deviations:
        assert d.code in CODES
        assert all(isinstance(p, str | int) for p in d.path)


@given(JSON_VALUES, st.sampled_from([{}, {"ensure_ascii": False}, {"indent": 2}, {"separators": (",", ":")}]))
def test_valid_json_round_trips_with_no_deviations(value: Any, options: dict[str, Any]) -> None:
    got = parse(json.dumps(value, **options))
    assert got.value == value and got.deviations == ()


# `\b` and `\f` before a letter are read as a backslash once the text is broken (LaTeX, paths).
PLAIN_ESCAPES = JSON_VALUES.filter(lambda v: "\\b" not in json.dumps(v) and "\\f" not in json.dumps(v))


@given(PLAIN_ESCAPES, st.sampled_from([{}, {"ensure_ascii": False}, {"indent": 2}]))
def test_the_repair_parser_reads_valid_json_as_json_does(value: Any, options: dict[str, Any]) -> None:
    text = json.dumps(value, **options)
    got = repair(text)
    assert got.value == json.loads(text) and got.deviations == ()


@given(PLAIN_ESCAPES.filter(lambda v: isinstance(v, dict | list)), st.data())
def test_a_cut_keeps_only_what_was_complete(value: Any, data: st.DataObject) -> None:
    text = json.dumps(value, ensure_ascii=False)
    cut = text[: data.draw(st.integers(min_value=1, max_value=len(text)))]
    got = parse(cut)
    assert _within(got.value, value)
    for d in got.deviations:  # each names a container that stands in the value
        node = got.value
        for part in d.path:
            node = node[part]
        assert isinstance(node, dict | list)


def _within(part: Any, whole: Any) -> bool:
    """`part` holds only what `whole` holds: no value shortened by the cut was kept."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _within(v, whole[k]) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(part) <= len(whole) and all(map(_within, part, whole))
    return part == whole and type(part) is type(whole)


def _dicts(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, object]]:
    """Small JSON objects whose keys and strings are drawn from `text`."""
    return st.recursive(
        st.none() | st.booleans() | st.integers(-1000, 1000) | text,
        lambda inner: st.lists(inner, min_size=1, max_size=4) | st.dictionaries(text, inner, min_size=1, max_size=4),
        max_leaves=15,
    ).filter(lambda v: isinstance(v, dict))


_DICTS = _dicts(st.text(alphabet="abc 中,:#/", max_size=8))


def _python_style(value: object) -> str:
    """A value as a model writing Python might: a trailing comma after every member, True/None."""
    if isinstance(value, dict):
        return (
            "{" + "".join(f"{json.dumps(k, ensure_ascii=False)}: {_python_style(v)}, " for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + "".join(f"{_python_style(v)}, " for v in value) + "]"
    if value is True or value is False or value is None:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


@given(_DICTS)
def test_quick_and_tolerant_repairs_agree(value: dict[str, object]) -> None:
    text = _python_style(value) + "  // the end"
    assert parse(text).value == repair(text).value == value


_QUOTED = st.text(alphabet="ab 中,:#/'\"\\：，{}", max_size=8)
_STYLED = _dicts(_QUOTED)


@given(_STYLED, st.sampled_from(["'", "“"]), st.booleans())
def test_quick_and_tolerant_repairs_agree_on_quotes_keys_and_full_width(
    value: dict[str, object], quote: str, bare_keys: bool
) -> None:
    colon, comma = ("：", "，") if quote == "“" else (":", ",")
    text = emit(value, Style(key_quote="" if bare_keys else quote, string_quote=quote, colon=colon, comma=comma))
    assert parse(text).value == repair(text).value == value


@pytest.mark.parametrize(
    ("text", "value", "codes"),
    [
        ("{'a': 'it\\'s \"q\"', 'b': ['x']}", {"a": 'it\'s "q"', "b": ["x"]}, {"repair.single_quotes"}),
        ('{name: "张三", age_2: 3}', {"name": "张三", "age_2": 3}, {"repair.unquoted_key"}),
        ("{“姓名”：“张三”，“技能”：[“Go”，“C”]}", {"姓名": "张三", "技能": ["Go", "C"]}, {"repair.fullwidth"}),
        (
            '{\n  名字: "x"，\n  b: None,\n}',
            {"名字": "x", "b": None},
            {"repair.unquoted_key", "repair.fullwidth", "repair.python_literal", "repair.trailing_comma"},
        ),
    ],
)
def test_the_quick_repair_takes_quotes_bare_keys_and_full_width(text: str, value: object, codes: set[str]) -> None:
    fixed = quick(text)
    assert fixed is not None and fixed.value == value == repair(text).value
    assert {d.code for d in fixed.deviations} == codes
