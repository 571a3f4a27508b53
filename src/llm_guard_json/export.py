"""Training data from the feedback store: DPO, KTO and SFT files for TRL and LLaMA-Factory.

A deviating output becomes a DPO *rejected* sample or a KTO undesirable one (label false); the
canonical text, exactly `StoredRecord.text`, is the *chosen* sample, the KTO desirable one and the
SFT target, and only an ok record's text is ever used so. Files are written whole or not at all;
`export_store` returns an `ExportReport` of what was written and what was skipped, and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._errors import ConfigError
from ._export_rows import SKIP_REASONS, SPECS, Filters, Item, Kind, dataset_info_entry, items, row

if TYPE_CHECKING:
    from .feedback import StoredRecord

__all__ = [
    "ExportReport",
    "FORMATS",
    "Filters",
    "KTO_BALANCE",
    "RecordSource",
    "SKIP_REASONS",
    "export_store",
    "kto_weights",
]

#: The export formats: TRL's (JSONL) and LLaMA-Factory's (a JSON array and a dataset_info.json entry).
FORMATS: tuple[str, ...] = tuple(SPECS)
#: The ways to balance KTO's desirable and undesirable training rows.
KTO_BALANCE = ("weight", "subsample")


def kto_weights(desirable: int, undesirable: int) -> tuple[float, float]:
    """(desirable_weight, undesirable_weight) that bring the weighted ratio into TRL's 1:1 to 4:3.

    TRL checks that range as 1 to 1.33 on weights rounded to 2 decimals, so the rarer class is
    weighted up just enough, rounded up to 2 decimals. With one class missing both stay 1.0.
    """
    if desirable <= 0 or undesirable <= 0 or (undesirable <= desirable and 100 * desirable <= 133 * undesirable):
        return 1.0, 1.0
    if desirable < undesirable:
        weight = _round_up(undesirable / desirable)
        while weight * desirable < undesirable:  # 1.4 * 345 < 483 in floating point
            weight = round(weight + 0.01, 2)
        return weight, 1.0
    weight = _round_up(desirable / (1.33 * undesirable))
    while desirable > 1.33 * weight * undesirable:
        weight = round(weight + 0.01, 2)
    return 1.0, weight


def _round_up(x: float) -> float:
    return math.ceil(round(x * 100, 6)) / 100


@dataclass(slots=True)
class ExportReport:
    """What one export wrote, and what it skipped and why.

    `records` were read and `exported` gave at least one row; `skipped` counts the others by
    `SKIP_REASONS` name; `rows` counts the rows of each data file, and `files` lists every file
    written (dataset_info.json too). For KTO, `desirable` and `undesirable` count the training rows
    and the two weights are the ones to give the trainer.
    """

    format: str
    name: str
    out_dir: Path
    conversational: bool | None = None
    records: int = 0
    exported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    desirable: int = 0
    undesirable: int = 0
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0

    @property
    def kto_ratio(self) -> float | None:
        """desirable / undesirable training rows (None without undesirable rows)."""
        return self.desirable / self.undesirable if self.undesirable else None

    def lines(self) -> list[str]:
        """A human-readable summary, as lines to print."""
        style = {None: "", True: " (conversational)", False: " (standard)"}[self.conversational]
        out = [f"{self.format}{style}: {self.exported} of {self.records} records exported to {self.out_dir}"]
        out += [f"  {file}: {n} rows" for file, n in self.rows.items()]
        if self.skipped:
            out.append(f"  skipped {sum(self.skipped.values())} records:")
            for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append(f"    {n:>7}  {reason:<21} {SKIP_REASONS.get(reason, '')}")
        if SPECS[self.format][0] == "kto":
            out += self._kto_lines()
        out += [f"  warning: {file} has no rows" for file, n in self.rows.items() if n == 0]
        return out

    def _kto_lines(self) -> list[str]:
        d, u, wd, wu = self.desirable, self.undesirable, self.desirable_weight, self.undesirable_weight
        weighted = f"{wd * d / (wu * u):.2f}" if u else "-"
        lines = [f"  KTO training rows: {d} desirable, {u} undesirable; weighted ratio {weighted} (aim: 1.00 to 1.33)"]
        if self.format == "trl-kto":
            lines.append(f"  pass KTOConfig(desirable_weight={wd}, undesirable_weight={wu})")
        else:
            lines.append(f"  set kto_chosen_weight: {wd} and kto_rejected_weight: {wu} in the training YAML")
        if not d or not u:
            lines.append("  warning: one class only; KTO can train on it, with a conservative learning rate")
        elif not 1.0 <= round(wd * d / (wu * u), 2) <= 1.33:
            sd, su = kto_weights(d, u)
            lines.append(
                f"  warning: outside TRL's range; weights {sd} and {su} bring it in (kto_balance='weight'), "
                "or kto_balance='subsample' drops rows of the commoner class"
            )
        return lines


class RecordSource(Protocol):
    """Anything with a `records()` method, such as the feedback store."""

    def records(self) -> Iterable[StoredRecord]: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    record: int
    key: str
    split: str
    item: Item


def export_store(
    store_or_records: RecordSource | Iterable[StoredRecord],
    fmt: str,
    out_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    filters: Filters | None = None,
    eval_fraction: float = 0.0,
    kto_balance: str | None = None,
    conversational: bool | None = None,
) -> ExportReport:
    """Write the records (a store's `records()`, or any iterable) to `out_dir` in format `fmt`.

    TRL formats write NAME.jsonl; LLaMA-Factory's write NAME.json (an array, one row per line) and
    merge its entry into `out_dir/dataset_info.json`. NAME defaults to the format with `_` for `-`.
    With `eval_fraction`, a stable hash of each record's key sends it to NAME_train or NAME_eval.
    `conversational` picks TRL's chat-message form (the default: a prompt is a user turn, and TRL
    applies the model's chat template) or plain strings. `kto_balance` is "weight" (report the
    weights that bring the training rows into TRL's 1:1 to 4:3) or "subsample" (drop rows of the
    commoner class, chosen by hash, into that range).
    """
    kind, formatting = _check_format(fmt)
    name = _check_options(fmt, name, filters, eval_fraction, kto_balance, conversational)
    if formatting is None and conversational is None:
        conversational = True
    out = _out_dir(out_dir)
    info = _read_dataset_info(out / "dataset_info.json") if formatting else None
    report = ExportReport(fmt, name, out, conversational)
    skipped: Counter[str] = Counter()
    entries = _collect(_records(store_or_records), kind, filters, conversational, eval_fraction, report, skipped)
    seen: set[Item] = set()

    def unseen(entry: _Entry) -> bool:
        new = entry.item not in seen
        seen.add(entry.item)
        return new

    entries = _keep(entries, unseen, "duplicate", skipped)
    if kind == "kto":
        entries = _balance(entries, kto_balance, report, skipped)
    report.exported = len({e.record for e in entries})
    report.skipped = {reason: n for reason, n in sorted(skipped.items()) if n}

    splits = {"train": f"{name}_train", "eval": f"{name}_eval"} if eval_fraction else {"train": name}
    suffix = ".jsonl" if formatting is None else ".json"
    files: list[tuple[str, Iterable[str]]] = []
    for split, dataset in splits.items():
        examples = [e.item for e in entries if e.split == split]
        report.rows[dataset + suffix] = len(examples)
        lines = (_dump_line(row(fmt, item, conversational=bool(conversational))) for item in examples)
        files.append((dataset + suffix, lines if formatting is None else _json_array(lines)))
    if info is not None:
        info |= {dataset: dataset_info_entry(fmt, dataset + suffix) for dataset in splits.values()}
        files.append(("dataset_info.json", [json.dumps(info, ensure_ascii=False, indent=2)]))
    report.files = _write_files(out, files)
    return report


def _collect(
    records: Iterable[StoredRecord],
    kind: Kind,
    filters: Filters | None,
    conversational: bool | None,
    eval_fraction: float,
    report: ExportReport,
    skipped: Counter[str],
) -> list[_Entry]:
    """Every record's examples, each with its split; counts the records read and the ones skipped."""
    entries: list[_Entry] = []
    for index, record in enumerate(records):
        report.records += 1
        reason = filters.reason(record) if filters else None
        examples: list[Item] = []
        if reason is None:
            reason, examples = items(record, kind, conversational)
        if reason is not None:
            skipped[reason] += 1
            continue
        split = "eval" if eval_fraction and _unit(f"split:{record.key}") < eval_fraction else "train"
        entries += [_Entry(index, record.key, split, item) for item in examples]
    return entries


def _balance(
    entries: list[_Entry], kto_balance: str | None, report: ExportReport, skipped: Counter[str]
) -> list[_Entry]:
    """KTO: subsample or weigh the training rows as `kto_balance` says; counts the classes."""
    if kto_balance == "subsample":
        dropped = _subsample([e for e in entries if e.split == "train"])
        entries = _keep(entries, lambda e: e not in dropped, "kto_balance", skipped)
    report.desirable = sum(1 for e in entries if e.split == "train" and e.item.label)
    report.undesirable = sum(1 for e in entries if e.split == "train" and not e.item.label)
    if kto_balance == "weight":
        report.desirable_weight, report.undesirable_weight = kto_weights(report.desirable, report.undesirable)
    return entries


def _check_format(fmt: object) -> tuple[Kind, str | None]:
    if not isinstance(fmt, str) or fmt not in SPECS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return SPECS[fmt]


def _check_options(
    fmt: str,
    name: str | None,
    filters: object,
    eval_fraction: object,
    kto_balance: object,
    conversational: object,
) -> str:
    """The dataset name to use, once every option is checked."""
    name = fmt.replace("-", "_") if name is None else name
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name == "dataset_info":
        raise ConfigError(f"name must be letters, digits, '_', '.' or '-' (a file name stem), not {name!r}")
    if filters is not None and not isinstance(filters, Filters):
        raise ConfigError(f"filters must be a Filters(...), got {type(filters).__name__}")
    if isinstance(eval_fraction, bool) or not isinstance(eval_fraction, int | float) or not 0 <= eval_fraction < 1:
        raise ConfigError(f"eval_fraction must be a number from 0 up to (not including) 1, got {eval_fraction!r}")
    kind, formatting = SPECS[fmt]
    if kto_balance is not None and (kind != "kto" or kto_balance not in KTO_BALANCE):
        raise ConfigError(f"kto_balance is None, 'weight' or 'subsample', for KTO formats only; got {kto_balance!r}")
    if conversational is not None and (formatting is not None or not isinstance(conversational, bool)):
        raise ConfigError("conversational is True or False, for trl-* formats only (LLaMA-Factory's are fixed)")
    return name


def _records(source: RecordSource | Iterable[StoredRecord]) -> Iterable[StoredRecord]:
    records = getattr(source, "records", None)
    if callable(records):
        return cast("Iterable[StoredRecord]", records())
    if isinstance(source, str | bytes | os.PathLike) or not isinstance(source, Iterable):
        raise ConfigError(f"pass a feedback store or an iterable of StoredRecord, got {type(source).__name__}")
    return source


def _unit(text: str) -> float:
    """A stable number in [0, 1) drawn from `text`."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "big") / 2**64


def _keep(entries: list[_Entry], keep: Callable[[_Entry], bool], reason: str, skipped: Counter[str]) -> list[_Entry]:
    """The entries `keep` accepts; a record that loses all of its entries is counted as skipped for `reason`."""
    kept = [e for e in entries if keep(e)]
    skipped[reason] += len({e.record for e in entries} - {e.record for e in kept})
    return kept


def _subsample(train: list[_Entry]) -> set[_Entry]:
    """The commoner class's rows to drop so that desirable:undesirable lands in 1:1 to 4:3."""
    desirable = [e for e in train if e.item.label]
    undesirable = [e for e in train if not e.item.label]
    if not desirable or not undesirable:
        return set()
    if 100 * len(desirable) > 133 * len(undesirable):
        commoner, keep = desirable, 133 * len(undesirable) // 100
    elif len(desirable) < len(undesirable):
        commoner, keep = undesirable, len(desirable)
    else:
        return set()
    ranked = sorted(commoner, key=lambda e: _unit(f"kto:{e.key}:{e.item.label}"))
    return set(ranked[keep:])


def _dump_line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _json_array(lines: Iterable[str]) -> Iterator[str]:
    """The lines of a JSON array that holds one row per line.

    LLaMA-Factory's files are arrays: `datasets` reads an array whole, while it types JSONL columns
    from the first block alone, which fails when only later rows carry an alpaca `history`.
    """
    yield "["
    previous: str | None = None
    for line in lines:
        if previous is not None:
            yield previous + ","
        previous = line
    if previous is not None:
        yield previous
    yield "]"


def _out_dir(out_dir: str | os.PathLike[str]) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the output directory {out} is a file; pass a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the output directory {out} ({err}); pass a writable directory") from err
    return out


def _read_dataset_info(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path} ({err}); fix or remove it") from err
    if not isinstance(info, dict):
        raise ConfigError(f"{path} must hold a JSON object of datasets; fix or remove it")
    return info


def _write_files(out: Path, files: list[tuple[str, Iterable[str]]]) -> list[Path]:
    """Write each file under a temporary name in `out`, then rename them all into place.

    An error while writing removes every temporary file and replaces no file.
    """
    written: list[tuple[Path, Path]] = []
    try:
        for file_name, lines in files:
            temp = out / f".{file_name}.{secrets.token_hex(6)}.tmp"
            written.append((temp, out / file_name))
            with temp.open("x", encoding="utf-8", newline="\n") as f:
                for line in lines:
                    f.write(line + "\n")
        for temp, path in written:
            os.replace(temp, path)
    except BaseException:
        for temp, _ in written:
            with contextlib.suppress(OSError):
                temp.unlink()
        raise
    return [path for _, path in written]
