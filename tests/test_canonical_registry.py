"""DEFAULT_CANONICALIZERS, a user schema reusing them, and the helpers the
test_canonical_* files share: a Field from the shipped schemas, validation, JSON strategies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from llm_guard_json import Field, normalize
from llm_guard_json._deviation import Deviation
from llm_guard_json.canonical import DEFAULT_CANONICALIZERS

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def resolver(root: dict[str, Any]) -> Callable[[Any], Any]:
    """Follow local `$ref`s (`#/$defs/duration`), merging the referring node's own keywords."""

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    return resolve


def field_for(schema: str, *path: str, key: str | None = None) -> Field:
    """The Field the walk gives a canonicalizer: the property's subschema, `$ref` resolved,
    and for `anyOf: [duration, null]` the branch that holds the canonical shape."""
    root = load_schema(schema)
    resolve = resolver(root)
    node: Any = root
    for part in path:
        node = resolve(node)["properties"][part]
    node = resolve(node)
    for branch in node.get("anyOf", ()):
        if "x-canonical" in resolve(branch):
            node = resolve(branch)
    return Field(node, key if key is not None else path[-1], resolve)


FIELDS = {
    "skills": field_for("resume", "skills"),
    "education": field_for("resume", "education"),
    "salary": field_for("resume", "salary"),
    "phone_cn": field_for("resume", "phone"),
    "duration": field_for("medical_record", "chief_complaint", "course", "total_duration"),
    "blood_pressure": field_for("medical_record", "physical_examination", "blood_pressure"),
}


def with_key(field: Field, key: str | None) -> Field:
    return Field(field.schema, key, field.resolve)


def validates(value: Any, field: Field) -> bool:
    return Draft202012Validator(dict(field.schema)).is_valid(value)


def codes(devs: list[Deviation]) -> list[str]:
    return [d.code for d in devs]


def strings_in(value: Any) -> Iterator[str]:
    """Every string value (not key) in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)


def as_text(value: Any) -> str:
    """Every text, key and number of a JSON value, joined: where an output's strings must occur."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(as_text(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{k}\n{as_text(v)}" for k, v in value.items())
    return json.dumps(value)


#: Any JSON value (no NaN: JSON has none).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


# -- the registry -----------------------------------------------------------------------


def test_names_match_the_shipped_schemas() -> None:
    assert set(DEFAULT_CANONICALIZERS) == {"skills", "education", "salary", "phone_cn", "duration", "blood_pressure"}
    for name in ("resume", "medical_record"):
        used = set()
        stack: list[Any] = [load_schema(name)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                used.update([node["x-canonical"]] if "x-canonical" in node else [])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        assert used <= set(DEFAULT_CANONICALIZERS)


def test_read_only_and_extended_by_merging() -> None:
    with pytest.raises(TypeError):
        DEFAULT_CANONICALIZERS["mine"] = lambda v, f: (v, [])  # type: ignore[index]
    merged = DEFAULT_CANONICALIZERS | {"mine": lambda v, f: (v, [])}
    assert set(merged) == set(DEFAULT_CANONICALIZERS) | {"mine"}
    assert "mine" not in DEFAULT_CANONICALIZERS


@pytest.mark.parametrize("name", sorted(DEFAULT_CANONICALIZERS))
def test_deviation_paths_are_relative_to_the_field(name: str) -> None:
    samples = {
        "skills": "擅长Python和Java开发",
        "education": "本科毕业于北京大学",
        "salary": "月薪45000元",
        "phone_cn": "+86 138-1234-5678",
        "duration": "3个月",
        "blood_pressure": "135/85mmHg",
    }
    _, devs = DEFAULT_CANONICALIZERS[name](samples[name], FIELDS[name])
    assert devs
    assert all(d.path in ((), (0,)) for d in devs)
    expected = "canon.phone" if name == "phone_cn" else f"canon.{name}"
    assert expected in codes(devs)


# -- a user schema reusing the canonicalizers ---------------------------------

OFFER_SCHEMA = {
    "type": "object",
    "properties": {
        "offer": {
            "type": "object",
            "x-canonical": "salary",
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "period": {"enum": ["month", "year"]},
                "currency": {"enum": ["CNY"], "default": "CNY"},
            },
            "required": ["amount", "period", "currency"],
            "additionalProperties": False,
        },
        "hotline": {"type": "string", "x-canonical": "phone_cn", "x-aliases": ["热线"]},
        "title": {"type": "string", "x-canonical": "shout"},
    },
    "required": ["offer"],
    "additionalProperties": False,
}


def test_a_user_schema_reuses_a_canonicalizer_on_its_own_fields() -> None:
    def shout(value: Any, field: Field) -> tuple[Any, list[Deviation]]:
        return (value.upper(), [Deviation("canon.shout")]) if isinstance(value, str) else (value, [])

    raw = '{"offer": "年薪40万", "热线": "+86 138 1234 5678", "title": "engineer"}'
    result = normalize(raw, OFFER_SCHEMA, canonicalizers=DEFAULT_CANONICALIZERS | {"shout": shout})
    assert result.ok
    assert result.value == {
        "offer": {"amount": 400000, "period": "year", "currency": "CNY"},
        "hotline": "13812345678",
        "title": "ENGINEER",
    }
    assert {"canon.salary", "canon.phone", "canon.shout"} <= set(codes(list(result.deviations)))


def test_a_salary_the_text_cannot_support_makes_a_required_field_not_ok() -> None:
    keep = DEFAULT_CANONICALIZERS | {"shout": lambda v, f: (v, [])}
    result = normalize('{"offer": "面议"}', OFFER_SCHEMA, canonicalizers=keep)
    assert not result.ok
    assert "lost.value" in codes(list(result.deviations))
