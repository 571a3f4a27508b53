"""The `report` subcommand: read each run into `Figures`, then print, write JSON or HTML.

A run is a file (the JSONL `normalize --out` wrote, read as it stands, or raw outputs that
`--schema` normalizes first) or, with `--store`, one model's records in a feedback store.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ._batch import default_workers
from ._errors import GuardError
from ._records import FIELDS, Reader
from ._report import Figures, Outcome, build, table

_NO_MODEL = "(no model)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `report` subcommand's options (its reading options are `score`'s)."""
    parser.add_argument("runs", nargs="*", metavar="RUN", help="normalize --out JSONL, or raw outputs with --schema")
    parser.add_argument("--schema", help="normalize raw outputs with this schema first (a shipped name or a path)")
    parser.add_argument("--field", help=f"the JSONL field holding the output (default: {', then '.join(FIELDS)})")
    parser.add_argument("--schema-field", help="take each record's schema from this JSONL field (else --schema)")
    parser.add_argument("--format", choices=("auto", "jsonl", "text"), default="auto", help="how to read each RUN")
    parser.add_argument("--workers", type=int, help=f"processes to use (default: every core, {default_workers()})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    parser.add_argument("--store", help="instead of RUN files: one run per model in this feedback store")
    parser.add_argument("--model", action="append", default=[], help="with --store: this model's run (repeatable)")
    parser.add_argument("--name", action="append", default=[], help="a run's name (repeatable, in run order)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON instead of a table")
    parser.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report with charts")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The `report` subcommand: 0 written, 2 a usage or input error (a skipped line included)."""
    from ._cli import _console

    if args.html:
        from ._report_html import require_matplotlib

        require_matplotlib()
    errors = _console(err)
    runs = _from_store(args) if args.store else _from_files(args, err, errors)
    if args.name:
        if len(args.name) != len(runs):
            raise GuardError(f"--name given {len(args.name)} times for {len(runs)} runs: one per run, or none")
        for figures, name in zip(runs, args.name, strict=True):
            figures.name = name
    report = build(runs)
    if args.html:
        from ._report_html import render

        try:
            Path(args.html).write_text(render(report), encoding="utf-8", errors="replace")
        except OSError as e:
            raise GuardError(f"cannot write {args.html!r}: {e.strerror}") from None
        errors.print(f"report written to {args.html}", markup=False)
    if args.json:
        out.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        _console(out).print(*table(report), sep="\n")
    return 2 if any(f.skipped for f in runs) else 0


def _from_files(args: argparse.Namespace, err: TextIO, errors: Any) -> list[Figures]:
    if not args.runs:
        raise GuardError("name at least one RUN file, or --store FILE for the runs of a feedback store")
    if args.model:
        raise GuardError("--model picks runs from a feedback store: pass --store FILE too")
    if args.runs.count("-") > 1:
        raise GuardError("standard input (-) can be read once only")
    names = [p if p == "-" else Path(p).stem for p in args.runs]
    names = [n if n not in names[:i] else f"{n} ({i + 1})" for i, n in enumerate(names)]
    return [_read(path, name, args, err, errors) for path, name in zip(args.runs, names, strict=True)]


def _read(path: str, name: str, args: argparse.Namespace, err: TextIO, errors: Any) -> Figures:
    from ._cli import _open, _progress

    try:
        stream, size = _open(path)
    except OSError as e:
        raise GuardError(f"cannot read {path!r}: {e.strerror}") from None
    q = shlex.quote
    options = [f"--schema {q(args.schema or 'S')}"]
    options += [f"--{o.replace('_', '-')} {q(v)}" for o in ("field", "schema_field") if (v := getattr(args, o))]
    normalize = f"llm-guard-json normalize {q(path)} {' '.join(options)} --store feedback.db --model {q(name)}"
    export = f"llm-guard-json export --format trl-dpo --store feedback.db --model {q(name)} --out data"
    figures = Figures(name, path, steps=f"`{normalize}` then `{export}`")
    with contextlib.ExitStack() as stack:
        stack.enter_context(stream)
        progress = _progress(stack, err, size, quiet=args.no_progress)
        warn = lambda m: errors.print(m, markup=False)  # noqa: E731
        reader = Reader(stream, path, fmt=args.format, field=args.field, warn=warn, progress=progress)
        for outcome in _normalized(args, reader) if args.schema else _as_read(reader, path):
            figures.add(outcome)
        figures.skipped = reader.skipped
    return figures


def _normalized(args: argparse.Namespace, reader: Reader) -> Iterator[Outcome]:
    from ._cli import _results
    from ._schema import as_schema

    for record, r in _results(args, as_schema(args.schema), reader):
        yield Outcome(record.number, record.fields.get("id"), r.raw, r.ok, r.score, r.deviations, r.value, r.found)


def _as_read(reader: Reader, path: str) -> Iterator[Outcome]:
    """The results `normalize --out` wrote; a line without them stops the run, naming the fix."""
    for record in reader:
        row = record.fields
        if not {"ok", "score", "deviations"} <= row.keys():
            raise GuardError(
                f"{path}:{record.number}: no normalize results (ok, score, deviations) on this line: pass --schema S "
                f"to normalize raw outputs, or run `llm-guard-json normalize {path} --schema S --out RUN.jsonl` first"
            )
        devs, ok, score = row["deviations"], row["ok"], row["score"]
        number = isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 1
        if not (number and isinstance(ok, bool) and isinstance(devs, list) and all(map(_deviation, devs))):
            reader.skipped += 1
            reader.warn(f"{path}:{record.number}: malformed ok, score or deviations; skipped")
            continue
        found = not any(d["code"] == "no_json" for d in devs)
        yield Outcome(record.number, row.get("id"), record.output, ok, float(score), devs, row.get("value"), found)


def _deviation(d: Any) -> bool:
    """A deviation as normalize --out writes it: at least a string code and pointer."""
    return isinstance(d, dict) and isinstance(d.get("code"), str) and isinstance(d.get("pointer"), str)


def _from_store(args: argparse.Namespace) -> list[Figures]:
    """One run per model (`--model`, in that order; else each model in the order it first appears)."""
    from .feedback import FeedbackStore

    if args.runs or args.schema:
        raise GuardError("--store reads the results the store holds: leave out RUN files and --schema")
    if not Path(args.store).is_file():
        raise GuardError(f"no feedback store at {args.store!r}; write one with `normalize ... --store`")
    q = shlex.quote
    runs: dict[str | None, Figures] = {m: Figures(m, args.store) for m in args.model}
    with FeedbackStore(args.store) as store:
        for number, record in enumerate(store.records(), 1):  # one pass, in the order they were stored
            figures = runs.get(record.model)
            if figures is None:
                if args.model:
                    continue
                figures = runs[record.model] = Figures(record.model or _NO_MODEL, args.store)
            found, text = record.text is not None, record.text  # kept as text: only the worst ten show it
            figures.add(
                Outcome(
                    number,
                    record.key[:12],
                    record.raw,
                    record.ok,
                    record.score,
                    record.deviations,
                    found=found,
                    text=text,
                )
            )
    empty = [m for m, f in runs.items() if not f.outputs]
    if empty or not runs:
        raise GuardError(f"no records in {args.store} for the model(s) {empty}" if empty else f"{args.store} is empty")
    for model, figures in runs.items():
        which = f" --model {q(model)}" if model is not None else ""
        figures.steps = f"`llm-guard-json export --format trl-dpo --store {q(args.store)}{which} --out data`"
    return list(runs.values())
