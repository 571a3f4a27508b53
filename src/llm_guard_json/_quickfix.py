"""The quick repair: the commonest damage fixed with a few regexes, then a strict parse.

Outside strings only (a string is `"…"` with JSON escapes), in one pass each:
  trailing comma    `,` before `}` or `]`             removed      repair.trailing_comma
  comment           `// …` `/* … */` `# …`            removed      repair.comment
  Python literal    True False None                   true false null   repair.python_literal
Anything else (single quotes, unquoted keys, full-width syntax, truncation, …) is left to
the tolerant parser: `quick_fix` gives up (None) when the fixed text is still not strict
JSON. It runs at C speed and reports each kind once, at the root, with its count.
"""

from __future__ import annotations

import re

from ._deviation import CODES, Deviation

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_FIXES = (
    ("repair.comment", re.compile(r"//[^\n]*|/\*.*?\*/|#[^\n]*", re.S), lambda m: ""),
    ("repair.trailing_comma", re.compile(r",(\s*[}\]])"), lambda m: m.group(1)),
    (
        "repair.python_literal",
        re.compile(r"\b(True|False|None)\b"),
        lambda m: {"True": "true", "False": "false", "None": "null"}[m.group(1)],
    ),
)


def quick_fix(text: str) -> tuple[str, tuple[Deviation, ...]] | None:
    """`text` with the quick repairs made and what they were, or None when none applies."""
    pieces: list[str] = []
    found: dict[str, tuple[int, int]] = {}  # code -> (count, first offset)
    last = 0
    for m in _STRING.finditer(text):
        pieces += [_fix(text, last, m.start(), found), m.group()]
        last = m.end()
    pieces.append(_fix(text, last, len(text), found))
    if not found:
        return None
    devs = tuple(
        Deviation(code, (), f"{CODES[code][1]} ({n}x, the first at {_where(text, at)})")
        for code, (n, at) in found.items()
    )
    return "".join(pieces), devs


def _fix(text: str, start: int, end: int, found: dict[str, tuple[int, int]]) -> str:
    outside = text[start:end]
    for code, pattern, replace in _FIXES:
        outside, n = pattern.subn(replace, outside)
        if n:
            # where the model wrote the first one (an earlier fix may have shifted `outside`)
            first = pattern.search(text, start, end)
            count, at = found.get(code, (0, first.start() if first else start))
            found[code] = (count + n, at)
    return outside


def _where(text: str, at: int) -> str:
    return f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"
