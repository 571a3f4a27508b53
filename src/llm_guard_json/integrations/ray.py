"""Ray Data: normalize a column of model outputs on every core of every node of a Ray cluster.

    import ray
    from llm_guard_json.integrations.ray import normalize_dataset

    ds = ray.data.read_json("s3://bucket/outputs/")          # rows with an "output" column
    normalize_dataset(ds, "resume").write_parquet("s3://bucket/normalized/")

The result is lazy, like every Ray Data transform: nothing runs until it is consumed.
Added columns: `value` (canonical JSON text; `json.loads` it), `ok`, `score`, `deviations`
(see `_columns`). Batches travel as Arrow tables and the added columns have fixed Arrow
types, so a batch with no JSON at all or no deviations types like every other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

try:
    import pyarrow as pa
    import ray.data
except ImportError as e:  # tests/test_integrations_ray.py runs this in a subprocess
    raise ImportError(f"llm_guard_json.integrations.ray needs Ray Data ({e}); pip install 'llm-guard-json[ray]'") from e

from .._errors import ConfigError
from .._limits import Limits
from .._types import Canonicalizers
from ._columns import NormalizeColumns, arrow_schema, check_counts

__all__ = ["normalize_dataset"]


def normalize_dataset(
    ds: ray.data.Dataset,
    schema: Any,
    *,
    column: str = "output",
    prefix: str = "",
    batch_size: int = 1000,
    concurrency: int | None = None,
    canonicalizers: Canonicalizers | None = None,
    weights: Mapping[str, float] | None = None,
    limits: Limits | None = None,
) -> ray.data.Dataset:
    """`ds` with the normalized columns added to every row, lazily, in order, one row per row.

    `schema` is anything `normalize` takes; workers rebuild it from its JSON text, so a
    path need not exist on the other nodes. `concurrency` caps the parallel tasks (default:
    as many as the cluster has CPUs). Custom `canonicalizers` must be importable on every
    node. A wrong `column` or a name clash (pass `prefix="lgj_"`) raises ConfigError here
    when the schema of `ds` is already known, else when the dataset runs.
    """
    if not isinstance(ds, ray.data.Dataset):
        raise ConfigError(f"normalize_dataset takes a ray.data.Dataset, not {type(ds).__name__}")
    check_counts(batch_size=batch_size, concurrency=concurrency)
    core = NormalizeColumns.build(
        schema, column=column, prefix=prefix, canonicalizers=canonicalizers, weights=weights, limits=limits
    )
    known = ds.columns(fetch_if_missing=False)  # never runs the dataset to find out
    if known is not None:
        core.check(known)
    return ds.map_batches(
        ArrowBatches(core),
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=None if concurrency is None else ray.data.TaskPoolStrategy(size=concurrency),
        udf_modifying_row_count=False,  # one row out per row in: lets Ray push a limit() down past it
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ArrowBatches:
    """NormalizeColumns over an Arrow table: the added columns get their fixed Arrow types."""

    core: NormalizeColumns

    def __call__(self, table: pa.Table) -> pa.Table:
        self.core.check(table.column_names)
        added = self.core.columns(table.column(self.core.column).to_pylist())
        for field in arrow_schema(self.core.prefix):
            table = table.append_column(field, pa.array(added[field.name], type=field.type))
        return table
