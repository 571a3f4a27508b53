"""integrations.datasets and the batch function under it: the same rows as normalize, typed, cached right."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

datasets = pytest.importorskip("datasets", reason="the [datasets] extra: pip install 'llm-guard-json[datasets]'")
np = pytest.importorskip("numpy", reason="comes with the [datasets] extra")

from conftest import load_corpus  # noqa: E402
from llm_guard_json import ConfigError, Limits, Schema, normalize  # noqa: E402
from llm_guard_json.integrations._columns import NormalizeColumns  # noqa: E402
from llm_guard_json.integrations.datasets import normalize_dataset  # noqa: E402

CASES = load_corpus()
NUMBER = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
TEXT = {"type": "object", "properties": {"n": {"type": "string"}}, "required": ["n"]}


def api_row(raw: Any, schema: Any, **options: Any) -> dict[str, Any]:
    """What the added columns must hold for `raw`: normalize's own answer."""
    r = normalize(raw, schema, **options)
    devs = [{k: v for k, v in d.as_dict().items() if k != "path"} for d in r.deviations]
    return {"value": r.text, "ok": r.ok, "score": r.score, "deviations": devs}


def added(ds: Any, prefix: str = "") -> list[dict[str, Any]]:
    return [{k: row[prefix + k] for k in ("value", "ok", "score", "deviations")} for row in ds]


@pytest.mark.parametrize("num_proc", [None, 2])
@pytest.mark.parametrize("name", ["resume", "medical_record"])
def test_every_dev_case_gives_what_normalize_gives_in_input_order(name: str, num_proc: int | None) -> None:
    raws = [c["raw"] for c in CASES if c["schema"] == name]
    ds = datasets.Dataset.from_dict({"id": list(range(len(raws))), "output": raws})
    out = normalize_dataset(ds, name, num_proc=num_proc, batch_size=7)
    assert out["id"] == list(range(len(raws))) and out["output"] == raws  # every input column kept, in order
    assert added(out) == [api_row(r, name) for r in raws]
    assert sum(out["ok"]) > len(raws) // 2  # the corpus is mostly repairable: not all rows are the failure row
    for row in out:
        if row["value"] is not None:
            assert json.loads(row["value"]) == normalize(row["output"], name).value


def test_a_dict_schema_none_bytes_and_options() -> None:
    raws = ['{"n": "3"}', None, "```json\n{'n': 4}\n```", "nothing", '{"n": "x"}']
    ds = datasets.Dataset.from_dict({"output": raws})
    out = normalize_dataset(ds, NUMBER, weights={"fence": 0.5}, limits=Limits(max_candidates=4))
    assert len(out) == len(raws)
    options: dict[str, Any] = {"weights": {"fence": 0.5}, "limits": Limits(max_candidates=4)}
    want = [api_row(r if r is not None else "", NUMBER, **options) for r in raws]
    want[1]["deviations"][0]["detail"] = "the output is missing (None)"
    assert added(out) == want
    assert out[1]["ok"] is False and out[1]["value"] is None and out[1]["deviations"][0]["code"] == "no_json"
    binary = normalize_dataset(datasets.Dataset.from_dict({"output": [b'{"n": "\xff7"}']}), NUMBER)
    assert added(binary) == [api_row(b'{"n": "\xff7"}', NUMBER)]


def test_an_all_none_column_still_gets_typed_columns() -> None:
    out = normalize_dataset(datasets.Dataset.from_dict({"output": [None, None]}), "resume")
    assert out["ok"] == [False, False] and out["value"] == [None, None]
    assert str(out.data.schema.field("value").type) == "string"
    assert str(out.data.schema.field("deviations").type) == (
        "list<item: struct<code: string, pointer: string, detail: string, weight: double>>"
    )
    clean = normalize_dataset(datasets.Dataset.from_dict({"output": ['{"n":3}']}), NUMBER)
    assert clean["deviations"] == [[]] and clean.features["deviations"] == out.features["deviations"]


def test_a_path_schema_a_model_class_and_decoded_objects(tmp_path: Path) -> None:
    from pydantic import BaseModel

    class Person(BaseModel):  # local: not importable, so a worker must not need the class
        name: str

    path = tmp_path / "person.json"
    path.write_text(json.dumps({"type": "object", "properties": {"name": {"type": "string"}}}))
    raws = ['{"person": {"nom": "A"}}', '{"name": "B"}']
    for schema in (path, Person):
        out = normalize_dataset(datasets.Dataset.from_dict({"output": raws}), schema, num_proc=2, batch_size=1)
        assert added(out) == [api_row(r, schema) for r in raws]
    objects = [{"n": "3"}, {"n": "x"}]
    out = normalize_dataset(datasets.Dataset.from_dict({"output": objects}), NUMBER)
    assert added(out) == [api_row(json.dumps(o), NUMBER) for o in objects]


def test_a_path_schema_unwraps_under_its_file_name_as_normalize_does(tmp_path: Path) -> None:
    path = tmp_path / "person.json"
    path.write_text(json.dumps({"type": "object", "properties": {"name": {"type": "string"}}}))
    out = normalize_dataset(datasets.Dataset.from_dict({"output": ['{"person": {"nom": "A"}}']}), path)
    assert out["value"] == ['{"nom":"A"}'] and out["deviations"][0][0]["code"] == "wrapper"


def test_a_prefix_names_the_columns_apart_and_a_clash_says_to_pass_one() -> None:
    ds = datasets.Dataset.from_dict({"output": ['{"n": "3"}'], "value": ["kept"]})
    with pytest.raises(ConfigError, match=r"\['value'\].*prefix="):
        normalize_dataset(ds, NUMBER)
    out = normalize_dataset(ds, NUMBER, prefix="lgj_")
    assert out.column_names == ["output", "value", "lgj_value", "lgj_ok", "lgj_score", "lgj_deviations"]
    assert out["value"] == ["kept"] and added(out, "lgj_") == [api_row('{"n": "3"}', NUMBER)]
    with pytest.raises(ConfigError, match="prefix="):
        normalize_dataset(out, NUMBER, prefix="lgj_")  # normalized once already


def test_a_missing_column_lists_the_columns_there_are() -> None:
    ds = datasets.Dataset.from_dict({"completion": ["{}"], "id": [1]})
    with pytest.raises(ConfigError, match=r"no column 'output'.*\['completion', 'id'\].*column="):
        normalize_dataset(ds, NUMBER)
    assert normalize_dataset(ds, NUMBER, column="completion")["ok"] == [False]


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"num_proc": 0}, "num_proc"),
        ({"batch_size": 0}, "batch_size"),
        ({"weights": {"nope": 1.0}}, "unknown deviation code"),
        ({"limits": 5}, "Limits"),
        ({"column": ""}, "column"),
        ({"prefix": None}, "prefix"),
    ],
)
def test_bad_arguments_fail_before_anything_runs(kwargs: dict[str, Any], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        normalize_dataset(datasets.Dataset.from_dict({"output": ["{}"]}), NUMBER, **kwargs)


def test_a_dataset_dict_is_refused_with_the_fix() -> None:
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"output": ["{}"]})})
    with pytest.raises(ConfigError, match="each split"):
        normalize_dataset(dd, NUMBER)


def test_the_cache_is_reused_only_for_the_same_schema_and_options(tmp_path: Path) -> None:
    datasets.Dataset.from_dict({"output": ['{"n": "3"}']}).save_to_disk(str(tmp_path / "d"))
    ds = datasets.load_from_disk(str(tmp_path / "d"))  # file-backed: map writes and reuses cache files
    first = normalize_dataset(ds, NUMBER)
    assert normalize_dataset(ds, dict(NUMBER)).cache_files == first.cache_files
    other = normalize_dataset(ds, TEXT)
    weighed = normalize_dataset(ds, NUMBER, weights={"coerce": 0.5})
    assert (
        len({first.cache_files[0]["filename"], other.cache_files[0]["filename"], weighed.cache_files[0]["filename"]})
        == 3
    )
    assert (first["value"], other["value"]) == (['{"n":3}'], ['{"n":"3"}'])
    assert weighed["score"] == [pytest.approx(1 / 1.5)] != first["score"]
    # another process hashes the batch function the same: a rerun reuses the cache
    code = (
        "import datasets, sys, json; from llm_guard_json.integrations.datasets import normalize_dataset; "
        "ds = normalize_dataset(datasets.load_from_disk(sys.argv[1]), json.loads(sys.argv[2])); "
        "print(ds.cache_files[0]['filename'])"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "d"), json.dumps(NUMBER)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == first.cache_files[0]["filename"]


def test_the_batch_function_takes_numpy_object_arrays_and_returns_plain_lists() -> None:
    fn = NormalizeColumns.build(NUMBER, prefix="x_")
    ids = np.arange(3)
    batch = {"output": np.array(['{"n": "3"}', None, '{"n": 4}'], dtype=object), "id": ids}
    out = fn(batch)
    assert out["id"] is ids and list(out) == ["output", "id", "x_value", "x_ok", "x_score", "x_deviations"]
    assert out["x_value"] == ['{"n":3}', None, '{"n":4}'] and out["x_ok"] == [True, False, True]
    assert all(type(v) is float for v in out["x_score"]) and all(type(v) is bool for v in out["x_ok"])
    numbers = fn({"output": np.array([3, 4])})  # numpy numbers are read as their JSON text, not as "3"
    assert numbers["x_value"] == ["3", "4"] and numbers["x_deviations"][0] == api_row("3", NUMBER)["deviations"]


def test_the_batch_function_pickles_small_whatever_the_schema_was_built_from() -> None:
    from pydantic import BaseModel

    class Local(BaseModel):  # stdlib pickle cannot pickle this class; the function never carries it
        n: int

    for source in ("resume", NUMBER, Schema(NUMBER), Local):
        fn = NormalizeColumns.build(source)
        copy = pickle.loads(pickle.dumps(fn))
        assert copy == fn and copy({"output": ['{"n": "3"}']})["value"] == fn({"output": ['{"n": "3"}']})["value"]
        assert len(pickle.dumps(fn)) < len(fn.schema_json) + 1000


def test_a_schema_json_cannot_write_is_refused_with_what_to_pass() -> None:
    import datetime

    odd = Schema({"type": "object", "properties": {"d": {"type": "string", "default": datetime.date(2020, 1, 1)}}})
    with pytest.raises(ConfigError, match="JSON-ready dict"):
        NormalizeColumns.build(odd)


def test_importing_the_package_stays_light_and_a_missing_extra_says_what_to_install() -> None:
    light = (
        "import sys, llm_guard_json.integrations._columns as c; print(sorted({'ray', 'datasets'} & set(sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", light], capture_output=True, text=True, check=True).stdout == "[]\n"
    missing = "import sys; sys.modules['datasets'] = None; import llm_guard_json.integrations.datasets"
    run = subprocess.run([sys.executable, "-c", missing], check=False, capture_output=True, text=True)
    assert run.returncode == 1 and "pip install 'llm-guard-json[datasets]'" in run.stderr
