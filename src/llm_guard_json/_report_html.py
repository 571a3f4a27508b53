"""The HTML report: one self-contained file, rendered from `_report.build`'s dict.

Nothing is fetched: the CSS and a small check script are inline (a Content-Security-Policy
forbids anything else) and the charts are matplotlib SVG, inline, drawn with
`matplotlib.figure.Figure` (no pyplot, no global state beyond an `rc_context`). Text stays
text in the SVG (`svg.fonttype: none`), so the browser's own fonts draw CJK field and run
names; the SVG ids get a prefix per chart so that several charts in one page never clash.
Every string from the input (raw model output above all) is HTML-escaped.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import re
import warnings
from typing import TYPE_CHECKING, Any

from ._errors import GuardError
from ._report import CLEAN, CONTENT, FORMAT, HIGH_SCORE, OK_RATE, category, shown

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

INSTALL = "pip install 'llm-guard-json[report]'"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
SECTIONS = {"summary": "Summary", "recommendation": "Recommendation", "ok-rate": "Ok rate", "scores": "Scores"}
SECTIONS |= {"codes": "Deviation codes", "fields": "Fields", "worst": "The worst outputs"}
TOP_BARS = 15  # codes and fields drawn per chart
_RC: dict[RcKeyType, Any] = {"svg.fonttype": "none", "svg.hashsalt": "llm-guard-json", "text.parse_math": False}
_RC |= {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False}
_ACTIONS = {"prompt": "the prompt alone may do", "sft": "more SFT data", "dpo": "DPO on the exported pairs"}

_STYLE = """
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 14px/1.5 system-ui, "Segoe UI", "Noto Sans",
  "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
.muted, figcaption, summary { color: var(--muted); }
table { border-collapse: collapse; margin: 10px 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 10px; vertical-align: top; text-align: left; }
th { background: var(--soft); }
td + td, th + th { text-align: right; }
table.devs { width: 100%; }
table.devs td, table.devs th { text-align: left; }
table.devs td:nth-child(3) { text-align: right; }
tr.content td:first-child { color: #cf222e; } tr.format td:first-child { color: #9a6700; }
figure { margin: 12px 0; }
figure svg { display: block; max-width: 100%; height: auto; }
.rec { border-left: 5px solid var(--muted); background: var(--soft); padding: 8px 14px; margin: 10px 0; }
.rec.prompt { border-color: #1a7f37; } .rec.sft { border-color: #cf222e; } .rec.dpo { border-color: #bf8700; }
article { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px 4px; margin: 12px 0; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.sides h4 { margin: 4px 0; font-size: 13px; color: var(--muted); }
pre { margin: 0; padding: 8px 10px; background: var(--soft); border: 1px solid var(--line); border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto;
  font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eaeef2;
  padding: 1px 4px; border-radius: 3px; }
.bad { color: #cf222e; } .good { color: #1a7f37; }
"""

# After load: every chart must have drawn (a box with an area); the result lands in <body data-rendered>.
_CHECK = """
(() => {
  const check = () => {
    const charts = [...document.querySelectorAll("figure svg")];
    const bad = charts.filter((svg) => {
      const box = svg.getBoundingClientRect();
      return !(box.width > 0 && box.height > 0 && svg.querySelector("path, text"));
    });
    document.body.dataset.charts = String(charts.length);
    document.body.dataset.rendered = bad.length ? "failed: " + bad.map((s) => s.closest("section").id).join(" ") : "ok";
  };
  if (document.readyState === "complete") check(); else addEventListener("load", check);
})();
"""


def require_matplotlib() -> None:
    """Raise GuardError naming the extra to install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GuardError(f"--html draws its charts with matplotlib, which is not installed: {INSTALL}") from None


def render(report: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    runs = report["runs"]
    charts = _charts(runs)
    names = ", ".join(r["name"] for r in runs)
    nav = " ".join(f'<a href="#{key}">{title}</a>' for key, title in SECTIONS.items())
    head = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
        f"<title>llm-guard-json report: {_e(names)}</title>\n<style>{_STYLE}</style>\n</head>\n"
    )
    body = [
        f"<h1>Deviation report</h1>\n<p class=muted>{len(runs)} run(s), in order: {_e(names)}</p>\n<nav>{nav}</nav>",
        _section("summary", _summary(runs)),
        _section("recommendation", _recommendations(report)),
        _section("ok-rate", _figure(charts["ok-rate"], "Share of outputs that are ok") + _ok_table(runs)),
        _section("scores", _figure(charts["scores"], "Share of outputs per score bin") + _score_table(runs)),
        _section("codes", _figure(charts["codes"], "Share of outputs with a code") + _rate_table(runs, "codes")),
        _section(
            "fields",
            _figure(charts["fields"], "Share of outputs with a deviation at a field") + _rate_table(runs, "fields"),
        ),
        _section("worst", "".join(_worst(r) for r in runs)),
    ]
    return head + "<body>\n<main>\n" + "\n".join(body) + f"\n</main>\n<script>{_CHECK}</script>\n</body>\n</html>\n"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _coded(text: str) -> str:
    """Escaped text with its `quoted commands` as <code>."""
    parts = _e(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _section(key: str, inner: str) -> str:
    return f'<section id="{key}">\n<h2>{SECTIONS[key]}</h2>\n{inner}\n</section>'


def _figure(svg: str, caption: str) -> str:
    return (
        f"<figure>\n{svg}\n<figcaption>{_e(caption)}; the table below holds the same numbers.</figcaption>\n</figure>\n"
    )


def _table(head: list[str], rows: list[list[Any]], cls: str = "", kinds: list[str] | None = None) -> str:
    """A table of plain-text cells, every one escaped; `kinds` gives each row a class."""
    top = "".join(f"<th>{_e(h)}</th>" for h in head)
    marks = [f' class="{_e(k)}"' for k in kinds] if kinds else [""] * len(rows)
    body = "".join(
        f"<tr{m}>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>\n" for m, row in zip(marks, rows, strict=True)
    )
    return (
        f"<table{f' class={cls}' if cls else ''}>\n<thead><tr>{top}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"
    )


def _summary(runs: list[dict[str, Any]]) -> str:
    rows = [
        ["outputs", *(f"{r['outputs']:,}" for r in runs)],
        ["ok rate", *(f"{r['ok_rate']:.1%} ({r['ok']:,})" for r in runs)],
        ["mean score", *(f"{r['mean_score']:.3f}" for r in runs)],
        [
            "median score (p10 / p90)",
            *(f"{r['median_score']:.3f} ({r['quantiles']['p10']:.3f} / {r['quantiles']['p90']:.3f})" for r in runs),
        ],
        [f"score ≥ {HIGH_SCORE}", *(f"{r['high_score_share']:.1%}" for r in runs)],
    ]
    for kind, what in ((CLEAN, "no deviation"), (FORMAT, "format deviations only"), (CONTENT, "content problems")):
        rows.append([f"{what}", *(f"{r['categories'][kind]['share']:.1%}" for r in runs)])
    rows.append(["input lines skipped", *(f"{r['skipped_lines']:,}" for r in runs)])
    rows.append(["recommendation", *(_ACTIONS.get(r["recommendation"]["action"], "none") for r in runs)])
    return _table(["", *(r["name"] for r in runs)], rows)


def _recommendations(report: dict[str, Any]) -> str:
    parts = [
        f'<div class="rec {_e(r["recommendation"]["action"])}"><strong>{_e(r["name"])}</strong>: '
        f"{_coded(r['recommendation']['text'])}</div>"
        for r in report["runs"]
    ]
    if report["comparisons"]:
        parts.append(
            "<h3>From run to run</h3>\n<ul>"
            + "".join(f"<li>{_e(c['text'])}</li>" for c in report["comparisons"])
            + "</ul>"
        )
    note = (
        "Format: form the normalizer fixed (the canonical value can be a DPO chosen). Content: not ok, or a code of "
        f"a content family (no_json, limit, lost, missing, invalid, input). The prompt alone needs {OK_RATE:.0%} ok."
    )
    return "\n".join(parts) + f"\n<p class=muted>{_e(note)}</p>"


def _ok_table(runs: list[dict[str, Any]]) -> str:
    rows = [[r["name"], f"{r['outputs']:,}", f"{r['ok']:,}", f"{r['ok_rate']:.1%}", r["skipped_lines"]] for r in runs]
    return _table(["run", "outputs", "ok", "ok rate", "lines skipped"], rows)


def _score_table(runs: list[dict[str, Any]]) -> str:
    edges = runs[0]["histogram"]["edges"] if runs else []
    rows = [
        [f"{lo:.2f}–{hi:.2f}", *(f"{r['histogram']['counts'][i]:,}" for r in runs)]
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    table = _table(["score", *(r["name"] for r in runs)], rows)
    return f"<details><summary>data: outputs per score bin</summary>\n{table}</details>"


def _rate_table(runs: list[dict[str, Any]], what: str) -> str:
    key = what[:-1]
    rows = {row[key]: row for r in runs for row in r[what]}  # any run's row: the name and its category
    by_run = [{row[key]: row for row in r[what]} for r in runs]
    extra = ["category"] if what == "codes" else []
    table = [
        [
            name,
            *(rows[name][c] for c in extra),
            *(f"{x['rate']:.1%} ({x['outputs']:,})" if (x := b.get(name)) else "–" for b in by_run),
        ]
        for name in rows
    ]
    head = [key, *extra, *(r["name"] for r in runs)]
    summary = f"data: {len(rows)} {what}, share of outputs (count)"
    return f"<details><summary>{summary}</summary>\n{_table(head, table)}</details>"


def _worst(run: dict[str, Any]) -> str:
    parts = [f"<h3>{_e(run['name'])}: the {len(run['worst'])} lowest-scoring outputs</h3>"]
    for w in run["worst"]:
        where = f"line {w['line']}" + (f" · id {w['id']}" if w["id"] is not None else "")
        verdict = '<span class="good">ok</span>' if w["ok"] else '<span class="bad">NOT OK</span>'
        canonical = (
            "(no JSON found)"
            if w["canonical"] is None
            else json.dumps(json.loads(w["canonical"]), ensure_ascii=False, indent=2)
        )
        devs = [[d["code"], d["pointer"] or "/", f"{d['weight']:g}", d["detail"]] for d in w["deviations"]]
        parts.append(
            f"<article>\n<p><strong>{_e(where)}</strong> · {verdict} · score {w['score']:.3f} · "
            f"{len(devs)} deviation(s)</p>\n<div class=sides><div><h4>raw output</h4><pre>{_e(w['raw'])}</pre></div>"
            f"<div><h4>canonical value</h4><pre>{_e(canonical)}</pre></div></div>\n"
            + (
                _table(
                    ["code", "field", "weight", "what happened"],
                    devs,
                    "devs",
                    [category(d["code"]) for d in w["deviations"]],
                )
                if devs
                else ""
            )
            + "</article>"
        )
    return "\n".join(parts)


# -- charts -------------------------------------------------------------------------------------


def _charts(runs: list[dict[str, Any]]) -> dict[str, str]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        return {
            "ok-rate": _svg(_ok_chart(runs), "ok-rate", "ok rate per run"),
            "scores": _svg(_score_chart(runs), "scores", "score distribution per run"),
            "codes": _svg(_bars(runs, "codes", lambda row: f"{row['code']} · {row['category']}"), "codes", "codes"),
            "fields": _svg(_bars(runs, "fields", lambda row: shown(row["field"])), "fields", "fields"),
        }


def _svg(figure: Figure, prefix: str, label: str) -> str:
    """The figure as inline SVG: no prolog or metadata, its ids prefixed so charts never share one."""
    buffer = io.StringIO()
    with warnings.catch_warnings():  # a CJK glyph DejaVu lacks: the browser draws the text, not matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text[text.index("<svg") :], flags=re.S)
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = re.sub(r'(xlink:href="#|url\(#)', rf"\g<1>{prefix}-", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_e(label)}" ', 1)


def _new(height: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, height), dpi=100)
    return figure, figure.add_subplot()


def _label(name: str) -> str:
    return " " + name if name.startswith("_") else name  # a leading _ would hide it from the legend


def _percent(axes: Axes, axis: str = "x") -> None:
    from matplotlib.ticker import PercentFormatter

    (axes.xaxis if axis == "x" else axes.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def _ok_chart(runs: list[dict[str, Any]]) -> Figure:
    figure, axes = _new(0.7 + 0.35 * len(runs))
    rates = [r["ok_rate"] for r in runs]
    bars = axes.barh(range(len(runs)), rates, color=[f"C{i % 10}" for i in range(len(runs))], height=0.6)
    axes.bar_label(bars, labels=[f"{x:.1%}" for x in rates], padding=3)
    axes.set_yticks(range(len(runs)), [_label(r["name"]) for r in runs])
    axes.invert_yaxis()
    axes.axvline(OK_RATE, color="0.4", linestyle="--", linewidth=1)
    axes.set_xlim(0, 1.12)
    axes.set_xticks([0, 0.25, 0.5, 0.75, OK_RATE])
    _percent(axes)
    axes.set_xlabel(f"ok rate (dashed: {OK_RATE:.0%}, where the prompt alone may do)")
    return figure


def _score_chart(runs: list[dict[str, Any]]) -> Figure:
    figure, axes = _new(3.2)
    for i, r in enumerate(runs):
        counts, edges = r["histogram"]["counts"], r["histogram"]["edges"]
        shares = [n / r["outputs"] if r["outputs"] else 0.0 for n in counts]
        axes.stairs(shares, edges, color=f"C{i % 10}", linewidth=2, label=_label(r["name"]))
    axes.axvline(HIGH_SCORE, color="0.4", linestyle="--", linewidth=1)
    axes.set_xlim(0, 1)
    axes.set_xlabel(f"score (dashed: {HIGH_SCORE})")
    axes.set_ylabel("share of outputs")
    _percent(axes, "y")
    axes.legend(loc="upper left")
    return figure


def _bars(runs: list[dict[str, Any]], what: str, label: Any) -> Figure:
    """Grouped horizontal bars: the TOP_BARS codes or fields with the highest rate in any run, runs side by side."""
    key = what[:-1]
    best: dict[str, float] = {}
    labels: dict[str, str] = {}
    for r in runs:
        for row in r[what]:
            best[row[key]] = max(best.get(row[key], 0.0), row["rate"])
            labels.setdefault(row[key], label(row))
    names = sorted(best, key=lambda n: (-best[n], n))[:TOP_BARS]
    k = max(len(runs), 1)
    figure, axes = _new(0.9 + max(len(names), 1) * (0.17 * k + 0.12))
    if not names:
        axes.text(0.5, 0.5, f"no {what[:-1]} deviated in any run", ha="center", va="center")
        axes.set_axis_off()
        return figure
    width = 0.8 / k
    for i, r in enumerate(runs):
        rates = {row[key]: row["rate"] for row in r[what]}
        offsets = [j + (i - (k - 1) / 2) * width for j in range(len(names))]
        axes.barh(
            offsets, [rates.get(n, 0.0) for n in names], height=width, color=f"C{i % 10}", label=_label(r["name"])
        )
    axes.set_yticks(range(len(names)), [labels[n] for n in names])
    axes.invert_yaxis()
    axes.set_xlim(0, max(best[n] for n in names) * 1.05 or 1)
    _percent(axes)
    axes.set_xlabel("share of outputs with the code" if what == "codes" else "share of outputs with a deviation there")
    axes.legend(loc="lower right")
    return figure
