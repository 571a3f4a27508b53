"""The generic rules on schemas written here: any JSON Schema gets them, not only the shipped two."""

from __future__ import annotations

from typing import Any

import pytest

from llm_guard_json import normalize

PERSON: dict[str, Any] = {
    "title": "Person",
    "type": "object",
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "x-aliases": ["姓名", "Name Of Person"]},
        "age": {"type": ["integer", "null"], "default": None},
        "score": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        "level": {"enum": ["low", "high", None], "x-enum-aliases": {"high": ["高", "H"]}},
        "note": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
    },
    "required": ["full_name"],
    "additionalProperties": False,
}


def codes(raw: str, schema: Any = PERSON) -> list[str]:
    return normalize(raw, schema).codes


@pytest.mark.parametrize(
    ("raw", "expected", "code"),
    [
        ('{"full_name": "A", "age": "35岁"}', {"age": 35}, "coerce.number_from_text"),
        ('{"full_name": "A", "age": "三十五"}', {"age": 35}, "coerce.number_from_text"),
        ('{"full_name": "A", "age": "３５"}', {"age": 35}, "coerce.number_from_text"),
        ('{"full_name": "A", "age": 35.0}', {"age": 35}, "coerce.float_to_int"),
        ('{"full_name": "A", "score": "45,000"}', {"score": 45000}, "coerce.number_from_text"),
        ('{"full_name": "A", "score": "4.5k"}', {"score": 4500}, "coerce.number_from_text"),
        ('{"full_name": "A", "score": "40万"}', {"score": 400000}, "coerce.number_from_text"),
        ('{"full_name": "A", "note": 45000}', {"note": "45000"}, "coerce.number_to_text"),
        ('{"full_name": ["A"]}', {"full_name": "A"}, "coerce.list_to_scalar"),
        ('{"full_name": "A", "tags": "x、y，z; w / v"}', {"tags": ["x", "y", "z", "w", "v"]}, "coerce.text_to_list"),
        ('{"full_name": "A", "tags": "solo"}', {"tags": ["solo"]}, "coerce.scalar_to_list"),
        ('{"full_name": "A", "tags": 7}', {"tags": ["7"]}, "coerce.scalar_to_list"),
        ('{"full_name": "A", "level": " HIGH "}', {"level": "high"}, "coerce.enum_case"),
        ('{"full_name": "A", "level": "高"}', {"level": "high"}, "coerce.enum_alias"),
        ('{"full_name": "A", "level": "h"}', {"level": "high"}, "coerce.enum_alias"),
        ('{"full_name": "A", "note": "未知"}', {"note": None}, "coerce.null_like"),
        ('{"full_name": "A", "tags": "暂无"}', {"tags": []}, "coerce.null_like"),
        ('{"full_name": "A", "active": "yes"}', {"active": True}, "coerce.bool_from_text"),
        ('{"姓名": "A"}', {"full_name": "A"}, "key.alias"),
        ('{"Full Name": "A"}', {"full_name": "A"}, "key.case"),
        ('{"name-of-person": "A"}', {"full_name": "A"}, "key.alias"),
        ('{"full_name": "A", "extra": 1}', {}, "key.unknown"),
        ('{"person": {"full_name": "A"}}', {}, "wrapper"),
        ('{"anything": {"full_name": "A", "age": 3}}', {"age": 3}, "wrapper"),
        ('[{"full_name": "A"}]', {}, "wrapper.list"),
    ],
)
def test_generic_rule(raw: str, expected: dict[str, Any], code: str) -> None:
    result = normalize(raw, PERSON)
    assert result.ok, result.deviations
    for key, value in expected.items():
        assert result.value[key] == value
    assert code in result.codes


def test_defaults_and_schema_key_order() -> None:
    result = normalize('{"tags": ["a"], "full_name": "A"}', PERSON)
    assert list(result.value) == ["full_name", "age", "tags"]
    assert result.value == {"full_name": "A", "age": None, "tags": ["a"]}
    assert {"key.order", "default"} <= set(result.codes)


def test_required_missing_is_not_ok() -> None:
    result = normalize('{"age": 3}', PERSON)
    assert not result.ok
    assert ("missing.required", "/full_name") in [(d.code, d.pointer) for d in result.deviations]


def test_null_like_required_is_not_ok_and_nothing_invented() -> None:
    result = normalize('{"full_name": "不详"}', PERSON)
    assert not result.ok
    assert "full_name" not in result.value


def test_uncoercible_optional_becomes_null_or_removed() -> None:
    result = normalize('{"full_name": "A", "age": "15-25", "score": "很多"}', PERSON)
    assert result.ok
    assert result.value["age"] is None and "score" not in result.value
    lost = [d for d in result.deviations if d.code == "lost.value"]
    assert {d.pointer for d in lost} == {"/age", "/score"}
    assert all(d.weight == 1.0 for d in lost)


ITEMS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "conditions": {
            "type": "array",
            "items": {
                "type": "object",
                "x-key-field": "name",
                "properties": {
                    "name": {"type": "string"},
                    "status": {"type": ["string", "null"], "default": None},
                    "since": {"type": ["integer", "null"], "default": None},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        }
    },
}


def test_keyed_object_with_one_other_string_property() -> None:
    result = normalize('{"conditions": {"高血压": "控制良好", "糖尿病": {"since": "2019"}}}', ITEMS)
    assert result.ok
    assert result.value["conditions"] == [
        {"name": "高血压", "status": "控制良好", "since": None},
        {"name": "糖尿病", "status": None, "since": 2019},
    ]
    assert "coerce.keyed_object" in result.codes


def test_one_object_where_an_array_is_wanted() -> None:
    result = normalize('{"conditions": {"name": "哮喘", "status": "稳定"}}', ITEMS)
    assert result.value["conditions"] == [{"name": "哮喘", "status": "稳定", "since": None}]
    assert "coerce.object_to_list" in result.codes


def test_invalid_item_is_dropped_from_its_array() -> None:
    result = normalize('{"conditions": [{"status": "x"}, {"name": "哮喘"}]}', ITEMS)
    assert result.ok
    assert result.value["conditions"] == [{"name": "哮喘", "status": None, "since": None}]


UNION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "when": {
            "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, {"type": "null"}]
        },
        "size": {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]},
    },
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"when": 2020}', {"when": 2020}),
        ('{"when": "2020-05"}', {"when": "2020-05"}),
        ('{"when": "2020"}', {"when": 2020}),
        ('{"when": "N/A"}', {"when": None}),
        ('{"when": "someday"}', {"when": None}),
        ('{"size": [1, 2]}', {"size": [1, 2]}),
        ('{"size": "3"}', {"size": 3}),
    ],
)
def test_unions(raw: str, expected: dict[str, Any]) -> None:
    result = normalize(raw, UNION)
    assert result.ok
    assert result.value == expected


@pytest.mark.parametrize(
    ("schema", "raw", "value"),
    [
        ({"type": "integer"}, "答案是：\n```\n42\n```", 42),
        ({"type": "integer"}, "四十二", 42),
        ({"enum": ["yes", "no"]}, " YES ", "yes"),
        ({"type": "string"}, "<think>hm</think>\n北京", "北京"),
        ({"type": "boolean"}, "true", True),
    ],
)
def test_scalar_root(schema: dict[str, Any], raw: str, value: Any) -> None:
    result = normalize(raw, schema)
    assert result.ok, result.deviations
    assert result.value == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("```json\n{\"a\": [1, 2,], b: 'x'} // note\n```", {"a": [1, 2], "b": "x"}),
        ("Sure! {'ok': True, 'none': None}", {"ok": True, "none": None}),
        ('{"a": {"b": [1, {"c": "d"', {"a": {"b": [1, {"c": "d"}]}}),
        ('{"a": {"b": [1, {"c": "dd', {"a": {"b": [1, {}]}}),
        ("[1, 2, 3]", [1, 2, 3]),
    ],
)
def test_empty_schema_is_a_safe_repairer(raw: str, value: Any) -> None:
    result = normalize(raw, {})
    assert result.ok
    assert result.value == value


def test_no_json_is_not_ok() -> None:
    result = normalize("I'm sorry, I can't help with that.", {})
    assert not result.ok and result.value is None and result.text is None
    assert result.codes == ["no_json"]


def test_bytes_are_decoded_with_a_deviation() -> None:
    result = normalize(b'{"a": "\xff\xfe ok"}', {})
    assert result.ok
    assert "input.decode" in result.codes
    assert normalize(b'{"a": 1}', {}).deviations == ()


@pytest.mark.parametrize("raw", ["[" * 5000, "[" * 3000 + "]" * 3000, '{"a":' * 2000 + "1" + "}" * 2000])
def test_nesting_thousands_deep_is_cut_and_not_ok(raw: str) -> None:
    result = normalize(raw, {})
    assert not result.ok
    assert "limit.depth" in result.codes


def test_a_schema_without_properties_unwraps_nothing() -> None:
    assert normalize('{"data": {"x": 1}}', {}).value == {"data": {"x": 1}}
    assert normalize('{"data": {"x": 1}}', {"type": "object"}).value == {"data": {"x": 1}}


NULLABLE_REQUIRED = {"type": "object", "properties": {"age": {"type": ["integer", "null"]}}, "required": ["age"]}


def test_required_field_that_cannot_be_read_is_not_ok_even_if_nullable() -> None:
    result = normalize('{"age": "好几岁"}', NULLABLE_REQUIRED)
    assert not result.ok
    assert ("lost.value", "/age") in [(d.code, d.pointer) for d in result.deviations]


def test_a_retreat_to_null_is_one_lost_value() -> None:
    result = normalize('{"name": "x", "phone": "138****5678"}', "resume")
    assert result.ok and result.value["phone"] is None
    assert [d.pointer for d in result.deviations if d.code == "lost.value"] == ["/phone"]


def test_null_like_in_a_union_without_null_is_removed() -> None:
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}
    result = normalize('{"v": "无"}', schema)
    assert result.ok and result.value == {}
    assert result.codes == ["coerce.null_like"]


def test_container_sizes_take_part_in_the_retreat() -> None:
    schema = {
        "type": "object",
        "properties": {"v": {"type": "array", "items": {"type": "string"}, "minItems": 1}, "w": {"type": "string"}},
    }
    result = normalize('{"v": ["无"], "w": "x"}', schema)
    assert result.ok and result.value == {"w": "x"}


def test_each_array_candidate_carries_only_its_own_repairs() -> None:
    result = normalize('[{"name": "a", "age": 1}, {"name": "b", "age": 2,}]', "resume")
    assert result.value["name"] == "a"
    assert "repair.trailing_comma" not in result.codes


@pytest.mark.parametrize(("raw", "value"), [('"abc"', "abc"), ("35", 35)])
def test_json_scalar_root_is_a_fixed_point(raw: str, value: object) -> None:
    schema = {"type": "string"} if isinstance(value, str) else {"type": "integer"}
    result = normalize(raw, schema)
    assert result.value == value and result.deviations == ()


def test_corner_brackets_are_strings_in_extraction_too() -> None:
    result = normalize('{"name": 「张}伟」, "age": 3}', "resume")
    assert result.ok and result.value["name"] == "张}伟"


def test_a_number_too_large_for_a_float_is_never_infinity() -> None:
    result = normalize('{"name": "x", "salary": "月薪1e999元"}', "resume")
    assert result.ok and "Infinity" not in (result.text or "")


def test_json_in_a_string_too_deep_is_text_not_a_crash() -> None:
    raw = '{"name": "x", "skills": "' + "[" * 5000 + "]" * 5000 + '"}'
    result = normalize(raw, "resume")
    assert result.ok and isinstance(result.value["skills"], list)
