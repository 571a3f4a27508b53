"""The README's examples run, and print what the README says they print."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples() -> None:
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 5
    assert result.failed == 0


def test_readme_first_screen_has_the_two_commands() -> None:
    head = README.read_text(encoding="utf-8").split("```python")[0]
    commands = [line for line in head.splitlines() if line.startswith(("python3 ", "bash "))]
    assert len(commands) == 2
    assert "llm-guard-json normalize examples/" in commands[0]
    assert commands[1].startswith("bash .ci/run")


def _first_screen_line(start: str) -> str:
    head = README.read_text(encoding="utf-8").split("```python")[0]
    (line,) = [ln for ln in head.splitlines() if ln.startswith(start)]
    return line


def test_readme_cli_line_runs() -> None:
    import io
    import shlex

    from llm_guard_json._cli import main

    line = _first_screen_line("llm-guard-json ")
    argv = shlex.split(line.split("#")[0])[1:]
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    assert "outputs" in out.getvalue() and "mean score" in out.getvalue()


def test_readme_pytest_line_runs(pytester: pytest.Pytester) -> None:
    line = _first_screen_line("def test_")
    model_output = '```json\n{"name": "张伟", "age": 35, "skills": ["Python"]}\n```'
    pytester.makepyfile(
        test_readme_line=f"def extract(text):\n    return {model_output!r}\n\n\n{line.split('   #')[0]}\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 LLM output(s) checked: 1 passed*"])
