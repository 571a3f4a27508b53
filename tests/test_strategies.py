"""The hypothesis strategies (llm_guard_json.strategies) and the emitter they draw with (_damage)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_corpus
from llm_guard_json import Schema, normalize
from llm_guard_json._damage import PLAIN, Style, emit, key_sites, key_spellings, rename_keys
from llm_guard_json.strategies import (
    DAMAGE_KINDS,
    RECOVERABLE_KINDS,
    TEXT_CHARS,
    canonical_values,
    damaged,
    messy_outputs,
)

#: A small schema of its own: $ref, anyOf, enum, pattern, prefixItems, uniqueItems, open objects.
INLINE: dict[str, Any] = {
    "type": "object",
    "$defs": {"tag": {"type": "string", "minLength": 1, "maxLength": 12}},
    "properties": {
        "id": {"type": "integer", "minimum": 1, "x-aliases": ["编号", "identifier"]},
        "title": {"type": "string", "minLength": 1, "x-aliases": ["标题", "heading"]},
        "status": {"enum": ["open", "closed", None], "default": None, "x-aliases": ["状态"]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "maxItems": 3, "uniqueItems": True, "default": []},
        "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
        "code": {"type": ["string", "null"], "pattern": "^[A-Z]{2}[0-9]{3}$", "default": None},
        "owner": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "full_name": {"type": "string", "x-aliases": ["姓名"]},
                        "admin": {"type": "boolean"},
                    },
                    "required": ["full_name"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ],
            "x-aliases": ["负责人"],
        },
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["id", "title"],
    "additionalProperties": False,
}
SCHEMAS: dict[str, Any] = {"resume": "resume", "medical_record": "medical_record", "inline": INLINE}
COMPILED = {name: Schema(source) for name, source in SCHEMAS.items()}
VALUES = {name: canonical_values(schema) for name, schema in COMPILED.items()}
MESSY = {name: messy_outputs(schema) for name, schema in COMPILED.items()}
#: The deviations each recoverable kind of damage may cause; normalize must report no other.
CAUSES = {
    "fence": {"fence"},
    "prose": {"prose"},
    "think": {"think"},
    "trailing_comma": {"repair.trailing_comma"},
    "single_quotes": {"repair.single_quotes"},
    "bare_keys": {"repair.unquoted_key"},
    "comments": {"repair.comment"},
    "python_literals": {"repair.python_literal"},
    "fullwidth": {"repair.fullwidth"},
    "key_alias": {"key.alias", "key.case"},
}
RECOVERED = set().union(*CAUSES.values())
SAMPLE = {
    "name": "张伟",
    "gender": "男",
    "age": 35,
    "company": "北京字节跳动",
    "position": None,
    "city": "北京",
    "years_of_experience": 12,
    "education": [{"degree": "本科", "school": "清华大学", "major": "计算机", "graduation_year": 2010}],
    "skills": ["Python", "Java"],
    "salary": {"amount": 45000, "period": "month", "currency": "CNY"},
    "phone": "13812345678",
    "email": "zhangwei@example.com",
}


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _codes(result: Any) -> set[str]:
    return {d.code for d in result.deviations}


# -- canonical_values ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_canonical_values_are_valid_and_fixed_points(name: str, data: st.DataObject) -> None:
    value = data.draw(VALUES[name])
    assert COMPILED[name].problems(value) == []
    result = normalize(_text(value), SCHEMAS[name])
    assert result.ok
    assert result.deviations == ()
    assert result.value == value and result.text == _text(value)


# -- messy_outputs and damaged ------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_messy_outputs_normalize_to_their_expected_value(name: str, data: st.DataObject) -> None:
    raw, expected = data.draw(MESSY[name])
    result = normalize(raw, SCHEMAS[name])
    assert result.ok, [d.as_dict() for d in result.deviations]
    assert result.value == expected
    assert result.text == _text(expected)
    assert _codes(result) <= RECOVERED


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damage_causes_only_its_own_deviations(name: str, data: st.DataObject) -> None:
    value = data.draw(VALUES[name])
    kinds = data.draw(st.lists(st.sampled_from(RECOVERABLE_KINDS), min_size=1, unique=True))
    raw = data.draw(damaged(_text(value), schema=COMPILED[name], kinds=kinds))
    result = normalize(raw, SCHEMAS[name])
    assert result.ok and result.value == value
    assert _codes(result) <= set().union(*(CAUSES[k] for k in kinds))


def test_the_sample_is_canonical() -> None:
    result = normalize(_text(SAMPLE), "resume")
    assert result.ok and result.deviations == () and result.value == SAMPLE


@pytest.mark.parametrize("kind", RECOVERABLE_KINDS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_each_kind_alone_always_shows(kind: str, data: st.DataObject) -> None:
    raw = data.draw(damaged(_text(SAMPLE), schema="resume", kinds=[kind]))
    result = normalize(raw, "resume")
    assert result.ok and result.value == SAMPLE
    assert _codes(result) & CAUSES[kind]
    assert _codes(result) <= CAUSES[kind]


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_output_never_raises_and_its_result_settles(name: str, data: st.DataObject) -> None:
    value = data.draw(VALUES[name])
    raw = data.draw(damaged(_text(value), schema=COMPILED[name], kinds=DAMAGE_KINDS))
    result = normalize(raw, SCHEMAS[name])
    if not result.ok:
        assert result.deviations
        return
    assert result.text == _text(result.value)
    again = normalize(result.text, SCHEMAS[name])
    assert again.deviations == ()
    assert again.value == result.value and again.text == result.text


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_cut_never_passes_unnoticed(name: str, data: st.DataObject) -> None:
    text = _text(data.draw(VALUES[name]))
    raw = data.draw(damaged(text, kinds=["truncation"]))
    assert len(raw) < len(text) and text.startswith(raw)
    result = normalize(raw, SCHEMAS[name])
    assert result.deviations  # every root here is an object: a cut always leaves a mark


def test_damaged_rejects_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="JSON text"):
        damaged("not json")
    with pytest.raises(ValueError, match="unknown damage kinds"):
        damaged("{}", kinds=["typo"])
    with pytest.raises(ValueError, match="needs the schema"):
        damaged("{}", kinds=["key_alias"])


# -- the emitter and key spellings ---------------------------------------------------------

TEXT = st.text(st.sampled_from(TEXT_CHARS), max_size=12)
JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT.filter(bool), inner, max_size=3),
    max_leaves=12,
)
STYLES = st.builds(
    Style,
    key_quote=st.sampled_from(['"', "'", ""]),
    string_quote=st.sampled_from(['"', "'", "“"]),
    colon=st.sampled_from([":", "："]),
    comma=st.sampled_from([",", "，"]),
    trailing_comma=st.booleans(),
    comment=st.sampled_from(["", "//", "/*"]),
    comment_text=st.sampled_from(["note", "以下为结果"]),
    python_literals=st.booleans(),
    indent=st.sampled_from([None, 2]),
)


def test_the_plain_style_writes_canonical_text() -> None:
    assert emit(SAMPLE, PLAIN) == _text(SAMPLE)
    assert emit([1, 2.5, True, None, {}], PLAIN) == "[1,2.5,true,null,{}]"


@settings(max_examples=150)
@given(st.one_of(st.lists(JSON_DATA, max_size=3), st.dictionaries(TEXT.filter(bool), JSON_DATA, max_size=4)), STYLES)
def test_every_style_reads_back_as_the_same_value(value: Any, style: Style) -> None:
    result = normalize(emit(value, style), {})
    assert result.value == value


def test_key_spellings_follow_rule_4_and_leave_out_shared_aliases() -> None:
    node = {
        "properties": {
            "job_title": {"x-aliases": ["title", "职位"]},
            "name": {"x-aliases": ["title", "Job-Title", "姓名"]},
        }
    }
    resolve = Schema({}).resolve
    spellings = key_spellings(node, "job_title", resolve)
    assert {"JOB_TITLE", "Job Title", "job-title", "jobTitle", "职位"} <= set(spellings)
    assert "job_title" not in spellings and "title" not in spellings  # `title` names two properties
    assert key_spellings(node, "name", resolve) == ["NAME", "Name", "姓名"]  # Job-Title is job_title's name


def _first_expected(schema: str) -> Any:
    return next(c["expected"] for c in load_corpus() if c["schema"] == schema and c["expected"] is not None)


@pytest.mark.parametrize("name", ["resume", "medical_record"])
def test_every_key_spelling_reads_back(name: str) -> None:
    value = _first_expected(name)
    sites = key_sites(value, COMPILED[name])
    assert sites
    for path, spellings in sites:
        for spelling in spellings:
            result = normalize(_text(rename_keys(value, {path: spelling})), name)
            assert result.ok and result.value == value, (path, spelling)
            assert _codes(result) <= CAUSES["key_alias"] and _codes(result)


# -- packaging -----------------------------------------------------------------------------


def test_importing_the_package_does_not_import_hypothesis() -> None:
    code = "import sys, llm_guard_json, llm_guard_json._damage; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_strategies_name_the_extra_when_hypothesis_is_missing() -> None:
    code = (
        "import sys\nsys.modules['hypothesis'] = None\n"
        "try:\n    import llm_guard_json.strategies\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert 'pip install "llm-guard-json[strategies]"' in out
