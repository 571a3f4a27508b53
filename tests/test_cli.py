"""The command line, through main([...]) and as an installed console script."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS_PATH, load_corpus
from llm_guard_json import normalize
from llm_guard_json._cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "resume_outputs.jsonl"


def run(argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is None:
        return main(argv, out=out, err=err), out.getvalue(), err.getvalue()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return main(argv, out=out, err=err), out.getvalue(), err.getvalue()
    finally:
        sys.stdin = old


def rows(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


# -- normalize ------------------------------------------------------------------------------


def test_jsonl_rows_keep_every_input_field_in_order() -> None:
    code, out, err = run(["normalize", str(EXAMPLES), "--schema", "resume", "--workers", "1"])
    source = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    got = rows(out)
    assert code == 0
    assert [r["id"] for r in got] == [s["id"] for s in source]
    for row, before in zip(got, source, strict=True):
        assert {k: row[k] for k in before} == before  # the output field too: nothing is lost
        assert row["ok"] is True and isinstance(row["score"], float) and isinstance(row["deviations"], list)
    assert "outputs" in err and "mean score" in err  # the summary goes to stderr, stdout stays JSONL


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_dev_corpus_through_the_cli_equals_the_api(tmp_path: Path, workers: str) -> None:
    target = tmp_path / "out.jsonl"
    argv = ["normalize", str(CORPUS_PATH), "--schema", "resume", "--schema-field", "schema", "--field", "raw"]
    code, out, _ = run([*argv, "--workers", workers, "--out", str(target)])
    cases = load_corpus()
    got = rows(target.read_text(encoding="utf-8"))
    assert out == "" and code == 1  # some dev cases must come back not ok
    assert [r["id"] for r in got] == [c["id"] for c in cases]  # input order, whatever the worker count
    for row, case in zip(got, cases, strict=True):
        api = normalize(case["raw"], case["schema"])
        assert (row["value"], row["ok"]) == (api.value, api.ok)
        assert [d["code"] for d in row["deviations"]] == api.codes  # type: ignore[union-attr,index]


def test_a_text_file_is_one_output(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text('```json\n{"name": "王五", "age": "40岁"}\n```\n', encoding="utf-8")
    code, out, _ = run(["normalize", str(path), "--schema", "resume"])
    (row,) = rows(out)
    assert code == 0
    assert row["value"]["age"] == 40 and row["output"].startswith("```json")  # type: ignore[index,union-attr]
    assert "coerce.number_from_text" in [d["code"] for d in row["deviations"]]  # type: ignore[index,union-attr]


def test_stdin_and_the_fallback_output_fields() -> None:
    lines = [{"completion": '{"姓名": "甲"}'}, {"response": "{'name': '乙'}"}, {"text": '{"name": "丙"}'}]
    code, out, _ = run(["normalize", "-", "--schema", "resume"], stdin="\n".join(map(json.dumps, lines)))
    assert code == 0
    assert [r["value"]["name"] for r in rows(out)] == ["甲", "乙", "丙"]  # type: ignore[index]


def test_field_and_format_options(tmp_path: Path) -> None:
    path = tmp_path / "custom.txt"
    path.write_text(json.dumps({"gen": '{"name": "丁"}', "id": 7}) + "\n", encoding="utf-8")
    code, out, _ = run(["normalize", str(path), "--schema", "resume", "--field", "gen"])
    assert code == 0 and rows(out)[0]["value"]["name"] == "丁"  # type: ignore[index]
    code, out, _ = run(["normalize", str(path), "--schema", "resume", "--format", "text"])
    assert rows(out)[0]["output"] == path.read_text(encoding="utf-8")  # read as one output instead


def test_not_ok_output_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "refusal.txt"
    path.write_text("抱歉，无法抽取。", encoding="utf-8")
    code, out, _ = run(["normalize", str(path), "--schema", "resume"])
    (row,) = rows(out)
    assert code == 1 and row["ok"] is False and row["deviations"][0]["code"] == "no_json"  # type: ignore[index]


def test_min_score_fails_ok_outputs_that_score_low() -> None:
    assert run(["score", str(EXAMPLES), "--schema", "resume"])[0] == 0
    code, out, _ = run(["score", str(EXAMPLES), "--schema", "resume", "--min-score", "0.99"])
    assert code == 1 and "under --min-score" in out
    assert run(["score", str(EXAMPLES), "--schema", "resume", "--min-score", "7"])[0] == 2


def test_bad_jsonl_lines_are_reported_skipped_and_lose_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = [json.dumps({"output": '{"name": "A"}'}), json.dumps({"completion": '{"name": "B"}'})]
    path.write_text("\n".join([good[0], "{broken", "[1, 2]", json.dumps({"n": 1}), good[1]]) + "\n")
    code, out, err = run(["normalize", str(path), "--schema", "resume"])
    assert code == 2
    assert [r["value"]["name"] for r in rows(out)] == ["A", "B"]  # type: ignore[index]
    assert "mixed.jsonl:2: not a JSON object" in err and "mixed.jsonl:3" in err and "mixed.jsonl:4: no string" in err
    assert "input lines skipped" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["normalize", "/no/such/file.jsonl", "--schema", "resume"], "cannot read"),
        (["normalize", str(EXAMPLES), "--schema", "nope"], "medical_record"),  # the message lists the known ones
        (["normalize", str(EXAMPLES), "--schema", "resume", "--workers", "0"], "workers"),
        (["show", "/no/such/file.jsonl", "1", "--schema", "resume"], "cannot read"),
        (["show", str(EXAMPLES), "ex-99", "--schema", "resume"], "no record"),
    ],
)
def test_input_errors_exit_2(argv: list[str], message: str) -> None:
    code, _, err = run(argv)
    assert code == 2 and message in err


def test_usage_errors_exit_2() -> None:
    assert run(["frobnicate"])[0] == 2
    assert run(["normalize", str(EXAMPLES)])[0] == 2  # no --schema


# -- score, show, schemas ------------------------------------------------------------------------


def test_score_prints_the_summary_table_only() -> None:
    code, out, _ = run(["score", str(CORPUS_PATH), "--schema", "resume", "--schema-field", "schema", "--field", "raw"])
    assert code == 1
    assert "outputs" in out and "100" in out and "mean score" in out
    assert "key.alias" in out and "/name" in out  # the commonest codes and the fields they hit
    assert not out.lstrip().startswith("{")


def test_score_json_counts_match_the_api() -> None:
    argv = ["score", str(CORPUS_PATH), "--schema", "resume", "--schema-field", "schema", "--field", "raw", "--json"]
    _, out, _ = run(argv)
    summary = json.loads(out)
    results = [normalize(c["raw"], c["schema"]) for c in load_corpus()]
    assert summary["outputs"] == len(results)
    assert summary["ok"] == sum(r.ok for r in results)
    assert summary["mean_score"] == pytest.approx(sum(r.score for r in results) / len(results), abs=1e-4)
    top = summary["codes"][0]
    assert top["count"] == sum(r.codes.count(top["code"]) for r in results)
    assert top["outputs"] == sum(top["code"] in r.codes for r in results)


def test_show_explains_one_output_by_id_or_line() -> None:
    code, out, _ = run(["show", str(EXAMPLES), "ex-2", "--schema", "resume"])
    assert code == 0
    assert "raw output" in out and "canonical value" in out and "ex-2" in out
    source = json.loads(EXAMPLES.read_text(encoding="utf-8").splitlines()[1])
    assert normalize(source["output"], "resume").deviations[0].code in out
    assert run(["show", str(EXAMPLES), "2", "--schema", "resume"])[1] == out  # the second line is ex-2


def test_explain_prints_each_output_instead_of_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text('{"姓名": "张三", "技能": "熟悉Python、Go"}', encoding="utf-8")
    code, out, _ = run(["normalize", str(path), "--schema", "resume", "--explain"])
    assert code == 0
    assert "canon.skills" in out and "/skills" in out and '"Python"' in out
    with pytest.raises(ValueError):
        json.loads(out.splitlines()[0])


def test_schemas_lists_shipped_titles() -> None:
    code, out, _ = run(["schemas"])
    assert code == 0 and "resume" in out and "MedicalRecord" in out


# -- as installed -----------------------------------------------------------------------------------


def test_installed_console_script_streams_jsonl(tmp_path: Path) -> None:
    script = shutil.which("llm-guard-json", path=str(Path(sys.executable).parent))
    assert script is not None, "the console script is not installed next to this interpreter"
    proc = subprocess.run(
        [script, "normalize", str(EXAMPLES), "--schema", "resume", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(rows(proc.stdout)) == len(EXAMPLES.read_text(encoding="utf-8").splitlines())
    assert "\x1b[" not in proc.stderr  # no progress bar or colour when not a terminal


def test_module_entry_point_reads_stdin() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llm_guard_json", "normalize", "-", "--schema", "resume"],
        input='{"姓名": "李四"}',
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert rows(proc.stdout)[0]["value"]["name"] == "李四"  # type: ignore[index]


def _on_a_terminal(argv: list[str], *, stream: str) -> tuple[int, str]:
    """Run the console script with `stream` ("stdout" or "stderr") on a pseudo-terminal."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals need a POSIX system")
    import os

    primary, secondary = pty.openpty()
    script = shutil.which("llm-guard-json", path=str(Path(sys.executable).parent))
    assert script is not None
    pipes = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, stream: secondary}
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([script, *argv], stdout=pipes["stdout"], stderr=pipes["stderr"], env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_a_progress_bar_and_colour() -> None:
    code, shown = _on_a_terminal(["normalize", str(EXAMPLES), "--schema", "resume", "--workers", "1"], stream="stderr")
    assert code == 0
    assert "normalizing" in shown and "━" in shown  # the progress bar
    assert "mean score" in shown
    code, shown = _on_a_terminal(["show", str(EXAMPLES), "ex-1", "--schema", "resume"], stream="stdout")
    assert code == 0 and "\x1b[" in shown and "canonical value" in shown  # coloured


def test_no_progress_bar_when_asked() -> None:
    argv = ["normalize", str(EXAMPLES), "--schema", "resume", "--workers", "1", "--no-progress"]
    code, shown = _on_a_terminal(argv, stream="stderr")
    assert code == 0 and "normalizing" not in shown and "mean score" in shown


# -- the feedback flow: normalize --store, then export ----------------------------------------------


def _prompted(tmp_path: Path) -> Path:
    """The dev corpus as JSONL a team would have: a prompt (text or chat) beside each output."""
    path = tmp_path / "outputs.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, case in enumerate(load_corpus()):
            line: dict[str, object] = {"id": case["id"], "schema": case["schema"], "output": case["raw"]}
            if i % 2:
                line["messages"] = [
                    {"role": "system", "content": "只输出JSON。"},
                    {"role": "user", "content": f"抽取第{i}条"},
                ]
            else:
                line["prompt"] = f"抽取第{i}条"
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def test_store_then_export_every_format(tmp_path: Path) -> None:
    from llm_guard_json.export import FORMATS
    from llm_guard_json.feedback import FeedbackStore

    source, store = _prompted(tmp_path), tmp_path / "feedback.db"
    argv = ["normalize", str(source), "--schema", "resume", "--schema-field", "schema", "--store", str(store)]
    code, _, err = run([*argv, "--model", "lora-v1", "--tag", "round1", "--workers", "2"])
    assert code == 1 and "stored in" in err and "100 new of 100" in err
    again = run([*argv, "--model", "lora-v1"])  # the same outputs again: deduplicated
    assert "0 new of 100" in again[2]
    with FeedbackStore(store) as fb:
        records = list(fb.records())
    cases = load_corpus()
    assert len(records) == len(cases)
    assert [r.raw for r in records] == [c["raw"] for c in cases]
    assert all(r.model == "lora-v1" and r.tags == ["round1"] for r in records)
    assert records[1].prompt[0] == {"role": "system", "content": "只输出JSON。"}  # type: ignore[index]
    for fmt in FORMATS:
        code, out, _ = run(["export", "--format", fmt, "--store", str(store), "--out", str(tmp_path / "train")])
        assert code == 0, out
        assert "exported" in out
    written = sorted(p.name for p in (tmp_path / "train").iterdir())
    assert "dataset_info.json" in written and "trl_dpo.jsonl" in written and "lf_kto_sharegpt.json" in written
    dpo = [json.loads(line) for line in (tmp_path / "train" / "trl_dpo.jsonl").read_text(encoding="utf-8").splitlines()]
    ok_deviating = [r for r in records if r.ok and r.score < 1 and r.raw.strip() != r.text]
    assert len(dpo) == len(ok_deviating) > 0
    assert {row["chosen"][0]["content"] for row in dpo} == {r.text for r in ok_deviating}


def test_export_filters_and_split(tmp_path: Path) -> None:
    source, store = _prompted(tmp_path), tmp_path / "feedback.db"
    run(["normalize", str(source), "--schema", "resume", "--schema-field", "schema", "--store", str(store)])
    base = ["export", "--format", "trl-dpo", "--store", str(store)]
    assert run([*base, "--out", str(tmp_path / "a")])[0] == 0
    assert run([*base, "--out", str(tmp_path / "b"), "--code", "fence", "--schema", "resume"])[0] == 0

    def count(name: str) -> int:
        return len((tmp_path / name / "trl_dpo.jsonl").read_text(encoding="utf-8").splitlines())

    assert 0 < count("b") < count("a")
    code, _, _ = run([*base, "--out", str(tmp_path / "c"), "--eval-fraction", "0.25", "--since", "2000-01-01"])
    assert code == 0
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"trl_dpo_train.jsonl", "trl_dpo_eval.jsonl"}
    assert run([*base, "--out", str(tmp_path / "d"), "--until", "2000-01-01"])[0] == 0  # nothing that old
    assert run([*base, "--out", str(tmp_path / "e"), "--since", "last tuesday"])[0] == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--format", "trl-ppo", "--store", "x.db", "--out", "o"], "invalid choice"),
        (["export", "--format", "trl-dpo", "--store", "/no/such/feedback.db", "--out", "o"], "no feedback store"),
    ],
)
def test_export_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv)
    assert code == 2
    assert message in err + capsys.readouterr().err


def test_a_store_in_a_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "feedback.db"
    code, out, err = run(["normalize", str(EXAMPLES), "--schema", "resume", "--store", str(target)])
    assert code == 2 and "does not exist" in err and out == ""
    assert not target.parent.exists()


def test_a_corrupt_store_is_an_input_error_and_export_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "feedback.db"
    store.write_bytes(b"\x00garbage" * 100)
    code, _, err = run(["normalize", str(EXAMPLES), "--schema", "resume", "--store", str(store)])
    assert code == 2 and "feedback store" in err
    out_dir = tmp_path / "train"
    code, _, err = run(["export", "--format", "trl-dpo", "--store", str(store), "--out", str(out_dir)])
    assert code == 2
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_a_bad_prompt_is_reported_and_the_rest_is_stored(tmp_path: Path) -> None:
    from llm_guard_json.feedback import FeedbackStore

    path = tmp_path / "outputs.jsonl"
    lines = [
        {"prompt": "抽取", "output": '{"name": "甲"}'},
        {"messages": [{"role": "assistant", "content": "hi"}], "output": '{"name": "乙"}'},
        {"output": '{"name": "丙"}'},  # no prompt at all: stored with an empty one
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    store = tmp_path / "feedback.db"
    code, out, err = run(["normalize", str(path), "--schema", "resume", "--store", str(store)])
    assert code == 0 and len(rows(out)) == 3
    assert "line 2: not stored" in err and "2 new of 3" in err
    with FeedbackStore(store) as fb:
        assert [r.prompt for r in fb.records()] == ["抽取", ""]
