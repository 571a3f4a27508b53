"""Inputs the long fuzz run (benchmarks/fuzz.py) found breaking an invariant, minimized.

Each case names what went wrong when it was found. They stay here after the fix, so the bug
cannot come back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_guard_json import normalize

STRING = {"type": "string"}


def _fixed_point(raw: str | bytes, schema: Any) -> None:
    """An ok result's canonical text normalizes to itself, with no deviations."""
    result = normalize(raw, schema)
    if not result.ok:
        return
    assert result.text is not None
    again = normalize(result.text, schema)
    assert again.ok, f"{result.text!r} -> not ok: {again.codes}"
    assert again.deviations == (), again.codes
    assert (again.value, again.text) == (result.value, result.text)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("raw", "schema"),
    [
        # fuzz 2026-11-25 (noise, schema {"type": "string"}): `<think><think>` gave ok with text
        # `"<think>"`, and that text normalized to null, not ok (think tag stripped inside the JSON string).
        pytest.param("<think><think>", STRING, id="think-tag-inside-a-string-root"),
    ],
)
def test_canonical_text_is_a_fixed_point(raw: str | bytes, schema: Any) -> None:
    _fixed_point(raw, schema)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("value", ["<think>", "a </think> b", "use <think>x</think> tags", "<THINK >"])
def test_output_that_is_one_strict_json_string_is_taken_as_is(value: str) -> None:
    # Same root cause: a whole-text JSON scalar went through <think> stripping before the JSON
    # check, so `"a </think> b"` became the string `b"` and `"use <think>x</think> tags"` lost a part.
    result = normalize(json.dumps(value), STRING)
    assert result.ok and result.codes == [] and result.value == value


HUGE = "1" + "0" * 309  # 10**309: a JSON integer no float can hold


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("raw", "schema"),
    [
        # fuzz 2026-11-25 (noise, schema resume): `{"skill"111…1 ` (311 digits) raised OverflowError
        # from _scalars.to_string (math.isfinite on an int too large for a float) instead of a Result.
        pytest.param(HUGE, STRING, id="string-root"),
        pytest.param('{"name": "x", "company": ' + HUGE + "}", "resume", id="string-property"),
        pytest.param('{"name": "x", "skills": [' + HUGE + "]}", "resume", id="string-list-item"),
        pytest.param('{"skill"' + "1" * 311 + " ", "resume", id="as-found"),
    ],
)
def test_an_integer_too_large_for_a_float_where_text_is_wanted_does_not_raise(raw: str, schema: Any) -> None:
    result = normalize(raw, schema)
    assert result.value is not None
    _fixed_point(raw, schema)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("raw", "schema"),
    [
        # fuzz 2026-11-25 (noise, schema {"type": "integer"}): `［111…1\u2028,` (311 digits) raised
        # OverflowError from _scalars.to_number (math.isfinite on a huge int read from text).
        pytest.param('"' + HUGE + '"', {"type": "integer"}, id="integer-from-text"),
        pytest.param('"' + HUGE + '"', {"type": "number"}, id="number-from-text"),
        pytest.param('{"name": "x", "age": "' + HUGE + '"}', "resume", id="age-from-text"),
        pytest.param("［" + "1" * 311 + "\u2028,", {"type": "integer"}, id="as-found"),
    ],
)
def test_a_number_too_large_for_a_float_read_from_text_does_not_raise(raw: str, schema: Any) -> None:
    result = normalize(raw, schema)
    assert result.deviations or result.ok
    _fixed_point(raw, schema)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("raw", "schema"),
    [
        # fuzz 2026-11-25 (noise, schema {}): the JSON text `"\udc0e"` (an escaped lone surrogate,
        # as a model writes when it cuts an emoji's escape pair in half) came back ok with a raw lone
        # surrogate in `.text`: the text cannot be encoded as UTF-8, and normalizing it again gives
        # `input.decode` and a `?`, so it is not a fixed point.
        pytest.param('"\\udc0e"', {}, id="string-root"),
        pytest.param('{"name": "张伟\\ud83d"}', "resume", id="cut-emoji-escape"),
        pytest.param('["\\udfff", "a"]', {"type": "array", "items": {"type": "string"}}, id="list-item"),
    ],
)
def test_escaped_lone_surrogates_leave_a_text_that_is_utf8_and_a_fixed_point(raw: str, schema: Any) -> None:
    result = normalize(raw, schema)
    assert result.text is not None
    result.text.encode("utf-8")  # raised UnicodeEncodeError
    _fixed_point(raw, schema)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "raw",
    [
        # fuzz 2026-11-25 (damaged, schema resume): `{"name"9""[]"skill"["":9"":9"` gave skills
        # ["9", "9"]: items that became text (coerce.number_to_text) were not deduplicated, so
        # normalizing the canonical text again removed one (coerce.duplicate): not a fixed point.
        pytest.param('{"name"9""[]"skill"["":9"":9"', id="as-found"),
        pytest.param('{"name": "x", "skills": [9, 9]}', id="two-numbers"),
        pytest.param('{"name": "x", "skills": [9, "9"]}', id="number-and-text"),
        pytest.param('{"name": "x", "skills": [null, 9, 9]}', id="after-a-null"),
    ],
)
def test_list_items_that_become_text_are_deduplicated_once(raw: str) -> None:
    result = normalize(raw, "resume")
    assert result.value is not None and result.value["skills"] == ["9"]
    _fixed_point(raw, "resume")
