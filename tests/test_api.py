"""The public face: one sorted __all__ that names exactly what the package exports."""

from __future__ import annotations

import subprocess
import sys

import pytest

import llm_guard_json
from llm_guard_json import ConfigError, GuardError, OutputRejected, SchemaError, normalize


def test_all_is_sorted_and_complete() -> None:
    assert llm_guard_json.__all__ == sorted(llm_guard_json.__all__)
    public = {n for n in vars(llm_guard_json) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(llm_guard_json, n)).__name__ == "module"}
    assert set(llm_guard_json.__all__) == public - modules


def test_every_name_in_all_exists() -> None:
    for name in llm_guard_json.__all__:
        assert getattr(llm_guard_json, name) is not None


def test_error_tree_subclasses_builtins() -> None:
    assert issubclass(ConfigError, GuardError) and issubclass(ConfigError, TypeError)
    assert issubclass(SchemaError, GuardError) and issubclass(SchemaError, ValueError)
    assert issubclass(OutputRejected, GuardError) and issubclass(OutputRejected, ValueError)


def test_import_stays_light() -> None:
    heavy = "('torch', 'transformers', 'peft', 'httpx', 'ray', 'datasets')"
    code = f"import sys, llm_guard_json; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("bad", [None, 42, {"name": "x"}, ["x"]])
def test_non_text_output_is_a_programmer_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="str or bytes"):
        normalize(bad, "resume")  # type: ignore[arg-type]


def test_result_as_dict_and_raise_for_deviations() -> None:
    clean = normalize('{"name": "张伟"}', {"type": "object", "properties": {"name": {"type": "string"}}})
    assert clean.ok and clean.score == 1.0 and clean.deviations == ()
    assert clean.raise_for_deviations() is clean
    assert clean.as_dict() == {
        "value": {"name": "张伟"},
        "ok": True,
        "score": 1.0,
        "text": '{"name":"张伟"}',
        "deviations": [],
    }
    fenced = normalize('```json\n{"name": "张伟"}\n```', {"type": "object"})
    with pytest.raises(OutputRejected) as info:
        fenced.raise_for_deviations()
    assert info.value.result is fenced and info.value.attempts == (fenced,)
    assert fenced.raise_for_deviations(allow=["fence"]) is fenced


def test_unknown_canonicalizer_names_the_fix() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "x-canonical": "mine"}}}
    with pytest.raises(ConfigError, match="DEFAULT_CANONICALIZERS"):
        normalize("{}", schema)


def test_weights_are_checked_and_applied() -> None:
    with pytest.raises(ConfigError, match="unknown deviation code"):
        normalize("{}", {}, weights={"nope": 1.0})
    with pytest.raises(ConfigError, match="positive"):
        normalize("{}", {}, weights={"fence": 0})
    light = normalize('```\n{"a": 1}\n```', {}, weights={"fence": 0.5})
    assert [d.weight for d in light.deviations] == [0.5]
    assert light.score == pytest.approx(1 / 1.5)
