"""integrations.ray: the same rows as normalize, lazily, typed by Arrow, on a local two-CPU Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the [ray] extra: pip install 'llm-guard-json[ray]'")
pytest.importorskip("ray.data", reason="the [ray] extra installs ray[data]")
pq = pytest.importorskip("pyarrow.parquet", reason="comes with ray[data]")

from conftest import load_corpus  # noqa: E402
from llm_guard_json import ConfigError, normalize  # noqa: E402
from llm_guard_json.integrations.ray import normalize_dataset  # noqa: E402

# Ray warns of its own deprecated settings whenever it copies its DataContext
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")
CASES = load_corpus()
NUMBER = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
DEVIATIONS = "list<item: struct<code: string, pointer: string, detail: string, weight: double>>"


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray for the module: two CPUs, no dashboard, no usage stats, nothing online."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        ctx = ray.data.DataContext.get_current()
        saved = (ctx.enable_progress_bars, ctx.execution_options.preserve_order)
        ctx.enable_progress_bars, ctx.execution_options.preserve_order = False, True  # rows come back in order
        try:
            yield
        finally:
            ctx.enable_progress_bars, ctx.execution_options.preserve_order = saved
            ray.shutdown()


def api_row(raw: Any, schema: Any, **options: Any) -> dict[str, Any]:
    """What the added columns must hold for `raw`: normalize's own answer."""
    r = normalize(raw, schema, **options)
    devs = [{k: v for k, v in d.as_dict().items() if k != "path"} for d in r.deviations]
    return {"value": r.text, "ok": r.ok, "score": r.score, "deviations": devs}


def added(rows: list[dict[str, Any]], prefix: str = "") -> list[dict[str, Any]]:
    return [{k: row[prefix + k] for k in ("value", "ok", "score", "deviations")} for row in rows]


def test_every_dev_case_gives_what_normalize_gives_in_input_order() -> None:
    for name in ("resume", "medical_record"):
        raws = [c["raw"] for c in CASES if c["schema"] == name]
        ds = ray.data.from_items([{"id": i, "output": r} for i, r in enumerate(raws)])
        rows = normalize_dataset(ds, name, batch_size=8).take_all()
        assert [(r["id"], r["output"]) for r in rows] == list(enumerate(raws))  # every input column kept
        assert added(rows) == [api_row(r, name) for r in raws]
        assert sum(r["ok"] for r in rows) > len(raws) // 2


def test_a_jsonl_file_in_and_parquet_out_keep_the_types(tmp_path: Path) -> None:
    cases = [c for c in CASES if c["schema"] == "resume"]
    lines = [{"id": c["id"], "output": c["raw"]} for c in cases] + [{"id": "none", "output": None}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    ds = normalize_dataset(ray.data.read_json(str(tmp_path / "in.jsonl")), "resume", prefix="lgj_", batch_size=16)
    ds.write_parquet(str(tmp_path / "out"))
    table = pq.read_table(str(tmp_path / "out"))
    assert str(table.schema.field("lgj_value").type) == "string"
    assert str(table.schema.field("lgj_deviations").type) == DEVIATIONS.replace("item", "element")
    rows = sorted(table.to_pylist(), key=lambda r: lines.index({"id": r["id"], "output": r["output"]}))
    assert [r["id"] for r in rows] == [x["id"] for x in lines]  # one row out per row in
    want = [api_row(x["output"], "resume") for x in lines[:-1]]
    assert added(rows[:-1], "lgj_") == want
    assert rows[-1]["lgj_ok"] is False and rows[-1]["lgj_deviations"][0]["detail"] == "the output is missing (None)"


def test_a_dict_schema_and_a_batch_of_only_none_type_like_the_rest() -> None:
    raws = [None] * 4 + ['{"n": "3"}', "```json\n{'n': 4}\n```", "nothing", '{"n": 5}']
    ds = normalize_dataset(
        ray.data.from_items([{"output": r} for r in raws]), NUMBER, batch_size=4, weights={"fence": 1}
    )
    rows = ds.take_all()
    assert [r["value"] for r in rows] == [None] * 4 + ['{"n":3}', '{"n":4}', None, '{"n":5}']
    assert added(rows[4:]) == [api_row(r, NUMBER, weights={"fence": 1}) for r in raws[4:]]
    assert [r["ok"] for r in rows[:4]] == [False] * 4 and rows[7]["deviations"] == []
    types = dict(zip(ds.schema().names, map(str, ds.schema().types), strict=True))
    assert (types["value"], types["ok"], types["score"], types["deviations"]) == (
        "string",
        "bool",
        "double",
        DEVIATIONS,
    )


def test_the_row_count_holds_and_a_limit_still_works() -> None:
    raws = [c["raw"] for c in CASES]
    ds = normalize_dataset(ray.data.from_items([{"output": r} for r in raws]), NUMBER, concurrency=1)
    assert ds.count() == len(raws)
    assert added(ds.limit(3).take_all()) == [api_row(r, NUMBER) for r in raws[:3]]


def test_a_prefix_names_the_columns_apart_and_a_clash_says_to_pass_one() -> None:
    ds = ray.data.from_items([{"output": '{"n": "3"}', "score": 7}])
    with pytest.raises(ConfigError, match=r"\['score'\].*prefix="):
        normalize_dataset(ds, NUMBER)  # the schema of from_items is known: the clash shows at once
    rows = normalize_dataset(ds, NUMBER, prefix="lgj_").take_all()
    assert list(rows[0]) == ["output", "score", "lgj_value", "lgj_ok", "lgj_score", "lgj_deviations"]
    assert rows[0]["score"] == 7 and added(rows, "lgj_") == [api_row('{"n": "3"}', NUMBER)]


def test_a_missing_column_lists_the_columns_at_once_or_when_the_lazy_dataset_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no column 'output'.*\['completion'\].*column="):
        normalize_dataset(ray.data.from_items([{"completion": "{}"}]), NUMBER)
    (tmp_path / "in.jsonl").write_text('{"completion": "{\\"n\\": 1}"}\n', encoding="utf-8")
    lazy = normalize_dataset(ray.data.read_json(str(tmp_path / "in.jsonl")), NUMBER)  # nothing has run yet
    with pytest.raises(ray.exceptions.RayTaskError, match=r"no column 'output'.*\['completion'\]"):
        lazy.take_all()
    ok = normalize_dataset(ray.data.read_json(str(tmp_path / "in.jsonl")), NUMBER, column="completion")
    assert [r["value"] for r in ok.take_all()] == ['{"n":1}']


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"batch_size": 0}, "batch_size"),
        ({"weights": {"nope": 1.0}}, "unknown deviation code"),
    ],
)
def test_bad_arguments_fail_before_anything_runs(args: dict[str, Any], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        normalize_dataset(ray.data.from_items([{"output": "{}"}]), NUMBER, **args)


def test_only_a_ray_dataset_is_taken() -> None:
    with pytest.raises(ConfigError, match=r"ray\.data\.Dataset"):
        normalize_dataset([{"output": "{}"}], NUMBER)


def test_a_missing_extra_says_what_to_install() -> None:
    missing = "import sys; sys.modules['ray'] = None; import llm_guard_json.integrations.ray"
    run = subprocess.run([sys.executable, "-c", missing], check=False, capture_output=True, text=True)
    assert run.returncode == 1 and "pip install 'llm-guard-json[ray]'" in run.stderr
