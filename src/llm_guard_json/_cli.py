"""The command line, `llm-guard-json` (or `python -m llm_guard_json`). main(argv) -> exit code.

  normalize INPUT --schema S   JSONL out (input fields + value, ok, score, deviations), then a summary
  score INPUT --schema S       the summary only
  show INPUT ID --schema S     one output explained: raw and canonical side by side, each deviation
  report RUN [RUN ...]         per-run figures side by side and what to train next (--json, --html FILE;
                               --store DB: one run per model a feedback store holds)
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
from ._errors import ConfigError, GuardError
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
    norm.add_argument("--store", help="record every output, its prompt and its result in this SQLite file")
    norm.add_argument("--model", help="the model or adapter id to record (default: each line's `model` field)")
    norm.add_argument("--tag", action="append", default=[], help="a tag to record with every output (repeatable)")
    score = commands.add_parser("score", parents=[reading, running], help="the summary only")
    score.add_argument("--json", action="store_true", help="the summary as JSON")
    show = commands.add_parser("show", parents=[reading], help="explain one output: raw, canonical, deviations")
    show.add_argument("id", help="the record's `id` field, else its line number")
    commands.add_parser("schemas", help="list the shipped schemas")
    _export_parser(commands)
    from ._report_cli import add_arguments

    add_arguments(commands.add_parser("report", help="a deviation report per run, and what to train next"))
    return parser


def _export_parser(commands: Any) -> None:
    from .export import FORMATS, KTO_BALANCE

    export = commands.add_parser("export", help="write DPO, KTO or SFT training files from a feedback store")
    export.add_argument("--format", required=True, choices=FORMATS, help="the trainer's format")
    export.add_argument("--store", required=True, help="the SQLite file `normalize --store` wrote")
    export.add_argument("--out", required=True, help="the directory to write into (created if missing)")
    export.add_argument("--name", help="the dataset name (default: the format, with _ for -)")
    export.add_argument("--min-score", type=float, help="only records scoring at least this")
    export.add_argument("--max-score", type=float, help="only records scoring at most this")
    export.add_argument("--code", action="append", default=[], help="only records with this deviation code or family")
    export.add_argument("--exclude-code", action="append", default=[], help="no records with this code or family")
    export.add_argument("--schema", help="only records of this schema name")
    export.add_argument("--model", help="only records of this model or adapter id")
    export.add_argument("--since", help="only records from this time on (ISO 8601, or seconds since the epoch)")
    export.add_argument("--until", help="only records before this time (ISO 8601, or seconds since the epoch)")
    export.add_argument("--eval-fraction", type=float, default=0.0, help="send this share to NAME_eval, by hash")
    export.add_argument("--kto-balance", choices=KTO_BALANCE, help="KTO: weight or subsample into TRL's 1:1 to 4:3")
    export.add_argument(
        "--standard", action="store_true", help="TRL: plain strings instead of chat messages (string prompts only)"
    )


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
        recorder = _Recorder(stack, args, errors) if getattr(args, "store", None) else None
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
            if recorder is not None:
                recorder.add(record, result)
            if writing:
                sink.write(json.dumps(_row(record, result), ensure_ascii=False) + "\n")
            elif args.command == "normalize":
                _console(sink).print(*_explained(record, result), markup=False)
        summary.skipped = reader.skipped
        if recorder is not None:
            recorder.flush()
            errors.print(recorder.line(), markup=False)
    _report(args, summary, out, errors)
    return 2 if summary.skipped else 0 if summary.passed else 1


class _Recorder:
    """Writes each output, its prompt and its result to the feedback store, a batch at a time."""

    BATCH = 256

    def __init__(self, stack: contextlib.ExitStack, args: argparse.Namespace, errors: Console) -> None:
        from .feedback import FeedbackStore

        self.store = stack.enter_context(FeedbackStore(args.store))
        self.model, self.tags, self.errors = args.model, tuple(args.tag), errors
        self.batch: list[Any] = []
        self.seen = self.new = self.unstored = 0

    def add(self, record: Record, result: Result) -> None:
        """Queue one output; its prompt is the line's `prompt` (text) or `messages` (a chat list)."""
        from .feedback import Item, _check_prompt  # loaded with the store: a lookup, not a load

        self.seen += 1
        fields = record.fields
        prompt = fields["prompt"] if isinstance(fields.get("prompt"), str) else fields.get("messages", "")
        model = self.model or (fields["model"] if isinstance(fields.get("model"), str) else None)
        attempt = fields.get("attempt", 1)
        try:
            _check_prompt(prompt)
            item = Item(result, prompt, model, attempt if isinstance(attempt, int) and attempt >= 1 else 1, self.tags)
        except ConfigError as e:
            self.unstored += 1
            self.errors.print(f"line {record.number}: not stored: {e}", markup=False)
            return
        self.batch.append(item)
        if len(self.batch) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.new += self.store.add_many(self.batch)
            self.batch = []

    def line(self) -> str:
        unstored = f"; {self.unstored:,} not stored (a bad prompt)" if self.unstored else ""
        return f"stored in {self.store.path}: {self.new:,} new of {self.seen:,}{unstored}"


def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .export import Filters, export_store
    from .feedback import FeedbackStore

    if not Path(args.store).is_file():
        print(f"llm-guard-json: no feedback store at {args.store!r}; write one with `normalize ... --store`", file=err)
        return 2
    filters = Filters(
        min_score=args.min_score,
        max_score=args.max_score,
        codes=tuple(args.code),
        exclude_codes=tuple(args.exclude_code),
        schema=args.schema,
        model=args.model,
        since=_when(args.since, "--since"),
        until=_when(args.until, "--until"),
    )
    conversational = False if args.standard else None
    with FeedbackStore(args.store) as store:
        report = export_store(
            store,
            args.format,
            args.out,
            name=args.name,
            filters=filters,
            eval_fraction=args.eval_fraction,
            kto_balance=args.kto_balance,
            conversational=conversational,
        )
    for line in report.lines():
        print(line, file=out)
    return 0


def _when(text: str | None, option: str) -> float | None:
    """ISO 8601 (a date or a time; UTC when no zone is given) or seconds since the epoch."""
    import datetime as dt

    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        example = "2026-11-01 or 2026-11-01T08:00:00+08:00"
        raise GuardError(f"{option} takes an ISO 8601 time such as {example}, not {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


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
        if args.command == "export":
            return _export(args, out, err)
        if args.command == "report":
            from ._report_cli import run

            return run(args, out, err)
        return _run(args, out, err)
    except GuardError as e:
        print(f"llm-guard-json: {e}", file=err)
        return 2
    except KeyboardInterrupt:
        print("llm-guard-json: interrupted", file=err)
        return 130
