"""Adversarial model outputs: normalize never raises, never hangs, and says what it cut.

The input shapes are the ones that break the peers:
unbalanced brackets, quote storms, prose full of `{}`/`[]`, unclosed strings, deep nesting,
random bytes, megabytes of one character, many fences, runaway `<think>` blocks, and a
catastrophic user `pattern`. Each runs at 10 KB and 100 KB against "resume",
"medical_record" and `{}`, and at 1 MB against "resume" and `{}` (the 1 MB cases carry their
own, larger hang guard and run by default; `-k "not 1MB"` skips them for a quick local run).

What is asserted is the contract, never wall-clock speed: a Result comes back; a not-ok result
says why; an ok result validates and its text is its value; a named schema (whose required
properties no shape supplies) is never satisfied by noise; and where the contract names a code
it is there: nesting beyond the depth limit -> `limit.depth`, output over the size limit ->
`limit.size`, no JSON at all -> `no_json`, too many candidates -> `limit.candidates`, invalid
UTF-8 or lone surrogates -> `input.decode`. `@pytest.mark.timeout` (pytest-timeout) is only a
hang guard. Memory is checked once under tracemalloc (peak < 100 MB above baseline).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import pytest

from conftest import MB, repeat_to
from llm_guard_json import CODES, Result, Schema, normalize

NAMED = ("resume", "medical_record")
SCHEMAS: tuple[Any, ...] = (*NAMED, {})
KB = 1_000
HANG_GUARD = 30  # seconds: a hang guard, far above what any of these takes
HANG_GUARD_1MB = 60


def _random_bytes(n: int) -> bytes:
    return random.Random(n).randbytes(n)


LATEX = r"Let $x_{i}$ be the $i$-th term and $A[i]$ its index, so $\frac{a_{k}}{b^{2}} \le B[k]$ holds. "
TEMPLATE = "Dear {name}, your order [id] is {status}; see [the docs](url) and {{count}} more [items]. "
CODE = 'def f(x):\n    return {"a": [x, {"b": x}], "c": (x,)}\n\nprint(f([1, 2]), data["k"][0])\n'
PROSE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod tempor. "


@dataclass(frozen=True)
class Shape:
    """An adversarial input of about n characters (or bytes) and what the contract says of it."""

    name: str
    build: Callable[[int], str | bytes]
    codes: frozenset[str] = frozenset()  # codes every schema's result must carry
    not_ok: bool = False  # not ok even under `{}` (anything goes)


def _shape(
    name: str, build: Callable[[int], str | bytes], codes: tuple[str, ...] = (), *, not_ok: bool = False
) -> Shape:
    return Shape(name, build, frozenset(codes), not_ok)


SCALED = [
    _shape("open_brackets", lambda n: "[" * n, ("limit.depth",), not_ok=True),
    # `{{{{`: read as one object with the rest skipped as stray text (no key can start with `{`).
    _shape("open_braces", lambda n: "{" * n),
    _shape("empty_objects", lambda n: "{}" * (n // 2), ("limit.candidates",)),
    _shape("open_keys", lambda n: '{"a":' * (n // 5), ("limit.depth",), not_ok=True),
    _shape("open_keys_unquoted", lambda n: "{a:[" * (n // 4), ("limit.depth",), not_ok=True),
    _shape("quote_storm", lambda n: '{"a": "' + repeat_to('x"', n)),
    _shape("single_quote_storm", lambda n: "{'a': '" + repeat_to("it's ", n)),
    _shape("fullwidth_quote_storm", lambda n: "{“a”：“" + repeat_to("x“y”，", n)),
    _shape("latex_prose", lambda n: repeat_to(LATEX, n), ("limit.candidates",)),
    _shape("template_prose", lambda n: repeat_to(TEMPLATE, n), ("limit.candidates",)),
    _shape("code_reply", lambda n: repeat_to(CODE, n), ("limit.candidates",)),
    _shape("unclosed_comma_fragments", lambda n: '{"text": "' + repeat_to('a, "b", c, ', n)),
    _shape("unclosed_string_braces", lambda n: '{"text": "' + repeat_to('a } b { c ] d [ "e": ', n)),
    _shape("many_keys_no_commas", lambda n: "{" + "".join(f'"k{i}": {i} ' for i in range(n // 10))),
    _shape("random_bytes", _random_bytes, ("input.decode",)),
    _shape("random_bytes_decoded", lambda n: _random_bytes(n).decode("utf-8", errors="replace")),
    _shape("random_bytes_latin1", lambda n: _random_bytes(n).decode("latin-1")),
    _shape("control_chars", lambda n: repeat_to("".join(map(chr, range(32))) + "\x7f", n), ("no_json",), not_ok=True),
    _shape("control_chars_in_json", lambda n: '{"a": "' + repeat_to("\x00\x01\x1f\x08", n) + '"}', ("repair.escape",)),
    _shape("lone_surrogates", lambda n: repeat_to("\ud800\udfff\udc00", n), ("input.decode", "no_json"), not_ok=True),
    _shape("lone_surrogates_in_json", lambda n: '{"a": "' + repeat_to("x\ud83d", n) + '"}', ("input.decode",)),
    _shape("commas", lambda n: "," * n, ("no_json",), not_ok=True),
    _shape("quotes", lambda n: '"' * n, ("no_json",), not_ok=True),
    _shape("prose_no_json", lambda n: repeat_to(PROSE, n), ("no_json",), not_ok=True),
    _shape("many_fences", lambda n: repeat_to('```json\n{"a": 1}\n```\n', n), ("fence", "limit.candidates")),
    _shape("unclosed_fences", lambda n: repeat_to("```json\n{\n", n)),
    _shape("think_never_closed", lambda n: "<think>" + repeat_to(PROSE, n), ("no_json",), not_ok=True),
    _shape("think_never_closed_braces", lambda n: "<think>" + repeat_to(TEMPLATE, n), ("limit.candidates",)),
    _shape("think_nested", lambda n: "<think>" * (n // 16) + "</think>" * (n // 16), ("no_json",), not_ok=True),
    _shape("think_interleaved", lambda n: repeat_to("<think>{<think>[</think>", n)),
]

# Shapes of a fixed size: the depth is the point, not the length.
FIXED = [
    _shape("deep_valid_arrays_5000", lambda _: "[" * 5000 + "]" * 5000, ("limit.depth",), not_ok=True),
    _shape("deep_valid_objects_1000", lambda _: '{"a":' * 1000 + "1" + "}" * 1000, ("limit.depth",), not_ok=True),
    _shape(
        "deep_mixed_5000",
        lambda _: '{"name": "x", "a": ' + '[{"b": ' * 2500 + "0" + "}]" * 2500 + "}",
        ("limit.depth",),
        not_ok=True,
    ),
    # megabytes of one character, just under the size limit
    _shape("commas_1.9MB", lambda _: "," * 1_900_000, ("no_json",), not_ok=True),
    _shape("quotes_1.9MB", lambda _: '"' * 1_900_000, ("no_json",), not_ok=True),
    _shape("backslashes_1.9MB", lambda _: '"' + "\\" * 1_900_000, ("no_json",), not_ok=True),
    # 3 MB is over the size limit (MAX_CHARS, 2,000,000 characters by default): the cut is reported.
    _shape("over_size_valid", lambda _: json.dumps({"name": "x", "bio": "a" * 3 * MB}), ("limit.size",), not_ok=True),
    _shape("over_size_prose", lambda _: repeat_to(PROSE, 3 * MB), ("limit.size", "no_json"), not_ok=True),
]


@cache
def _input(shape: str, size: int) -> str | bytes:
    return {s.name: s for s in SCALED + FIXED}[shape].build(size)


def _known(code: str) -> bool:
    return code in CODES or code.startswith("invalid.")


@cache
def _validator(schema: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(Schema(schema).root)


def _check(result: Result, shape: Shape, schema: Any) -> None:
    assert isinstance(result, Result)
    codes = result.codes
    assert all(_known(c) for c in codes), codes
    assert 0.0 < result.score <= 1.0
    if result.ok:
        assert result.text is not None
        assert json.loads(result.text) == result.value
        if isinstance(schema, str):
            assert _validator(schema).is_valid(result.value)
    else:
        assert result.deviations, "a result that is not ok must say why"
        assert result.score <= 0.5
    if "no_json" in codes:
        assert result.value is None and result.text is None
    if "limit.depth" in codes or "limit.size" in codes:
        assert not result.ok, "a cut output is never ok"
    missing = shape.codes - set(codes)
    assert not missing, f"{shape.name}: expected {sorted(missing)} in {codes}"
    if shape.not_ok or isinstance(schema, str):
        # no shape supplies what the shipped schemas require
        assert not result.ok, f"{shape.name} under {schema!r} came back ok: {result.text!r:.200}"


def _cases() -> list[Any]:
    cases = []
    for shape in SCALED:
        for size, label in ((10 * KB, "10KB"), (100 * KB, "100KB")):
            cases += [pytest.param(shape, size, s, id=f"{shape.name}-{label}-{s or 'any'}") for s in SCHEMAS]
        big = pytest.mark.timeout(HANG_GUARD_1MB)
        cases += [pytest.param(shape, MB, s, marks=big, id=f"{shape.name}-1MB-{s or 'any'}") for s in ("resume", {})]
    return cases


@pytest.mark.timeout(HANG_GUARD)
@pytest.mark.parametrize(("shape", "size", "schema"), _cases())
def test_adversarial_shape(shape: Shape, size: int, schema: Any) -> None:
    _check(normalize(_input(shape.name, size), schema), shape, schema)


@pytest.mark.timeout(HANG_GUARD_1MB)
@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s or "any")
@pytest.mark.parametrize("shape", FIXED, ids=lambda s: s.name)
def test_adversarial_fixed_shape(shape: Shape, schema: Any) -> None:
    _check(normalize(_input(shape.name, 0), schema), shape, schema)


@pytest.mark.timeout(HANG_GUARD)
@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s or "any")
def test_deep_valid_nesting_is_cut_whole_and_never_recurses(schema: Any) -> None:
    # just past any depth limit a Python parser would survive, valid all the way
    for depth in (1000, 5000, 20_000):
        for raw in ("[" * depth + "]" * depth, '{"a":' * depth + "null" + "}" * depth):
            result = normalize(raw, schema)
            assert "limit.depth" in result.codes and not result.ok


ANSWER = json.dumps({"name": "张伟", "age": 35}, ensure_ascii=False)


@pytest.mark.timeout(HANG_GUARD_1MB)
@pytest.mark.parametrize(
    "raw",
    [
        # a <think> never closed loses only its tag: the answer after 1 MB of reasoning is found
        pytest.param("<think>" + repeat_to(PROSE, MB) + "\n" + ANSWER, id="think_never_closed_1MB"),
        pytest.param("<think>" * 5000 + "x" + "</think>" * 5000 + ANSWER, id="think_nested_5000"),
        pytest.param("<think><think></think>" * 5000 + ANSWER, id="think_interleaved_5000"),
        pytest.param("```json\n" + ANSWER + "\n```\n" + "```\n" * 10_000, id="fence_then_10000_fence_lines"),
    ],
)
def test_the_answer_survives_adversarial_wrapping(raw: str) -> None:
    result = normalize(raw, "resume")
    assert result.ok, result.codes
    assert result.value is not None and result.value["name"] == "张伟"


@pytest.mark.timeout(HANG_GUARD_1MB)
def test_a_1mb_document_broken_at_its_end_is_repaired_whole() -> None:
    # the whole megabyte goes through the repair parser, which has no recursion to run out of
    education = [{"degree": "本科", "school": "清华大学", "major": "计算机", "graduation_year": 2010}] * 9000
    text = json.dumps({"name": "张伟", "education": education, "skills": ["Python"] * 20_000}, ensure_ascii=False)
    assert len(text) > 800 * KB
    result = normalize(text[:-2] + ",]}", "resume")  # a trailing comma before the last closer
    assert result.ok and "repair.trailing_comma" in result.codes
    assert result.value is not None and len(result.value["education"]) == 9000


CATASTROPHIC = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}, "required": ["s"]}


@pytest.mark.timeout(HANG_GUARD + 30)
def test_catastrophic_user_pattern_cannot_hang() -> None:
    # In a child process: a regex engine stuck in C or Rust code may not see pytest-timeout's signal.
    code = textwrap.dedent(
        f"""
        import json
        from llm_guard_json import normalize
        schema = {CATASTROPHIC!r}
        out = {{}}
        for n in (30, 40, 5000):
            r = normalize(json.dumps({{"s": "a" * n + "b"}}), schema)
            out[n] = [r.ok, r.codes]
        r = normalize(json.dumps({{"s": "a" * 40}}), schema)
        out["match"] = [r.ok, r.codes]
        print(json.dumps(out))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_GUARD, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for n in ("30", "40", "5000"):
        ok, codes = out[n]
        assert not ok, f"'a' * {n} + 'b' does not match ^(a+)+$: {codes}"
        assert {"lost.value", "missing.required", "invalid.pattern"} & set(codes), codes
    assert out["match"] == [True, []], "the pattern still applies to values it matches"


@pytest.mark.timeout(HANG_GUARD + 30)
# empty_objects is the worst shape found: 500,000 one-`{}` candidates peaked at 99.7 MB (2026-11-25)
@pytest.mark.parametrize("shape", ["empty_objects", "many_keys_no_commas", "latex_prose", "quote_storm"])
def test_memory_of_a_1mb_adversarial_input_is_bounded(shape: str) -> None:
    raw = _input(shape, MB)
    normalize("{}", "resume")  # schema compiled and caches warm before measuring
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        normalize(raw, "resume")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 100 * MB, f"{shape}: peak {(peak - base) / MB:.1f} MB above baseline"
