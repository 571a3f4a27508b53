"""`llm-guard-json report`: the figures against normalize itself, the recommendation, JSON, table and HTML."""

from __future__ import annotations

import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_corpus
from llm_guard_json import CODES, Deviation, normalize
from llm_guard_json._cli import main
from llm_guard_json._report import FAMILIES, MAX_FIELDS, WORST, Figures, Outcome, category
from llm_guard_json._summary import field_of

DOC = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text(encoding="utf-8")
CONTENT_CODES = {"input.decode", "no_json", "limit.size", "limit.depth", "limit.candidates"}
CONTENT_CODES |= {"lost.value", "missing.required", "invalid.type"}
HOSTILE = 'sorry </pre><script>alert(1)</script><img src=x onerror="alert(2)"> no JSON here'


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def outputs(path: Path, raws: list[str]) -> Path:
    return write(path, [{"id": f"o{i}", "output": raw} for i, raw in enumerate(raws)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The dev corpus as raw outputs, normalized (`base`), and a better model: its canonical texts (`tuned`)."""
    tmp = tmp_path_factory.mktemp("runs")
    cases = load_corpus()
    raw = write(tmp / "raw.jsonl", [{"id": c["id"], "schema": c["schema"], "output": c["raw"]} for c in cases])
    base = tmp / "base.jsonl"
    argv = ["--schema", "resume", "--schema-field", "schema", "--workers", "1"]
    assert run(["normalize", str(raw), *argv, "--out", str(base)])[0] == 1
    better = [normalize(c["raw"], c["schema"]) for c in cases]
    rows = [
        {"id": c["id"], "schema": c["schema"], "output": r.text or c["raw"]} for c, r in zip(cases, better, strict=True)
    ]
    tuned_raw = write(tmp / "tuned_raw.jsonl", rows)
    tuned = tmp / "tuned.jsonl"
    run(["normalize", str(tuned_raw), *argv, "--out", str(tuned)])
    return {"raw": raw, "base": base, "tuned_raw": tuned_raw, "tuned": tuned}


def report(*argv: str) -> dict[str, Any]:
    code, out, err = run(["report", *argv, "--json"])
    assert code == 0, err
    return dict(json.loads(out))


# -- the classifier --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_has_its_category(code: str) -> None:
    assert category(code) == ("content" if code in CONTENT_CODES else "format")
    assert code.partition(".")[0] in FAMILIES  # decided by its family, not by the fallback


def test_unknown_codes_follow_their_family_else_count_as_format() -> None:
    assert category("canon.sku") == "format" and category("acme.thing") == "format"
    assert category("invalid.pattern") == "content" and category("lost.item") == "content"


# -- the figures ---------------------------------------------------------------------------------


def test_figures_equal_what_normalize_says(runs: dict[str, Path]) -> None:
    (got,) = report(str(runs["base"]))["runs"]
    cases = load_corpus()
    results = [normalize(c["raw"], c["schema"]) for c in cases]
    n = len(results)
    assert (got["name"], got["outputs"], got["ok"]) == ("base", n, sum(r.ok for r in results))
    assert got["mean_score"] == pytest.approx(sum(r.score for r in results) / n, abs=1e-5)
    hit = Counter(code for r in results for code in set(r.codes))
    counts = Counter(code for r in results for code in r.codes)
    assert {c["code"]: (c["outputs"], c["count"]) for c in got["codes"]} == {k: (hit[k], counts[k]) for k in hit}
    assert all(c["rate"] == round(c["outputs"] / n, 6) for c in got["codes"])
    fields = Counter(f for r in results for f in {field_of(d.pointer) for d in r.deviations})
    assert {f["field"]: f["outputs"] for f in got["fields"]} == fields
    content = sum(not r.ok or bool(set(r.codes) & CONTENT_CODES) for r in results)
    clean = sum(r.ok and not r.deviations for r in results)
    assert got["categories"]["content"]["outputs"] == content and got["categories"]["clean"]["outputs"] == clean
    assert got["categories"]["format"]["outputs"] == n - content - clean
    assert sum(got["histogram"]["counts"]) == n and got["high_score_share"] == sum(r.score >= 0.9 for r in results) / n
    order = sorted(range(n), key=lambda i: (round(results[i].score, 6), results[i].ok, i))[:WORST]
    assert [w["line"] for w in got["worst"]] == [i + 1 for i in order]
    for w, i in zip(got["worst"], order, strict=True):
        assert (w["id"], w["raw"], w["canonical"]) == (cases[i]["id"], cases[i]["raw"], results[i].text)
        assert w["deviations"] == [d.as_dict() for d in results[i].deviations]


def test_raw_outputs_with_schema_give_the_same_figures_on_any_worker_count(runs: dict[str, Path]) -> None:
    def figures(*argv: str) -> list[dict[str, Any]]:
        found = report(*argv)["runs"]
        return [{k: v for k, v in r.items() if k not in {"name", "source", "recommendation"}} for r in found]

    normalized = figures(str(runs["base"]))
    assert figures(str(runs["raw"]), "--schema", "resume", "--schema-field", "schema", "--workers", "1") == normalized
    assert figures(str(runs["raw"]), "--schema", "resume", "--schema-field", "schema", "--workers", "3") == normalized


def test_two_runs_side_by_side_and_compared(runs: dict[str, Path]) -> None:
    got = report(str(runs["base"]), str(runs["tuned"]), "--name", "base+prompt", "--name", "after SFT")
    before, after = got["runs"]
    assert [before["name"], after["name"]] == ["base+prompt", "after SFT"]
    assert after["mean_score"] > before["mean_score"] and after["ok"] == before["ok"]
    (change,) = got["comparisons"]
    assert (change["from"], change["to"]) == ("base+prompt", "after SFT")
    assert change["mean_score_change"] == pytest.approx(after["mean_score"] - before["mean_score"], abs=1e-6)
    assert change["improved"][0]["code"] == "default"  # the commonest format code is gone
    assert "improved most: default -67.0 pts" in change["text"] and "base+prompt → after SFT" in change["text"]


# -- the recommendation ------------------------------------------------------------------------------


def test_the_recommendation_follows_the_figures(tmp_path: Path) -> None:
    clean = normalize('{"name": "张三", "age": 30}', "resume").text
    assert clean is not None and normalize(clean, "resume").score == 1.0
    fenced = '好的：\n```json\n{"name": "张三", "age": "30岁"}\n```'
    refusal = "抱歉，无法抽取。"
    files = {
        "format": outputs(tmp_path / "format.jsonl", [fenced] * 8 + [refusal] * 2),
        "content": outputs(tmp_path / "content.jsonl", [refusal] * 6 + [fenced] * 4),
        "clean": outputs(tmp_path / "clean.jsonl", [clean] * 10),
        "edge": outputs(tmp_path / "edge.jsonl", [clean] * 98 + [refusal] * 2),  # 98% ok: just enough
        "under": outputs(tmp_path / "under.jsonl", [clean] * 97 + [refusal] * 3),
    }
    got = report(*map(str, files.values()), "--schema", "resume", "--workers", "1")
    actions = {r["name"]: r["recommendation"] for r in got["runs"]}
    assert {k: v["action"] for k, v in actions.items()} == {
        "format": "dpo",
        "content": "sft",
        "clean": "prompt",
        "edge": "prompt",
        "under": "sft",
    }
    assert "20.0% of outputs have content problems" in actions["format"]["text"]
    assert "80.0% with only format deviations" in actions["format"]["text"]
    assert "fence 80.0%" in actions["format"]["text"]
    steps = "--store feedback.db --model format` then `llm-guard-json export --format trl-dpo --store feedback.db"
    assert steps + " --model format --out data`" in actions["format"]["text"]
    assert f"normalize {files['format']} --schema resume --store feedback.db" in actions["format"]["text"]
    assert "no_json 60.0%" in actions["content"]["text"] and "More SFT data" in actions["content"]["text"]
    assert "100.0% of outputs are ok" in actions["clean"]["text"] and "98.0%" in actions["edge"]["text"]
    assert "97.0% ok" in actions["under"]["text"]


# -- the outputs ---------------------------------------------------------------------------------------

RUN_KEYS = ["name", "source", "outputs", "ok", "ok_rate", "skipped_lines", "mean_score", "median_score", "quantiles"]
RUN_KEYS += ["high_score_share", "histogram", "categories", "codes", "fields", "worst", "recommendation"]


def test_json_keys_are_stable_documented_and_round_trip(runs: dict[str, Path]) -> None:
    code, out, _ = run(["report", str(runs["base"]), str(runs["tuned"]), "--json"])
    got = json.loads(out)
    assert code == 0 and json.loads(json.dumps(got)) == got
    assert list(got) == ["version", "thresholds", "runs", "comparisons"]
    assert all(list(r) == RUN_KEYS for r in got["runs"])
    documented = [*got, *RUN_KEYS, *got["thresholds"], *got["comparisons"][0], *got["runs"][0]["worst"][0]]
    documented += [*got["runs"][0]["codes"][0], *got["runs"][0]["fields"][0], *got["runs"][0]["quantiles"]]
    assert [k for k in documented if f"`{k}`" not in DOC] == []


def test_the_terminal_table_shows_every_run(runs: dict[str, Path]) -> None:
    code, out, _ = run(["report", str(runs["base"]), str(runs["tuned"]), "--name", "基线", "--name", "after_dpo"])
    assert code == 0
    assert "基线" in out and "after_dpo" in out and "ok rate" in out and "median score" in out
    assert "code default" in out and "field /salary" in out and "recommendation" in out
    assert "基线: DPO on the exported pairs" in out and "基线 → after_dpo" in out


# -- the HTML report -----------------------------------------------------------------------------------


def html_report(runs: dict[str, Path], tmp_path: Path) -> str:
    pytest.importorskip("matplotlib", reason="--html needs the [report] extra (matplotlib)")
    hostile = outputs(tmp_path / "hostile.jsonl", [HOSTILE, '{"name": "A"}'])
    target = tmp_path / "report.html"
    argv = [str(runs["tuned_raw"]), str(hostile), "--schema", "resume", "--schema-field", "schema", "--workers", "1"]
    code, _, err = run(["report", *argv, "--name", "$x_1$ 调优", "--name", "_hostile", "--html", str(target)])
    assert code == 0 and "report written to" in err
    return target.read_text(encoding="utf-8")


def test_html_has_every_section_and_drawable_inline_charts(runs: dict[str, Path], tmp_path: Path) -> None:
    page = html_report(runs, tmp_path)
    for section in ("summary", "recommendation", "ok-rate", "scores", "codes", "fields", "worst"):
        assert f'<section id="{section}">' in page
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) == 4
    ids: list[str] = []
    for svg in svgs:
        root = ET.fromstring(svg)
        paths = [e for e in root.iter("{http://www.w3.org/2000/svg}path") if e.get("d", "").strip()]
        assert len(paths) > 5 and any(e.text for e in root.iter("{http://www.w3.org/2000/svg}text"))
        ids += [e.attrib["id"] for e in root.iter() if "id" in e.attrib]
    assert len(ids) == len(set(ids))  # several charts in one page share no id
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "$x_1$ 调优" in page


def test_html_fetches_nothing_and_escapes_the_raw_output(runs: dict[str, Path], tmp_path: Path) -> None:
    page = html_report(runs, tmp_path)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert "@import" not in page and "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count("<script>") == 1  # the report's own check, and nothing from the outputs
    assert "<img" not in page and "alert(1)</script>" not in page
    assert (
        "sorry &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    )


def test_html_without_matplotlib_names_the_extra(runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    code, _, err = run(["report", str(runs["base"]), "--html", "never.html"])
    assert code == 2 and "pip install 'llm-guard-json[report]'" in err
    assert not Path("never.html").exists()


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such/run.jsonl"], "cannot read '/no/such/run.jsonl'"),
        (["{raw}"], "pass --schema S to normalize raw outputs, or run `llm-guard-json normalize"),
        (["{base}", "{tuned}", "--name", "only-one"], "--name given 1 times for 2 runs"),
        (["{raw}", "--schema", "resume", "--workers", "0"], "workers"),
        (["{raw}", "--schema", "no-such-schema"], "resume"),
        (["{base}", "--html", "/no/such/dir/report.html"], "cannot write"),
        (["-", "-"], "once"),
        (["{base}", "--frobnicate"], ""),
    ],
)
def test_input_and_usage_errors_exit_2(runs: dict[str, Path], argv: list[str], message: str) -> None:
    if "--html" in argv:
        pytest.importorskip("matplotlib")
    code, out, err = run(["report", *(a.format(**{k: str(v) for k, v in runs.items()}) for a in argv)])
    assert code == 2 and message in err and out == ""


def test_bad_lines_are_reported_skipped_and_counted(runs: dict[str, Path], tmp_path: Path) -> None:
    lines = runs["base"].read_text(encoding="utf-8").splitlines()
    malformed = json.dumps({"output": "x", "ok": "yes", "score": 0.5, "deviations": []})
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([lines[0], "{broken", malformed, *lines[1:]]) + "\n", encoding="utf-8")
    code, out, err = run(["report", str(path), "--json"])
    (got,) = json.loads(out)["runs"]
    assert code == 2 and got["skipped_lines"] == 2 and got["outputs"] == len(lines)
    assert "mixed.jsonl:2: not a JSON object" in err and "mixed.jsonl:3: malformed ok, score or deviations" in err


# -- runs from a feedback store ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base and tuned outputs recorded in one feedback store, each under its model id."""
    db = tmp_path_factory.mktemp("store") / "feedback.db"
    argv = ["--schema", "resume", "--schema-field", "schema", "--workers", "1", "--store", str(db)]
    for model, source in (("base", runs["raw"]), ("tuned", runs["tuned_raw"])):
        run(["normalize", str(source), *argv, "--model", model, "--out", str(db.with_suffix(f".{model}.jsonl"))])
    return db


def test_a_store_gives_one_run_per_model_with_the_figures_of_the_files(runs: dict[str, Path], store: Path) -> None:
    from llm_guard_json.feedback import FeedbackStore

    got = report("--store", str(store))
    assert [r["name"] for r in got["runs"]] == ["base", "tuned"]  # in the order they were stored
    with FeedbackStore(store) as db:
        held = {m: db.count(model=m) for m in ("base", "tuned")}
    files = {r["name"]: r for r in report(str(runs["base"]), str(runs["tuned"]))["runs"]}
    base, tuned = got["runs"]
    assert base["outputs"] == held["base"] == files["base"]["outputs"]
    for key in ("ok", "mean_score", "histogram", "codes", "fields", "categories"):
        assert base[key] == files["base"][key], key
    # an output the store already held (the same prompt, text and schema) counts for the model that stored it first
    assert tuned["outputs"] == held["tuned"] < files["tuned"]["outputs"]
    assert f"--store {store} --model base --out data" in got["runs"][0]["recommendation"]["text"]


def test_a_store_run_per_model_asked_for_in_that_order(store: Path) -> None:
    got = report("--store", str(store), "--model", "tuned", "--model", "base", "--name", "B", "--name", "A")
    assert [r["name"] for r in got["runs"]] == ["B", "A"]
    assert got["runs"][0]["mean_score"] > got["runs"][1]["mean_score"]  # tuned first, as asked
    assert got["comparisons"][0]["from"] == "B"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "{store}", "--model", "nobody"], "no records in"),
        (["--store", "{store}", "{base}"], "leave out RUN files"),
        (["--store", "/no/such/feedback.db"], "write one with `normalize ... --store`"),
        (["{base}", "--model", "base"], "pass --store FILE too"),
        ([], "at least one RUN"),
    ],
)
def test_store_errors_exit_2_naming_the_fix(runs: dict[str, Path], store: Path, argv: list[str], message: str) -> None:
    paths = {"store": str(store), **{k: str(v) for k, v in runs.items()}}
    code, out, err = run(["report", *(a.format(**paths) for a in argv)])
    assert code == 2 and message in err and out == ""


# -- Figures itself: constant memory, and quantiles within one bin ----------------------------------------


def test_a_long_run_keeps_bounded_state() -> None:
    figures = Figures("long")
    for i in range(5000):
        devs = (Deviation("key.unknown", (f"k{i}",)), Deviation("lost.value", ("items", i % 7, "x")))
        figures.add(Outcome(i + 1, None, "x" * 10_000, i % 3 > 0, (i % 101) / 100, devs, {"n": i}))
    assert len(figures.heap) == WORST and len(figures.fields) == MAX_FIELDS + 1
    assert figures.fields["(other)"] == 5000 - MAX_FIELDS + 1 and figures.fields["/items/*/x"] == 5000
    assert all(len(entry["raw"]) < 4100 for *_, entry in figures.heap)


outcomes = st.lists(
    st.tuples(st.floats(0, 1), st.booleans(), st.lists(st.sampled_from(sorted(CODES)), max_size=4)), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(outcomes)
def test_figures_hold_for_any_stream(drawn: list[tuple[float, bool, list[str]]]) -> None:
    figures = Figures("any")
    for i, (score, ok, codes) in enumerate(drawn):
        figures.add(Outcome(i + 1, i, "raw", ok, score, tuple(Deviation(c) for c in codes), i))
    scores = sorted(s for s, _, _ in drawn)
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):
        if scores:
            rank = q * (len(scores) - 1)
            k = int(rank)
            exact = scores[k] + (scores[min(k + 1, len(scores) - 1)] - scores[k]) * (rank - k)
            assert abs(figures.quantile(q) - exact) <= 0.05 + 1e-9
    worst = sorted(range(len(drawn)), key=lambda i: (drawn[i][0], drawn[i][1], i))[:WORST]
    assert [-number - 1 for *_, number, _ in sorted(figures.heap, reverse=True)] == worst
    assert sum(figures.kinds.values()) == figures.outputs == len(drawn) == sum(figures.bins)
    assert all(0 <= figures.rate(n) <= 1 for n in [*figures.codes.values(), *figures.fields.values(), figures.ok])
