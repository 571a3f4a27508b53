"""Benchmark `llm_guard_json.normalize` side by side with its peers, in one process.

How to run, from the repository root (the peers come with the `bench` extra):

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_peers.py --quick                 # smoke run, under a minute
    .venv/bin/python benchmarks/bench_peers.py --json benchmarks/results/latest.json   # full run
    .venv/bin/python benchmarks/bench_peers.py --profile single_quotes  # cProfile normalize on one workload
    .venv/bin/python benchmarks/bench_peers.py --profile ladder:latex_prose:1M

Contenders: normalize; json.loads + a compiled jsonschema validator (what teams hand-roll);
json_repair.loads alone; json_repair.loads + jsonschema; json_repair.loads(schema=...);
parsantic (reported as unavailable where it does not install); and the floor, orjson.loads + a
compiled jsonschema-rs check.

Workloads: the dev corpus's expected values as clean compact JSON; the dev corpus's raw outputs;
the expected values damaged by one repair kind each; and an adversarial ladder (10 KB, 100 KB,
1 MB of eight hostile shapes). Ratios are peer time / normalize time: above 1 means normalize is
faster. On the ladder every peer call runs in a worker process with a per-call timeout, so a hang
or a RecursionError is reported, not suffered; normalize runs in-process. The closing summary
checks the speed targets and prints MET / MISSED for each.

Timing is the best (minimum) of N repeats of a whole pass over a workload, with the garbage
collector on. Only public API is used: `normalize`, `Schema` and the returned Result's fields.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import importlib.util
import inspect
import json
import multiprocessing
import os
import platform
import random
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_SHARED_CORPUS = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
CORPUS = _SHARED_CORPUS if _SHARED_CORPUS.is_file() else ROOT / "tests" / "corpus" / "dev.jsonl"
SCHEMA_NAMES = ("resume", "medical_record")
LADDER_SCHEMA = "resume"
SIZES = {"10K": 10_000, "100K": 100_000, "1M": 1_000_000}
MB = 1_000_000
FORBIDDEN_IMPORTS = ("torch", "transformers", "httpx", "requests", "aiohttp", "urllib3", "http.client")
RATIO_NOTE = "ratio = peer time / normalize time  (>1: normalize is faster, <1: the peer is faster)"

Call = Callable[[str, str], tuple[bool, Any]]


def say(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- plan and inputs


@dataclass(frozen=True)
class Plan:
    """How hard to measure: repeats, time budgets and the ladder's per-call timeout."""

    quick: bool
    repeats: int  # best-of-N passes over a corpus workload
    cell_budget_s: float  # stop repeating a workload cell once this much time is spent
    row_limit: int | None  # corpus rows used (None: all)
    ladder_repeats: dict[str, int]  # best-of-N for normalize per ladder size
    ladder_budget_s: float  # stop repeating a normalize ladder call once this much time is spent
    peer_timeout_s: float  # per-call wall-clock limit for a peer on the ladder
    peer_budget_s: float  # stop repeating a ladder peer call once this much time is spent


FULL = Plan(False, 7, 3.0, None, {"10K": 7, "100K": 5, "1M": 5}, 2.0, 10.0, 1.0)
QUICK = Plan(True, 2, 0.25, 20, {"10K": 1, "100K": 1, "1M": 1}, 0.0, 1.0, 0.1)


@dataclass(frozen=True)
class Item:
    text: str
    schema: str
    expected: Any = None
    judged: bool = True  # False where `expected` is not the right answer (truncation)


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    group: str  # "clean", "corpus" or "damaged"
    items: list[Item]


def load_rows(limit: int | None) -> list[dict[str, Any]]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return rows[:limit] if limit else rows


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dq(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _sq(text: str) -> str:
    inner = _dq(text)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{inner}'"


def _bare(text: str) -> str:
    return text


def _fullwidth(text: str) -> str:
    return f"“{_dq(text)[1:-1]}”"


@dataclass(frozen=True)
class Style:
    """How `emit` writes JSON: quoting of keys and strings, separators, trailing commas, comments."""

    key: Callable[[str], str] = _dq
    string: Callable[[str], str] = _dq
    colon: str = ":"
    comma: str = ","
    trailing: bool = False
    comments: bool = False


def emit(value: Any, style: Style) -> str:
    """`value` as JSON-like text written in `style` (Style() gives compact JSON)."""
    if isinstance(value, dict):
        members = [f"{style.key(k)}{style.colon}{emit(v, style)}" for k, v in value.items()]
        if style.comments:
            members = [f"/* {k} */ {m}" for k, m in zip(value, members, strict=True)]
        return _wrap("{", "}", members, style)
    if isinstance(value, list):
        return _wrap("[", "]", [emit(v, style) for v in value], style)
    if isinstance(value, str):
        return style.string(value)
    return json.dumps(value)


def _wrap(opener: str, closer: str, members: list[str], style: Style) -> str:
    if not members:
        return opener + closer
    body = style.comma.join(members) + (style.comma if style.trailing else "")
    if style.comments and opener == "{":
        return f"{opener}\n// {len(members)} fields\n{body}\n{closer}"
    return opener + body + closer


def _truncate(value: Any) -> str:
    text = compact(value)
    return text[: int(len(text) * 0.7)]


DAMAGES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "trailing_comma": ("damaged: trailing comma", lambda v: emit(v, Style(trailing=True))),
    "single_quotes": ("damaged: single quotes", lambda v: emit(v, Style(key=_sq, string=_sq))),
    "unquoted_keys": ("damaged: unquoted keys", lambda v: emit(v, Style(key=_bare))),
    "comments": ("damaged: comments", lambda v: emit(v, Style(comments=True))),
    "truncation": ("damaged: truncated at 70%", _truncate),
    "fullwidth": ("damaged: full-width “”：，", lambda v: emit(v, Style(_fullwidth, _fullwidth, "：", "，"))),
}


def build_workloads(rows: list[dict[str, Any]]) -> list[Workload]:
    known = [r for r in rows if r["expected"] is not None]
    clean = [Item(compact(r["expected"]), r["schema"], r["expected"]) for r in known]
    raw = [Item(r["raw"], r["schema"], r["expected"]) for r in rows]
    workloads = [
        Workload("clean", "clean canonical", "clean", clean),
        Workload("corpus", "dev corpus raw", "corpus", raw),
    ]
    for key, (label, damage) in DAMAGES.items():
        items = [Item(damage(r["expected"]), r["schema"], r["expected"], key != "truncation") for r in known]
        workloads.append(Workload(key, label, "damaged", items))
    return workloads


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _deep_arrays(size: int) -> str:
    one = "[" * 5000 + "]" * 5000
    return "[" + ",".join([one] * max(1, round(size / (len(one) + 1)))) + "]"


SHAPES: dict[str, Callable[[int], str]] = {
    "brackets": lambda n: "[" * n,
    "braces": lambda n: "{" * n,
    "quote_storm": lambda n: '{"note": "' + _repeat('he said "yes" and "no", "" ', n - 10),
    "latex_prose": lambda n: _repeat(
        r"Let $x_{i}$ be the $i$-th term and $A[i]$ the array, so $\sum_{k} A[k]=x_{n}$. ", n
    ),
    "mixed_prose": lambda n: _repeat("Dear {name}, order [order_id] ships to {city} via [carrier] on {date}. ", n),
    "unclosed_commas": lambda n: '{"summary": "' + _repeat('part, "k": v, x} ', n - 13),
    "deep_arrays": _deep_arrays,
    "random_bytes": lambda n: random.Random(n).randbytes(n).decode("utf-8", errors="replace"),
}


# --------------------------------------------------------------------------- contenders


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    call: Call | None  # (text, schema name) -> (ok, value); None when unavailable
    ladder: bool = True  # run on the adversarial ladder (in the worker process)
    missing: str = ""  # why it is unavailable


def load_schemas() -> dict[str, dict[str, Any]]:
    """The shipped schema files, as a team hand-rolling validation would load them."""
    return {n: json.loads((ROOT / "schemas" / f"{n}.schema.json").read_text("utf-8")) for n in SCHEMA_NAMES}


def load_normalize() -> Callable[[str, str], Any]:
    """normalize bound to Schemas compiled once: (text, schema name) -> Result."""
    from llm_guard_json import Schema, normalize

    compiled = {name: Schema(name) for name in SCHEMA_NAMES}

    def run(text: str, name: str) -> Any:
        return normalize(text, compiled[name])

    return run


def normalize_contender() -> Contender:
    run = load_normalize()

    def call(text: str, name: str) -> tuple[bool, Any]:
        result = run(text, name)
        return bool(result.ok), result.value

    return Contender("normalize", "llm_guard_json.normalize", call, ladder=False)


def peer_contenders(schemas: dict[str, dict[str, Any]]) -> list[Contender]:
    import jsonschema

    validators = {n: jsonschema.Draft202012Validator(s) for n, s in schemas.items()}

    def hand_rolled(text: str, name: str) -> tuple[bool, Any]:
        value = json.loads(text)
        return validators[name].is_valid(value), value

    return [
        Contender("json+jsonschema", "json.loads + jsonschema", hand_rolled),
        *_json_repair_contenders(schemas, validators),
        _parsantic_contender(),
        _floor_contender(schemas),
    ]


def _json_repair_contenders(schemas: dict[str, Any], validators: dict[str, Any]) -> list[Contender]:
    labels = {
        "json_repair": "json_repair.loads alone",
        "json_repair+jsonschema": "json_repair.loads + jsonschema",
        "json_repair(schema)": "json_repair.loads(schema=)",
    }
    if importlib.util.find_spec("json_repair") is None:
        return [Contender(k, v, None, missing="not installed: pip install -e '.[bench]'") for k, v in labels.items()]
    import json_repair

    def alone(text: str, name: str) -> tuple[bool, Any]:
        value = json_repair.loads(text)
        return value != "", value  # no validation: ok means it found something

    def then_validate(text: str, name: str) -> tuple[bool, Any]:
        value = json_repair.loads(text)
        return validators[name].is_valid(value), value

    def schema_mode(text: str, name: str) -> tuple[bool, Any]:
        return True, json_repair.loads(text, schema=schemas[name])  # raises when it cannot satisfy the schema

    has_schema = "schema" in inspect.signature(json_repair.loads).parameters
    why = "" if has_schema else "this json-repair has no schema= (needs >= 0.56)"
    return [
        Contender("json_repair", labels["json_repair"], alone, ladder=False),
        Contender("json_repair+jsonschema", labels["json_repair+jsonschema"], then_validate),
        Contender(
            "json_repair(schema)", labels["json_repair(schema)"], schema_mode if has_schema else None, missing=why
        ),
    ]


def _parsantic_contender() -> Contender:
    if importlib.util.find_spec("parsantic") is None:
        why = "pip install parsantic failed"
        if sys.version_info < (3, 12):
            why += f": every release needs Python >= 3.12, this is {platform.python_version()}"
        return Contender("parsantic", "parsantic", None, missing=why)
    return Contender(
        "parsantic", "parsantic", None, missing="installed, but no adapter yet (it parses into pydantic models)"
    )


def _floor_contender(schemas: dict[str, Any]) -> Contender:
    label = "orjson + jsonschema-rs (floor)"
    if importlib.util.find_spec("orjson") is None or importlib.util.find_spec("jsonschema_rs") is None:
        return Contender("floor", label, None, missing="not installed: pip install -e '.[bench]'")
    import jsonschema_rs
    import orjson

    validators = {n: jsonschema_rs.validator_for(s) for n, s in schemas.items()}

    def call(text: str, name: str) -> tuple[bool, Any]:
        value = orjson.loads(text)
        return validators[name].is_valid(value), value

    return Contender("floor", label, call)


# --------------------------------------------------------------------------- corpus workloads


@dataclass
class Cell:
    """One contender on one workload."""

    us: float | None  # best µs per output; None when unavailable
    per_s: float | None
    ok: int = 0
    recovered: int | None = None  # outputs whose value is the expected one (None: not judged)
    judged: int = 0
    raised: dict[str, int] = field(default_factory=dict)
    ratio: float | None = None  # this contender's time / normalize's time
    missing: str = ""


def judge(call: Call, items: list[Item]) -> Cell:
    """One untimed pass: ok count, recovered count and the exceptions raised."""
    ok = recovered = judged = 0
    raised: Counter[str] = Counter()
    for item in items:
        try:
            good, value = call(item.text, item.schema)
        except Exception as exc:
            raised[type(exc).__name__] += 1
            good, value = False, None
        ok += bool(good)
        if item.judged:
            judged += 1
            recovered += (not good) if item.expected is None else bool(good and value == item.expected)
    return Cell(None, None, ok, recovered if judged else None, judged, dict(raised))


def _one_pass(call: Call, pairs: list[tuple[str, str]]) -> float:
    gc.collect()
    start = time.perf_counter()
    for text, name in pairs:
        try:  # noqa: SIM105 - contextlib.suppress costs more than the floor's whole call
            call(text, name)
        except Exception:
            pass
    return time.perf_counter() - start


def best_us(calls: dict[str, Call], items: list[Item], plan: Plan) -> dict[str, float]:
    """Best-of-N µs per output for each contender, over whole passes.

    The repeats go round the contenders in turn, so a burst of load from elsewhere on the machine
    hits them alike; a contender stops repeating once it has spent `plan.cell_budget_s`.
    """
    pairs = [(item.text, item.schema) for item in items]
    best = dict.fromkeys(calls, float("inf"))
    spent = dict.fromkeys(calls, 0.0)
    for _ in range(plan.repeats):
        for key, call in calls.items():
            if spent[key] <= plan.cell_budget_s:
                elapsed = _one_pass(call, pairs)
                best[key], spent[key] = min(best[key], elapsed), spent[key] + elapsed
    return {key: seconds / len(pairs) * 1e6 for key, seconds in best.items()}


def measure(contenders: list[Contender], workload: Workload, plan: Plan) -> dict[str, Cell]:
    """Judge every available contender once (untimed), then time them all."""
    cells = {c.key: Cell(None, None, missing=c.missing) for c in contenders}
    calls = {c.key: c.call for c in contenders if c.call is not None}
    for key, call in calls.items():
        cells[key] = judge(call, workload.items)
    for key, us in best_us(calls, workload.items, plan).items():
        cells[key].us, cells[key].per_s = us, 1e6 / us
    ours = cells["normalize"].us
    for cell in cells.values():
        cell.ratio = cell.us / ours if cell.us and ours else None
    return cells


def run_workloads(workloads: list[Workload], contenders: list[Contender], plan: Plan) -> list[dict[str, Any]]:
    report = []
    for workload in workloads:
        cells = measure(contenders, workload, plan)
        mean_bytes = sum(len(i.text.encode()) for i in workload.items) / len(workload.items)
        entry: dict[str, Any] = {"key": workload.key, "label": workload.label, "group": workload.group}
        entry |= {"outputs": len(workload.items), "mean_bytes": round(mean_bytes), "cells": cells}
        print_workload(entry, contenders)
        report.append(entry)
    return report


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.{digits}f}"


def _raised(raised: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(raised.items(), key=lambda kv: -kv[1])) or "-"


def print_workload(entry: dict[str, Any], contenders: list[Contender]) -> None:
    n = entry["outputs"]
    say(f"\n== {entry['label']}: {n} outputs, mean {entry['mean_bytes']:,} B ==")
    say(f"{'contender':<34}{'µs/output':>11}{'outputs/s':>11}{'ok':>9}{'recovered':>11}  {'ratio':>7}  raised")
    for contender in contenders:
        cell: Cell = entry["cells"][contender.key]
        if cell.us is None:
            say(f"{contender.label:<34}  unavailable: {cell.missing}")
            continue
        recovered = f"{cell.recovered}/{cell.judged}" if cell.recovered is not None else "n/a"
        say(
            f"{contender.label:<34}{_num(cell.us):>11}{_num(cell.per_s, 0):>11}{f'{cell.ok}/{n}':>9}"
            f"{recovered:>11}  {_num(cell.ratio, 2):>7}  {_raised(cell.raised)}"
        )


def print_ratio_matrix(report: list[dict[str, Any]], contenders: list[Contender]) -> None:
    peers = [c for c in contenders if c.key != "normalize" and c.call is not None]
    say(f"\n== speed ratio matrix: {RATIO_NOTE} ==")
    say(f"{'workload':<30}{'normalize µs':>13}" + "".join(f"{c.key:>24}" for c in peers))
    for entry in report:
        cells = entry["cells"]
        row = f"{entry['label']:<30}{_num(cells['normalize'].us):>13}"
        say(row + "".join(f"{_num(cells[c.key].ratio, 2):>24}" for c in peers))


# --------------------------------------------------------------------------- adversarial ladder


@dataclass
class Run:
    """One ladder call: seconds (best of the repeats) and what came back."""

    seconds: float | None
    outcome: str  # "ok=False", "ok=True", an exception name, "timeout", "skipped", "crashed"
    ok: bool = False
    deviations: list[str] = field(default_factory=list)
    peak_mb: float | None = None


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak traced Python memory above the baseline while `fn` runs, in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        with contextlib.suppress(Exception):  # the timed runs report the exception
            fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / MB


def ladder_normalize(run: Callable[[str, str], Any], text: str, repeats: int, budget_s: float) -> Run:
    """Best of `repeats` calls (fewer once `budget_s` is spent), then one traced call for peak memory."""
    best, spent, result, error = float("inf"), 0.0, None, ""
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        try:
            result = run(text, LADDER_SCHEMA)
        except Exception as exc:
            error = type(exc).__name__
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent > budget_s:
            break
    memory = peak_mb(lambda: run(text, LADDER_SCHEMA))
    if error or result is None:
        return Run(best, error or "no result", peak_mb=memory)
    codes = [str(getattr(d, "code", d)) for d in result.deviations]
    return Run(best, f"ok={bool(result.ok)}", bool(result.ok), codes, memory)


def _worker_main(conn: Connection) -> None:
    """Worker process: run peer calls on request, reply (status, seconds, ok, exception name)."""
    calls = {c.key: c.call for c in peer_contenders(load_schemas()) if c.call is not None}
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        key, text, schema = message
        start = time.perf_counter()
        try:
            ok, _ = calls[key](text, schema)
            conn.send(("done", time.perf_counter() - start, bool(ok), ""))
        except Exception as exc:
            conn.send(("raised", time.perf_counter() - start, False, type(exc).__name__))


class PeerWorker:
    """A worker process for peer calls, killed and restarted when a call times out or crashes it."""

    def __init__(self, timeout_s: float) -> None:
        methods = multiprocessing.get_all_start_methods()
        self._context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._timeout_s = timeout_s
        self._process: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        if self._conn is None:
            parent, child = self._context.Pipe()
            self._process = self._context.Process(target=_worker_main, args=(child,), daemon=True)
            self._process.start()
            child.close()
            if not parent.poll(120) or parent.recv() != "ready":  # imports done: time the calls alone
                raise RuntimeError("the peer worker process did not start")
            self._conn = parent
        return self._conn

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def call(self, key: str, text: str) -> Run:
        conn = self._start()
        conn.send((key, text, LADDER_SCHEMA))
        if not conn.poll(self._timeout_s + 0.1):
            self._kill()
            return Run(None, "timeout")
        try:
            status, seconds, ok, error = conn.recv()
        except EOFError:
            self._kill()
            return Run(None, "crashed")
        if seconds > self._timeout_s:
            return Run(None, "timeout")
        return Run(seconds, error if status == "raised" else f"ok={ok}", ok)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.send(None)
            self._process.join(timeout=5)
        self._kill()


def ladder_peer(worker: PeerWorker, key: str, text: str, plan: Plan) -> Run:
    """Best of a few calls, stopping at the first timeout/crash or once the budget is spent."""
    best: Run | None = None
    spent = 0.0
    for _ in range(3):
        run = worker.call(key, text)
        if run.seconds is None:
            return run
        best = run if best is None or best.seconds is None or run.seconds < best.seconds else best
        spent += run.seconds
        if spent > plan.peer_budget_s:
            break
    assert best is not None
    return best


def run_ladder(plan: Plan, peers: list[Contender]) -> list[dict[str, Any]]:
    """Every shape at every size: normalize in-process, then each peer in the worker.

    A peer that timed out or crashed on a shape is skipped at the larger sizes of that shape.
    """
    run = load_normalize()
    worker = PeerWorker(plan.peer_timeout_s)
    rows: list[dict[str, Any]] = []
    try:
        for shape, make in SHAPES.items():
            given_up: set[str] = set()
            for size, n in SIZES.items():
                text = make(n)
                row: dict[str, Any] = {"shape": shape, "size": size, "chars": len(text)}
                row["normalize"] = ladder_normalize(run, text, plan.ladder_repeats[size], plan.ladder_budget_s)
                row["peers"] = {p.key: _peer_or_skip(worker, p.key, text, plan, given_up) for p in peers}
                rows.append(row)
                say(f"  ladder {shape:<16} {size:>5}: normalize {_seconds(row['normalize'].seconds)}")
    finally:
        worker.close()
    return rows


def _peer_or_skip(worker: PeerWorker, key: str, text: str, plan: Plan, given_up: set[str]) -> Run:
    if key in given_up:
        return Run(None, "skipped")
    run = ladder_peer(worker, key, text, plan)
    if run.outcome in ("timeout", "crashed"):
        given_up.add(key)
    return run


def growth(rows: list[dict[str, Any]], shape: str, key: str) -> float | None:
    """time(1 MB) / time(100 KB) for one contender on one shape."""

    def seconds(size: str) -> float | None:
        row = next(r for r in rows if r["shape"] == shape and r["size"] == size)
        run: Run = row["normalize"] if key == "normalize" else row["peers"][key]
        return run.seconds

    big, small = seconds("1M"), seconds("100K")
    return big / small if big is not None and small else None


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1e3:.1f} ms" if value >= 1e-3 else f"{value * 1e6:.0f} µs"


def print_ladder(rows: list[dict[str, Any]], peers: list[Contender], timeout_s: float) -> None:
    say(f'\n== adversarial ladder: normalize, in-process, schema "{LADDER_SCHEMA}" ==')
    say(f"{'shape':<17}{'size':>5}{'chars':>11}{'time':>11}{'growth':>8}  {'result':<18}{'peak MB':>8}  deviations")
    for row in rows:
        ours: Run = row["normalize"]
        grown = _num(growth(rows, row["shape"], "normalize"), 2) if row["size"] == "1M" else ""
        codes = _first(sorted(set(ours.deviations)), 4)
        say(
            f"{row['shape']:<17}{row['size']:>5}{row['chars']:>11,}{_seconds(ours.seconds):>11}{grown:>8}  "
            f"{ours.outcome:<18}{_num(ours.peak_mb, 2):>8}  {codes}"
        )
    say(f"\n== adversarial ladder: peers, one worker process, {RATIO_NOTE} ==")
    say(f"{'shape':<17}{'size':>5}" + "".join(f"{p.key:>34}" for p in peers))
    for row in rows:
        ours_s = row["normalize"].seconds
        cells = [_peer_cell(row["peers"][p.key], ours_s, timeout_s) for p in peers]
        say(f"{row['shape']:<17}{row['size']:>5}" + "".join(f"{c:>34}" for c in cells))
    say("\n== growth ratio time(1 MB) / time(100 KB) (linear work: about 10) ==")
    say(f"{'shape':<17}{'normalize':>10}" + "".join(f"{p.key:>24}" for p in peers))
    for shape in SHAPES:
        cells = [_num(growth(rows, shape, key), 2) for key in ["normalize", *(p.key for p in peers)]]
        say(f"{shape:<17}{cells[0]:>10}" + "".join(f"{c:>24}" for c in cells[1:]))


def _first(names: list[str], count: int) -> str:
    more = f" +{len(names) - count} more" if len(names) > count else ""
    return ", ".join(names[:count]) + more if names else "-"


def _ratio(value: float) -> str:
    if value < 0.01:
        return "<0.01"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2g}"


def _peer_cell(run: Run, ours: float | None, timeout_s: float) -> str:
    if run.seconds is None:
        return f"timeout >{timeout_s:g} s" if run.outcome == "timeout" else run.outcome
    ratio = f" ×{_ratio(run.seconds / ours)}" if ours else ""
    return f"{_seconds(run.seconds)} {run.outcome}{ratio}"


# --------------------------------------------------------------------------- import cost

_IMPORT_PROBE = """
import json, sys, time
start = time.perf_counter()
import llm_guard_json
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "modules": sorted(sys.modules)}))
"""


def _installed_env() -> dict[str, str]:
    """The environment of an installed package: bytecode written and reused, as pip leaves it."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure_import(runs: int) -> dict[str, Any]:
    """Best wall-clock `import llm_guard_json` over fresh interpreters, and what it pulled in.

    Measured with bytecode caching on (the first run writes it), as a user's install has it.
    """
    best, modules = float("inf"), []
    for _ in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True, env=_installed_env()
        )
        probe = json.loads(out.stdout)
        best, modules = min(best, probe["seconds"]), probe["modules"]
    forbidden = sorted({m for m in modules for bad in FORBIDDEN_IMPORTS if m == bad or m.startswith(bad + ".")})
    return {"seconds": best, "runs": runs, "forbidden": forbidden, "heaviest": _import_profile()}


def _import_profile(top: int = 10) -> list[dict[str, Any]]:
    """The modules that cost most to import themselves (µs), from `python -X importtime`."""
    cmd = [sys.executable, "-X", "importtime", "-c", "import llm_guard_json"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True, env=_installed_env()).stderr
    rows: list[dict[str, Any]] = []
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append({"module": parts[2].strip(), "self_us": int(parts[0]), "cumulative_us": int(parts[1])})
    return sorted(rows, key=lambda r: -r["self_us"])[:top]


def print_import(info: dict[str, Any]) -> None:
    say(f"\n== import llm_guard_json: best of {info['runs']} fresh interpreters ==")
    say(f"wall clock {info['seconds'] * 1e3:.1f} ms; forbidden modules imported: {info['forbidden'] or 'none'}")
    say(f"{'self µs':>10}{'cumul. µs':>11}  module with the largest own import time (-X importtime, one run)")
    for row in info["heaviest"]:
        say(f"{row['self_us']:>10,}{row['cumulative_us']:>11,}  {row['module']}")


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Check:
    target: str
    met: bool | None  # None: could not be measured (a contender is unavailable)
    detail: str


def _cells(report: list[dict[str, Any]], key: str) -> dict[str, Cell]:
    return next(entry["cells"] for entry in report if entry["key"] == key)


def check_speed(report: list[dict[str, Any]]) -> Iterator[Check]:
    clean = _cells(report, "clean")
    hand, floor = clean["json+jsonschema"].ratio, clean["floor"].ratio
    yield Check(
        "clean canonical: ≥10× faster than json.loads + jsonschema",
        None if hand is None else hand >= 10,
        f"{_num(hand, 2)}× ({_num(clean['normalize'].us)} µs vs {_num(clean['json+jsonschema'].us)} µs)",
    )
    yield Check(
        "clean canonical: within 5× of orjson + jsonschema-rs",
        None if floor is None else floor >= 0.2,
        f"{_num(1 / floor if floor else None, 1)}× the floor ({_num(clean['floor'].us)} µs)",
    )
    for entry in report:
        if entry["group"] == "damaged":
            ratio = entry["cells"]["json_repair"].ratio
            yield Check(
                f"{entry['label']}: ≥3× faster than json_repair.loads alone",
                None if ratio is None else ratio >= 3,
                f"{_num(ratio, 2)}× ({_num(entry['cells']['normalize'].us)} µs vs "
                f"{_num(entry['cells']['json_repair'].us)} µs)",
            )


def check_ladder(rows: list[dict[str, Any]]) -> Iterator[Check]:
    def offenders(bad: Callable[[Run], bool]) -> list[str]:
        return [f"{r['shape']}@{r['size']}" for r in rows if bad(r["normalize"])]

    slow = offenders(lambda run: run.seconds is None or run.seconds >= 1.0)
    worst = max((r["normalize"].seconds or 0.0 for r in rows), default=0.0)
    yield Check("ladder: every input ≤1 MB under 1 s", not slow, f"slowest {_seconds(worst)}; over: {slow or 'none'}")
    growths = {shape: growth(rows, shape, "normalize") for shape in SHAPES}
    steep = [f"{shape} {_num(g, 1)}" for shape, g in growths.items() if g is None or g > 12]
    top = max((g for g in growths.values() if g is not None), default=None)
    yield Check("ladder: growth time(1 MB)/time(100 KB) ≤12", not steep, f"max {_num(top, 2)}; over: {steep or 'none'}")
    wrong = offenders(lambda run: run.outcome != "ok=False" or not run.deviations)
    yield Check("ladder: ok=False with a deviation, no exception", not wrong, f"failing: {wrong or 'none'}")
    heavy = offenders(lambda run: run.peak_mb is None or run.peak_mb >= 100)
    peak = max((r["normalize"].peak_mb or 0.0 for r in rows), default=0.0)
    yield Check("ladder: peak memory <100 MB above baseline", not heavy, f"max {peak:.1f} MB; over: {heavy or 'none'}")


def check_import(info: dict[str, Any]) -> Iterator[Check]:
    ms = info["seconds"] * 1e3
    yield Check("import llm_guard_json under 100 ms", ms < 100, f"{ms:.1f} ms")
    yield Check(
        "import pulls in no torch/transformers/HTTP client", not info["forbidden"], str(info["forbidden"] or "none")
    )


def print_checks(checks: list[Check]) -> None:
    say("\n== targets ==")
    width = max(len(check.target) for check in checks) + 2
    for check in checks:
        verdict = "N/A" if check.met is None else "MET" if check.met else "MISSED"
        say(f"{verdict:<7} {check.target:<{width}}{check.detail}")
    tally = Counter("N/A" if c.met is None else "MET" if c.met else "MISSED" for c in checks)
    say(f"\n{tally['MET']} met, {tally['MISSED']} missed, {tally['N/A']} not measurable")


# --------------------------------------------------------------------------- profile, report, main


def profile(target: str, rows: list[dict[str, Any]], top: int = 25) -> None:
    """cProfile normalize over one workload (its key) or one ladder input (ladder:SHAPE:SIZE)."""
    import cProfile
    import pstats

    if target.startswith("ladder:"):
        _, shape, size = target.split(":")
        pairs = [(SHAPES[shape](SIZES[size]), LADDER_SCHEMA)]
    else:
        workload = {w.key: w for w in build_workloads(rows)}[target]
        pairs = [(item.text, item.schema) for item in workload.items]
    run = load_normalize()
    for text, name in pairs:  # warm the caches first, as the benchmark does
        run(text, name)
    profiler = cProfile.Profile()
    profiler.enable()
    for text, name in pairs:
        run(text, name)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    say(f"== cProfile of normalize on {target} ({len(pairs)} outputs), by cumulative time ==")
    stats.sort_stats("cumulative").print_stats(top)
    say("== by own time ==")
    stats.sort_stats("tottime").print_stats(top)


def environment(plan: Plan) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for dist in ("llm-guard-json", "json-repair", "jsonschema", "jsonschema-rs", "orjson", "pydantic", "parsantic"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _git_state(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {multiprocessing.cpu_count()} CPUs",
        "corpus": os.path.relpath(CORPUS, ROOT),
        "versions": versions,
        "plan": asdict(plan),
    }


def _git_state() -> str | None:
    """The checkout's commit, with "+dirty" when src/ has local changes (read-only git calls)."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["git", "--no-optional-locks", *args]  # never touches the index of others' checkout
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "src")
    except OSError:
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _plain(value: Any) -> Any:
    """The report as JSON-ready data (dataclasses to dicts)."""
    if isinstance(value, Cell | Run | Check):
        return asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="normalize against its peers: ratio tables and targets")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer rows and repeats, 1 s peer timeout")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results here")
    parser.add_argument("--profile", metavar="TARGET", help="cProfile normalize on a workload key or ladder:SHAPE:SIZE")
    parser.add_argument("--peer-timeout", type=float, default=None, help="per-call limit for peers on the ladder (s)")
    parser.add_argument("--repeats", type=int, default=None, help="best-of-N passes per corpus workload (7; quick 2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.peer_timeout:
        plan = Plan(**{**asdict(plan), "peer_timeout_s": args.peer_timeout})
    if args.repeats:
        plan = Plan(**{**asdict(plan), "repeats": args.repeats})
    rows = load_rows(plan.row_limit)
    if args.profile:
        profile(args.profile, rows)
        return 0
    env = environment(plan)
    say(f"bench_peers {'--quick' if plan.quick else 'full run'}: Python {env['python']}, {env['machine']}")
    say(f"commit {env['commit']}, corpus {env['corpus']}")
    say(f"versions: {env['versions']}\n{RATIO_NOTE}")
    contenders = [normalize_contender(), *peer_contenders(load_schemas())]
    report = run_workloads(build_workloads(rows), contenders, plan)
    print_ratio_matrix(report, contenders)
    say(f"\nadversarial ladder (peer timeout {plan.peer_timeout_s:g} s per call) ...")
    ladder_peers = [c for c in contenders if c.ladder and c.call is not None]
    ladder = run_ladder(plan, ladder_peers)
    print_ladder(ladder, ladder_peers, plan.peer_timeout_s)
    imports = measure_import(3 if plan.quick else 7)
    print_import(imports)
    checks = [*check_speed(report), *check_ladder(ladder), *check_import(imports)]
    print_checks(checks)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {"environment": env, "workloads": report, "ladder": ladder, "import": imports, "targets": checks}
        args.json.write_text(json.dumps(_plain(data), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
