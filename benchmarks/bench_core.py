"""Speed of normalize on the dev corpus, side by side with json.loads + jsonschema, in one run.

    python benchmarks/bench_core.py [--repeat 5] [--json out.json]

Workloads: the corpus outputs as they are, and the corpus's canonical values written as
clean JSON. Reports microseconds per output, outputs per second and the ratio to the
hand-rolled baseline (json.loads, then a compiled jsonschema validator), which only
handles clean input. The full peer comparison (json_repair, orjson + jsonschema-rs,
adversarial ladders) lives in its own benchmark.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from llm_guard_json import Schema, normalize

ROOT = Path(__file__).resolve().parents[1]
_SHARED = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
CORPUS = _SHARED if _SHARED.is_file() else ROOT / "tests" / "corpus" / "dev.jsonl"


def _timed(fn: Callable[[str, str], Any], items: list[tuple[str, str]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for schema, raw in items:
            fn(raw, schema)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    validators = {n: jsonschema.Draft202012Validator(Schema(n).root) for n in ("resume", "medical_record")}

    def baseline(raw: str, schema: str) -> bool:
        try:
            return validators[schema].is_valid(json.loads(raw))
        except ValueError:
            return False

    def ours(raw: str, schema: str) -> bool:
        return normalize(raw, schema).ok

    workloads = {
        "corpus as written": [(r["schema"], r["raw"]) for r in rows],
        "clean canonical": [
            (r["schema"], json.dumps(r["expected"], ensure_ascii=False)) for r in rows if r["expected"] is not None
        ],
    }
    report: dict[str, dict[str, float]] = {}
    print(f"{'workload':<20}{'contender':<28}{'us/output':>12}{'outputs/s':>12}{'ratio':>8}")
    for name, items in workloads.items():
        base = _timed(baseline, items, args.repeat)
        mine = _timed(ours, items, args.repeat)
        report[name] = {"baseline_us": base, "normalize_us": mine, "ratio": mine / base}
        for label, us in (("json.loads + jsonschema", base), ("llm_guard_json.normalize", mine)):
            print(f"{name:<20}{label:<28}{us:>12.1f}{1e6 / us:>12.0f}{us / base:>8.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
