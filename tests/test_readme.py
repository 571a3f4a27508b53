"""The README's examples run, and print what the README says they print."""

from __future__ import annotations

import doctest
from pathlib import Path

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
