"""Education: text, an object, a keyed object or a list of these -> a list of
{degree, school, major, graduation_year} (`x-canonical: education`).

Text grammar:
  text    := clause (sep clause)*,  sep := ， , ； ; 。 、 newline
  school  := the longest name ending in 大学 学院 学校 (中国科学院大学 is one school), starting
             after a boundary: the clause start, a space or mark, a digit or year, a degree word,
             毕业于 就读于 肄业于 求学于 留学于 毕业 就读 考入 入学 进入 获得 取得 来自 本人 于 在;
             or Latin words around University, College, Institute or School (Columbia
             University, University of Toronto)
  major   := what follows the school, up to a degree word, 毕业, a digit or 年, with brackets,
             a leading 的/主修 and a trailing 专业/系 removed (清华大学计算机系 -> 计算机);
             in English also "in X" before the school (MS in Statistics from ...)
  degree  := a value or `x-enum-aliases` alias of the degree enum, longest first, Latin ones
             as whole words with optional dots (MBA is 硕士, not ba; 博士研究生 is 博士; Ph.D.)
  year    := a 4-digit year (2019, 二〇一九) in a clause that says 毕业 or graduated
A clause without a school lends its degree, its year (beside 毕业) or its `X专业` to the item
before it, or to the next one where that slot is taken. Two degree words with one school
(本科和硕士均毕业于北京大学) give two items. Refused, the value left as it is for the walk
to report: no school anywhere (`本科` alone), or two schools in one clause with no separator
(北京大学清华大学, 本科北京大学硕士清华大学, 北京大学和清华大学).
Objects: one whose keys name item properties is an item, left to the walk (or, with no
school key and only texts, read as text); a keyed object gives one item per key: a text value
is read as `key value` (clarification 7), an object value takes the key as its degree (or
its school, or the item's x-key-field). A list: each element read by these rules.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field

import regex

from .._deviation import Deviation, brief
from .._field import Field
from .._numbers import chinese_numeral
from .._schema import node_memo
from .._types import JSON, SchemaNode
from ._reading import decode_json_text, enum_lookup, key_lookup, keys_by_property, object_schema, properties

_CLAUSE_SEP = regex.compile(r"[，,；;。、\n\r]+")
_SUFFIX = regex.compile(r"大学|学院|学校")
_LEADS = r"毕业于|就读于|肄业于|求学于|留学于|毕业|就读|考入|入学|进入|获得|取得|来自|本人|于|在"
_YEAR = regex.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|[〇零一二三四五六七八九]{4}")
_BOUNDARY = regex.compile(rf"{_LEADS}|(?:\d+|[〇零一二三四五六七八九]{{4}})\s*年?|[^\p{{Han}}]")
_NOT_MAJOR = regex.compile(rf"{_LEADS}|\d+\s*年?|[〇零一二三四五六七八九]{{4}}\s*年?")
_GRADUATED = regex.compile(r"毕业|graduat|class\s+of", regex.IGNORECASE)
_LATIN_WORD = r"[A-Z][A-Za-z0-9'’&.\-]*"
_LATIN_SCHOOL = regex.compile(
    rf"(?:{_LATIN_WORD}\s+)*(?:University|College|Institute|School)\b"
    rf"(?:\s+(?:of|for|at|and|&)(?:\s+the)?(?:\s+{_LATIN_WORD})+)*"
    # a place name that ends the clause is part of the name: Imperial College London
    rf"(?:(?:\s+{_LATIN_WORD})+(?=\s*(?:[,，;；。()（）]|$)))?"
)
_LATIN_LEADS = frozenset({"graduated", "from", "at", "in", "and"})
_MAJOR_STOP = regex.compile(r"毕业|就读|在读|肄业|学位|学历|\d|[〇零一二三四五六七八九]{4}|年")
_MAJOR_LEAD = regex.compile(r"^(?:[\s\-–—·:：/|]|的|主修|专业[为是]?)+")
_MAJOR_TAIL = regex.compile(r"(?:专业|系)$")
_BRACKETS = regex.compile(r"[（(][^）)]*[）)]")
_LATIN_MAJOR = regex.compile(r"\bin\s+([A-Z][A-Za-z&\-]*(?:\s+(?:and\s+|&\s+|of\s+)?[A-Z][A-Za-z&\-]*)*)")
_SPACES = regex.compile(r"\s+")
_POSSESSIVE = regex.compile(r"['’]s$")
_RUNS = regex.compile(r"[^\x00]+")
_WORDS = regex.compile(r"\S+")
_MAJOR_START = regex.compile(r"\p{Han}|[A-Z]")
_MAJOR_ALONE = regex.compile(r"\s*(?:的|主修|专业[为是:：]?)?\s*(\p{Han}[^\s]*?)\s*(?:专业|系)\s*")
_KEYS = ("degree", "school", "major", "graduation_year")


def _norm(word: str) -> str:
    return _SPACES.sub(" ", _POSSESSIVE.sub("", word.strip().casefold())).replace(".", "")


def _alias_pattern(alias: str) -> str:
    if not alias.isascii():
        return regex.escape(alias)
    letters = r"\.?".join(regex.escape(c) if c != " " else r"\s+" for c in alias.replace(".", ""))
    plural = r"(?:['’]s|s)?" if len(alias) >= 4 else r"(?:['’]s)?"
    return rf"(?<![A-Za-z]){letters}\.?{plural}(?![A-Za-z])"


@dataclass
class _Item:
    degree: str | None = None
    school: str | None = None
    major: str | None = None
    year: int | None = None

    def lend(self, other: _Item) -> _Item:
        """What `other` (a clause without a school) has that this item lacks, filled in; the rest."""
        left = _Item()
        for slot in ("degree", "major", "year"):
            mine, theirs = getattr(self, slot), getattr(other, slot)
            if theirs is not None and mine is None:
                setattr(self, slot, theirs)
            elif theirs is not None:
                setattr(left, slot, theirs)
        return left


@dataclass
class _Clause:
    schools: list[tuple[int, int]] = dc_field(default_factory=list)
    ambiguous: bool = False


def _two_schools(name: str) -> bool:
    """Whether a name holds two schools: a 大学/学校 before another, or a 学院 and a later 大学
    that do not touch (中国科学院大学 and 北京大学计算机学院 are one name each)."""
    hits = [(m.start(), m.group()) for m in _SUFFIX.finditer(name)]
    for i, (p1, w1) in enumerate(hits):
        for p2, w2 in hits[i + 1 :]:
            if (w1 != "学院" and w2 != "学院") or (w1 == "学院" and w2 == "大学" and p2 != p1 + 2):
                return True
    return False


def _year(clause: str, low: int, high: int) -> int | None:
    """The year nearest the word 毕业 (or graduated) in the clause, if the clause has both."""
    said = _GRADUATED.search(clause)
    if said is None:
        return None
    best: tuple[int, int] | None = None
    for m in _YEAR.finditer(clause):
        value = int(m.group()) if m.group().isdigit() else chinese_numeral(m.group())
        if value is not None and low <= value <= high:
            distance = min(abs(m.start() - said.end()), abs(said.start() - m.end()))
            best = min(best, (distance, value)) if best else (distance, value)
    return best[1] if best else None


def _array_node(node: SchemaNode, field: Field) -> SchemaNode:
    if "items" in node:
        return node
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key) or ():
            if isinstance(branch, Mapping) and "items" in field.resolve(branch):
                return field.resolve(branch)
    return node


@functools.lru_cache(maxsize=64)
def _degree_words(table: tuple[tuple[str, str], ...]) -> tuple[regex.Pattern[str] | None, dict[str, str]]:
    """The degree-word pattern (longest alias first) and normalized alias -> degree, built once per table."""
    aliases = sorted((a for a, _ in table if a), key=len, reverse=True)
    pattern = "|".join(_alias_pattern(a) for a in aliases)
    compiled = regex.compile(pattern, regex.IGNORECASE) if pattern else None
    return compiled, {_norm(a): c for a, c in table}


@dataclass(frozen=True)
class _Grammar:
    """The words of one schema: its degree enum and aliases, its item properties."""

    degree_re: regex.Pattern[str] | None
    degrees: Mapping[str, str]
    props: Mapping[str, SchemaNode]
    lookup: Mapping[str, str]
    key_field: str
    years: tuple[int, int]

    @classmethod
    def of(cls, field: Field) -> _Grammar:
        """The grammar of the field's schema node, built once per node."""
        return node_memo("education", field.schema, lambda: cls._build(field))

    @classmethod
    def _build(cls, field: Field) -> _Grammar:
        items = _array_node(field.schema, field).get("items")
        node = object_schema(field.resolve(items), field.resolve) if isinstance(items, Mapping) else {}
        props = properties(node, field.resolve)
        degree_re, degrees = _degree_words(tuple(sorted(enum_lookup(props.get("degree", {})).items())))
        year = props.get("graduation_year", {})
        low, high = year.get("minimum", 1900), year.get("maximum", 2100)
        key_field = node.get("x-key-field")
        return cls(
            degree_re,
            degrees,
            props,
            key_lookup(props),
            key_field if isinstance(key_field, str) else "degree",
            (low, high) if isinstance(low, int) and isinstance(high, int) else (1900, 2100),
        )

    def degree_of(self, word: str) -> str | None:
        """The degree a matched word names (`Ph.D.` -> 博士, `Masters` -> 硕士)."""
        w = _norm(word)
        return self.degrees.get(w) or (self.degrees.get(w[:-1]) if w.endswith("s") else None)

    def degree_spans(self, text: str) -> list[tuple[str, int, int]]:
        if self.degree_re is None:
            return []
        found = ((self.degree_of(m.group()), m.start(), m.end()) for m in self.degree_re.finditer(text))
        return [(d, s, e) for d, s, e in found if d is not None]

    def schools(self, clause: str) -> tuple[list[tuple[int, int]], bool]:
        """School spans in a clause, and whether one of them holds two schools."""
        spans = [sp for sp in map(self._latin_school, _LATIN_SCHOOL.finditer(clause)) if sp[0] < sp[1]]
        blocked = [False] * len(clause)
        marks = [(m.start(), m.end()) for m in _BOUNDARY.finditer(clause)]
        # a degree word bounds a name (本科北京大学), unless it ends one (北京大学本科 has 大学本科)
        marks += [(s, e) for _, s, e in self.degree_spans(clause) if not _SUFFIX.search(clause[s:e])]
        for s, e in marks:
            blocked[s:e] = [True] * (e - s)
        ambiguous = False
        runs = "".join("\x00" if b else c for b, c in zip(blocked, clause, strict=True))
        for run in _RUNS.finditer(runs):
            ends = [m for m in _SUFFIX.finditer(run.group()) if m.start() > 0]
            if ends:
                ambiguous = ambiguous or _two_schools(run.group()[: ends[-1].end()])
                spans.append((run.start(), run.start() + ends[-1].end()))
        return spans, ambiguous

    def _latin_school(self, m: regex.Match[str]) -> tuple[int, int]:
        """The Latin name without the degree words and `from`/`at` the pattern took in front."""
        for word in _WORDS.finditer(m.group()):
            if word.group().casefold() not in _LATIN_LEADS and self.degree_of(word.group()) is None:
                return m.start() + word.start(), m.end()
        return m.end(), m.end()

    def major(self, clause: str, start: int, end: int) -> str | None:
        """What follows the school, cut at the next degree word, 毕业 or number; or English `in X`."""
        after = _MAJOR_LEAD.sub("", _BRACKETS.sub("", clause[end:]))
        stops = [m.start() for m in [_MAJOR_STOP.search(after)] if m]
        stops += [s for _, s, _ in self.degree_spans(after)]
        major = after[: min(stops, default=len(after))].strip(" \t-–—·:：/|")
        major = _MAJOR_TAIL.sub("", major).strip()
        if major and not _MAJOR_START.match(major):
            major = ""  # English glue such as "in 2016" is not a major
        if not major:
            latin = _LATIN_MAJOR.search(clause[:start])
            major = latin.group(1) if latin else ""
        return major or None

    def lone_major(self, clause: str) -> str | None:
        """`计算机专业` (or English `in X`) in a clause with no school: the major it names."""
        text = clause
        for _, s, e in reversed(self.degree_spans(clause)):
            text = text[:s] + text[e:]
        text = _NOT_MAJOR.sub("", text)
        m = _MAJOR_ALONE.fullmatch(text)
        latin = _LATIN_MAJOR.search(clause) if m is None else None
        return m.group(1) if m else latin.group(1) if latin else None

    def read_clause(self, clause: str) -> list[_Item] | None:
        """The items of one clause (one without a school, if it has none); None if ambiguous."""
        spans, ambiguous = self.schools(clause)
        if ambiguous or len(spans) > 1:
            return None
        year = _year(clause, *self.years)
        if not spans:
            first = next((d for d, _, _ in self.degree_spans(clause)), None)
            return [_Item(first, None, self.lone_major(clause), year)]
        s, e = spans[0]
        masked = clause[:s] + " " * (e - s) + clause[e:]
        degrees: list[str | None] = list(dict.fromkeys(d for d, _, _ in self.degree_spans(masked)))
        major = self.major(clause, s, e)
        return [_Item(d, clause[s:e], major, year) for d in (degrees or [None])]

    def read_text(self, text: str) -> list[_Item] | None:
        """The items of a text; None where it names no school or a clause is ambiguous."""
        items: list[_Item] = []
        pending = _Item()
        for clause in _CLAUSE_SEP.split(text):
            found = self.read_clause(clause) if clause.strip() else []
            if found is None:
                return None
            for item in found:
                if item.school is not None:
                    item.lend(pending)
                    pending = _Item()
                    items.append(item)
                else:  # fill the item before; what it already has waits for the next one
                    pending.lend(items[-1].lend(item) if items else item)
        return items or None

    def as_dict(self, item: _Item) -> dict[str, JSON]:
        values = dict(zip(_KEYS, (item.degree, item.school, item.major, item.year), strict=True))
        return {k: v for k, v in values.items() if v is not None and (not self.props or k in self.props)}

    def keyed_item(self, key: str, value: Mapping[str, JSON]) -> dict[str, JSON]:
        """`{"Bachelor": {...}}`: the key as the item's degree, else its school, else its key field."""
        named = keys_by_property(value, self.lookup)
        degree = self.degree_of(key)
        if degree is not None and "degree" not in named:
            return {"degree": degree, **value}
        spans, ambiguous = self.schools(key)
        if spans == [(0, len(key))] and not ambiguous and "school" not in named:
            return {"school": key, **value}
        return {self.key_field: key, **value}


def _texts(grammar: _Grammar, text: str) -> list[JSON] | None:
    items = grammar.read_text(text)
    return [grammar.as_dict(i) for i in items] if items else None


def _from_object(grammar: _Grammar, obj: Mapping[str, JSON]) -> list[JSON] | None:
    """An item stays for the walk (None), or is read as text when it only has texts and no
    school; a keyed object gives its items (None if no entry could be read)."""
    named = keys_by_property(obj, grammar.lookup)
    if named:
        only_texts = all(isinstance(v, str) for v in obj.values())
        return _texts(grammar, " ".join(obj.values())) if only_texts and "school" not in named else None
    out: list[JSON] = []
    changed = False
    for key, value in obj.items():
        read = _texts(grammar, f"{key} {value}") if isinstance(value, str) else None
        if isinstance(value, dict):
            read = [grammar.keyed_item(key, value)]
        changed = changed or read is not None
        # clarification 7: an entry that cannot be read keeps its key in the key field
        out.extend(read if read is not None else [{grammar.key_field: key}])
    return out if changed else None


def _element(grammar: _Grammar, value: JSON) -> list[JSON] | None:
    """The items one text or object gives; None where it is left as it is."""
    if isinstance(value, str):
        return _texts(grammar, value)
    if isinstance(value, dict):
        return _from_object(grammar, value)
    return None


def _read(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    grammar = _Grammar.of(field)
    elements = value if isinstance(value, list) else [value]
    out: list[JSON] = []
    devs: list[Deviation] = []
    for element in elements:
        items = _element(grammar, element)
        if items is None:
            out.append(element)
            continue
        for item in items:
            devs.append(Deviation("canon.education", (len(out),), f"read {brief(element)} as {brief(item)}"))
            out.append(item)
    return (out, devs) if devs else (value, [])


def canonicalize_education(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    """Education text, objects or lists -> a list of {degree, school, major, graduation_year}."""
    named = isinstance(value, list) and all(isinstance(e, dict) and "school" in e for e in value)
    if named and "school" in _Grammar.of(field).props:
        return value, []  # items that name their school are the walk's, as they are
    decoded, devs = decode_json_text(value)
    out, more = _read(decoded, field)
    return (out, devs + more) if devs or more else (value, [])
