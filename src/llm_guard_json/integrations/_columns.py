"""NormalizeColumns: the one batch function behind every dataset integration.

A batch is columns of rows (`{"output": [...], "id": [...]}`: lists, numpy object arrays,
a `datasets` LazyBatch). The function normalizes the `column` of model outputs and adds
four columns, keeping every input column:

    value       the canonical JSON text (`Result.text`), or None when no JSON was found:
                Arrow cannot hold JSON values whose type differs per row, so
                `json.loads(row["value"])` gives the value
    ok          bool
    score       float
    deviations  list of {"code", "pointer", "detail", "weight"} (the pointer, not the
                mixed str/int `path`, which Arrow cannot type)

A missing output (None) is a result that is not ok (`no_json`); a value that is not text
(a column of already decoded objects) is normalized as its JSON text.

The instance is cheap to pickle and hashes the same in every process: it carries the
schema's JSON text and name, not a compiled Schema, so a worker on any node rebuilds it
once (cached), and `datasets` caching sees a changed schema, option or library version.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import __version__
from .._deviation import Deviation
from .._errors import ConfigError
from .._limits import Limits
from .._pipeline import normalize
from .._result import Result
from .._schema import Schema, as_schema
from .._types import Canonicalizer, Canonicalizers

if TYPE_CHECKING:
    import pyarrow as pa

#: The columns added to every row, before the prefix.
NEW_COLUMNS = ("value", "ok", "score", "deviations")
_MISSING = "the output is missing (None)"


@dataclasses.dataclass(frozen=True, slots=True)
class NormalizeColumns:
    """`batch -> batch` with the normalized columns added; build it with `NormalizeColumns.build`."""

    schema_json: str
    schema_name: str
    column: str = "output"
    prefix: str = ""
    canonicalizers: tuple[tuple[str, Canonicalizer], ...] | None = None
    weights: tuple[tuple[str, float], ...] = ()
    limits: Limits | None = None
    version: str = __version__  # part of the datasets fingerprint: a new release recomputes

    @classmethod
    def build(
        cls,
        schema: Any,
        *,
        column: str = "output",
        prefix: str = "",
        canonicalizers: Canonicalizers | None = None,
        weights: Mapping[str, float] | None = None,
        limits: Limits | None = None,
    ) -> NormalizeColumns:
        """Check every argument here, in the caller's process, and keep what a worker needs."""
        compiled = as_schema(schema)
        if not isinstance(column, str) or not column:
            raise ConfigError(f"column must be the name of the column that holds the outputs, not {column!r}")
        if not isinstance(prefix, str):
            raise ConfigError(f"prefix must be a string such as 'lgj_', not {prefix!r}")
        chosen = canonicalizers if canonicalizers is not None else compiled.canonicalizers
        normalize("", compiled, canonicalizers=chosen, weights=weights, limits=limits)  # raises on a bad option
        try:  # what a worker rebuilds the schema from: JSON text, never a class, a path or a Schema
            text = json.dumps(compiled.root, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise ConfigError(
                f"the schema holds a value JSON cannot write ({e}), so no worker could rebuild it; pass a "
                "shipped name, a path to a .json file, a JSON-ready dict or a pydantic model class"
            ) from e
        return cls(
            schema_json=text,
            schema_name=compiled.name,
            column=column,
            prefix=prefix,
            canonicalizers=None if chosen is None else tuple(sorted(chosen.items())),
            weights=tuple(sorted((code, float(w)) for code, w in (weights or {}).items())),
            limits=limits,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The added columns' names, prefixed: ("value", "ok", "score", "deviations") by default."""
        return tuple(self.prefix + n for n in NEW_COLUMNS)

    def check(self, columns: Collection[str]) -> None:
        """Raise ConfigError unless `columns` has the output column and none of the added ones."""
        if self.column not in columns:
            raise ConfigError(
                f"no column {self.column!r} to normalize; the columns are {list(columns)}: "
                "pass column= the one that holds the model outputs"
            )
        taken = [n for n in self.names if n in columns]
        if taken:
            raise ConfigError(
                f"the dataset already has the column(s) {taken} that normalizing adds; "
                "pass prefix= (e.g. prefix='lgj_') to name the new columns apart"
            )

    def __call__(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
        """The batch, every column kept, with the added columns as lists of plain Python objects."""
        self.check(batch.keys())
        out: dict[str, Any] = dict(batch)
        out.update(self.columns(batch[self.column]))
        return out

    def columns(self, outputs: Iterable[Any]) -> dict[str, list[Any]]:
        """Only the added columns, for these outputs, in order."""
        results = self.results(outputs)
        value, ok, score, deviations = self.names
        return {
            value: [r.text for r in results],
            ok: [r.ok for r in results],
            score: [float(r.score) for r in results],
            deviations: [[_deviation(d) for d in r.deviations] for r in results],
        }

    def results(self, outputs: Iterable[Any]) -> list[Result]:
        """The Results: None is missing (not ok), a value that is not text is read as its JSON text."""
        schema = _schema(self.schema_json, self.schema_name)
        options: dict[str, Any] = {
            "canonicalizers": None if self.canonicalizers is None else dict(self.canonicalizers),
            "weights": dict(self.weights),
            "limits": self.limits,
        }
        out = []
        for raw in outputs:
            if raw is None:
                out.append(_missing(normalize("", schema, **options)))
            elif isinstance(raw, str | bytes | bytearray):
                out.append(normalize(raw if isinstance(raw, str) else bytes(raw), schema, **options))
            else:
                out.append(normalize(json.dumps(raw, ensure_ascii=False, default=_plain), schema, **options))
        return out


def check_counts(**counts: int | None) -> None:
    """Raise ConfigError naming the first count that is neither None nor a positive int."""
    for name, n in counts.items():
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError(f"{name} must be a positive int, not {n!r}")


def _missing(empty: Result) -> Result:
    """The result for no output at all: an empty output's, its `no_json` saying so."""
    devs = tuple(dataclasses.replace(d, detail=_MISSING) if d.code == "no_json" else d for d in empty.deviations)
    return dataclasses.replace(empty, deviations=devs)


def _plain(o: Any) -> Any:
    """What JSON cannot write as it is: a numpy value as its Python value, anything else as text."""
    return o.tolist() if hasattr(o, "tolist") else str(o)


def _deviation(d: Deviation) -> dict[str, Any]:
    """A deviation as Arrow can type it: `Deviation.as_dict` without the mixed str/int `path`."""
    return {"code": d.code, "pointer": d.pointer, "detail": d.detail, "weight": float(d.weight)}


@functools.lru_cache(maxsize=16)
def _schema(schema_json: str, name: str) -> Schema:
    """The schema compiled once per process (a worker's every batch reuses it)."""
    schema = Schema(json.loads(schema_json))
    schema.name = name  # the wrapper key it may sit under, as with the caller's Schema
    return schema


def arrow_schema(prefix: str = "") -> pa.Schema:
    """The Arrow types of the added columns (pyarrow comes with both `datasets` and Ray Data)."""
    import pyarrow as pa

    deviation = pa.struct(
        [("code", pa.string()), ("pointer", pa.string()), ("detail", pa.string()), ("weight", pa.float64())]
    )
    types = (pa.string(), pa.bool_(), pa.float64(), pa.list_(deviation))
    return pa.schema([pa.field(prefix + n, t) for n, t in zip(NEW_COLUMNS, types, strict=True)])
