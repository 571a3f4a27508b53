"""Schema: built from a name, a path, a dict or a pydantic model; bad schemas fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest

from llm_guard_json import ConfigError, Schema, SchemaError, normalize, shipped_names


def test_shipped_names() -> None:
    assert {"resume", "medical_record"} <= set(shipped_names())
    assert Schema("resume").title == "Resume"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="resume"):
        Schema("no_such_schema")


def test_from_path(tmp_path: Path) -> None:
    path = tmp_path / "thing.json"
    path.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}))
    assert normalize('{"n": "3"}', str(path)).value == {"n": 3}
    assert normalize('{"n": "3"}', path).value == {"n": 3}


def test_missing_file_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Schema(str(tmp_path / "absent.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        Schema(str(bad))


@pytest.mark.parametrize(
    ("schema", "keyword", "location"),
    [
        ({"type": "objekt"}, "type", ""),
        ({"properties": {"a": {"minLength": -1}}}, "minLength", "/properties/a"),
        ({"properties": {"a": {"enum": "x"}}}, "enum", "/properties/a"),
        ({"properties": {"a": {"x-aliases": "名字"}}}, "x-aliases", "/properties/a"),
        ({"properties": {"a": {"enum": ["x"], "x-enum-aliases": {"y": ["z"]}}}}, "x-enum-aliases", "/properties/a"),
        ({"type": "array", "items": {"type": "object", "x-key-field": "nope"}}, "x-key-field", "/items"),
        ({"properties": {"a": {"x-canonical": 3}}}, "x-canonical", "/properties/a"),
    ],
)
def test_invalid_schema_names_keyword_and_location(schema: dict[str, object], keyword: str, location: str) -> None:
    with pytest.raises(SchemaError) as info:
        Schema(schema)
    assert info.value.keyword == keyword
    assert info.value.location == location
    assert keyword in str(info.value)


def test_cached_by_name() -> None:
    from llm_guard_json._schema import as_schema

    assert as_schema("resume") is as_schema("resume")
    assert as_schema({"type": "object"}) is as_schema({"type": "object"})


class Person(pydantic.BaseModel):
    name: str
    age: int | None = None
    tags: list[str] = []


def test_pydantic_model_round_trip() -> None:
    result = normalize("```json\n{'name': 'Ada', 'age': '36岁', 'tags': 'math, engines'}\n```", Person)
    assert result.ok
    assert result.value == {"name": "Ada", "age": 36, "tags": ["math", "engines"]}
    assert result.model == Person(name="Ada", age=36, tags=["math", "engines"])


def test_model_of_a_bad_result_raises() -> None:
    from llm_guard_json import OutputRejected

    result = normalize("no json here", Person)
    with pytest.raises(OutputRejected):
        _ = result.model
    with pytest.raises(ConfigError):
        _ = normalize("{}", {}).model


def test_not_a_schema() -> None:
    with pytest.raises(ConfigError, match="pydantic"):
        Schema(3.5)


def test_schema_caches_do_not_grow_with_calls() -> None:
    schema = Schema(
        {
            "type": "object",
            "properties": {"v": {"type": "array"}, "w": {"$ref": "#/$defs/w"}},
            "$defs": {"w": {"type": "integer"}},
        }
    )
    from llm_guard_json._schema import _MEMO

    normalize('{"v": [1], "w": "2"}', schema)
    size = len(_MEMO)
    for _ in range(200):
        assert normalize('{"v": [1, 2], "w": "3"}', schema).value == {"v": [1, 2], "w": 3}
    assert len(_MEMO) == size
