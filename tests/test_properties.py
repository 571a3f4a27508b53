"""Invariants of normalize, checked by hypothesis over messy and arbitrary outputs."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_corpus
from llm_guard_json import Deviation, Result, normalize, score
from llm_guard_json.strategies import damaged

CASES = load_corpus()
CANONICAL = [(c["schema"], c["expected"]) for c in CASES if c["expected"] is not None]
RAWS = [(c["schema"], c["raw"]) for c in CASES]
EXTRACTION = {"fence", "prose", "think"}


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _resolves(value: Any, path: tuple[str | int, ...]) -> bool:
    for part in path:
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return False
    return True


@st.composite
def wrapped(draw: st.DrawFn) -> tuple[str, Any, str]:
    """A canonical value, written as text and wrapped in fences, prose and <think> by chance."""
    schema, value = draw(st.sampled_from(CANONICAL))
    text = draw(st.sampled_from([_text(value), json.dumps(value, ensure_ascii=False, indent=2)]))
    return schema, value, draw(st.just(text) | damaged(text, kinds=sorted(EXTRACTION)))


@given(wrapped())
def test_wrapping_is_undone_with_only_extraction_deviations(case: tuple[str, Any, str]) -> None:
    schema, value, raw = case
    result = normalize(raw, schema)
    assert result.ok
    assert result.value == value
    assert set(result.codes) <= EXTRACTION


def _fixed_point(result: Result, schema: str) -> None:
    if result.ok and result.text is not None:
        again = normalize(result.text, schema)
        assert again.deviations == ()
        assert again.value == result.value and again.text == result.text


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RAWS), st.integers(min_value=0, max_value=400))
def test_canonical_text_is_a_fixed_point(case: tuple[str, str], cut: int) -> None:
    schema, raw = case
    _fixed_point(normalize(raw, schema), schema)
    _fixed_point(normalize(raw[: len(raw) - cut], schema), schema)  # truncated by chance


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RAWS), st.integers(min_value=0, max_value=400))
def test_every_pointer_resolves_or_names_a_removed_place(case: tuple[str, str], cut: int) -> None:
    schema, raw = case
    result = normalize(raw[: len(raw) - cut], schema)
    for d in result.deviations:
        assert d.pointer == "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in d.path)
        if not _resolves(result.value, d.path):
            # a dropped key or item: some ancestor still stands in the value
            assert any(_resolves(result.value, d.path[:i]) for i in range(len(d.path)))


def test_pointer_escaping() -> None:
    assert Deviation("key.unknown", ("a/b", "c~d", 0)).pointer == "/a~1b/c~0d/0"


DEVIATIONS = st.builds(
    Deviation,
    st.sampled_from(["fence", "repair.comment", "lost.value", "canon.x"]),
    st.just(()),
    st.just(""),
    st.floats(min_value=0.001, max_value=10),
)


@given(st.lists(DEVIATIONS, max_size=8), DEVIATIONS)
def test_adding_a_deviation_never_raises_the_score(devs: list[Deviation], extra: Deviation) -> None:
    assert score([*devs, extra]) < score(devs) <= 1.0
    assert score([]) == 1.0


SCHEMAS = st.sampled_from(
    ["resume", "medical_record", {}, {"type": "integer"}, {"type": "array", "items": {"type": "string"}}]
)


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)), SCHEMAS)
def test_arbitrary_text_never_raises(raw: str | bytes, schema: Any) -> None:
    result = normalize(raw, schema)
    assert isinstance(result, Result)
    if not result.ok:
        assert result.deviations
    else:
        assert result.text == json.dumps(result.value, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=100)
@given(st.text(alphabet="{}[]\",:'0123456789abc \n，：“”" + "\\", max_size=400), SCHEMAS)
def test_json_like_noise_never_raises(raw: str, schema: Any) -> None:
    result = normalize(raw, schema)
    if result.ok:
        _fixed_point_any(result, schema)


def _fixed_point_any(result: Result, schema: Any) -> None:
    assert result.text is not None
    again = normalize(result.text, schema)
    assert again.value == result.value


def test_nothing_is_invented_from_a_refusal() -> None:
    result = normalize("抱歉，文本中没有简历信息，无法抽取。", "resume")
    assert not result.ok and result.value is None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@settings(max_examples=150)
@given(st.text(alphabet="{}[]\",:'0123456789abc 北京 \n，：“”/#*", max_size=300))
def test_repair_invents_no_text(raw: str) -> None:
    result = normalize(raw, {})
    for text in _strings(result.value):
        assert text in raw


def _walked(value: Any, schema_name: str) -> tuple[Any, list[str]]:
    from llm_guard_json import DEFAULT_CANONICALIZERS, Schema
    from llm_guard_json._coerce import Walk

    schema = Schema(schema_name)
    walk = Walk(schema, DEFAULT_CANONICALIZERS)
    out, _ = walk.value(value, schema.root, (), ())
    return out, [d.code for d in walk.deviations]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CANONICAL), st.data())
def test_fast_path_agrees_with_the_walk(case: tuple[str, Any], data: st.DataObject) -> None:
    """Whenever the fast path calls a valid value canonical, the full walk changes nothing."""
    from llm_guard_json import DEFAULT_CANONICALIZERS, Schema
    from llm_guard_json._fastpath import is_canonical

    schema_name, value = case
    value = json.loads(json.dumps(value))
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        value[key] = data.draw(st.sampled_from([None, "", "未知", 35.0, "35", [], ["python"], "否认x", {"a": 1}]))
    schema = Schema(schema_name)
    if not schema.problems(value) and is_canonical(value, schema, DEFAULT_CANONICALIZERS):
        out, codes = _walked(value, schema_name)
        assert out == value and json.dumps(out) == json.dumps(value)
        assert codes == []
