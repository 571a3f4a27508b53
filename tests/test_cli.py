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
