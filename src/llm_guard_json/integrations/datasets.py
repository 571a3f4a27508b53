"""Hugging Face `datasets`: normalize a column of model outputs with `Dataset.map`.

    from datasets import load_dataset
    from llm_guard_json.integrations.datasets import normalize_dataset

    ds = load_dataset("json", data_files="outputs.jsonl", split="train")
    ds = normalize_dataset(ds, "resume", num_proc=8)
    good = ds.filter(lambda row: row["ok"])

Added columns: `value` (canonical JSON text; `json.loads` it), `ok`, `score`, `deviations`
(see `_columns`), with declared features, so a column that is all None or all empty
lists still types as text and as a list of deviations. The batch function fingerprints
by the schema's content, the options and this library's version: `datasets` reuses its
cache only when all three are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import datasets
except ImportError as e:  # tests/test_integrations_datasets.py runs this in a subprocess
    raise ImportError(
        f"llm_guard_json.integrations.datasets needs Hugging Face datasets ({e}); "
        "pip install 'llm-guard-json[datasets]'"
    ) from e

from .._errors import ConfigError
from .._limits import Limits
from .._types import Canonicalizers
from ._columns import NormalizeColumns, arrow_schema, check_counts

__all__ = ["normalize_dataset"]


def normalize_dataset(
    ds: datasets.Dataset,
    schema: Any,
    *,
    column: str = "output",
    prefix: str = "",
    batch_size: int = 1000,
    num_proc: int | None = None,
    canonicalizers: Canonicalizers | None = None,
    weights: Mapping[str, float] | None = None,
    limits: Limits | None = None,
) -> datasets.Dataset:
    """`ds` with the normalized columns added to every row, in order, one row per row.

    `schema` is anything `normalize` takes; `num_proc` worker processes share the rows
    (None: this process only). Custom `canonicalizers` must be importable functions when
    `num_proc` is set. A wrong `column` or a name clash (pass `prefix="lgj_"`) raises
    ConfigError before anything runs.
    """
    if not isinstance(ds, datasets.Dataset):
        hint = "; for a DatasetDict, call it on each split" if isinstance(ds, datasets.DatasetDict) else ""
        raise ConfigError(f"normalize_dataset takes a datasets.Dataset, not {type(ds).__name__}{hint}")
    check_counts(batch_size=batch_size, num_proc=num_proc)
    fn = NormalizeColumns.build(
        schema, column=column, prefix=prefix, canonicalizers=canonicalizers, weights=weights, limits=limits
    )
    fn.check(ds.column_names)
    features = datasets.Features({**ds.features, **datasets.Features.from_arrow_schema(arrow_schema(prefix))})
    return ds.map(
        fn,
        batched=True,
        batch_size=batch_size,
        num_proc=num_proc,
        features=features,
        desc="Normalizing",
    )
