"""Long fuzz run of normalize: hypothesis with a large budget, hang watchdog, findings on disk.

    python benchmarks/fuzz.py --examples 200000 --minutes 10 --workers 2 [--seed 1] [--budget 2]
    python benchmarks/fuzz.py --replay benchmarks/fuzz-findings/<finding>.json

`--examples` counts inputs checked (normalize calls, not counting the re-checks below); each
hypothesis example draws a batch of up to 8 of them. Inputs, each paired with a schema (the
shipped "resume" and "medical_record", `{}`, and a few small schemas with scalar roots, arrays
and patterns):
  text     arbitrary text and bytes (hypothesis `text()` / `binary()`);
  damaged  the dev corpus's expected values written as JSON (compact, indented, ASCII-escaped)
           and its raw outputs, damaged 1-6 times: truncated; characters deleted, inserted,
           swapped; fences, prose (with `{}`/`[]`), `<think>` (closed, unclosed, lone `</think>`)
           added; quotes swapped to ‘’ “” 「」 or '; full-width punctuation ：，｛｝［］、;
           spans duplicated; comments, trailing commas, unquoted keys, Python/JS literals,
           stray backslashes, raw control characters, lone surrogates, thousands separators,
           wrappers; some turned to bytes with a flipped byte;
  noise    JSON-like token soup (brackets, quotes of every kind, separators, literals, huge
           numbers, escapes, fences, think tags, LaTeX), each token repeated 1-5000 times.

Invariants checked on every call (any breach is a finding):
  - normalize never raises, and returns a Result within `--budget` CPU seconds (SIGPROF per call;
    a worker that stops making progress even so, stuck in C or Rust code, is killed by the
    parent's watchdog, and one that dies of a signal is a crash: both report the input);
  - every code is documented (CODES or invalid.*); 0 < score <= 1; not ok -> a deviation and
    score <= 0.5; limit.size / limit.depth -> not ok; no_json -> value and text are None;
  - ok -> the value validates with the reference validator (jsonschema Draft202012Validator on
    the schema), `json.loads(text) == value`, and `normalize(text)` is ok with no deviations
    and the same value and text (the canonical text is a fixed point);
  - the same input gives the same result twice (checked on one call in eight).

Each distinct finding (exception type and place, or invariant) is minimized (chunk deletion
while the same finding reproduces) and written to benchmarks/fuzz-findings/ as JSON: the schema,
the original and minimized input, the traceback or breach. That folder holds its own
`.gitignore` (`*`), so findings never get committed by accident; a finding worth keeping
becomes a case in tests/test_fuzz_regressions.py. A summary (examples per kind, calls per
second, the slowest calls, findings) is printed at the end, and the slowest calls' inputs are
written there too as slow-N.json (not failures: for profiling). Exit status 1 when anything was
found.

The fast properties in tests/test_properties.py run in the suite; this is the long run.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import queue
import random
import re
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from llm_guard_json import CODES, Result, Schema, normalize

ROOT = Path(__file__).resolve().parents[1]
_SHARED = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
CORPUS = _SHARED if _SHARED.is_file() else ROOT / "tests" / "corpus" / "dev.jsonl"
FINDINGS = ROOT / "benchmarks" / "fuzz-findings"

SCHEMAS: dict[str, Any] = {
    "resume": "resume",
    "medical_record": "medical_record",
    "any": {},
    "integer": {"type": "integer"},
    "string": {"type": "string"},
    "number_or_null": {"type": ["number", "null"]},
    "boolean": {"type": "boolean"},
    "string_list": {"type": "array", "items": {"type": "string"}},
    "small_object": {
        "type": "object",
        "properties": {
            "a": {"type": "number"},
            "b": {"type": "string", "pattern": "^[a-z]+$"},
            "c": {"type": "array", "items": {"type": "integer"}, "default": []},
            "d": {"enum": ["x", "y", None], "default": None},
        },
        "required": ["a"],
        "additionalProperties": False,
    },
}

# ---------------------------------------------------------------- inputs

JSONISH = "{}[]\"',:：，、“”‘’「」｛｝［］\\/#*\n \ttfnTFNul0123456789.-eE+ab中`<>~"
PROSE = [
    "Here is the JSON:",
    "根据您提供的文本，抽取的信息如下：",
    "Sure! Use {placeholder} syntax, e.g. {name}, and A[i] for items.",
    "Let $x_{i}$ be the $i$-th term and $A[i]$ its index.",
    "Note: fields like {name} are templated [see docs](url).",
    "以上是结果。如有问题请告诉我。",
    "I hope this helps",
    "",
]
TOKENS = [
    *"{}[]｛｝［］",
    *"\"'“”‘’「」",
    *":：,，、",
    "\n",
    " ",
    "\t",
    "\r\n",
    "true",
    "false",
    "null",
    "True",
    "False",
    "None",
    "NaN",
    "undefined",
    "Infinity",
    "-Infinity",
    "0",
    "-1",
    "3.14",
    "1.5e3",
    "1e999",
    "-0.0",
    "12345678901234567890123456789",
    "1" * 400,
    "1,299.50",
    "12万",
    '"name"',
    '"姓名"',
    '"skills"',
    '"education"',
    '"salary"',
    '"phone"',
    '"basic_info"',
    '"chief_complaint"',
    '"a"',
    '"b"',
    "name",
    "age",
    "张伟",
    '"月薪45000元"',
    '"13812345678"',
    '"Python和Java"',
    "```json\n",
    "```\n",
    "```",
    "~~~\n",
    "<think>",
    "</think>",
    "<THINK >",
    "//",
    "/*",
    "*/",
    "#",
    "\\",
    '\\"',
    "\\u",
    "\\ud83d",
    "\\udc00",
    "\\u0000",
    "\\n",
    "\x00",
    "\x1f",
    "\ufeff",
    "\u3000",
    "\u200b",
    "\u2028",
    "\ud800",
    "\udfff",
    "$x_{i}$",
    "A[i]",
    "{name}",
    "...",
    "…",
    "null-like",
    "无",
    "n/a",
    "本科",
    "硕士",
]


def _corpus_seeds() -> list[tuple[str, str]]:
    """(schema name, text): the expected values written several ways, and the raw outputs."""
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    seeds = []
    for row in rows:
        seeds.append((row["schema"], row["raw"]))
        if row["expected"] is not None:
            value = row["expected"]
            seeds.append((row["schema"], json.dumps(value, ensure_ascii=False, separators=(",", ":"))))
            seeds.append((row["schema"], json.dumps(value, ensure_ascii=False, indent=2)))
            seeds.append((row["schema"], json.dumps(value)))
    return seeds


def _pos(r: random.Random, text: str) -> int:
    return r.randint(0, len(text))


def _replace_some(r: random.Random, text: str, table: dict[str, str], p: float) -> str:
    return "".join(table[c] if c in table and r.random() < p else c for c in text)


def _curly(r: random.Random, text: str) -> str:
    opener, closer = r.choice([("“", "”"), ("‘", "’"), ("「", "」"), ("'", "'"), ("“", "“")])
    out, inside = [], False
    for c in text:
        if c == '"' and r.random() < 0.9:
            out.append(closer if inside else opener)
            inside = not inside
        else:
            out.append(c)
    return "".join(out)


def _at_some(r: random.Random, text: str, chars: str, insert: str) -> str:
    spots = [i for i, c in enumerate(text) if c in chars]
    if not spots:
        return text
    i = r.choice(spots)
    return text[:i] + insert + text[i:]


_QUOTED_KEY = re.compile(r'"(\w+)":')
_LITERAL = re.compile(r"\b(?:true|false|null)\b")
MAX_INPUT = 100_000  # characters: damage and noise stay below this
BATCH = 8  # inputs per hypothesis example


def _insert(r: random.Random, text: str, piece: str) -> str:
    i = _pos(r, text)
    return text[:i] + piece + text[i:]


def _delete(r: random.Random, text: str) -> str:
    i = _pos(r, text)
    return text[:i] + text[i + r.randint(1, 8) :]


def _swap(r: random.Random, text: str) -> str:
    i = _pos(r, text)
    return text[:i] + text[i + 1 : i + 2] + text[i : i + 1] + text[i + 2 :]


def _duplicate(r: random.Random, text: str) -> str:
    i, j = sorted((_pos(r, text), _pos(r, text)))
    return _insert(r, text, text[i:j])


def _fence(r: random.Random, text: str) -> str:
    opener = r.choice(["```json", "```JSON", "```", "~~~", "````json5", "Here:```json"])
    return f"{opener}\n{text}\n{r.choice(['```', '', '~~~', '````'])}"


def _damage_ops() -> list[Callable[[random.Random, str], str]]:
    fw = {":": "：", ",": "，", "{": "｛", "}": "｝", "[": "［", "]": "］"}
    lits = {"true": "True", "false": "False", "null": "None"}
    odd = ["\\", "\\x", "\\u12", "\n", "\t", "\x00", "\ud800", "\ufeff", "\u3000", "\u200b"]
    think = ["<think>{a} [b]</think>\n", "<think>\n", "reasoning {x}...</think>", "<think><think>", "</think>"]
    return [
        lambda r, t: t[: _pos(r, t)],  # truncate
        _delete,
        lambda r, t: _insert(r, t, "".join(r.choices(JSONISH, k=r.randint(1, 5)))),
        _swap,
        _curly,
        lambda r, t: _replace_some(r, t, fw, r.choice([0.1, 0.5, 1.0])),
        lambda r, t: t.replace(",", "、", r.randint(1, 3)),
        _fence,
        lambda r, t: f"{r.choice(PROSE)}\n{t}\n{r.choice(PROSE)}",
        lambda r, t: r.choice(think) + t,
        lambda r, t: _insert(r, t, r.choice(think)),
        _duplicate,
        lambda r, t: _at_some(r, t, ",{", r.choice([" // note\n", "/* c */", " # x\n"])),
        lambda r, t: _at_some(r, t, "}]", ","),
        lambda r, t: _QUOTED_KEY.sub(lambda m: m.group(1) + ":" if r.random() < 0.5 else m[0], t),
        lambda r, t: _LITERAL.sub(lambda m: lits[m[0]] if r.random() < 0.7 else m[0], t),
        lambda r, t: t.replace("null", r.choice(["undefined", "NaN", "Infinity"]), 1),
        lambda r, t: _insert(r, t, r.choice(odd)),
        lambda r, t: t.replace(r.choice(["0", "5", "1"]), r.choice(["1,299.50", "1e999", "-", "٣"]), 1),
        lambda r, t: r.choice(['{"data": ', '{"result": {"resume": ', "[", "[[", '{"output": "']) + t,
        lambda r, t: t + r.choice(["\n", ", ", "\n\n"]) + t,
        lambda r, t: t * r.randint(2, 20),
    ]


DAMAGES = _damage_ops()


def _damaged(r: random.Random, seeds: list[tuple[str, str]], names: list[str]) -> tuple[str, str | bytes]:
    schema, doc = r.choice(seeds)
    for _ in range(r.randint(1, 6)):
        doc = r.choice(DAMAGES)(r, doc)[:MAX_INPUT]
    if r.random() < 0.05:
        schema = r.choice(names)
    if r.random() < 0.05:
        data = bytearray(doc.encode("utf-8", errors="surrogatepass"))
        if data:
            data[r.randrange(len(data))] = r.randrange(256)
        return schema, bytes(data)
    return schema, doc


def _soup(parts: list[tuple[str, int]]) -> str:
    return "".join(token * min(count, MAX_INPUT // 10 // len(token) + 1) for token, count in parts)[:MAX_INPUT]


def _noise(r: random.Random, names: list[str]) -> tuple[str, str]:
    def count() -> int:
        roll = r.random()
        return 1 if roll < 0.7 else r.randint(1, 5) if roll < 0.95 else r.randint(1, 5000)

    raw = _soup([(r.choice(TOKENS), count()) for _ in range(r.randint(0, 40))])
    if r.random() < 0.3:
        raw = "".join(r.choices(JSONISH, k=r.randint(0, 400))) + raw
    return r.choice(names), raw


def _strategies() -> dict[str, Any]:
    """Each strategy draws a batch of BATCH (schema name, input) pairs: hypothesis's own draw, then
    variants from a Random hypothesis seeds (its per-example overhead would otherwise dominate)."""
    from hypothesis import strategies as st

    seeds = _corpus_seeds()
    names = list(SCHEMAS)
    raw_text = st.one_of(st.text(max_size=3000), st.binary(max_size=3000))
    text = st.lists(st.tuples(st.sampled_from(names), raw_text), min_size=1, max_size=BATCH)

    @st.composite
    def damaged(draw: Any) -> list[tuple[str, str | bytes]]:
        r = draw(st.randoms(use_true_random=False))
        return [_damaged(r, seeds, names) for _ in range(BATCH)]

    @st.composite
    def noise(draw: Any) -> list[tuple[str, str | bytes]]:
        counts = st.one_of(st.just(1), st.integers(1, 5), st.integers(1, 5000))
        parts = draw(st.lists(st.tuples(st.sampled_from(TOKENS), counts), max_size=40))
        first = (draw(st.sampled_from(names)), draw(st.text(alphabet=JSONISH, max_size=200)) + _soup(parts))
        r = draw(st.randoms(use_true_random=False))
        return [first, *(_noise(r, names) for _ in range(BATCH - 1))]

    return {"text": text, "damaged": damaged(), "noise": noise()}


# ---------------------------------------------------------------- invariants


class Hang(BaseException):
    """A call ran past its budget (BaseException: the library's `except Exception` cannot eat it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


@dataclass
class Finding:
    signature: str  # what went wrong, stable across inputs that trigger the same bug
    detail: str  # traceback or the breached invariant, with values
    schema: str
    raw: str | bytes
    kind: str = ""
    minimized: str | bytes | None = None


_VALIDATORS: dict[str, jsonschema.Draft202012Validator] = {}


def _reference(name: str) -> jsonschema.Draft202012Validator:
    if name not in _VALIDATORS:
        _VALIDATORS[name] = jsonschema.Draft202012Validator(Schema(SCHEMAS[name]).root)
    return _VALIDATORS[name]


def _timed(raw: str | bytes, schema: Any, budget: float) -> Result:
    # CPU time, not wall time: a fuzz run niced behind other work must not report false hangs
    signal.setitimer(signal.ITIMER_PROF, budget)
    try:
        return normalize(raw, schema)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _where(tb: traceback.StackSummary) -> str:
    """The innermost frame inside the library, else the innermost frame."""
    frames = [f for f in tb if "llm_guard_json" in f.filename] or list(tb)
    f = frames[-1]
    return f"{Path(f.filename).name}:{f.lineno}:{f.name}" if frames else "?"


def _breaches(result: Any, name: str, budget: float) -> Iterator[tuple[str, str]]:
    schema = SCHEMAS[name]
    if not isinstance(result, Result):
        yield "not_a_result", repr(type(result))
        return
    codes = result.codes
    if unknown := [c for c in codes if c not in CODES and not c.startswith("invalid.")]:
        yield "undocumented_code", f"{unknown}"
    if not 0.0 < result.score <= 1.0:
        yield "score_range", f"score {result.score}"
    if not result.ok and (not result.deviations or result.score > 0.5):
        yield "not_ok_unexplained", f"codes {codes} score {result.score}"
    if result.ok and {"limit.size", "limit.depth"} & set(codes):
        yield "cut_but_ok", f"codes {codes}"
    if "no_json" in codes and (result.value is not None or result.text is not None):
        yield "no_json_with_value", f"value {result.value!r:.200}"
    for d in result.deviations:
        if not all(isinstance(p, str | int) for p in d.path):
            yield "bad_path", f"{d.code} {d.path!r}"
    if not result.ok:
        return
    if result.text is None or json.loads(result.text) != result.value:
        yield "text_is_not_value", f"text {result.text!r:.200} value {result.value!r:.200}"
        return
    errors = list(_reference(name).iter_errors(result.value))
    if errors:
        yield f"ok_but_invalid:{errors[0].validator}", f"{errors[0].message[:300]} in {result.text!r:.300}"
    again = _timed(result.text, schema, budget)
    if not (again.ok and again.deviations == () and again.value == result.value and again.text == result.text):
        yield (
            "not_a_fixed_point",
            f"text {result.text!r:.300} -> ok={again.ok} codes={again.codes} text={again.text!r:.300}",
        )


def check(raw: str | bytes, name: str, budget: float, *, twice: bool = False) -> tuple[Finding | None, float]:
    """(None when normalize keeps every invariant on this input, else what broke; seconds of the call)."""
    took = [0.0]
    return _check(raw, name, budget, twice, took), took[0]


def _check(raw: str | bytes, name: str, budget: float, twice: bool, took: list[float]) -> Finding | None:
    schema = SCHEMAS[name]
    try:
        start = time.process_time()
        try:
            result = _timed(raw, schema, budget)
        finally:
            took[0] = time.process_time() - start
        breach = next(_breaches(result, name, budget), None)
        if breach is None and twice:
            other = _timed(raw, schema, budget)
            if other.as_dict() != result.as_dict():
                breach = ("nondeterministic", f"{result.as_dict()!r:.300} vs {other.as_dict()!r:.300}")
    except Hang:
        return Finding("hang", f"normalize ran past {budget} s", name, raw)
    except RecursionError as e:
        tb = traceback.extract_tb(e.__traceback__)
        return Finding(f"raise:RecursionError@{_where(tb)}", "".join(traceback.format_exception(e))[-3000:], name, raw)
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        sig = f"raise:{type(e).__name__}@{_where(tb)}"
        return Finding(sig, "".join(traceback.format_exception(e))[-4000:], name, raw)
    if breach is None:
        return None
    return Finding(f"invariant:{breach[0]}", breach[1], name, raw)


def minimize(finding: Finding, budget: float, max_seconds: float = 60.0) -> str | bytes:
    """Delete chunks (halves, quarters, ... single characters) while the same finding reproduces."""
    best = finding.raw
    stop = time.monotonic() + max_seconds

    def same(candidate: str | bytes) -> bool:
        got, _ = check(candidate, finding.schema, budget)
        return got is not None and got.signature == finding.signature

    chunk = max(1, len(best) // 2)
    while chunk >= 1 and time.monotonic() < stop:
        i, shrunk = 0, False
        while i < len(best) and time.monotonic() < stop:
            candidate = best[:i] + best[i + chunk :]
            if same(candidate):
                best, shrunk = candidate, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    return best


# ---------------------------------------------------------------- workers


def _encode(raw: str | bytes | None) -> dict[str, str] | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        return {"bytes_b64": base64.b64encode(raw).decode()}
    return {"text": raw}  # json.dumps escapes lone surrogates as \udXXX, so they survive


def _decode(d: dict[str, str]) -> str | bytes:
    return base64.b64decode(d["bytes_b64"]) if "bytes_b64" in d else d["text"]


@dataclass
class Stats:
    examples: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str, str, str | bytes]] = field(default_factory=list)  # (s, kind, schema, input)


class _Stop(BaseException):
    pass


CHUNK = 2000  # hypothesis examples (batches) per hypothesis run
SLOWEST = 8  # slowest calls kept, with their inputs


def worker(
    index: int, seed: int, examples: int, until: float, budget: float, kinds: list[str], out: Any, progress: Any
) -> None:
    """Run hypothesis over the chosen kinds in rounds of CHUNK examples (each round a fresh seed, so
    hypothesis's memory of past examples stays small); report findings and stats through `out`."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    signal.signal(signal.SIGPROF, _alarm)
    strategies = _strategies()
    stats = Stats()
    seen: set[str] = set()
    current = (FINDINGS / f".current-{index}").open("w+b")
    strategy = st.one_of([st.tuples(st.just(k), strategies[k]) for k in kinds])

    def one(case: tuple[str, list[tuple[str, str | bytes]]]) -> None:
        kind, batch = case
        for name, raw in batch:
            if time.time() > until or progress.value >= examples:
                raise _Stop
            blob = json.dumps({"schema": name, "kind": kind, "raw": _encode(raw)}).encode()
            os.pwrite(current.fileno(), blob, 0)
            os.ftruncate(current.fileno(), len(blob))
            found, took = check(raw, name, budget, twice=progress.value % 8 == 0)
            stats.examples[kind] += 1
            progress.value += 1
            if len(stats.slowest) < SLOWEST or took > stats.slowest[-1][0]:
                stats.slowest = sorted([*stats.slowest, (took, kind, name, raw)], key=lambda x: -x[0])[:SLOWEST]
            if found is not None and found.signature not in seen:
                seen.add(found.signature)
                found.kind = kind
                out.put(("finding", found))

    rounds = 0
    with contextlib.suppress(_Stop):
        while True:
            run = settings(
                max_examples=CHUNK,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            )(given(strategy)(one))
            hseed(seed * 100_003 + rounds)(run)()
            rounds += 1
    out.put(("stats", stats))


# ---------------------------------------------------------------- driver


def _from_current(index: int, signature: str, detail: str) -> Finding | None:
    path = FINDINGS / f".current-{index}"
    try:
        d = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return Finding(signature, detail, d["schema"], _decode(d["raw"]), d["kind"])


def _write(finding: Finding) -> Path:
    FINDINGS.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(finding.signature.encode()).hexdigest()[:10]
    slug = "".join(c if c.isalnum() else "-" for c in finding.signature)[:60]
    path = FINDINGS / f"{slug}-{digest}.json"
    path.write_text(json.dumps(_record(finding, path), ensure_ascii=True, indent=2) + "\n", encoding="utf-8")
    return path


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _record(finding: Finding, path: Path) -> dict[str, Any]:
    return {
        "signature": finding.signature,
        "schema": finding.schema,
        "schema_value": SCHEMAS[finding.schema],
        "kind": finding.kind,
        "detail": finding.detail,
        "raw": _encode(finding.raw),
        "minimized": _encode(finding.minimized),
        "replay": f"python benchmarks/fuzz.py --replay {_shown(path)}",
    }


def _replay(path: Path, budget: float) -> int:
    signal.signal(signal.SIGPROF, _alarm)
    record = json.loads(path.read_text(encoding="utf-8"))
    status = 0
    for label in ("minimized", "raw"):
        if record.get(label) is None:
            continue
        raw = _decode(record[label])
        found, took = check(raw, record["schema"], budget, twice=True)
        print(f"{label}: {raw!r:.300}")
        print(f"  -> {'no invariant broken' if found is None else found.signature}  ({took:.3f} s of CPU)")
        if found is not None:
            print("  " + found.detail.replace("\n", "\n  "))
            status = 1
    return status


def main() -> int:  # noqa: PLR0915 (one linear driver)
    global FINDINGS  # noqa: PLW0603 (workers are forked after it is set, and read it)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200_000, help="inputs to check, all workers together")
    parser.add_argument("--minutes", type=float, default=10.0, help="stop after this long even if examples remain")
    parser.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=2.0, help="CPU seconds one normalize call may take")
    parser.add_argument("--kinds", default="text,damaged,noise", help="comma-separated: text, damaged, noise")
    parser.add_argument("--replay", type=Path, default=None, help="re-check one finding file and exit")
    parser.add_argument("--findings", type=Path, default=FINDINGS, help="where findings are written")
    args = parser.parse_args()
    FINDINGS = args.findings.resolve()
    if args.replay is not None:
        return _replay(args.replay, args.budget)
    kinds = [k for k in args.kinds.split(",") if k]
    FINDINGS.mkdir(parents=True, exist_ok=True)
    (FINDINGS / ".gitignore").write_text("*\n", encoding="utf-8")
    ctx = mp.get_context("fork")
    out: Any = ctx.Queue()
    started = time.time()
    until = started + args.minutes * 60
    stall = max(10.0, args.budget * 5)
    per_worker = max(1, args.examples // args.workers)
    left = dict.fromkeys(range(args.workers), per_worker)  # examples each worker slot still owes
    findings: dict[str, Finding] = {}
    stats = Stats()
    procs: dict[int, tuple[Any, Any, float, int]] = {}  # index -> (process, progress, last change, last value)
    restarts = 0
    counted = 0  # examples run by workers that are gone

    def start(index: int, seed: int, examples: int) -> None:
        progress = ctx.Value("q", 0, lock=False)
        p = ctx.Process(
            target=worker, args=(index, seed, examples, until, args.budget, kinds, out, progress), daemon=True
        )
        p.start()
        procs[index] = (p, progress, time.time(), 0)

    def drain() -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                what, item = out.get(timeout=0.2)
                if what == "finding":
                    findings.setdefault(item.signature, item)
                else:
                    stats.examples.update(item.examples)
                    stats.slowest = sorted([*stats.slowest, *item.slowest], key=lambda x: -x[0])[:SLOWEST]

    print(f"fuzzing {kinds} with {args.workers} worker(s), {args.examples} examples or {args.minutes} min", flush=True)
    for i in range(args.workers):
        start(i, args.seed * 1000 + i, per_worker)
    last_report = time.time()
    while procs:
        drain()
        now = time.time()
        for index, (p, progress, changed, value) in list(procs.items()):
            if progress.value != value:
                procs[index] = (p, progress, now, progress.value)
                continue
            dead_by_signal = p.exitcode is not None and p.exitcode < 0
            stalled = p.exitcode is None and now - changed > stall
            if p.exitcode is None and not stalled:
                continue
            counted += progress.value
            if p.exitcode is not None and not dead_by_signal:
                if p.exitcode != 0:
                    print(f"  worker {index} exited with status {p.exitcode} (see its traceback above)")
                del procs[index]
                continue
            if stalled:
                p.kill()
                p.join()
            why = "stalled past the watchdog (stuck outside Python?)" if stalled else f"died: signal {-p.exitcode}"
            sig = "hang:uninterruptible" if stalled else f"crash:signal{-p.exitcode}"
            found = _from_current(index, sig, why)
            if found is not None:
                findings.setdefault(found.signature, found)
            del procs[index]
            restarts += 1
            if now < until:
                left[index] -= progress.value
                if left[index] > 0:
                    start(index, args.seed * 1000 + index + 100 * restarts, left[index])
        if now - last_report > 30:
            done = counted + sum(p.value for _, p, _, _ in procs.values())
            print(f"  {now - started:6.0f} s  examples: {done}  findings: {len(findings)}", flush=True)
            last_report = now
    drain()
    elapsed = time.time() - started

    signal.signal(signal.SIGPROF, _alarm)
    total = counted
    print(f"\n{total} examples in {elapsed:.0f} s ({total / max(elapsed, 1e-9):.0f}/s), worker restarts: {restarts}")
    print("by kind (workers that finished normally):")
    for kind, n in sorted(stats.examples.items()):
        print(f"  {kind:8} {n}")
    print("slowest calls (CPU s, chars or bytes, kind, schema; inputs in the findings folder as slow-N.json):")
    for n, (took, kind, name, raw) in enumerate(stats.slowest, 1):
        print(f"  {took:7.3f}  {len(raw):8}  {kind:8} {name:15} {raw!r:.80}")
        slow = Finding(f"slow:{took:.3f}s", f"one normalize call took {took:.3f} s", name, raw, kind)
        (FINDINGS / f"slow-{n}.json").write_text(json.dumps(_record(slow, FINDINGS / f"slow-{n}.json"), indent=2))
    print(f"findings: {len(findings)}")
    for finding in findings.values():
        if finding.signature.startswith(("raise:", "invariant:")) or finding.signature == "hang":
            finding.minimized = minimize(finding, args.budget)
        path = _write(finding)
        shown = finding.minimized if finding.minimized is not None else finding.raw
        print(f"- {finding.signature}  [{finding.kind}, schema {finding.schema}]  -> {_shown(path)}")
        print(f"    input ({len(shown)}): {shown!r:.400}")
        print("    " + finding.detail.strip().splitlines()[-1][:400])
    for leftover in FINDINGS.glob(".current-*"):
        leftover.unlink()
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
