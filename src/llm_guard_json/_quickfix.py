"""The quick repair: the commonest damage fixed with one regex pass, then a strict parse.

Outside strings only (a string is `"…"` with JSON escapes):
  single quotes     `'…'`                             "…"          repair.single_quotes
  full-width        `“…”`, `：` `，`                  "…", : ,     repair.fullwidth
  unquoted key      `{name:` `, name:`                "name"       repair.unquoted_key
  trailing comma    `,` before `}` or `]`             removed      repair.trailing_comma
  comment           `// …` `/* … */` `# …`            removed      repair.comment
  Python literal    True False None                   true false null   repair.python_literal
Anything else (truncation, missing commas, stray text, …) is left to the tolerant parser:
the caller gives up when the fixed text is still not strict JSON. It runs at C speed and
reports each kind once, at the root, with its count.
"""

from __future__ import annotations

import re

from ._deviation import CODES, Deviation

# One alternation, strings first so that nothing inside a string is ever touched.
_TOKEN = re.compile(
    r'(?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*")'  # unrolled: a run of plain characters at a time
    r"|'(?P<single>[^'\\\n]*(?:\\.[^'\\\n]*)*)'"
    r"|“(?P<curly>[^“”\n]*)”"
    r"|(?P<comment>//[^\n]*|/\*.*?\*/|#[^\n]*)"
    r"|,(?P<closer>\s*[}\]])"
    r"|(?P<lead>[{,，])(?P<space>\s*)(?P<key>[^\W\d]\w*)(?=\s*[:：])"
    r"|(?P<literal>(?<!\w)(?:True|False|None))\b"
    r"|(?P<punct>[：，])",
    re.S,
)
_CODES = {
    "single": "repair.single_quotes",
    "curly": "repair.fullwidth",
    "punct": "repair.fullwidth",
    "key": "repair.unquoted_key",
    "comment": "repair.comment",
    "closer": "repair.trailing_comma",
    "literal": "repair.python_literal",
}
_LITERALS = {"True": "true", "False": "false", "None": "null", "：": ":", "，": ","}
_BODY = re.compile(r"""\\(.)|(")""", re.S)  # an escape, or a bare double quote, in a re-quoted string


def _requote(body: str) -> str:
    """The body of a '…' or “…” string as a JSON string: an escaped ' unescaped, a bare " escaped."""
    return '"' + _BODY.sub(lambda m: '\\"' if m.group(2) else "'" if m.group(1) == "'" else m.group(), body) + '"'


def quick_fix(text: str) -> tuple[str, tuple[Deviation, ...]] | None:
    """`text` with the quick repairs made and what they were, or None when none applies."""
    found: dict[str, tuple[int, int]] = {}  # code -> (count, offset of the first)

    def note(code: str, at: int) -> None:
        count, first = found.get(code, (0, at))
        found[code] = (count + 1, first)

    def fix(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "string" or kind is None:
            return m.group()
        note(_CODES[kind], m.start())
        if kind in ("single", "curly"):
            return _requote(m.group(kind))
        if kind == "key":
            lead = m.group("lead")
            if lead == "，":
                note("repair.fullwidth", m.start())
            return f'{_LITERALS.get(lead, lead)}{m.group("space")}"{m.group("key")}"'
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
