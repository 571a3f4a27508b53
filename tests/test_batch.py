"""normalize_many: the same results as one call at a time, in input order, read lazily."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import load_corpus
from llm_guard_json import ConfigError, Schema, normalize, normalize_many

CASES = load_corpus()


def _same(a: object, b: object) -> bool:
    from llm_guard_json import Result

    assert isinstance(a, Result) and isinstance(b, Result)
    return (a.raw, a.value, a.ok, a.deviations, a.score, a.text) == (
        b.raw,
        b.value,
        b.ok,
        b.deviations,
        b.score,
        b.text,
    )


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_equals_one_call_at_a_time_in_any_worker_count(workers: int) -> None:
    for name in ("resume", "medical_record"):
        raws = [c["raw"] for c in CASES if c["schema"] == name]
        got = list(normalize_many(raws, name, workers=workers, chunk_size=7))
        assert len(got) == len(raws)
        assert all(_same(g, normalize(r, name)) for g, r in zip(got, raws, strict=True))
        assert all(g.schema is not None and g.schema.name == name for g in got)


def test_a_dict_schema_bytes_and_options_reach_the_workers() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    raws = [b'{"n": "3"}', '```json\n{"n": 4}\n```', "nothing"] * 5
    got = list(normalize_many(raws, schema, workers=2, chunk_size=2, weights={"fence": 0.5}))
    want = [normalize(r, schema, weights={"fence": 0.5}) for r in raws]
    assert [(g.value, g.ok, g.score) for g in got] == [(w.value, w.ok, w.score) for w in want]
    assert got[1].score == pytest.approx(1 / 1.5)


def test_reads_ahead_only_a_few_chunks() -> None:
    read = 0

    def outputs() -> Iterator[str]:
        nonlocal read
        for i in range(100_000):
            read += 1
            yield f'{{"name": "n{i}"}}'

    results = normalize_many(outputs(), "resume", workers=2, chunk_size=10)
    first = next(results)
    assert first.value["name"] == "n0"  # type: ignore[index]
    assert read <= 2 * 2 * 10 + 10  # two chunks per worker in flight, one being cut
    results.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kwargs", "word"), [({"workers": 0}, "workers"), ({"chunk_size": 0}, "chunk_size")])
def test_bad_arguments_name_the_fix(kwargs: dict[str, int], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        list(normalize_many(["{}"], Schema("resume"), **kwargs))


def test_a_deviation_survives_pickling_and_copying_unchanged() -> None:
    import copy
    import pickle

    from llm_guard_json import Deviation

    for d in (Deviation("fence"), Deviation("canon.x", ("a", 0, "b"), "why", weight=0.7)):
        for twin in (pickle.loads(pickle.dumps(d)), copy.copy(d), copy.deepcopy(d)):
            assert twin == d and type(twin) is Deviation
            assert (twin.code, twin.path, twin.detail, twin.weight) == (d.code, d.path, d.detail, d.weight)


def test_bytes_outputs_come_back_decoded_from_the_workers() -> None:
    raws: list[str | bytes] = [b'{"name": "a"}', b'{"name": "\xff"}', '{"name": "c"}'] * 3
    got = list(normalize_many(raws, "resume", workers=2, chunk_size=2))
    assert [g.raw for g in got] == [normalize(r, "resume").raw for r in raws]
    assert all(isinstance(g.raw, str) for g in got)
