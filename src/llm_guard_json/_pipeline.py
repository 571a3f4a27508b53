"""normalize(): raw text -> candidates -> parse -> coerce -> validate -> score, best candidate wins.

Clarification 2: every candidate runs the whole flow; the winner is ok first, then the
better fit (its score, leaving out how it was found), then the later one. Output that
already is canonical JSON takes the fast path. Bad output never raises; bad arguments do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._coerce import ABSENT, Walk
from ._deviation import Deviation, check_weights, reweigh, score
from ._errors import ConfigError
from ._extract import Candidate, bare_text, extract
from ._fastpath import settled
from ._keys import unwrap_root
from ._limits import DEFAULT_LIMITS, Limits
from ._parse import MISSING, Parsed, parse, quick, strict
from ._result import Result
from ._scalars import wanted_types
from ._schema import Schema, as_schema, node_memo
from ._types import JSON, Canonicalizers, Path
from ._validate import validate
from .canonical import DEFAULT_CANONICALIZERS

_SCALARS = {"string", "number", "integer", "boolean", "null"}
_CUT = frozenset({"limit.size", "limit.depth"})
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHOLE = -1  # the start of the one candidate that is the whole output, read as strict JSON


def _text_of(raw: Any) -> tuple[str, list[Deviation]]:
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", errors="replace")
        bad = "\ufffd" in text and "\ufffd".encode() not in raw
        return text, [Deviation("input.decode", (), "invalid UTF-8 replaced")] if bad else []
    if not isinstance(raw, str):
        raise ConfigError(f"normalize() takes the model output as str or bytes, not {type(raw).__name__}")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        text = raw.encode("utf-8", errors="replace").decode("utf-8")
        return text, [Deviation("input.decode", (), "lone surrogates replaced")]
    return raw, []


def _canonicalizers(schema: Schema, override: Canonicalizers | None) -> Canonicalizers:
    chosen = override if override is not None else schema.canonicalizers
    if chosen is None:
        chosen = DEFAULT_CANONICALIZERS
    elif not isinstance(chosen, Mapping):
        raise ConfigError("canonicalizers must be a mapping of name -> function, e.g. DEFAULT_CANONICALIZERS | {...}")
    if not all(name in chosen for name in schema.canonicalizer_names):
        unknown = sorted(schema.canonicalizer_names - set(chosen))
        raise ConfigError(
            f"the schema names canonicalizers {unknown} that are not given; known: {sorted(chosen)}; "
            "pass canonicalizers=DEFAULT_CANONICALIZERS | {name: function}"
        )
    return chosen


@dataclass(frozen=True, slots=True)
class _Call:
    """The frozen settings of one normalize call."""

    schema: Schema
    canonicalizers: Canonicalizers
    weights: Mapping[str, float]
    limits: Limits
    raw: str


def _run(call: _Call, value: JSON, base: Path, pre: list[Deviation], parsed: tuple[Deviation, ...]) -> Result:
    """Coerce, complete, validate and score one parsed candidate value."""
    schema = call.schema
    if _ESCAPED_SURROGATE.search(call.raw):  # JSON escapes can spell a lone surrogate: no UTF-8 has one
        value, scrubbed = _scrub(value)
        if scrubbed:
            pre = [*pre, Deviation("input.decode", (), "escaped lone surrogates replaced with U+FFFD")]
    if settled(value, schema, call.canonicalizers):
        return _settled(call, value, base, pre, parsed)
    value, inner, unwrapped = unwrap_root(value, schema)
    walk = Walk(schema, call.canonicalizers, call.limits)
    out, _ = walk.value(value, schema.root, (), base + inner)
    moved = [Deviation(d.code, walk.place(base + d.path), d.detail, d.weight) for d in parsed]
    found = pre + moved + unwrapped + walk.placed()
    if out is ABSENT:
        out = None
    failures = schema.problems(out)
    # a cut output (too long, too deep) is never vouched for, whatever the rest says
    ok = not failures and not any(d.code in _CUT for d in found)
    devs = reweigh(found + validate(found, failures), call.weights)
    return Result(call.raw, out, ok, devs, score(devs), schema)


def _scrub(value: JSON) -> tuple[JSON, bool]:
    """The value with every lone surrogate in its strings (keys too) replaced; whether any was."""
    if isinstance(value, str):
        clean = _SURROGATE.sub("\ufffd", value)
        return clean, clean != value
    if isinstance(value, list):
        pairs = [_scrub(v) for v in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    if isinstance(value, dict):
        items = [(_scrub(k), _scrub(v)) for k, v in value.items()]
        return {k: v for (k, _), (v, _) in items}, any(a or b for (_, a), (_, b) in items)
    return value, False


def _settled(call: _Call, value: JSON, base: Path, pre: list[Deviation], parsed: tuple[Deviation, ...]) -> Result:
    """The fast path's result: the value as it came, only the extraction and repair deviations."""
    moved = [
        Deviation(d.code, d.path[len(base) :] if d.path[: len(base)] == base else (), d.detail, d.weight)
        for d in parsed
    ]
    devs = reweigh(pre + moved, call.weights)
    ok = not any(d.code in _CUT for d in devs)
    return Result(call.raw, value, ok, devs, score(devs), call.schema)


def _root_wants(schema: Schema) -> set[str] | None:
    return node_memo("root types", schema.root, lambda: wanted_types(schema.resolve(schema.root)))


def normalize(
    raw: str | bytes,
    schema: Any,
    *,
    canonicalizers: Canonicalizers | None = None,
    weights: Mapping[str, float] | None = None,
    limits: Limits | None = None,
) -> Result:
    """Normalize one model output to the canonical value `schema` declares.

    `schema` is a Schema, a shipped name ("resume"), a path, a dict or a pydantic model
    class. Never raises for bad output: the Result says what was wrong.
    """
    compiled = as_schema(schema)
    limits = limits or DEFAULT_LIMITS
    if not isinstance(limits, Limits):
        raise ConfigError(f"limits must be a Limits(...), not {type(limits).__name__}")
    full, pre = _text_of(raw)
    text = full[: limits.max_chars]
    if len(text) < len(full):
        pre.append(Deviation("limit.size", (), f"output of {len(full)} characters cut to {limits.max_chars}"))
    call = _Call(compiled, _canonicalizers(compiled, canonicalizers), check_weights(weights), limits, full)
    wants = _root_wants(compiled)
    found = _candidates(text, limits)
    results = []
    whole = len(found) == 1 and found[0][0].start == _WHOLE  # the output is one strict JSON value
    if wants is not None and wants <= _SCALARS and not whole:  # clarification 15: the bare text too
        bare = bare_text(text)
        if all(bare.text != c.text.strip() for c, p in found if p.value is not MISSING):
            results.append(_run(call, bare.text, (), pre + list(bare.deviations), ()))  # first: loses ties
    for candidate, parsed in found:
        if parsed.value is MISSING:
            continue
        for value, base, extra in _expand(parsed.value, wants):
            own = tuple(d for d in parsed.deviations if d.path[: len(base)] == base or not d.path)
            results.append(_run(call, value, base, pre + list(candidate.deviations) + extra, own))
    return _choose(results, pre, call)


def _candidates(text: str, limits: Limits) -> list[tuple[Candidate, Parsed]]:
    """Each candidate with its parse; output that is strict JSON as a whole skips extraction."""
    value = strict(text, max_depth=limits.max_depth)  # fails at once on prose: cheap to try first
    if value is not MISSING:
        return [(Candidate(text, (), _WHOLE), Parsed(value, ()))]
    if text.lstrip()[:1] in ("{", "["):
        fixed = quick(text, limits.max_depth)
        if fixed is not None:
            return [(Candidate(text, (), _WHOLE), fixed)]
    found = extract(text, max_candidates=limits.max_candidates)
    return [(c, parse(c.text, max_depth=limits.max_depth)) for c in found]


def _expand(value: JSON, wants: set[str] | None) -> list[tuple[JSON, Path, list[Deviation]]]:
    """Clarification 2: each object of a top-level array is a candidate when one object is wanted."""
    if isinstance(value, list) and wants is not None and "object" in wants and "array" not in wants:
        items: list[tuple[JSON, Path, list[Deviation]]] = [
            (v, (i,), [Deviation("wrapper.list", (), "a list around the object was removed")])
            for i, v in enumerate(value)
            if isinstance(v, dict)
        ]
        if items:
            return items
    return [(value, (), [])]


#: How a candidate was found, not how well it fits: left out when candidates are ranked, so a
#: fenced correction after a bare draft still wins its tie (clarification 2).
_FINDING = frozenset({"fence", "prose", "think", "wrapper.list", "limit.candidates", "input.decode", "limit.size"})


def _fit(result: Result) -> float:
    """The score a candidate would have without the deviations of finding it."""
    return score(d for d in result.deviations if d.code not in _FINDING)


def _choose(results: list[Result], pre: list[Deviation], call: _Call) -> Result:
    """Clarification 2: ok first, then the better fit, then the later candidate."""
    if not results:
        devs = reweigh([*pre, Deviation("no_json", (), "no JSON value was found in the output")], call.weights)
        return Result(call.raw, None, False, devs, score(devs), call.schema, found=False)
    if len(results) == 1:
        return results[0]
    best = max(range(len(results)), key=lambda i: (results[i].ok, _fit(results[i]), i))
    winner = results[best]
    note = Deviation("candidates", (), f"{len(results)} candidates; number {best + 1} chosen")
    devs = (*winner.deviations, *reweigh([note], call.weights))
    return Result(winner.raw, winner.value, winner.ok, devs, score(devs), call.schema)
