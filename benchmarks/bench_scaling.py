"""Benchmark batch normalization on every core, and the engines past one machine, in one run.

How to run, from the repository root:

    .venv/bin/python benchmarks/bench_scaling.py                 # 20,000 outputs: workers, CLI, datasets, Ray
    .venv/bin/python benchmarks/bench_scaling.py --quick         # 4,000 outputs, one repeat: a smoke run
    .venv/bin/python benchmarks/bench_scaling.py --json benchmarks/results/scaling.json

Workload: the dev corpus's raw outputs for one schema, repeated in order to `--outputs` outputs.

Contenders, each timed as the best (minimum) of `--repeats` whole passes, taken in turn:
- `normalize_many(workers=1)`: in this process, one output after another (the baseline, 1.00);
- `normalize_many(workers=N)`: N worker processes, N from 2 to the number of cores;
- the command line, `llm-guard-json normalize FILE --workers N --out FILE`, a whole process each;
- `integrations.datasets.normalize_dataset(num_proc=N)` on a `datasets.Dataset` (the `datasets` extra);
- `integrations.ray.normalize_dataset` on a local Ray instance with `ray.init(num_cpus=cores)` (the `ray`
  extra), with its one-off costs reported apart: `ray.init`, the first pass, later passes, `ray.shutdown`.

Speed-up = baseline time / contender time (>1: faster than one worker). The parent's CPU time per
output says what the pool costs the process that reads the results. The last block checks the target:
two workers reach at least 1.7x one worker.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_SHARED_CORPUS = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
CORPUS = _SHARED_CORPUS if _SHARED_CORPUS.is_file() else ROOT / "tests" / "corpus" / "dev.jsonl"
TARGET = 1.7  # two workers against one, on two cores


def outputs_of(schema: str, count: int) -> list[str]:
    """The corpus's raw outputs for `schema`, repeated in order to `count` outputs.

    Repeat k adds k to every number in the text (ages, years, salaries, phone digits), so no
    two outputs in a run are the same text and the deviations that quote a value differ too,
    as in real runs; those that do not (a fence, a key read as its alias) repeat, as they do.
    """
    cases = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    mine = [case["raw"] for case in cases if case["schema"] == schema]
    out = []
    for i in range(count):
        k, raw = divmod(i, len(mine))[0], mine[i % len(mine)]
        out.append(re.sub(r"\d+", lambda m, k=k: str(int(m.group()) + k), raw) if k else raw)
    return out


def cpu_self() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


class Contender:
    """One way to normalize the workload; `timed` keeps its best run (wall seconds, parent CPU seconds)."""

    def __init__(self, name: str, workers: int, run: Callable[[], int]) -> None:
        self.name, self.workers, self.run = name, workers, run
        self.best = (float("inf"), 0.0)

    def timed(self, expected: int) -> None:
        cpu, start = cpu_self(), time.perf_counter()
        got = self.run()
        wall = time.perf_counter() - start
        if got != expected:
            raise SystemExit(f"{self.name}: {got} results for {expected} outputs")
        self.best = min(self.best, (wall, cpu_self() - cpu))


def api(outputs: list[str], schema: str, workers: int) -> Callable[[], int]:
    from llm_guard_json import normalize_many

    return lambda: sum(1 for _ in normalize_many(outputs, schema, workers=workers))


def cli(path: Path, schema: str, workers: int) -> Callable[[], int]:
    exe = Path(sys.executable).with_name("llm-guard-json")
    command = [str(exe), "normalize", str(path), "--schema", schema, "--workers", str(workers), "--no-progress"]

    def run() -> int:
        with tempfile.NamedTemporaryFile("r", suffix=".jsonl", encoding="utf-8") as out:
            subprocess.run([*command, "--out", out.name], check=False, capture_output=True)
            return sum(1 for _ in out)

    return run


def hf(outputs: list[str], schema: str, workers: int) -> Callable[[], int]:
    import datasets

    from llm_guard_json.integrations.datasets import normalize_dataset

    datasets.disable_progress_bars()
    data = datasets.Dataset.from_dict({"output": outputs})
    return lambda: len(normalize_dataset(data, schema, num_proc=workers if workers > 1 else None))


def ray_costs(outputs: list[str], schema: str, cores: int, passes: int) -> dict[str, Any]:
    """Ray's one-off costs and its passes over the workload, in seconds."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    start = time.perf_counter()
    import ray
    import ray.data

    from llm_guard_json.integrations.ray import normalize_dataset

    costs: dict[str, Any] = {"import": time.perf_counter() - start}
    start = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    costs["init"] = time.perf_counter() - start
    try:
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # no line per dataset run
        ray.data.DataContext.get_current().enable_progress_bars = False
        data = ray.data.from_items([{"output": o} for o in outputs])
        times = []
        for _ in range(passes):
            start = time.perf_counter()
            rows = normalize_dataset(data, schema).take_all()
            times.append(time.perf_counter() - start)
            if len(rows) != len(outputs):
                raise SystemExit(f"ray: {len(rows)} results for {len(outputs)} outputs")
        costs["first pass"], costs["later passes (best)"] = times[0], min(times[1:], default=times[0])
    finally:
        start = time.perf_counter()
        ray.shutdown()
        costs["shutdown"] = time.perf_counter() - start
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=20_000, help="outputs per pass (default 20,000)")
    parser.add_argument("--repeats", type=int, default=3, help="passes per contender; the best counts")
    parser.add_argument("--schema", default="resume", choices=("resume", "medical_record"))
    parser.add_argument("--quick", action="store_true", help="4,000 outputs, one repeat")
    parser.add_argument("--no-ray", action="store_true", help="leave out Ray (it takes seconds to start)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    count, repeats = (4_000, 1) if args.quick else (args.outputs, args.repeats)
    cores = len(os.sched_getaffinity(0))
    outputs = outputs_of(args.schema, count)
    print(f"{count:,} {args.schema} outputs from {CORPUS.name}; {cores} cores; Python {platform.python_version()}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outputs.jsonl"
        path.write_text("".join(json.dumps({"output": o}, ensure_ascii=False) + "\n" for o in outputs), "utf-8")
        counts = sorted({1, 2, cores})
        contenders = [Contender(f"normalize_many(workers={n})", n, api(outputs, args.schema, n)) for n in counts]
        contenders += [Contender(f"CLI --workers {n}", n, cli(path, args.schema, n)) for n in counts]
        if importlib.util.find_spec("datasets"):
            contenders += [Contender(f"datasets map(num_proc={n})", n, hf(outputs, args.schema, n)) for n in counts]
        for _ in range(repeats):  # in turn, so a burst of load elsewhere touches them all
            for contender in contenders:
                contender.timed(count)

    base = contenders[0].best[0]
    rows = []
    print(f"\n== best of {repeats}; speed-up = normalize_many(workers=1) time / contender time ==")
    print(f"{'contender':<30} {'seconds':>8} {'µs/output':>10} {'speed-up':>9} {'parent CPU µs/output':>21}")
    for c in contenders:
        wall, cpu = c.best
        parent = "" if c.name.startswith("CLI") else f"{cpu / count * 1e6:.1f}"
        print(f"{c.name:<30} {wall:>8.2f} {wall / count * 1e6:>10.1f} {base / wall:>8.2f}x {parent:>21}")
        rows.append({"contender": c.name, "workers": c.workers, "seconds": wall, "speedup": base / wall})

    ray: dict[str, Any] | None = None
    if not args.no_ray and importlib.util.find_spec("ray"):
        ray = ray_costs(outputs, args.schema, cores, passes=max(2, repeats))
        print(f"\n== Ray on this machine: ray.init(num_cpus={cores}), {count:,} outputs per pass ==")
        for what, seconds in ray.items():
            print(f"{what:<22} {seconds:>7.2f} s")
        later = ray["later passes (best)"]
        print(f"{'speed-up (later pass)':<22} {base / later:>7.2f}x")

    two = next(r for r in rows if r["contender"] == "normalize_many(workers=2)")
    verdict = "MET" if two["speedup"] >= TARGET else "MISSED"
    print(f"\n{verdict}  normalize_many: 2 workers >= {TARGET}x one worker    {two['speedup']:.2f}x")
    if args.json:
        report = {"outputs": count, "schema": args.schema, "cores": cores, "repeats": repeats, "rows": rows}
        report |= {"ray": ray, "target": {"two_workers": TARGET, "met": verdict == "MET"}}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
