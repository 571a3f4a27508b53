"""Blood pressure: text -> {systolic, diastolic, unit} (`x-canonical: blood_pressure`).

Grammar (full-width digits and ／ count; case-insensitive):
  reading := [label] int / int [unit]                      "BP 135/85"  "135/85 mmHg"
           | 收缩压|高压|systolic int [unit] sep 舒张压|低压|diastolic int [unit]
  label   := BP  B/P  血压  blood pressure, then an optional ：or :
  unit    := mmHg  mm Hg  毫米汞柱  (kPa is another unit: not read, nothing is converted)
The unit in the output is the schema's (its default, or its one enum value: mmHg).
One number, words (偏高), or anything else: unchanged, for the walk to report. An object
is left to the walk (its keys and numbers), unless it has no systolic/diastolic key and one
of its texts is a reading (`{"value": "135/85"}`).
"""

from __future__ import annotations

from collections.abc import Mapping

import regex

from .._deviation import Deviation, brief
from .._field import Field
from .._numbers import halfwidth
from .._types import JSON
from ._reading import key_lookup, keys_by_property, properties, read_value, the_value

_UNIT = r"(?:\s*(?:mm\s*hg|毫米汞柱))?"
_LABEL = r"(?:(?:bp|b/p|血压|blood\s+pressure)\s*[:：]?\s*)?"
_SLASH = regex.compile(rf"^{_LABEL}(\d{{2,3}})\s*[/／]\s*(\d{{2,3}}){_UNIT}$", regex.IGNORECASE)
_NAMED = regex.compile(
    rf"^{_LABEL}(?:收缩压|高压|systolic)\s*[:：]?\s*(\d{{2,3}}){_UNIT}\s*[,，;；、\s]\s*"
    rf"(?:舒张压|低压|diastolic)\s*[:：]?\s*(\d{{2,3}}){_UNIT}$",
    regex.IGNORECASE,
)


def read_reading(text: str) -> tuple[int, int] | None:
    """(systolic, diastolic) from a reading such as `BP 135/85mmHg`; None if it is not one."""
    body = halfwidth(text).strip().rstrip("。.")
    m = _SLASH.match(body) or _NAMED.match(body)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _shape(reading: tuple[int, int], field: Field) -> dict[str, JSON]:
    props = properties(field.schema, field.resolve)
    unit = the_value(props.get("unit", {}), "mmHg")
    return {"systolic": reading[0], "diastolic": reading[1], "unit": unit}


def _from_object(value: Mapping[str, JSON], field: Field) -> tuple[JSON, list[Deviation]]:
    lookup = key_lookup(properties(field.schema, field.resolve))
    named = keys_by_property(value, lookup)
    if "systolic" in named or "diastolic" in named:
        return value, []
    texts = [v for v in value.values() if isinstance(v, str)]
    readings = [r for r in map(read_reading, texts) if r]
    if len(readings) != 1 or any("kpa" in t.casefold() for t in texts):  # no unit conversion
        return value, []
    out = _shape(readings[0], field)
    return out, [Deviation("canon.blood_pressure", (), f"read {brief(value)} as {out['systolic']}/{out['diastolic']}")]


def _read(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    if isinstance(value, dict):
        return _from_object(value, field)
    if not isinstance(value, str):
        return value, []
    reading = read_reading(value)
    if reading is None:
        return value, []
    out = _shape(reading, field)
    return out, [Deviation("canon.blood_pressure", (), f"read {brief(value)} as {reading[0]}/{reading[1]}")]


def canonicalize_blood_pressure(value: JSON, field: Field) -> tuple[JSON, list[Deviation]]:
    """A reading such as `BP 135/85mmHg` -> {"systolic": 135, "diastolic": 85, "unit": "mmHg"}."""
    if isinstance(value, dict) and ("systolic" in value or "diastolic" in value):
        props = properties(field.schema, field.resolve)
        if any(k in value and k in props for k in ("systolic", "diastolic")):
            return value, []  # it names its readings: the walk's, as it is
    return read_value(value, field, _read)
