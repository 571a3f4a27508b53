"""Stage: raw model text -> candidate JSON spans, each with what was stripped around it.

1. `<think>` tags (any case): a `<think>...</think>` block is removed; a lone `</think>` removes
   everything before it; a `<think>` never closed loses only its tag, since the answer (or a fence)
   may sit inside the unfinished reasoning. Any removal adds `think` to every candidate.
2. Fences: a run of 3+ backticks or tildes opens a fence at a line start, or anywhere when only a
   language tag (```` ```json ````, ```` ```JSON ````, `json5`, none) follows it on its line. It
   closes at the next run of the same character, at least as long, that ends its line; an unclosed
   fence runs to the end. Each non-blank fence content is a candidate: `fence`, plus `prose` when
   other text remains. A fence holding several JSON values (a draft, then its correction) gives
   one candidate per value instead.
3. Outside fences, each top-level `{ [ ｛ ［` starts a candidate whose extent a string-aware bracket
   count finds (`value_end`); an unbalanced one runs to the end of its stretch of text. `prose` when
   other text remains. The whole text being one JSON value gives one candidate with no deviations.
4. No bracket and no fence, but the whole text is a JSON scalar (`42`, `"text"`): that one candidate.

Candidates come in text order. Over `max_candidates`: every fence is kept first, then the longest
bracket spans (the answer is rarely the smallest `[1]` in the prose); each kept candidate carries
`limit.candidates`. One pass over the text: every character is looked at O(1) times.
"""

from __future__ import annotations

import heapq
import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from ._deviation import Deviation
from ._errors import ConfigError
from ._strings import QUOTES, escaped_at

_OPENERS = "{[｛［"
_CLOSERS = "}]｝］"
_START = re.compile(r"[{\[｛［]")
# What the bracket count stops at; openers in between are counted with str.count (C speed).
# What the bracket count stops at: a quote, or a run of closers (deep nesting closes in runs).
_EVENT = re.compile("[" + re.escape("".join(QUOTES)) + "]|[" + re.escape(_CLOSERS) + "]+")
# A `'` opens a string only where JSON expects a value or key, so apostrophes in prose do not.
_QUOTE_CONTEXT = frozenset("{[,:｛［，：、")
_COMMENT_REACH = 256  # how far back a comment before a `'` is looked for: keeps the scan linear
_THINK = re.compile(r"<\s*+(/?)\s*+think\s*+>", re.IGNORECASE)  # possessive: no backtracking
_RUN = re.compile(r"`{3,}|~{3,}")
_TAG = re.compile(r"[ \t]*+[\w+.#-]*+")
_BLANK_TO_EOL = re.compile(r"[ \t]*+(?:\r?\n|\Z)")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One span that may hold the answer, and what was removed around it (path `()`)."""

    text: str
    deviations: tuple[Deviation, ...]
    start: int  # offset of `text` in the raw output


def _string_end(text: str, pos: int, close: str, stop: int) -> int:
    """Index just past the unescaped `close` at or after `pos`, else `stop`."""
    while True:
        j = text.find(close, pos, stop)
        if j < 0:
            return stop
        if not escaped_at(text, j):
            return j + 1
        pos = j + 1


def _opens_string(text: str, i: int, floor: int) -> bool:
    """Whether the `'` at text[i] stands where JSON expects a value or key (comments skipped)."""
    k = i - 1
    for _ in range(4):  # whitespace and up to three comments: `[/* a */ // b` then a newline
        start, k = k, _skip_space(text, k, floor)
        if text[k] in _QUOTE_CONTEXT:
            return True
        if text.startswith("*/", k - 1):  # a block comment ends here: look before it (bounded)
            opened = text.rfind("/*", max(floor, k - _COMMENT_REACH), k - 1)
            if opened < 0:
                return False
            k = opened - 1
        elif "\n" in text[k : start + 1]:  # a line comment may end the line before
            line = text.rfind("\n", max(floor, k - _COMMENT_REACH), k) + 1
            opened = text.find("//", line, k)
            if opened < 0:
                return False
            k = opened - 1
        else:
            return False
    return False


def _skip_space(text: str, k: int, floor: int) -> int:
    while k > floor and text[k] in " \t\r\n":
        k -= 1
    return k


def value_end(text: str, start: int, stop: int) -> int:
    """End (exclusive) of the bracketed value opening at text[start]; `stop` if it never closes.

    Counts brackets of any kind outside strings (`"`, `'` where a value may start, “…”, ‘…’).
    Linear: each character is passed once, most of them inside C calls.
    """
    depth = 0
    pos = start
    while True:
        m = _EVENT.search(text, pos, stop)
        end = stop if m is None else m.start()
        depth += text.count("{", pos, end) + text.count("[", pos, end)
        depth += text.count("｛", pos, end) + text.count("［", pos, end)
        if m is None:
            return stop
        ch = m.group()
        if ch[0] in _CLOSERS:
            if depth <= len(ch):
                return end + max(depth, 1)
            depth -= len(ch)
            pos = m.end()
        elif ch == "'" and not _opens_string(text, end, start):
            pos = end + 1
        else:
            pos = _string_end(text, end + 1, QUOTES[ch], stop)


def _strip_think(raw: str) -> tuple[str, list[tuple[int, int]], bool]:
    """(text without think blocks, [(offset in text, offset in raw)] per kept piece, removed?)."""
    kept: list[tuple[int, int]] = []  # raw (start, end) pieces
    piece_start, open_tag, removed = 0, None, False
    for m in _THINK.finditer(raw):
        if not m.group(1):
            if open_tag is None:
                kept.append((piece_start, m.start()))
                open_tag = m
        elif open_tag is not None:
            piece_start, open_tag, removed = m.end(), None, True
        else:  # a lone </think>: the chat template opened the block before the output began
            kept, piece_start, removed = [], m.end(), True
    if open_tag is not None:
        piece_start, removed = open_tag.end(), True
    kept.append((piece_start, len(raw)))
    anchors, parts, at = [], [], 0
    for a, b in kept:
        anchors.append((at, a))
        parts.append(raw[a:b])
        at += b - a
    return "".join(parts), anchors, removed


def _opens_fence(text: str, m: re.Match[str]) -> bool:
    k = m.start() - 1
    while k >= 0 and text[k] in " \t":
        k -= 1
    if k < 0 or text[k] == "\n":
        return True
    tag = _TAG.match(text, m.end())
    return tag is not None and _BLANK_TO_EOL.match(text, tag.end()) is not None


def _fences(text: str) -> Iterator[tuple[int, int, int, int]]:
    """(fence start, content start, content end, fence end) of each fence, in order."""
    runs = _RUN.finditer(text)
    for m in runs:
        if not _opens_fence(text, m):
            continue
        tag = _TAG.match(text, m.end())
        content = m.end() if tag is None else tag.end()
        fence = m.group()
        for c in runs:
            if c.group()[0] == fence[0] and len(c.group()) >= len(fence) and _BLANK_TO_EOL.match(text, c.end()):
                yield m.start(), content, c.start(), c.end()
                break
        else:
            yield m.start(), content, len(text), len(text)
            return


@dataclass(frozen=True, slots=True)
class _Found:
    start: int  # offset in the think-free text
    end: int
    text: str
    fence: bool
    prose: bool


def _bracket_spans(text: str, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    pos = lo
    while (m := _START.search(text, pos, hi)) is not None:
        end = value_end(text, m.start(), hi)
        yield m.start(), end
        pos = end


def _find(text: str) -> list[_Found]:
    stripped = text.strip()
    if not stripped:
        return []
    first = len(text) - len(text.lstrip())
    last = first + len(stripped)
    if stripped[0] not in _OPENERS and _is_json(stripped):
        return [_Found(first, last, stripped, False, False)]
    found: list[_Found] = []
    prev = 0
    for fence_start, content_start, content_end, fence_end in _fences(text):
        found += _in_prose(text, prev, fence_start, first, last)
        found += _in_fence(text, content_start, content_end, first < fence_start or last > fence_end)
        prev = fence_end
    found += _in_prose(text, prev, len(text), first, last)
    return found


def _in_fence(text: str, lo: int, hi: int, prose: bool) -> list[_Found]:
    """A fence's content is one candidate, unless it holds several JSON values (a draft and its
    correction): then each value is one, and the text between them is prose."""
    body = text[lo:hi]
    if not body.strip():
        return []
    spans = list(_bracket_spans(text, lo, hi))
    if len(spans) < 2:
        return [_Found(lo, hi, body, True, prose)]
    return [_Found(a, b, text[a:b], True, True) for a, b in spans]


def _in_prose(text: str, lo: int, hi: int, first: int, last: int) -> list[_Found]:
    return [_Found(a, b, text[a:b], False, first < a or last > b) for a, b in _bracket_spans(text, lo, hi)]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _keep(found: list[_Found], limit: int) -> list[_Found]:
    """Fences first, then the longest spans; back in text order."""
    ranked = heapq.nsmallest(limit, range(len(found)), key=lambda k: (not found[k].fence, -len(found[k].text), k))
    return [found[k] for k in sorted(ranked)]


def _to_raw(anchors: list[tuple[int, int]], pos: int) -> int:
    clean, raw = anchors[bisect_right(anchors, pos, key=lambda a: a[0]) - 1]
    return raw + pos - clean


def _think(thought: bool) -> tuple[Deviation, ...]:
    return (Deviation("think", (), "a <think> reasoning block was removed"),) if thought else ()


def extract(raw: str, *, max_candidates: int = 16) -> list[Candidate]:
    """Every span of `raw` that may hold the JSON answer, in text order; [] when none looks like JSON."""
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or max_candidates < 1:
        raise ConfigError(f"max_candidates must be a positive int, not {max_candidates!r}")
    text, anchors, thought = _strip_think(raw)
    found = _find(text)
    over = len(found) > max_candidates
    if over:
        found = _keep(found, max_candidates)
    out = []
    for f in found:
        devs = _think(thought)
        if f.fence:
            devs += (Deviation("fence", (), "the JSON was inside a markdown code fence"),)
        if f.prose:
            devs += (Deviation("prose", (), "text around the JSON was removed"),)
        if over:
            devs += (Deviation("limit.candidates", (), f"{max_candidates} candidates kept, the rest not tried"),)
        out.append(Candidate(f.text, devs, _to_raw(anchors, f.start)))
    return out


def bare_text(raw: str) -> Candidate:
    """The whole output as one text (clarification 15, a scalar root): `<think>` and fence markers
    removed, fence contents kept in place, trimmed; `think` / `fence` say what was removed."""
    text, anchors, thought = _strip_think(raw)
    pieces: list[tuple[int, str]] = []  # (offset in text, piece)
    prev = 0
    for fence_start, content_start, content_end, fence_end in _fences(text):
        pieces += [(prev, text[prev:fence_start]), (content_start, text[content_start:content_end])]
        prev = fence_end
    pieces.append((prev, text[prev:]))
    first = next(((at + len(p) - len(p.lstrip())) for at, p in pieces if p.strip()), 0)
    devs = _think(thought)
    if len(pieces) > 1:
        devs += (Deviation("fence", (), "markdown fence markers were removed"),)
    return Candidate("".join(p for _, p in pieces).strip(), devs, _to_raw(anchors, first))


__all__ = ["Candidate", "bare_text", "extract", "value_end"]
