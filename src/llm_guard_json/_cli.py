"""The command line, `llm-guard-json` (or `python -m llm_guard_json`). main(argv) -> exit code.

  normalize INPUT --schema S   JSONL out (input fields + value, ok, score, deviations), then a summary
  score INPUT --schema S       the summary only
  show INPUT ID --schema S     one output explained: raw and canonical side by side, each deviation
  schemas                      the shipped schemas and their titles

INPUT is a JSONL file, a text file holding one output, or `-` for standard input. Exit
codes: 0 every output ok (and over --min-score), 1 some not, 2 a usage or input error (an
unreadable file, an unknown schema, a bad JSONL line: reported with its number and skipped
while the other lines still run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._batch import default_workers, normalize_pairs
from ._errors import GuardError
from ._records import FIELDS, Reader, Record
from ._result import Result
from ._schema import Schema, as_schema, shipped_names
from ._summary import Summary, table

if TYPE_CHECKING:
    from rich.console import Console

_EPILOG = "exit codes: 0 all ok, 1 some output not ok or under --min-score, 2 usage or input error"


def _parser() -> argparse.ArgumentParser:
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("input", help="a JSONL file, a text file holding one output, or - for stdin")
    reading.add_argument("--schema", required=True, help=f"a shipped schema ({', '.join(shipped_names())}) or a path")
    reading.add_argument("--field", help=f"the JSONL field holding the output (default: {', then '.join(FIELDS)})")
    reading.add_argument("--schema-field", help="take each record's schema from this JSONL field (else --schema)")
    reading.add_argument("--format", choices=("auto", "jsonl", "text"), default="auto", help="how to read INPUT")
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument("--workers", type=int, help=f"processes to use (default: every core, {default_workers()})")
    running.add_argument("--min-score", type=float, help="also fail outputs that score under this (0..1)")
    running.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")

    parser = argparse.ArgumentParser(
        prog="llm-guard-json", description="Normalize, score and explain the JSON an LLM wrote.", epilog=_EPILOG
    )
    commands = parser.add_subparsers(dest="command", required=True)
    norm = commands.add_parser(
        "normalize", parents=[reading, running], help="write each output's canonical value and deviations as JSONL"
    )
    norm.add_argument("--out", help="write the JSONL here instead of stdout")
    norm.add_argument("--explain", action="store_true", help="explain each output instead of writing JSONL")
    score = commands.add_parser("score", parents=[reading, running], help="the summary only")
    score.add_argument("--json", action="store_true", help="the summary as JSON")
    show = commands.add_parser("show", parents=[reading], help="explain one output: raw, canonical, deviations")
    show.add_argument("id", help="the record's `id` field, else its line number")
    commands.add_parser("schemas", help="list the shipped schemas")
    return parser


def _console(stream: TextIO) -> Console:
    from rich.console import Console

    terminal = stream.isatty()
    return Console(file=stream, width=None if terminal else 120, force_terminal=terminal, highlight=False)


def _open(path: str) -> tuple[TextIO, int | None]:
    """The input stream and its size in bytes (None for stdin)."""
    if path == "-":
        return sys.stdin, None
    file = Path(path)
    return file.open(encoding="utf-8", errors="replace"), file.stat().st_size


def _results(args: argparse.Namespace, schema: Schema, reader: Reader) -> Iterator[tuple[Record, Result]]:
    """Each record with its result, in input order, however many workers run."""
    pending: deque[Record] = deque()

    def pairs() -> Iterator[tuple[str, Any]]:
        for record in reader:
            pending.append(record)
            yield record.output, _schema_of(record, args.schema_field)

    for result in normalize_pairs(pairs(), schema, workers=getattr(args, "workers", 1)):
        yield pending.popleft(), result


def _schema_of(record: Record, field: str | None) -> Any:
    """The record's own schema (a name or path in `field`), or None for the run's."""
    own = record.fields.get(field) if field else None
    return own if isinstance(own, str) and own else None


def _row(record: Record, result: Result) -> dict[str, Any]:
    fields = record.fields or {"output": record.output}
    found = {"value": result.value, "ok": result.ok, "score": round(result.score, 6)}
    return {**fields, **found, "deviations": [d.as_dict() for d in result.deviations]}


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    schema = as_schema(args.schema)
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        raise GuardError(f"--min-score must be between 0 and 1, not {args.min_score}")
    errors = _console(err)
    try:
        stream, size = _open(args.input)
    except OSError as e:
        errors.print(f"llm-guard-json: cannot read {args.input!r}: {e.strerror}", markup=False)
        return 2
    summary = Summary()
    writing = args.command == "normalize" and not args.explain
    with contextlib.ExitStack() as stack:
        stack.enter_context(stream)
        sink = stack.enter_context(Path(args.out).open("w", encoding="utf-8")) if getattr(args, "out", None) else out
        progress = _progress(stack, err, size, quiet=args.no_progress)
        reader = Reader(
            stream,
            args.input,
            fmt=args.format,
            field=args.field,
            warn=lambda m: errors.print(m, markup=False),
            progress=progress,
        )
        for record, result in _results(args, schema, reader):
            summary.add(result, args.min_score)
            if writing:
                sink.write(json.dumps(_row(record, result), ensure_ascii=False) + "\n")
            elif args.command == "normalize":
                _console(sink).print(*_explained(record, result), markup=False)
        summary.skipped = reader.skipped
    _report(args, summary, out, errors)
    return 2 if summary.skipped else 0 if summary.passed else 1


def _progress(stack: contextlib.ExitStack, err: TextIO, size: int | None, *, quiet: bool) -> Any:
    """A callback taking bytes read: a rich progress bar on a terminal, else nothing."""
    if quiet or not err.isatty():
        return lambda n: None
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    bar = stack.enter_context(
        Progress(
            "normalizing",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=_console(err),
        )
    )
    task = bar.add_task("normalizing", total=size)
    return lambda n: bar.advance(task, n)


def _explained(record: Record, result: Result) -> list[Any]:
    from ._explain import explain

    name = record.fields.get("id", f"line {record.number}") if record.fields else "output"
    return explain(result, title=str(name))


def _report(args: argparse.Namespace, summary: Summary, out: TextIO, errors: Console) -> None:
    if args.command == "score" and args.json:
        out.write(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) + "\n")
    elif args.command == "score":
        _console(out).print(*table(summary))
    else:
        errors.print(*table(summary))


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    schema = as_schema(args.schema)
    try:
        stream, _ = _open(args.input)
    except OSError as e:
        print(f"llm-guard-json: cannot read {args.input!r}: {e.strerror}", file=err)
        return 2
    by_number: Record | None = None
    with stream:
        for record in Reader(stream, args.input, fmt=args.format, field=args.field):
            if str(record.fields.get("id")) == args.id:
                return _print_one(record, schema, args, out)
            if str(record.number) == args.id:
                by_number = record
    if by_number is None:
        print(f"llm-guard-json: no record with id or line number {args.id!r} in {args.input}", file=err)
        return 2
    return _print_one(by_number, schema, args, out)


def _print_one(record: Record, schema: Schema, args: argparse.Namespace, out: TextIO) -> int:
    result = next(normalize_pairs([(record.output, _schema_of(record, args.schema_field))], schema, workers=1))
    _console(out).print(*_explained(record, result), markup=False)
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        if args.command == "schemas":
            for name in shipped_names():
                print(f"{name:<16} {Schema(name).title}", file=out)
            return 0
        if args.command == "show":
            return _show(args, out, err)
        return _run(args, out, err)
    except GuardError as e:
        print(f"llm-guard-json: {e}", file=err)
        return 2
    except KeyboardInterrupt:
        print("llm-guard-json: interrupted", file=err)
        return 130
