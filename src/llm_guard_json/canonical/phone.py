"""Chinese phone numbers: text -> digits only (`x-canonical: phone_cn`).

Grammar:  [label] [country] digits-with-separators
  label     := 手机 手机号 手机号码 电话 联系电话 电话号码 tel phone mobile, then ：or :
  country   := +86  0086  (+86)  86 (the last only before 11 digits)
  separator := space, full-width space, - – — . ( ) （ ）
Full-width digits count. Anything else (a mask like 138****5678, letters, two numbers)
leaves the text unchanged, and so does a result the field's `pattern` rejects, so the walk
reports the original text. A number (not text) is left to the walk's rule 8.
"""

from __future__ import annotations

import regex

from .._deviation import Deviation, brief
from .._field import Field
from .._numbers import halfwidth
from .._types import JSON
from ._reading import read_value

_NOTE = regex.compile(r"[（(][^）)]*[）)]")
_LABEL = regex.compile(
    r"^(?:手机号码|手机号|手机|联系电话|电话号码|电话|tel|phone|mobile)\s*[:：]?\s*", regex.IGNORECASE
)
_SHAPE = regex.compile(r"^(?:\(\+86\)|（\+86）|\+\s*86|0086)?[\d\s\u3000\-–—.()（）]+$")
_MOBILE = regex.compile(r"1[0-9]{10}")
_SEPARATORS = regex.compile(r"[\s\u3000\-–—.()（）]+")


def _digits(text: str) -> str | None:
    body = _LABEL.sub("", halfwidth(text).strip())
    if not _SHAPE.match(body):
        body = _NOTE.sub("", body).strip()  # 138 1234 5678（微信同号）: a remark aside
        if not _SHAPE.match(body):
            return None
    compact = _SEPARATORS.sub("", body)
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
            break
    else:
        if compact.startswith("86") and len(compact) == 13:
            compact = compact[2:]
    return compact if compact.isdigit() and 5 <= len(compact) <= 15 else None


def _read(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    if not isinstance(value, str) or _MOBILE.fullmatch(value):
        return value, []  # a mobile number's digits are its canonical form already
    digits = _digits(value)
    if digits is None or digits == value:
        return value, []
    pattern = field.schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if regex.search(pattern, digits) is None:
                return value, []
        except regex.error:
            pass  # a pattern this engine cannot read is the walk's to judge
    return digits, [Deviation("canon.phone", (), f"read {brief(value)} as {brief(digits)}")]


def canonicalize_phone_cn(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    """A Chinese phone number as its digits: `+86 138-1234-5678` -> `13812345678`."""
    return read_value(value, field, _read)
