"""Text rules shared by the coercers: null-likes, key folding, text to list.

Text to list (CANONICAL.md rule 7, clarification 9): split on 、 , ， ; ； and newlines;
on / except between two digits or inside a keep-whole term (TCP/IP, CI/CD, ...); on
和 及 与 以及 where they stand as a conjunction (not inside 参与, 及时, 和谐, ...); on ` and `.
Then trim, drop empties and null-likes, drop a trailing 等/等等, drop case-insensitive
duplicates, keep order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import regex

#: Texts that mean "no value" (rule 6), compared after trimming, case-insensitively.
NULL_LIKES = frozenset(
    {"", "无", "暂无", "未知", "不详", "未提及", "n/a", "na", "null", "none", "nil", "-", "--", "—", "空", "没有"}
)
#: Terms never split on "/" (clarification 9); a schema adds its own with x-keep-whole.
KEEP_WHOLE = ("TCP/IP", "CI/CD", "I/O", "B/S", "C/S", "A/B", "PL/SQL", "UI/UX")
#: Words in which 和 及 与 are part of the word, not a conjunction.
_CONJUNCTION_WORDS = (
    "参与",
    "与会",
    "给与",
    "赋与",
    "与其",
    "与否",
    "及时",
    "及格",
    "及早",
    "涉及",
    "普及",
    "危及",
    "顾及",
    "波及",
    "来不及",
    "不及",
    "以及",
    "和谐",
    "和平",
    "温和",
    "缓和",
    "平和",
    "柔和",
    "总和",
    "和蔼",
    "饱和",
    "中和",
    "调和",
    "和睦",
    "暖和",
    "随和",
    "附和",
    "共和",
    "和解",
    "和服",
    "和声",
    "和弦",
    "祥和",
    "谦和",
    "和气",
    "亲和",
    "融和",
    "和善",
    "和风",
)
#: Words ending in 等 that are not the "and so on" 等.
_DENG_WORDS = (
    "平等",
    "高等",
    "中等",
    "初等",
    "同等",
    "对等",
    "均等",
    "相等",
    "上等",
    "头等",
    "优等",
    "劣等",
    "特等",
    "次等",
)

_KEY_NOISE = regex.compile(r"[\s_\-\u3000]+")
_ALWAYS = regex.compile(r"[、,，;；\n\r\t]+")
_SLASH_OR_CONJ = regex.compile(r"以及|[和及与/]|\s+and\s+", regex.IGNORECASE)


def is_null_like(value: object) -> bool:
    """True for None and for the null-like texts of rule 6."""
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_LIKES)


@functools.lru_cache(maxsize=4096)
def fold_key(key: str) -> str:
    """A key compared ignoring case, spaces, '_' and '-' (rule 4, clarification 8).

    Cached: the same few keys come back in every output."""
    return _KEY_NOISE.sub("", key).casefold()


def _protected(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    spans = []
    lowered = text.casefold()
    for term in terms:
        t = term.casefold()
        start = lowered.find(t)
        while start != -1:
            spans.append((start, start + len(t)))
            start = lowered.find(t, start + 1)
    return spans


#: Words that, read across a conjunction word's edge, show the 和/与/及 is a conjunction after
#: all: 产品和服务 (not 和服), 休息和服用 (not 和服), 人参与黄芪 (not 参与), 高中和大学 (not 中和).
_AFTER_CONJUNCTION = frozenset(
    (
        "服务",
        "服用",
        "服装",
        "服从",
        "解决",
        "解析",
        "解释",
        "解读",
        "平台",
        "平面",
        "平衡",
        "平板",
        "气体",
        "气象",
        "声音",
        "格式",
        "时间",
        "时效",
        "时长",
        "早期",
        "其他",
        "其它",
        "会议",
        "会员",
        "谐波",
    )
)
_BEFORE_CONJUNCTION = frozenset(
    (
        "人参",
        "党参",
        "丹参",
        "海参",
        "高中",
        "初中",
        "其中",
        "集中",
        "水平",
        "公平",
        "汇总",
        "协调",
        "空调",
        "体温",
        "气温",
        "室温",
        "公共",
        "温暖",
        "温柔",
        "舒缓",
    )
)


def _conjunction_word_holds(piece: str, start: int, end: int) -> bool:
    """Whether a word like 和服 or 参与 found at piece[start:end] is really that word here."""
    if piece[start] in "和与及":
        return piece[start + 1 : start + 3] not in _AFTER_CONJUNCTION
    if piece[end - 1] in "和与及" and start > 0:
        return piece[start - 1 : start + 1] not in _BEFORE_CONJUNCTION
    return True


def _split_piece(piece: str, keep_whole: tuple[str, ...]) -> list[str]:
    words = [(a, b) for a, b in _protected(piece, _CONJUNCTION_WORDS) if _conjunction_word_holds(piece, a, b)]
    protected = _protected(piece, keep_whole) + words
    parts, last = [], 0
    for m in _SLASH_OR_CONJ.finditer(piece):
        s, e = m.span()
        if m.group() != "以及" and any(a <= s and e <= b for a, b in protected):
            continue
        if m.group() == "/" and s > 0 and e < len(piece) and piece[s - 1].isdigit() and piece[e].isdigit():
            continue  # 1/2 is a number, not two items
        if m.group() != "/" and not (piece[:s].strip() and piece[e:].strip()):
            continue  # a conjunction joins two things: 与人沟通 starts with a preposition
        parts.append(piece[last:s])
        last = e
    parts.append(piece[last:])
    return parts


def _strip_deng(item: str) -> str:
    for tail in ("等等", "等"):
        if item.endswith(tail) and not item.endswith(_DENG_WORDS):
            return item[: -len(tail)].rstrip()
    return item


def split_text(text: str, keep_whole: Iterable[str] = ()) -> list[str]:
    """Split text into list items by rule 7 and clarification 9."""
    terms = KEEP_WHOLE + tuple(keep_whole)
    items: list[str] = []
    for piece in _ALWAYS.split(text):
        items.extend(p.strip() for p in _split_piece(piece, terms))
    items = [i for i in items if i]
    if items:
        items[-1] = _strip_deng(items[-1])
    return dedupe(i for i in items if not is_null_like(i))


def dedupe(items: Iterable[str]) -> list[str]:
    """Drop case-insensitive duplicates, keeping the first spelling and the order."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
