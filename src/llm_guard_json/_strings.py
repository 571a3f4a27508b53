"""The repair parser's quoted strings: where each one ends and what its text is.

    string = "…" | '…' | “…” | ‘…’ | 「…」   closed only by its own closer, unescaped
    escape = \\" \\\\ \\/ \\b \\f \\n \\r \\t \\' | \\uXXXX | \\uD8xx\\uDCxx (a surrogate pair: one character)
A key ends at its first closer. A value ends at the first closer followed (after spaces or tabs) by
what may follow a value, else at its first closer: "He said "hi, there" and left" is one string.
What may follow a value: } ] ｝ ］, a line end, " “ ‘ 「, a comment, the end of the text; in an object
also a comma before a quote, a bracket, a comment, the end or a `key:`; in an array any comma or colon.
Repairs, by code: single_quotes ('…'); fullwidth (“…” ‘…’ 「…」 read as quotes, the text inside kept
as is); inner_quotes (unescaped `"` inside "…" kept as text); escape (a raw control character kept;
an invalid escape kept as text, and so are `\\b` `\\f` before an ASCII letter: LaTeX `\\beta`, paths).
A string no closer ends is not read: what that means is the parser's call.
Linear: the search for a closer that may end a value is remembered, so no stretch of the text is
searched twice however many strings open inside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Final

#: Each opening quote with its closer.
QUOTES: Final = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」"}


def escaped_at(text: str, i: int) -> bool:
    """Whether text[i] follows an odd run of backslashes."""
    k = i - 1
    while k >= 0 and text[k] == "\\":
        k -= 1
    return (i - 1 - k) % 2 == 1


#: How a string reports a repair: (code, position, what was done).
Note = Callable[[str, int, str], None]

_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "'": "'"}
_LATEX = re.compile(r"[\b\f][A-Za-z]")  # `\beta`, `\frac` decoded as control characters
_CONTROL = re.compile(r"[\x00-\x1f]")
_ESCAPE = re.compile(r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(.))", re.S)
# What may follow a closing quote of a value, so that an inner, unescaped quote does not close it.
_AFTER_MEMBER = r"""\s*+(?:["'“‘「{\[｛［}\]｝］#]|\Z|//|/\*|[^\W\d][\w$-]*+[ \t]*+[:：])"""
_END_IN_OBJECT = rf"""[ \t]*+(?:[}}\]｝］\r\n"“‘「]|\Z|//|/\*|[,，、]{_AFTER_MEMBER})"""
_END_IN_ARRAY = r"""[ \t]*+(?:[,，、}\]｝］\r\n"“‘「:：]|\Z|//|/\*)"""
_GOOD_CLOSE = {
    (close, in_object): re.compile(re.escape(close) + f"(?={_END_IN_OBJECT if in_object else _END_IN_ARRAY})")
    for close in set(QUOTES.values())
    for in_object in (True, False)
}


class Strings:
    """Reads the quoted strings of one text, reporting each repair through `note`."""

    __slots__ = ("memo", "note", "s")

    def __init__(self, text: str, note: Note) -> None:
        self.s, self.note = text, note
        # good_close's last answer per pattern, so that no stretch of the text is searched twice.
        self.memo: dict[tuple[str, bool], tuple[int, int]] = {}

    def read(self, i: int, *, key: bool, in_object: bool) -> tuple[str, int]:
        """The string opened at `i`: (text, index after its closer), or ("", -1) when nothing closes it."""
        start, opener = i + 1, self.s[i]
        close = QUOTES[opener]
        if opener == "'":
            self.note("repair.single_quotes", i, "re-quoted a single-quoted string")
        elif opener != '"':
            self.note("repair.fullwidth", i, f"read {opener}…{close} as string quotes")
        if opener == '"':  # the C scanner reads a well-formed string; its end still has to be a good one
            try:
                text, after = scanstring(self.s, start)
            except ValueError:
                pass
            else:
                if (key or _GOOD_CLOSE[('"', in_object)].match(self.s, after - 1)) and not _LATEX.search(text):
                    return text, after
        end = self.closing(close, start, not key and in_object, key)
        if end < 0:
            return "", -1
        raw = self.s[start:end]
        inner = raw.find('"') if opener == '"' else -1  # an apostrophe inside '…' is single_quotes' business
        while inner >= 0 and escaped_at(raw, inner):
            inner = raw.find('"', inner + 1)
        if inner >= 0:
            self.note("repair.inner_quotes", start + inner, "kept unescaped quotes inside a string as text")
        return self.unescape(raw, start), end + 1

    def closing(self, close: str, start: int, in_object: bool, first: bool) -> int:
        """Index of the quote that closes a string opened before `start`; -1 when none does."""
        end = -1 if first else self.good_close(close, start, in_object)
        if end < 0:
            end = start
            while (end := self.s.find(close, end)) >= 0 and escaped_at(self.s, end):
                end += 1
        return end

    def good_close(self, close: str, start: int, in_object: bool) -> int:
        """First unescaped `close` at or after `start` that is followed by what may follow a value.

        Remembered per pattern: a later search from inside the span already searched reuses the
        answer, so no part of the text is searched twice.
        """
        memo = self.memo.get((close, in_object))
        if memo is not None and memo[0] <= start and (memo[1] < 0 or start <= memo[1]):
            return memo[1]
        pattern, pos, found = _GOOD_CLOSE[(close, in_object)], start, -1
        while (m := pattern.search(self.s, pos)) is not None:
            if not escaped_at(self.s, m.start()):
                found = m.start()
                break
            pos = m.start() + 1
        self.memo[(close, in_object)] = (start, found)
        return found

    def unescape(self, raw: str, pos: int) -> str:
        if _CONTROL.search(raw):
            self.note("repair.escape", pos, "kept a raw control character in a string")
        if "\\" not in raw:
            return raw
        odd: list[str] = []

        def one(m: re.Match[str]) -> str:
            if m.group(1):
                high, low = int(m.group(1), 16), int(m.group(2), 16)
                return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            if m.group(3):
                return chr(int(m.group(3), 16))
            ch = m.group(4)
            letter_next = raw[m.end() : m.end() + 1].isascii() and raw[m.end() : m.end() + 1].isalpha()
            if ch in _SIMPLE_ESCAPES and not (ch in "bf" and letter_next):
                return _SIMPLE_ESCAPES[ch]
            odd.append(ch)
            return "\\" + ch

        out = _ESCAPE.sub(one, raw)
        if odd:
            self.note("repair.escape", pos, f"kept {len(odd)} invalid escape(s) such as \\{odd[0]} as text")
        return out


__all__ = ["QUOTES", "Note", "Strings"]
