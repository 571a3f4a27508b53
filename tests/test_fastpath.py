"""The fast path: the settled schema and both routes agree with the coercion walk."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_corpus
from llm_guard_json import DEFAULT_CANONICALIZERS, Schema, normalize
from llm_guard_json._coerce import Walk
from llm_guard_json._fastpath import is_canonical, settled
from llm_guard_json._field import Field
from llm_guard_json._settled_schema import _LOWERS_TO, NULL_LIKE_PATTERN, SPACES, settled_schema
from llm_guard_json._text import NULL_LIKES, is_null_like

CANONICAL = [(c["schema"], c["expected"]) for c in load_corpus() if c["expected"] is not None]
NULL_LIKE = jsonschema_rs.validator_for({"type": "string", "pattern": NULL_LIKE_PATTERN})


def _walked(value: Any, schema: Schema) -> tuple[Any, list[str]]:
    walk = Walk(schema, DEFAULT_CANONICALIZERS)
    out, _ = walk.value(value, schema.root, (), ())
    return out, [d.code for d in walk.deviations]


# -- the settled schema ---------------------------------------------------------------------


def test_spaces_are_exactly_what_strip_removes() -> None:
    assert set(SPACES) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


def test_every_character_that_lowers_to_an_ascii_letter_is_covered() -> None:
    for c in range(128, sys.maxunicode + 1):
        lowered = chr(c).lower()
        if len(lowered) == 1 and "a" <= lowered <= "z":
            assert chr(c) in _LOWERS_TO.get(lowered, ""), f"U+{c:04X} lowers to {lowered!r}"


@given(
    st.sampled_from(sorted(NULL_LIKES)),
    st.text(alphabet=SPACES, max_size=3),
    st.text(alphabet=SPACES, max_size=3),
    st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_the_pattern_finds_every_null_like(word: str, before: str, after: str, upper: list[bool]) -> None:
    cased = "".join(c.upper() if u else c for c, u in zip(word, upper, strict=False)) + word[len(upper) :]
    text = before + cased + after
    assert is_null_like(text)
    assert NULL_LIKE.is_valid(text)


@given(st.text(max_size=12))
def test_the_pattern_misses_no_null_like_text(text: str) -> None:
    if is_null_like(text):
        assert NULL_LIKE.is_valid(text)


def test_every_canonical_corpus_value_passes_the_settled_schema() -> None:
    """Otherwise the quick route would never run on what a well-trained model writes."""
    for name, value in CANONICAL:
        schema = Schema(name)
        assert schema.settled_validator is not None
        assert schema.settled_validator.is_valid(value), json.dumps(value, ensure_ascii=False)[:200]


@pytest.mark.parametrize(
    ("schema", "mirrored"),
    [
        ({"$defs": {"x": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/x"}}}, True),
        ({"properties": {"a": {"type": "string"}, "b": {"$ref": "#/properties/a"}}}, True),
        ({"not": {"type": "integer"}, "properties": {"a": {"$ref": "#/not"}}}, False),
        ({"properties": {"a": {"$ref": "other.json#/x"}}}, False),
        ({"properties": {"a": {"$dynamicRef": "#meta"}}}, False),
    ],
)
def test_a_reference_outside_the_mirrored_places_turns_the_quick_route_off(
    schema: dict[str, Any], mirrored: bool
) -> None:
    assert (settled_schema(schema, Schema(schema).resolve) is not None) is mirrored


def test_the_derived_schema_refuses_what_the_walk_would_change() -> None:
    schema = Schema(
        {
            "type": "object",
            "properties": {
                "name": {"type": ["string", "null"], "default": None},
                "tags": {"type": "array", "items": {"type": "string"}, "x-strip-prefixes": ["熟悉"]},
            },
        }
    )
    check = schema.settled_validator
    assert check.is_valid({"name": "张三", "tags": ["Python"]})
    assert not check.is_valid({"tags": ["Python"]})  # a default to fill
    assert not check.is_valid({"name": " N/A ", "tags": []})  # a null-like
    assert not check.is_valid({"name": "张三", "tags": ["熟悉Python"]})  # a prefix word
    assert not check.is_valid({"name": "张三", "tags": [None]})  # a null item


# -- the two routes ---------------------------------------------------------------------------


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _places(v, (*path, i))
    return out


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def disturbed(draw: st.DrawFn) -> tuple[str, Any]:
    """A canonical corpus value with up to two changes anywhere in it, some the walk would undo."""
    name, value = draw(st.sampled_from(CANONICAL))
    value = copy.deepcopy(value)
    for _ in range(draw(st.integers(0, 2))):
        path = draw(st.sampled_from(_places(value)))
        target = _at(value, path)
        parent, last = (_at(value, path[:-1]), path[-1]) if path else (None, None)
        move = draw(st.sampled_from(["reverse", "drop", "extra", "replace"]))
        if move == "reverse" and isinstance(target, dict):
            items = list(target.items())[::-1]
            target.clear()
            target.update(items)
        elif move == "drop" and isinstance(target, dict) and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif move == "extra" and isinstance(target, dict):
            target[draw(st.sampled_from(["Name", "备注", "x"]))] = "y"
        elif parent is not None:
            swap = [None, "", " 无 ", "N/A", 35.0, 2.5, "35", [], ["python"], "熟悉Python", {"a": 1}, "月薪2万"]
            parent[last] = draw(st.sampled_from(swap))
    return name, value


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(disturbed())
def test_both_routes_give_one_answer_and_it_is_the_walks(case: tuple[str, Any]) -> None:
    name, value = case
    schema = Schema(name)
    quick = settled(value, schema, DEFAULT_CANONICALIZERS)
    exact = not schema.problems(value) and is_canonical(value, schema, DEFAULT_CANONICALIZERS)
    assert quick == exact
    if quick:
        out, codes = _walked(copy.deepcopy(value), schema)
        assert codes == []
        assert json.dumps(out) == json.dumps(value)


def test_key_order_inside_a_nullable_union_is_caught() -> None:
    schema = Schema("medical_record")
    value = next(copy.deepcopy(v) for n, v in CANONICAL if n == "medical_record" and "total_duration" in json.dumps(v))
    course = value["chief_complaint"]["course"]
    course["total_duration"] = dict(reversed(list(course["total_duration"].items())))
    assert not settled(value, schema, DEFAULT_CANONICALIZERS)
    result = normalize(json.dumps(value, ensure_ascii=False), "medical_record")
    assert "key.order" in result.codes
    assert list(result.value["chief_complaint"]["course"]["total_duration"]) == ["value", "unit"]


# -- the canonicalizers' own shortcuts ---------------------------------------------------------


def _field(schema: Schema, name: str) -> Field:
    node = schema.resolve(schema.resolve(schema.root)["properties"][name])
    return Field(node, name, schema.resolve)


@given(
    st.integers(0, 10**7),
    st.sampled_from(["month", "year"]),
    st.sampled_from(["CNY", "cny", "人民币", "USD"]),
)
def test_salary_shortcut_agrees_with_the_reader(amount: int, period: str, currency: str) -> None:
    from llm_guard_json.canonical import salary

    field = _field(Schema("resume"), "salary")
    value = {"amount": amount, "period": period, "currency": currency}
    assert salary.canonicalize_salary(value, field) == salary.read_value(value, field, salary._read)


def test_education_and_blood_pressure_shortcuts_agree_with_their_readers() -> None:
    from llm_guard_json.canonical import _reading, blood_pressure, education

    for name, value in CANONICAL:
        if name == "resume" and value.get("education"):
            field = _field(Schema("resume"), "education")
            assert education.canonicalize_education(value["education"], field) == (value["education"], [])
            assert education._read(value["education"], field) == (value["education"], [])
    schema = Schema("medical_record")
    exam = schema.resolve(schema.resolve(schema.root)["properties"]["physical_examination"])
    node = schema.resolve(exam["properties"]["blood_pressure"])
    field = Field(node, "blood_pressure", schema.resolve)
    for reading in ({"systolic": 135, "diastolic": 85, "unit": "mmHg"}, {"systolic": 120}):
        expected = _reading.read_value(reading, field, blood_pressure._read)
        assert blood_pressure.canonicalize_blood_pressure(reading, field) == expected


@given(
    st.one_of(st.integers(-5, 10**6), st.floats(0, 1000, allow_nan=False), st.sampled_from(["2-3", "3", "半"])),
    st.sampled_from(["天", "月", "days", "个月", None]),
    st.booleans(),
)
def test_duration_shortcut_agrees_with_the_reader(amount: Any, unit: Any, reverse: bool) -> None:
    from llm_guard_json.canonical import _reading, duration

    schema = Schema("medical_record")
    node = schema.resolve(schema.root["$defs"]["duration"])
    field = Field(node, "duration", schema.resolve)
    value = {"unit": unit, "value": amount} if reverse else {"value": amount, "unit": unit}
    assert duration.canonicalize_duration(value, field) == _reading.read_value(value, field, duration._read)
