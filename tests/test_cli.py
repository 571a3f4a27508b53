"""The minimal command line, through main([...]) and as an installed console script."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from llm_guard_json._cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "resume_outputs.jsonl"


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_jsonl_rows_keep_their_fields_in_order() -> None:
    code, out, _ = run(["normalize", str(EXAMPLES), "--schema", "resume"])
    rows = [json.loads(line) for line in out.splitlines()]
    source = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    assert code == 0
    assert [r["id"] for r in rows] == [s["id"] for s in source]
    assert all(r["ok"] and {"value", "score", "deviations", "prompt"} <= set(r) for r in rows)


def test_text_file_prints_value_and_deviations(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text('```json\n{"name": "王五", "age": "40岁"}\n```', encoding="utf-8")
    code, out, _ = run(["normalize", str(path), "--schema", "resume"])
    assert code == 0
    assert json.loads(out.splitlines()[0])["age"] == 40
    assert "coerce.number_from_text" in out and "/age" in out


def test_not_ok_output_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "refusal.txt"
    path.write_text("抱歉，无法抽取。", encoding="utf-8")
    code, out, _ = run(["normalize", str(path), "--schema", "resume"])
    assert code == 1 and "NOT OK" in out and "no_json" in out


def test_bad_jsonl_line_is_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"output": "{\\"name\\": \\"A\\"}"}\n{broken\n{"completion": "{\\"name\\": \\"B\\"}"}\n')
    code, out, err = run(["normalize", str(path), "--schema", "resume"])
    assert code == 2
    assert [json.loads(line)["value"]["name"] for line in out.splitlines()] == ["A", "B"]
    assert "mixed.jsonl:2" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["normalize", "/no/such/file.jsonl", "--schema", "resume"], "cannot read"),
        (["normalize", str(EXAMPLES), "--schema", "nope"], "resume"),
    ],
)
def test_input_errors_exit_2(argv: list[str], message: str) -> None:
    code, _, err = run(argv)
    assert code == 2 and message in err


def test_usage_error_exits_2() -> None:
    assert run(["frobnicate"])[0] == 2


def test_schemas_lists_shipped_titles() -> None:
    code, out, _ = run(["schemas"])
    assert code == 0 and "resume" in out and "MedicalRecord" in out


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
    assert json.loads(proc.stdout.splitlines()[0])["name"] == "李四"
