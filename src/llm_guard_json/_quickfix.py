"""The quick repair: the commonest damage fixed with one regex pass, then a strict parse.

Outside strings only (a string is `"…"` with JSON escapes):
  trailing comma    `,` before `}` or `]`             removed      repair.trailing_comma
  comment           `// …` `/* … */` `# …`            removed      repair.comment
  Python literal    True False None                   true false null   repair.python_literal
Anything else (single quotes, unquoted keys, full-width syntax, truncation, …) is left to
the tolerant parser: the caller gives up when the fixed text is still not strict JSON. It
runs at C speed and reports each kind once, at the root, with its count.
"""

from __future__ import annotations

import re

from ._deviation import CODES, Deviation

# One alternation, strings first so that nothing inside a string is ever touched.
_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<comment>//[^\n]*|/\*.*?\*/|#[^\n]*)"
    r"|,(?P<closer>\s*[}\]])"
    r"|\b(?P<literal>True|False|None)\b",
    re.S,
)
_CODES = {"comment": "repair.comment", "closer": "repair.trailing_comma", "literal": "repair.python_literal"}
_LITERALS = {"True": "true", "False": "false", "None": "null"}


def quick_fix(text: str) -> tuple[str, tuple[Deviation, ...]] | None:
    """`text` with the quick repairs made and what they were, or None when none applies."""
    found: dict[str, tuple[int, int]] = {}  # code -> (count, offset of the first)

    def fix(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "string" or kind is None:
            return m.group()
        count, at = found.get(_CODES[kind], (0, m.start()))
        found[_CODES[kind]] = (count + 1, at)
        return m.group("closer") if kind == "closer" else _LITERALS.get(m.group(), "")

    fixed = _TOKEN.sub(fix, text)
    if not found:
        return None
    devs = tuple(
        Deviation(code, (), f"{CODES[code][1]} ({n}x, the first at {_where(text, at)})")
        for code, (n, at) in found.items()
    )
    return fixed, devs


def _where(text: str, at: int) -> str:
    return f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"
