"""One output explained: the raw text and the canonical value side by side, then each deviation.

Rendered with rich: coloured on a terminal (lost and invalid red, repairs yellow, reshaping
cyan, finding the JSON dim), plain text anywhere else.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ._result import Result

if TYPE_CHECKING:
    from rich.console import RenderableType

_STYLES = {"lost": "red", "invalid": "red", "missing": "red", "no_json": "red", "limit": "red", "repair": "yellow"}
_QUIET = {"fence", "prose", "think", "wrapper", "candidates", "input"}
_RAW_SHOWN = 4000  # characters of a long raw output shown


def style_of(code: str) -> str:
    family = code.partition(".")[0]
    return _STYLES.get(family) or ("dim" if family in _QUIET else "cyan")


def explain(result: Result, *, title: str = "") -> list[RenderableType]:
    """The result as rich renderables: a verdict line, raw | canonical, the deviations."""
    from rich.table import Table
    from rich.text import Text

    verdict = Text.assemble(
        (f"{title}  " if title else "", "bold"),
        ("ok" if result.ok else "NOT OK", "bold green" if result.ok else "bold red"),
        f"  score {result.score:.3f}  {len(result.deviations)} deviation(s)",
    )
    sides = Table(show_lines=False, expand=True)
    sides.add_column("raw output", ratio=1, overflow="fold")
    sides.add_column("canonical value", ratio=1, overflow="fold")
    raw = result.raw if len(result.raw) <= _RAW_SHOWN else result.raw[:_RAW_SHOWN] + f"… ({len(result.raw):,} chars)"
    value = json.dumps(result.value, ensure_ascii=False, indent=2) if result.found else "(no JSON found)"
    sides.add_row(Text(raw), Text(value))
    devs = Table(expand=True)
    for name, justify in (("code", "left"), ("field", "left"), ("weight", "right"), ("what happened", "left")):
        devs.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for d in result.deviations:
        style = style_of(d.code)
        devs.add_row(Text(d.code, style=style), d.pointer or "/", f"{d.weight:g}", Text(d.detail, style=style))
    return [verdict, sides, devs] if result.deviations else [verdict, sides]
