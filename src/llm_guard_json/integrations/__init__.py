"""Normalize a column of model outputs in a dataset: Hugging Face `datasets` and Ray Data.

`llm_guard_json.integrations.datasets.normalize_dataset` (extra `[datasets]`) and
`llm_guard_json.integrations.ray.normalize_dataset` (extra `[ray]`) add the columns `value`
(canonical JSON text), `ok`, `score` and `deviations` to every row. Both run the one
batch function in `_columns`; importing this package imports neither library.
"""
