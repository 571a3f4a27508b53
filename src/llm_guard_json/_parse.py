"""Stage: candidate text -> JSON value: `json.loads` first, else a tolerant parser that logs each repair.

The repair parser keeps open containers on a list, not the call stack (no RecursionError at any
depth), and reads each character O(1) times. Grammar, beyond JSON:
    text   = junk* value junk*     junk: whitespace, comments, text before the first { [ (stray_text)
    object = { (key :? value ,?)* }   array = [ (value ,?)* ]   `,` may be ，、  `:` may be ：
    value  = object | array | string | number | literal | word    key = string | word up to `:`
    string: quotes, where a string ends, escapes and their repairs (single_quotes, inner_quotes,
            escape, fullwidth quotes) are _strings.py's rules; valid JSON keeps `\\b` `\\f` as JSON reads them.
Repairs, by code: trailing_comma; missing_comma (also between `key: value` lines); missing_colon;
unquoted_key; unquoted_value (a word up to `,` `}` `]` or line end, trimmed; `1,299.50` as an object
value is kept as text for the schema stage); comment (`//` `/* */` `#`); python_literal (True False
None); js_literal (undefined NaN Infinity, a number too big for a float: null); fullwidth
(`｛｝［］，、：` U+3000 as syntax); stray_text; mismatched_closer.
Truncation (CANONICAL.md clarification 11): at the end of the text open containers are closed
(missing_closer); the last scalar the cut may have shortened (an unclosed string; a number, literal
or word running into the end) is dropped with its key (truncated_value); a key with no value is
dropped (dangling_key). Containers deeper than `max_depth` are skipped whole (limit.depth).
All codes but limit.depth are `repair.*`; how repairs become deviations is _repair_log.py's rule.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final

from ._deviation import Deviation
from ._errors import ConfigError
from ._extract import value_end
from ._quickfix import quick_fix
from ._repair_log import RepairLog
from ._strings import QUOTES, Strings
from ._types import JSON, Path


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


#: The value of a candidate from which nothing could be read.
MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class Parsed:
    """A candidate's value (MISSING when none could be read) and the repairs it needed."""

    value: JSON
    deviations: tuple[Deviation, ...]


_OPEN = {"{": "{", "[": "[", "｛": "{", "［": "["}
_CLOSE = {"}": "{", "]": "[", "｝": "{", "］": "["}
_COMMAS = ",，、"
_COLONS = ":："
_LITERALS: dict[str, tuple[JSON, str]] = {"true": (True, ""), "false": (False, ""), "null": (None, "")}
_LITERALS |= {"True": (True, "repair.python_literal"), "False": (False, "repair.python_literal")}
_LITERALS |= {"None": (None, "repair.python_literal")}
_LITERALS |= dict.fromkeys(["undefined", "NaN", "Infinity", "-Infinity", "+Infinity"], (None, "repair.js_literal"))
_KEY, _COLON, _VALUE, _NEXT = range(4)  # what a container expects next

_WS = re.compile(r"[ \t\r\n]*+")
# Comment starts and whitespace JSON does not allow (U+3000 is full-width syntax, the rest stray text).
_ODD_SPACE = frozenset("#/\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff\u200b") | {
    chr(c) for c in range(0x2000, 0x200B)
}
_START = re.compile(r"[{\[｛［]")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][-+]?[0-9]++)?")
_LITERAL = re.compile(r"[-+]?Infinity|NaN|undefined|true|false|null|True|False|None")
_SIGNED = re.compile(r"[-+.]?(?:[0-9]|Infinity)")
_THOUSANDS = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})++(?:\.[0-9]++)?(?=[ \t]*+(?:[,}\n\r，｝]|//|/\*))")
_ENDS = r"""[,}\]，｝］、\n\r"'“‘「{\[｛［#]|//|/\*|\Z"""
_TOKEN_END = re.compile(rf"[ \t]*+(?:{_ENDS})")
_NUMBER_END = re.compile(rf"[ \t]*+(?:{_ENDS})|[ \t]++[-0-9]")  # `1 2`: missing comma, not a word
_BARE_KEY = re.compile(r"[^:：,，{}\[\]｛｝［］\"\n\r]*+")
_BARE_VALUE = re.compile(r"(?:[^,}\]，｝］\n\r \t]|[ \t](?!//|/\*))*+")
_STRAY = re.compile(r"(?:[^\w\s\"'“‘「{}\[\]｛｝［］,，、:：/#$+\-.]|[+\-.](?![0-9]|Infinity)|/(?![/*]))++")


def _end(pattern: re.Pattern[str], text: str, i: int) -> int:
    m = pattern.match(text, i)
    return i if m is None else m.end()


@dataclass(slots=True)
class _Frame:
    value: dict[str, JSON] | list[JSON]
    path: Path
    state: int
    key: str | None = None
    comma: bool = False  # the last token was a separator


class _Parser:
    def __init__(self, text: str, max_depth: int) -> None:
        self.s, self.n, self.i, self.max_depth = text, len(text), 0, max_depth
        self.stack: list[_Frame] = []
        self.log = RepairLog(text)
        self.strings = Strings(text, self.note)

    def note(self, code: str, pos: int, what: str) -> None:
        self.log.add(code, self.stack[-1].path if self.stack else (), pos, what)

    def root(self) -> JSON:
        self.space()
        if self.i >= self.n:
            return MISSING
        if self.s[self.i] not in _OPEN:
            value = self.root_scalar()
            if value is not MISSING:
                return value
            m = _START.search(self.s, self.i)
            if m is None:
                return MISSING
            self.note("repair.stray_text", self.i, "skipped text before the value")
            self.i = m.start()
        value = self.open(None)
        self.run()
        self.space()
        if self.i < self.n:
            self.note("repair.stray_text", self.i, "skipped text after the value")
        return value

    def root_scalar(self) -> JSON:
        """A string, number or literal that is the whole text (a word alone is prose, not JSON)."""
        start, log = self.i, self.log
        self.log = RepairLog(self.s)
        value: JSON = MISSING
        if self.s[start] in QUOTES:
            text, end = self.strings.read(start, key=False, in_object=False)
            self.i, value = (end, text) if end >= 0 else (self.n, MISSING)
        elif (m := _NUMBER.match(self.s, start)) and _NUMBER_END.match(self.s, m.end()):
            self.i = m.end()
            value = self.number(m.group(), start)
        elif (m := _LITERAL.match(self.s, start)) and _TOKEN_END.match(self.s, m.end()):
            self.i = m.end()
            value = self.literal(m.group(), start)
        self.space()
        if value is not MISSING and self.i >= self.n:
            log.merge(self.log)
        else:
            self.i, value = start, MISSING
        self.log = log
        return value

    def run(self) -> None:
        while self.stack:
            self.space()
            if self.i >= self.n:
                self.truncate()
                return
            c, top = self.s[self.i], self.stack[-1]
            if c in _CLOSE:
                self.close(top, c)
            elif c in _COMMAS:
                self.comma(top, c)
            elif c in _COLONS:
                self.colon(top, c)
            elif isinstance(top.value, dict) and top.state in (_KEY, _NEXT):
                self.key(top)
            else:
                self.item(top)

    def space(self) -> None:
        """Skip whitespace and comments."""
        s, n, i = self.s, self.n, _end(_WS, self.s, self.i)
        while i < n and (c := s[i]) in _ODD_SPACE:
            if c == "#" or s.startswith("//", i):
                j = s.find("\n", i)
                self.note("repair.comment", i, "removed a comment")
                i = n if j < 0 else j
            elif s.startswith("/*", i):
                j = s.find("*/", i + 2)
                self.note("repair.comment", i, "removed a comment")
                i = n if j < 0 else j + 2
            elif c == "/":
                break
            else:
                self.note("repair.fullwidth" if c == "\u3000" else "repair.stray_text", i, "skipped odd whitespace")
                i += 1
            i = _end(_WS, s, i)
        self.i = i

    def drop_key(self, top: _Frame, pos: int) -> None:
        self.note("repair.dangling_key", pos, f"dropped the key {top.key!r}, which had no value")
        top.key = None

    def stray(self) -> None:
        self.note("repair.stray_text", self.i, "skipped characters that are not JSON")
        self.i = max(_end(_STRAY, self.s, self.i), self.i + 1)

    def close(self, top: _Frame, c: str) -> None:
        if _CLOSE[c] != ("{" if isinstance(top.value, dict) else "["):
            self.note("repair.mismatched_closer", self.i, f"read {c!r} as the closer of this container")
        elif c in "｝］":
            self.note("repair.fullwidth", self.i, "read a full-width bracket as JSON")
        if top.key is not None:
            self.drop_key(top, self.i)
        elif top.comma:
            self.note("repair.trailing_comma", self.i, "removed a comma before the closer")
        self.stack.pop()
        self.i += 1

    def comma(self, top: _Frame, c: str) -> None:
        if c != ",":
            self.note("repair.fullwidth", self.i, f"read {c!r} as a comma")
        if top.state == _NEXT:
            top.state = _KEY if isinstance(top.value, dict) else _VALUE
        elif top.key is not None:
            self.drop_key(top, self.i)
            top.state = _KEY
        else:
            self.note("repair.stray_text", self.i, "skipped an extra comma")
        top.comma = True
        self.i += 1

    def colon(self, top: _Frame, c: str) -> None:
        if top.state != _COLON:
            self.note("repair.stray_text", self.i, "skipped a colon out of place")
        else:
            top.state = _VALUE
            if c != ":":
                self.note("repair.fullwidth", self.i, "read '：' as a colon")
        self.i += 1

    def key(self, top: _Frame) -> None:
        i, c = self.i, self.s[self.i]
        if c in _OPEN:
            self.note("repair.stray_text", i, "skipped a value where a key was expected")
            self.i, top.comma = value_end(self.s, i, self.n), False
            return
        if c not in QUOTES and not (c.isalnum() or c in "_$"):
            self.stray()
            return
        if top.state == _NEXT:
            self.note("repair.missing_comma", i, "added a missing comma")
        top.comma, top.state = False, _COLON
        if c in QUOTES:
            name, end = self.strings.read(i, key=True, in_object=True)
            self.i = end if end >= 0 else self.n
            if end < 0:
                self.note("repair.dangling_key", i, "dropped a key cut off by the end of the text")
                top.state = _NEXT
                return
        else:
            self.i = _end(_BARE_KEY, self.s, i)
            name = self.s[i : self.i].strip()
            self.note("repair.unquoted_key", i, "quoted an unquoted key")
        top.key = name

    def item(self, top: _Frame) -> None:
        s, i = self.s, self.i
        c = s[i]
        if not (c in _OPEN or c in QUOTES or c.isalnum() or c in "_$" or _SIGNED.match(s, i)):
            self.stray()
            return
        if top.state == _NEXT:
            self.note("repair.missing_comma", i, "added a missing comma")
        elif top.state == _COLON:
            self.note("repair.missing_colon", i, "added a missing colon")
        top.comma = False
        if c in _OPEN:
            self.open(top)
            return
        value, complete = self.scalar(isinstance(top.value, dict))
        if complete:
            self.attach(top, value)
        else:
            self.note("repair.truncated_value", i, "dropped the last value, cut off by the end of the text")
            top.key, top.state = None, _NEXT

    def attach(self, top: _Frame, value: JSON) -> None:
        if isinstance(top.value, list):
            top.value.append(value)
        else:
            top.value[top.key or ""] = value
        top.key, top.state = None, _NEXT

    def open(self, parent: _Frame | None) -> JSON:
        c = self.s[self.i]
        if parent is not None and len(self.stack) >= self.max_depth:
            self.note("limit.depth", self.i, f"skipped a container nested deeper than {self.max_depth}")
            self.i = value_end(self.s, self.i, self.n)
            parent.key, parent.state = None, _NEXT
            return None
        value: dict[str, JSON] | list[JSON] = {} if _OPEN[c] == "{" else []
        path: Path = ()
        if parent is not None:
            part = len(parent.value) if isinstance(parent.value, list) else parent.key or ""
            path = (*parent.path, part)
            self.attach(parent, value)
        self.stack.append(_Frame(value, path, _KEY if isinstance(value, dict) else _VALUE))
        if c in "｛［":
            self.note("repair.fullwidth", self.i, "read a full-width bracket as JSON")
        self.i += 1
        return value

    def truncate(self) -> None:
        if self.stack[-1].key is not None:
            self.drop_key(self.stack[-1], self.n)
        self.note("repair.missing_closer", self.n, f"closed {len(self.stack)} container(s) left open at the end")
        self.stack.clear()

    def scalar(self, in_object: bool) -> tuple[JSON, bool]:
        """(value, complete): a value running into the end of the text may be cut short."""
        s, i = self.s, self.i
        if s[i] in QUOTES:
            text, end = self.strings.read(i, key=False, in_object=in_object)
            self.i = end if end >= 0 else self.n
            return text, end >= 0
        if in_object and (m := _THOUSANDS.match(s, i)):
            self.i = m.end()
            self.note("repair.unquoted_value", i, "kept a number with thousands separators as text")
            return m.group(), True
        if (m := _NUMBER.match(s, i)) and _NUMBER_END.match(s, m.end()):
            self.i = m.end()
            return (None, False) if self.i >= self.n else (self.number(m.group(), i), True)
        if (m := _LITERAL.match(s, i)) and _TOKEN_END.match(s, m.end()):
            self.i = m.end()
            return (None, False) if self.i >= self.n else (self.literal(m.group(), i), True)
        self.i = _end(_BARE_VALUE, s, i)
        if self.i >= self.n:
            return None, False
        self.note("repair.unquoted_value", i, "quoted an unquoted value")
        return s[i : self.i].strip(), True

    def number(self, token: str, pos: int) -> JSON:
        if not any(c in token for c in ".eE"):
            try:
                return int(token)
            except ValueError:  # longer than int()'s digit limit
                pass
        value = float(token)
        if math.isfinite(value):
            return value
        self.note("repair.js_literal", pos, f"a number too large for a float, {token[:20]}..., became null")
        return None

    def literal(self, word: str, pos: int) -> JSON:
        value, code = _LITERALS[word]
        if code:
            self.note(code, pos, f"read {word} as {json.dumps(value)}")
        return value


def _reject(word: str) -> JSON:
    raise ValueError(word)


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(token)
    return value


#: Built once: json.loads with keyword arguments builds a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject, parse_float=_finite)


def _too_deep(text: str, value: JSON, limit: int) -> bool:
    if not isinstance(value, dict | list) or text.count("{") + text.count("[") <= limit:
        return False
    todo: list[tuple[JSON, int]] = [(value, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        todo.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _check(max_depth: int) -> None:
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise ConfigError(f"max_depth must be a positive int, not {max_depth!r}")


def repair(text: str, *, max_depth: int = 100) -> Parsed:
    """The tolerant parser alone, without the `json.loads` fast path."""
    _check(max_depth)
    parser = _Parser(text, max_depth)
    value = parser.root()
    return Parsed(value, parser.log.deviations())


def strict(text: str, *, max_depth: int = 100) -> JSON:
    """The fast path: `text` read as strict JSON (no NaN, no nesting past max_depth), else MISSING."""
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError):
        return MISSING
    return MISSING if _too_deep(text, value, max_depth) else value


def json_in_string(v: JSON, want: type) -> Any:
    """A string holding a JSON object or array (`want`), decoded strictly; else None."""
    if not isinstance(v, str) or not v.strip().startswith(("{", "[")):
        return None
    decoded = strict(v)
    return decoded if isinstance(decoded, want) else None


def parse(text: str, *, max_depth: int = 100) -> Parsed:
    """Read one candidate: valid JSON as is (no deviations), anything else repaired and logged."""
    _check(max_depth)
    value = strict(text, max_depth=max_depth)
    if value is not MISSING:
        return Parsed(value, ())
    return quick(text, max_depth) or repair(text, max_depth=max_depth)


def quick(text: str, max_depth: int = 100) -> Parsed | None:
    """The quick repair (`_quickfix`: quotes, bare keys, full-width, commas, comments, literals) when
    it alone makes strict JSON.

    Not for a top-level array: its items may each be a candidate, and ranking them needs to
    know which item each repair was in, which only the tolerant parser tells.
    """
    fixed = quick_fix(text)
    if fixed is None:
        return None
    value = strict(fixed[0], max_depth=max_depth)
    return None if value is MISSING or isinstance(value, list) else Parsed(value, fixed[1])


__all__ = ["MISSING", "Parsed", "json_in_string", "parse", "quick", "repair", "strict"]
