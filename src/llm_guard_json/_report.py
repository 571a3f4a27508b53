"""`llm-guard-json report RUN ...`: what each run of outputs says about the next training step.

Each RUN is read once as a stream into `Figures` (constant memory: counters, a 20-bin score
histogram, a heap of the ten worst outputs), then `build` turns the runs into one plain dict
(the `--json` output, documented in docs/report.md) that the terminal table and the HTML
report (_report_html) both render; _report_cli reads the runs. Every code is either *format* (form the normalizer fixed:
the canonical value can be a DPO *chosen*) or *content* (missing or unrecoverable content);
the recommendation follows from those shares, with the numbers quoted.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._deviation import Deviation
from ._result import canonical_text
from ._summary import field_of

if TYPE_CHECKING:
    from rich.console import RenderableType

FORMAT, CONTENT, CLEAN = "format", "content", "clean"
#: The category of every code family; a family not listed (a user's own code) is format.
FAMILIES: Mapping[str, str] = {
    **dict.fromkeys(("fence", "prose", "think", "candidates", "wrapper", "repair", "key", "default"), FORMAT),
    **dict.fromkeys(("coerce", "canon"), FORMAT),
    **dict.fromkeys(("no_json", "limit", "lost", "missing", "invalid", "input"), CONTENT),
}
OK_RATE = 0.98  # "the prompt alone may do" needs at least this share of outputs ok ...
HIGH_SCORE = 0.9  # ... and at least HIGH_SHARE of outputs scoring this or more
HIGH_SHARE = 0.9
BINS = 20  # the score histogram: equal bins over [0, 1]
WORST = 10  # worst outputs kept per run
MAX_FIELDS = 200  # distinct fields counted per run; the rest are counted as "(other)"
RAW_KEPT = 4000  # characters of a worst output's raw text kept
TOP = 3  # codes and fields named in a sentence


def shown(name: str) -> str:
    """A field as a reader sees it: the root pointer `/` is the whole output (a fence, prose, a wrapper)."""
    return "/ (whole output)" if name == "/" else name


def category(code: str) -> str:
    """`format` or `content`, by the code's family (`lost.value` -> lost -> content)."""
    return FAMILIES.get(code.partition(".")[0], FORMAT)


_kind = functools.lru_cache(maxsize=1024)(category)
_field = functools.lru_cache(maxsize=4096)(field_of)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One output as the report needs it: a normalize result, or a row `normalize --out` wrote."""

    number: int
    id: Any
    raw: str
    ok: bool
    score: float
    deviations: Sequence[Deviation | dict[str, Any]]  # a result's, or the dicts normalize --out wrote
    value: Any = None
    found: bool = True
    text: str | None = None  # the canonical text, where it is already written (a feedback store's)


@dataclass
class Figures:
    """One run's figures, added to one output at a time in constant memory."""

    name: str
    source: str = ""
    steps: str = ""  # the commands that turn this run into DPO pairs, each in `backquotes`
    outputs: int = 0
    ok: int = 0
    high: int = 0  # outputs scoring HIGH_SCORE or more
    score_sum: float = 0.0
    skipped: int = 0
    bins: list[int] = field(default_factory=lambda: [0] * BINS)
    lows: list[float] = field(default_factory=lambda: [math.inf] * BINS)
    highs: list[float] = field(default_factory=lambda: [-math.inf] * BINS)
    codes: Counter[str] = field(default_factory=Counter)  # outputs with at least one, by code
    counts: Counter[str] = field(default_factory=Counter)  # deviations, by code
    fields: Counter[str] = field(default_factory=Counter)  # outputs with a deviation there, by field
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: {FORMAT: Counter(), CONTENT: Counter()})
    kinds: Counter[str] = field(default_factory=Counter)  # outputs by category: clean, format (only), content
    heap: list[tuple[float, int, int, dict[str, Any]]] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.outputs += 1
        self.ok += o.ok
        self.high += o.score >= HIGH_SCORE
        self.score_sum += o.score
        b = min(max(int(o.score * BINS), 0), BINS - 1)
        self.bins[b] += 1
        self.lows[b], self.highs[b] = min(self.lows[b], o.score), max(self.highs[b], o.score)
        pairs = [(d.code, d.pointer) if isinstance(d, Deviation) else (d["code"], d["pointer"]) for d in o.deviations]
        self.codes.update({code for code, _ in pairs})
        self.counts.update(code for code, _ in pairs)
        where: dict[str, set[str]] = {}
        for code, pointer in pairs:
            key = _field(pointer)
            if key not in self.fields:  # a new field takes a place now, or is counted as "(other)"
                key = key if len(self.fields) < MAX_FIELDS else "(other)"
                self.fields[key] += 0
            where.setdefault(key, set()).add(_kind(code))
        for key, there in where.items():
            self.fields[key] += 1
            for kind in there:
                self.by_kind[kind][key] += 1
        kinds = {_kind(code) for code, _ in pairs}
        self.kinds[CONTENT if not o.ok or CONTENT in kinds else FORMAT if kinds else CLEAN] += 1
        self._keep(o)

    def _keep(self, o: Outcome) -> None:
        """Keep the WORST lowest (score, ok, line): a max-heap of the negated keys."""
        item = (-o.score, -int(o.ok), -o.number)
        if len(self.heap) == WORST and item <= self.heap[0][:3]:
            return
        canonical = o.text if o.text is not None else canonical_text(o.value) if o.found else None
        raw = o.raw if len(o.raw) <= RAW_KEPT else o.raw[:RAW_KEPT] + f"… ({len(o.raw):,} characters)"
        entry = {"line": o.number, "id": o.id, "score": round(o.score, 6), "ok": o.ok, "raw": raw}
        entry |= {
            "canonical": canonical,
            "deviations": [d.as_dict() if isinstance(d, Deviation) else d for d in o.deviations],
        }
        (heapq.heappush if len(self.heap) < WORST else heapq.heapreplace)(self.heap, (*item, entry))

    def rate(self, n: int) -> float:
        return n / self.outputs if self.outputs else 0.0

    def at(self, k: int) -> float:
        """The k-th smallest score (from 0), to within its histogram bin: spread evenly over the bin's range."""
        seen = 0
        for n, low, high in zip(self.bins, self.lows, self.highs, strict=True):
            if k < seen + n:
                return low + (high - low) * ((k - seen) / (n - 1) if n > 1 else 0.0)
            seen += n
        raise IndexError(k)

    def quantile(self, q: float) -> float:
        """The q-quantile of the scores (linear between ranks), within one bin (0.05) of the exact one."""
        if not self.outputs:
            return 0.0
        rank = q * (self.outputs - 1)
        k = int(rank)
        low = self.at(k)
        return low if k == rank else low + (self.at(k + 1) - low) * (rank - k)

    def top(self, kind: str, what: str) -> str:
        """The commonest codes or fields of one kind, with their rates: `fence 48.0%, ...`."""
        ours = {c: n for c, n in self.codes.items() if category(c) == kind}
        counts = self.by_kind[kind] if what == "fields" else ours
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        return ", ".join(f"{shown(k)} {self.rate(n):.1%}" for k, n in ranked) or "none"


def recommend(f: Figures) -> dict[str, str]:
    """prompt, sft or dpo (none for an empty run), and the sentence that says why, numbers quoted."""
    if not f.outputs:
        return {"action": "none", "text": "No outputs were read, so there is nothing to recommend."}
    ok, high = f.rate(f.ok), f.rate(f.high)
    if ok >= OK_RATE and high >= HIGH_SHARE:
        return {
            "action": "prompt",
            "text": f"The prompt alone may do: {ok:.1%} of outputs are ok (at least {OK_RATE:.0%}) and {high:.1%} "
            f"score {HIGH_SCORE} or more (at least {HIGH_SHARE:.0%}); fine-tuning has little to fix.",
        }
    content, form = f.kinds[CONTENT], f.kinds[FORMAT]
    why = (
        f"{ok:.1%} ok (prompt alone needs {OK_RATE:.0%}) and {high:.1%} scoring {HIGH_SCORE} or more "
        f"(needs {HIGH_SHARE:.0%}); {f.rate(content):.1%} of outputs have content problems (not ok, or a "
        f"content code) against {f.rate(form):.1%} with only format deviations the normalizer fixed"
    )
    if content > form:
        return {
            "action": "sft",
            "text": f"More SFT data: {why}. The model misses content, not form: add SFT examples covering "
            f"{f.top(CONTENT, 'codes')} at {f.top(CONTENT, 'fields')}.",
        }
    return {
        "action": "dpo",
        "text": f"DPO on the exported pairs: {why}, so their canonical values can be the chosen answers. "
        f"Top format codes: {f.top(FORMAT, 'codes')}; fields: {f.top(FORMAT, 'fields')}."
        + (f" Run {f.steps}." if f.steps else ""),
    }


def _rows(counter: Counter[str], f: Figures, key: str, extra: Any) -> list[dict[str, Any]]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{key: k, "outputs": n, "rate": round(f.rate(n), 6), **extra(k)} for k, n in ranked]


def figures_dict(f: Figures) -> dict[str, Any]:
    """One run's figures as plain JSON (the keys are listed in docs/report.md)."""
    return {
        "name": f.name,
        "source": f.source,
        "outputs": f.outputs,
        "ok": f.ok,
        "ok_rate": round(f.rate(f.ok), 6),
        "skipped_lines": f.skipped,
        "mean_score": round(f.score_sum / f.outputs if f.outputs else 0.0, 6),
        "median_score": round(f.quantile(0.5), 6),
        "quantiles": {f"p{q}": round(f.quantile(q / 100), 6) for q in (10, 25, 50, 75, 90)},
        "high_score_share": round(f.rate(f.high), 6),
        "histogram": {"edges": [round(i / BINS, 6) for i in range(BINS + 1)], "counts": list(f.bins)},
        "categories": {
            k: {"outputs": f.kinds[k], "share": round(f.rate(f.kinds[k]), 6)} for k in (CLEAN, FORMAT, CONTENT)
        },
        "codes": _rows(f.codes, f, "code", lambda c: {"count": f.counts[c], "category": category(c)}),
        "fields": _rows(f.fields, f, "field", lambda k: {kind: f.by_kind[kind][k] for kind in (FORMAT, CONTENT)}),
        "worst": [entry for *_, entry in sorted(f.heap, key=lambda item: (-item[0], -item[1], -item[2]))],
        "recommendation": recommend(f),
    }


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What changed from run a to run b: ok rate, mean score, and the codes that moved most."""
    before, after = ({c["code"]: c["rate"] for c in run["codes"]} for run in (a, b))
    moved = {c: round(after.get(c, 0.0) - before.get(c, 0.0), 6) for c in sorted(before.keys() | after.keys())}
    improved = [{"code": c, "change": d} for c, d in sorted(moved.items(), key=lambda kv: kv[1]) if d < 0][:TOP]
    regressed = [{"code": c, "change": d} for c, d in sorted(moved.items(), key=lambda kv: -kv[1]) if d > 0][:TOP]
    ok, mean = b["ok_rate"] - a["ok_rate"], b["mean_score"] - a["mean_score"]

    def pts(rows: list[dict[str, Any]]) -> str:
        return ", ".join(f"{r['code']} {r['change'] * 100:+.1f} pts" for r in rows) or "none"

    text = (
        f"{a['name']} → {b['name']}: ok rate {a['ok_rate']:.1%} → {b['ok_rate']:.1%} ({ok * 100:+.1f} pts), "
        f"mean score {a['mean_score']:.3f} → {b['mean_score']:.3f} ({mean:+.3f}); "
        f"improved most: {pts(improved)}; regressed most: {pts(regressed)}."
    )
    changes = {"ok_rate_change": round(ok, 6), "mean_score_change": round(mean, 6)}
    return {"from": a["name"], "to": b["name"], **changes, "improved": improved, "regressed": regressed, "text": text}


def build(runs: list[Figures]) -> dict[str, Any]:
    """The whole report as plain JSON: thresholds, each run's figures, each consecutive pair compared."""
    figures = [figures_dict(f) for f in runs]
    thresholds = {"ok_rate": OK_RATE, "high_score": HIGH_SCORE, "high_share": HIGH_SHARE}
    comparisons = [compare(a, b) for a, b in itertools.pairwise(figures)]
    return {"version": 1, "thresholds": thresholds, "runs": figures, "comparisons": comparisons}


def table(report: dict[str, Any], top: int = 5) -> list[RenderableType]:
    """The report for a terminal: one column per run, then each recommendation and comparison."""
    from rich.table import Table
    from rich.text import Text

    runs = report["runs"]
    grid = Table(title="llm-guard-json report", title_justify="left")
    grid.add_column("")
    for run in runs:
        grid.add_column(run["name"], justify="right", overflow="fold")
    grid.add_row("outputs", *(f"{r['outputs']:,}" for r in runs))
    grid.add_row("ok rate", *(f"{r['ok_rate']:.1%} ({r['ok']:,})" for r in runs))
    grid.add_row("mean score", *(f"{r['mean_score']:.3f}" for r in runs))
    grid.add_row("median score", *(f"{r['median_score']:.3f}" for r in runs))
    grid.add_row(f"score ≥ {HIGH_SCORE}", *(f"{r['high_score_share']:.1%}" for r in runs))
    for kind in (CLEAN, FORMAT, CONTENT):
        grid.add_row(f"{kind} outputs", *(f"{r['categories'][kind]['share']:.1%}" for r in runs))
    if any(r["skipped_lines"] for r in runs):
        grid.add_row("input lines skipped", *(f"{r['skipped_lines']:,}" for r in runs))
    for what in ("codes", "fields"):
        key = what[:-1]
        names = list(dict.fromkeys(row[key] for r in runs for row in r[what][:top]))
        grid.add_section()
        for name in names:
            rates = [{row[key]: row for row in r[what]}.get(name) for r in runs]
            grid.add_row(f"{key} {shown(name)}", *(f"{x['rate']:.1%} ({x['outputs']:,})" if x else "–" for x in rates))
    grid.add_section()
    grid.add_row("recommendation", *(r["recommendation"]["action"] for r in runs), style="bold")
    lines: list[RenderableType] = [grid]
    lines += [Text.assemble((f"{r['name']}: ", "bold"), r["recommendation"]["text"]) for r in runs]
    lines += [Text(c["text"]) for c in report["comparisons"]]
    return lines
