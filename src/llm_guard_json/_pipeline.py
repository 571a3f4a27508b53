"""normalize(): raw text -> candidates -> parse -> coerce -> validate -> score, best candidate wins.

Clarification 2: every candidate runs the whole flow; the winner is ok first, then the
higher score, then the later one. Bad output never raises; bad arguments do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._coerce import ABSENT, Walk, unwrap_root
from ._deviation import Deviation, check_weights, reweigh, score
from ._errors import ConfigError
from ._extract import Candidate, bare_text, extract
from ._parse import MISSING, Parsed, parse, strict
from ._result import Result, canonical_text
from ._scalars import wanted_types
from ._schema import Schema, as_schema
from ._types import JSON, Canonicalizers, Path
from ._validate import validate

#: Outputs longer than this many characters are cut before anything else (`limit.size`).
MAX_CHARS = 2_000_000
_SCALARS = {"string", "number", "integer", "boolean", "null"}
_CUT = frozenset({"limit.size", "limit.depth"})


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
    from .canonical import DEFAULT_CANONICALIZERS

    chosen = override if override is not None else schema.canonicalizers
    if chosen is None:
        chosen = DEFAULT_CANONICALIZERS
    if not isinstance(chosen, Mapping):
        raise ConfigError("canonicalizers must be a mapping of name -> function, e.g. DEFAULT_CANONICALIZERS | {...}")
    unknown = sorted(schema.canonicalizer_names - set(chosen))
    if unknown:
        raise ConfigError(
            f"the schema names canonicalizers {unknown} that are not given; known: {sorted(chosen)}; "
            "pass canonicalizers=DEFAULT_CANONICALIZERS | {name: function}"
        )
    return chosen


def _translate(path: Path, moves: Mapping[Path, Path], base: Path) -> Path:
    """A parse deviation's path (raw coordinates) in the canonical value: nearest known ancestor."""
    for cut in range(len(path), -1, -1):
        canonical = moves.get(base + path[:cut])
        if canonical is not None:
            return canonical
    return ()


def _run(
    schema: Schema,
    canon: Canonicalizers,
    value: JSON,
    base: Path,
    pre: list[Deviation],
    parsed: tuple[Deviation, ...],
    weights: Mapping[str, float],
    raw: str,
) -> Result:
    """Coerce, complete, validate and score one parsed candidate value."""
    value, inner, unwrapped = unwrap_root(value, schema)
    walk = Walk(schema, canon)
    out, _ = walk.value(value, schema.root, (), base + inner)
    moved = [Deviation(d.code, _translate(d.path, walk.moves, base), d.detail, d.weight) for d in parsed]
    found = pre + moved + unwrapped + walk.deviations
    if out is ABSENT:
        out = None
    failures = schema.problems(out)
    valid, invalid = not failures, validate(found, failures)
    # a cut output (too long, too deep) is never vouched for, whatever the rest says
    ok = valid and not any(d.code in _CUT for d in found)
    devs = reweigh(found + invalid, weights)
    return Result(raw, out, ok, devs, score(devs), canonical_text(out), schema)


def _root_wants(schema: Schema) -> set[str] | None:
    return wanted_types(schema.resolve(schema.root))


def normalize(
    raw: str | bytes,
    schema: Any,
    *,
    canonicalizers: Canonicalizers | None = None,
    weights: Mapping[str, float] | None = None,
) -> Result:
    """Normalize one model output to the canonical value `schema` declares.

    `schema` is a Schema, a shipped name ("resume"), a path, a dict or a pydantic model
    class. Never raises for bad output: the Result says what was wrong.
    """
    compiled = as_schema(schema)
    canon = _canonicalizers(compiled, canonicalizers)
    weights = check_weights(weights)
    text, pre = _text_of(raw)
    if len(text) > MAX_CHARS:
        pre.append(Deviation("limit.size", (), f"output of {len(text)} characters cut to {MAX_CHARS}"))
        text = text[:MAX_CHARS]
    wants = _root_wants(compiled)
    results = []
    for candidate, parsed in _candidates(text):
        if parsed.value is MISSING:
            continue
        for value, base, extra in _expand(parsed.value, wants):
            results.append(
                _run(
                    compiled,
                    canon,
                    value,
                    base,
                    pre + list(candidate.deviations) + extra,
                    parsed.deviations,
                    weights,
                    text,
                )
            )
    if wants is not None and wants <= _SCALARS:  # clarification 15: the bare text is a candidate too
        bare = bare_text(text)
        results.append(_run(compiled, canon, bare.text, (), pre + list(bare.deviations), (), weights, text))
    return _choose(results, text, pre, weights, compiled)


def _candidates(text: str) -> list[tuple[Candidate, Parsed]]:
    """Each candidate with its parse; output that is strict JSON as a whole skips extraction."""
    if text.lstrip()[:1] in ("{", "["):
        value = strict(text)
        if value is not MISSING:
            return [(Candidate(text, (), 0), Parsed(value, ()))]
    return [(c, parse(c.text)) for c in extract(text)]


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


def _choose(
    results: list[Result], text: str, pre: list[Deviation], weights: Mapping[str, float], schema: Schema
) -> Result:
    if not results:
        devs = reweigh([*pre, Deviation("no_json", (), "no JSON value was found in the output")], weights)
        return Result(text, None, False, devs, score(devs), None, schema)
    best = max(range(len(results)), key=lambda i: (results[i].ok, results[i].score, i))
    winner = results[best]
    if len(results) == 1:
        return winner
    note = Deviation("candidates", (), f"{len(results)} candidates; number {best + 1} chosen")
    devs = (*winner.deviations, *reweigh([note], weights))
    return Result(winner.raw, winner.value, winner.ok, devs, score(devs), winner.text, schema)
