"""The command line: `llm-guard-json normalize FILE --schema NAME`. main(argv) -> exit code.

Exit codes: 0 every output ok, 1 some output not ok, 2 a usage or input error (a bad
JSONL line is reported with its number and skipped; the other lines still run).
FILE is a text file holding one output, a JSONL file with an `output` field per line,
or `-` for standard input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from ._errors import GuardError
from ._pipeline import normalize
from ._result import Result
from ._schema import Schema, as_schema, shipped_names

_FIELDS = ("output", "completion", "response", "text")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-guard-json", description="Normalize LLM JSON output to canonical form.")
    commands = parser.add_subparsers(dest="command", required=True)
    norm = commands.add_parser("normalize", help="normalize model outputs and print values and deviations")
    norm.add_argument("input", help="a text file with one output, a .jsonl file, or - for stdin")
    norm.add_argument("--schema", required=True, help=f"a shipped schema ({', '.join(shipped_names())}) or a path")
    norm.add_argument("--field", default=None, help="JSONL field holding the output (default: output, completion, ...)")
    commands.add_parser("schemas", help="list the shipped schemas")
    return parser


def _output_field(line: str, names: tuple[str, ...]) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return next((n for n in names if isinstance(record, dict) and isinstance(record.get(n), str)), None)


def _is_jsonl(lines: list[str], name: str, names: tuple[str, ...]) -> bool:
    """A .jsonl name, or every line a JSON object holding an output field (else: one output)."""
    if name.endswith(".jsonl"):
        return True
    filled = [ln for ln in lines if ln.strip()]
    return bool(filled) and all(_output_field(ln, names) for ln in filled)


def _records(text: str, name: str, field: str | None, err: TextIO) -> Iterator[tuple[dict[str, Any], str] | None]:
    """(passthrough fields, model output) per output; None for a bad JSONL line (reported)."""
    lines = text.splitlines()
    if not _is_jsonl(lines, name, (field,) if field else _FIELDS):
        yield {}, text
        return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"{name}:{number}: not a JSON line ({e.msg}); skipped", file=err)
            yield None
            continue
        names = (field,) if field else _FIELDS
        key = next((n for n in names if isinstance(record, dict) and isinstance(record.get(n), str)), None)
        if key is None:
            print(f"{name}:{number}: no string field {' / '.join(names)}; skipped", file=err)
            yield None
            continue
        yield {k: v for k, v in record.items() if k != key}, record[key]


def _show(result: Result, out: TextIO) -> None:
    print(result.text if result.text is not None else "(no JSON found)", file=out)
    status = "ok" if result.ok else "NOT OK"
    print(f"-- {status}, score {result.score:.3f}, {len(result.deviations)} deviation(s)", file=out)
    for d in result.deviations:
        print(f"   {d.code:<24} {d.pointer or '/':<28} {d.detail}", file=out)


def _normalize(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    schema: Schema = as_schema(args.schema)
    if args.input == "-":
        text, name = sys.stdin.read(), "<stdin>"
    else:
        try:
            text, name = Path(args.input).read_text(encoding="utf-8", errors="replace"), args.input
        except OSError as e:
            print(f"llm-guard-json: cannot read {args.input!r}: {e.strerror}", file=err)
            return 2
    all_ok, skipped = True, 0
    records = list(_records(text, name, args.field, err))
    for record in records:
        if record is None:
            skipped += 1
            continue
        passthrough, output = record
        result = normalize(output, schema)
        all_ok = all_ok and result.ok
        if len(records) == 1 and not passthrough:
            _show(result, out)
        else:
            print(json.dumps({**passthrough, **_row(result)}, ensure_ascii=False), file=out)
    return 2 if skipped else 0 if all_ok else 1


def _row(result: Result) -> dict[str, Any]:
    row = result.as_dict()
    row.pop("text")
    return row


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
        return _normalize(args, out, err)
    except GuardError as e:
        print(f"llm-guard-json: {e}", file=err)
        return 2
