"""The exporters: every format's exact shape, every skip reason, filters, splits, KTO balance, atomic files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import load_corpus
from llm_guard_json import ConfigError, normalize
from llm_guard_json import export as export_module
from llm_guard_json.export import (
    FORMATS,
    SKIP_REASONS,
    ExportReport,
    Filters,
    export_store,
    kto_weights,
)
from llm_guard_json.feedback import StoredRecord

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "resume_outputs.jsonl"
SYSTEM = "你是信息抽取助手，只输出JSON。"
USER = "抽取简历：张伟，35岁，擅长Python和Java开发"
CHAT = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
MESSY = '好的，抽取结果如下：\n```json\n{"姓名": "张伟", "年龄": "35岁", "技能": "擅长Python和Java开发",}\n```'
CLEAN = normalize(MESSY, "resume").text
NOT_OK = '{"age": 30}'  # the required name is missing
NO_JSON = "抱歉，我无法完成这个任务。"
PRETTY = json.dumps(json.loads(CLEAN or "{}"), ensure_ascii=False, indent=2)  # only the layout differs
LF = [f for f in FORMATS if f.startswith("lf-")]
TRL = [f for f in FORMATS if f.startswith("trl-")]


def rec(raw: str, prompt: Any = "抽取简历：张伟", *, schema: str = "resume", **fields: Any) -> StoredRecord:
    """A record as the store would hold `raw`, normalized against `schema`."""
    result = normalize(raw, schema)
    key = hashlib.sha256(json.dumps([prompt, raw, schema]).encode()).hexdigest()
    values: dict[str, Any] = {
        "key": key,
        "prompt": prompt,
        "raw": raw,
        "schema_name": schema,
        "schema_hash": "h",
        "text": result.text,
        "ok": result.ok,
        "score": result.score,
        "deviations": [d.as_dict() for d in result.deviations],
    }
    return StoredRecord(**(values | fields))


def realistic() -> list[StoredRecord]:
    """The README's example outputs and the dev corpus, with string and chat prompts."""
    records = []
    for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        records.append(rec(case["output"], case["prompt"]))
    for i, case in enumerate(load_corpus()):
        user = f"抽取{case['schema']}：{case['id']}"
        prompt = user if i % 2 else [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        records.append(rec(case["raw"], prompt, schema=case["schema"], model=f"m{i % 3}", created=1000.0 + i))
    return records


def read(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL (TRL) or JSON array (LLaMA-Factory) file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        rows = json.loads(text)
        assert isinstance(rows, list)
        return rows
    return [json.loads(line) for line in text.splitlines()]


def export_rows(records: list[StoredRecord], fmt: str, out: Path, **options: Any) -> list[dict[str, Any]]:
    report = export_store(records, fmt, out, **options)
    (data,) = [p for p in report.files if p.name != "dataset_info.json"]
    return read(data)


# --- the formats, row by row ---------------------------------------------------------------------


def test_formats_are_the_documented_nine() -> None:
    assert FORMATS == (
        "trl-dpo",
        "trl-kto",
        "trl-sft",
        "lf-dpo-alpaca",
        "lf-dpo-sharegpt",
        "lf-kto-alpaca",
        "lf-kto-sharegpt",
        "lf-sft-alpaca",
        "lf-sft-sharegpt",
    )
    assert export_module.__all__ == sorted(export_module.__all__)


def _assistant(text: str | None) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": text}]


def test_trl_dpo_conversational_and_standard(tmp_path: Path) -> None:
    chat, plain = rec(MESSY, CHAT), rec(MESSY)
    (row,) = export_rows([chat], "trl-dpo", tmp_path)
    assert row == {"prompt": CHAT, "chosen": _assistant(chat.text), "rejected": _assistant(MESSY)}
    (row,) = export_rows([plain], "trl-dpo", tmp_path)  # the default is conversational for a string prompt too
    assert row["prompt"] == [{"role": "user", "content": "抽取简历：张伟"}]
    (row,) = export_rows([plain], "trl-dpo", tmp_path, conversational=False)
    assert row == {"prompt": "抽取简历：张伟", "chosen": plain.text, "rejected": MESSY}


def test_trl_kto_labels_are_real_booleans(tmp_path: Path) -> None:
    rows = export_rows([rec(MESSY, CHAT)], "trl-kto", tmp_path)
    assert rows == [
        {"prompt": CHAT, "completion": _assistant(MESSY), "label": False},
        {"prompt": CHAT, "completion": _assistant(CLEAN), "label": True},
    ]
    assert [type(r["label"]) for r in rows] == [bool, bool]
    rows = export_rows([rec(MESSY)], "trl-kto", tmp_path, conversational=False)
    assert rows == [
        {"prompt": "抽取简历：张伟", "completion": MESSY, "label": False},
        {"prompt": "抽取简历：张伟", "completion": CLEAN, "label": True},
    ]


def test_trl_sft_messages_or_prompt_completion(tmp_path: Path) -> None:
    (row,) = export_rows([rec(MESSY, CHAT)], "trl-sft", tmp_path)
    assert row == {"messages": [*CHAT, {"role": "assistant", "content": CLEAN}]}
    (row,) = export_rows([rec(MESSY)], "trl-sft", tmp_path, conversational=False)
    assert row == {"prompt": "抽取简历：张伟", "completion": CLEAN}


@pytest.mark.parametrize(
    ("prompt", "system", "user"),
    [(CHAT, SYSTEM, CHAT[1]["content"]), ("抽取简历：张伟", "", "抽取简历：张伟")],
)
def test_lf_alpaca_rows(tmp_path: Path, prompt: Any, system: str, user: str) -> None:
    base = {"instruction": user, "input": ""}
    tail = {"system": system, "history": []}
    (row,) = export_rows([rec(MESSY, prompt)], "lf-dpo-alpaca", tmp_path)
    assert row == base | {"chosen": CLEAN, "rejected": MESSY} | tail
    assert list(row) == ["instruction", "input", "chosen", "rejected", "system", "history"]
    bad, good = export_rows([rec(MESSY, prompt)], "lf-kto-alpaca", tmp_path)
    assert bad == base | {"output": MESSY, "kto_tag": False} | tail
    assert good == base | {"output": CLEAN, "kto_tag": True} | tail
    (row,) = export_rows([rec(MESSY, prompt)], "lf-sft-alpaca", tmp_path)
    assert row == base | {"output": CLEAN} | tail


@pytest.mark.parametrize(("prompt", "system"), [(CHAT, SYSTEM), ("抽取简历：张伟", "")])
def test_lf_sharegpt_rows(tmp_path: Path, prompt: Any, system: str) -> None:
    human = {"from": "human", "value": CHAT[1]["content"] if system else "抽取简历：张伟"}
    (row,) = export_rows([rec(MESSY, prompt)], "lf-dpo-sharegpt", tmp_path)
    assert row == {
        "conversations": [human],  # DPO: an odd count, ending on the human turn
        "system": system,
        "chosen": {"from": "gpt", "value": CLEAN},
        "rejected": {"from": "gpt", "value": MESSY},
    }
    bad, good = export_rows([rec(MESSY, prompt)], "lf-kto-sharegpt", tmp_path)
    assert bad == {"conversations": [human, {"from": "gpt", "value": MESSY}], "system": system, "kto_tag": False}
    assert good == {"conversations": [human, {"from": "gpt", "value": CLEAN}], "system": system, "kto_tag": True}
    (row,) = export_rows([rec(MESSY, prompt)], "lf-sft-sharegpt", tmp_path)
    assert row == {"conversations": [human, {"from": "gpt", "value": CLEAN}], "system": system}


def test_earlier_turns_become_history_and_sharegpt_turns(tmp_path: Path) -> None:
    shot = [{"role": "user", "content": "抽取：李红"}, {"role": "assistant", "content": '{"name":"李红"}'}]
    prompt = [CHAT[0], *shot, CHAT[1]]
    (row,) = export_rows([rec(MESSY, prompt)], "lf-dpo-alpaca", tmp_path)
    assert row["history"] == [["抽取：李红", '{"name":"李红"}']] and row["instruction"] == CHAT[1]["content"]
    (row,) = export_rows([rec(MESSY, prompt)], "lf-dpo-sharegpt", tmp_path)
    assert [t["from"] for t in row["conversations"]] == ["human", "gpt", "human"]
    (row,) = export_rows([rec(MESSY, prompt)], "lf-sft-sharegpt", tmp_path)
    assert [t["from"] for t in row["conversations"]] == ["human", "gpt", "human", "gpt"]
    (row,) = export_rows([rec(MESSY, prompt)], "trl-dpo", tmp_path)
    assert row["prompt"] == prompt


def test_every_sharegpt_dpo_conversation_is_odd_and_every_kto_sft_one_even(tmp_path: Path) -> None:
    records = realistic()
    for fmt, parity in [("lf-dpo-sharegpt", 1), ("lf-kto-sharegpt", 0), ("lf-sft-sharegpt", 0)]:
        rows = export_rows(records, fmt, tmp_path)
        assert rows and all(len(r["conversations"]) % 2 == parity for r in rows)


@pytest.mark.parametrize("fmt", FORMATS)
def test_chinese_is_written_unescaped_and_chosen_is_the_text_byte_for_byte(tmp_path: Path, fmt: str) -> None:
    records = realistic()
    report = export_store(records, fmt, tmp_path)
    data = tmp_path / next(iter(report.rows))
    raw = data.read_bytes()
    assert "张伟".encode() in raw and b"\\u" not in raw.replace(b"\\\\u", b"")
    texts = {r.text for r in records if r.ok}
    rows = read(data)
    for row in rows:
        flat = json.dumps(row, ensure_ascii=False)
        assert flat.encode() in raw  # rows are written as json.dumps(..., ensure_ascii=False)
    chosen = [_chosen(fmt, row) for row in rows]
    assert all(c in texts for c in chosen if c is not None)
    for text in {c for c in chosen if c is not None}:  # the very bytes of record.text, JSON-quoted
        assert json.dumps(text, ensure_ascii=False).encode() in raw


def _chosen(fmt: str, row: dict[str, Any]) -> str | None:
    """The canonical side of a row: chosen, a desirable completion or the SFT target."""
    if "chosen" in row:
        chosen = row["chosen"]
        return chosen if isinstance(chosen, str) else chosen["value"] if "value" in chosen else chosen[0]["content"]
    label = row.get("label", row.get("kto_tag", True))
    if not label:
        return None
    if "messages" in row:
        return str(row["messages"][-1]["content"])
    if "conversations" in row:
        return str(row["conversations"][-1]["value"])
    completion = row.get("output", row.get("completion"))
    return completion if isinstance(completion, str) else str(completion[0]["content"])


# --- which records give which rows ---------------------------------------------------------------


def test_kto_rules_per_record(tmp_path: Path) -> None:
    cases = {
        MESSY: [(MESSY, False), (CLEAN, True)],  # ok but deviated: the raw is undesirable, the text desirable
        CLEAN: [(CLEAN, True)],  # nothing deviated: the raw, which is the text, is desirable as is
        PRETTY: [(CLEAN, True)],  # only the layout differs (score 1.0): the canonical text is desirable
        NOT_OK: [(NOT_OK, False)],  # not ok: never desirable
        NO_JSON: [(NO_JSON, False)],
    }
    for raw, expected in cases.items():
        rows = export_rows([rec(raw)], "trl-kto", tmp_path, conversational=False)
        assert [(r["completion"], r["label"]) for r in rows] == expected, raw


@pytest.mark.parametrize(
    ("fmt", "raw", "reason"),
    [
        ("trl-dpo", NO_JSON, "no_text"),
        ("trl-dpo", NOT_OK, "not_ok"),
        ("trl-dpo", CLEAN, "no_deviation"),
        ("trl-dpo", PRETTY, "no_deviation"),
        ("trl-dpo", CLEAN + "\n", "no_deviation"),
        ("lf-dpo-sharegpt", NOT_OK, "not_ok"),
        ("trl-sft", NO_JSON, "no_text"),
        ("trl-sft", NOT_OK, "not_ok"),
        ("lf-sft-alpaca", NOT_OK, "not_ok"),
    ],
)
def test_records_without_a_usable_canonical_text_are_skipped(tmp_path: Path, fmt: str, raw: str, reason: str) -> None:
    report = export_store([rec(raw)], fmt, tmp_path)
    assert (report.records, report.exported, report.skipped) == (1, 0, {reason: 1})


def test_sft_keeps_an_ok_record_even_when_nothing_deviated(tmp_path: Path) -> None:
    assert export_rows([rec(CLEAN)], "trl-sft", tmp_path, conversational=False) == [
        {"prompt": "抽取简历：张伟", "completion": CLEAN}
    ]


@pytest.mark.parametrize(
    "prompt",
    [
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],  # ends on the assistant
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],  # turns do not alternate
        [{"role": "tool", "content": "a"}],
        [{"role": "user", "content": 5}],
        [{"role": "user"}],
        [CHAT[1], CHAT[0]],  # a system message that is not the first
        [],
        None,
        {"role": "user", "content": "a"},
    ],
)
def test_malformed_prompts_are_skipped(tmp_path: Path, prompt: Any) -> None:
    for fmt in FORMATS:
        report = export_store([rec(MESSY, prompt)], fmt, tmp_path)
        assert report.skipped == {"bad_prompt": 1}, fmt


def test_a_chat_prompt_does_not_fit_a_standard_trl_row(tmp_path: Path) -> None:
    for fmt in TRL:
        report = export_store([rec(MESSY, CHAT), rec(MESSY)], fmt, tmp_path, conversational=False)
        assert report.skipped == {"chat_prompt": 1} and report.exported == 1
    only_user = [{"role": "user", "content": "抽取简历：张伟"}]  # one user turn is a plain prompt
    assert (
        export_rows([rec(MESSY, only_user)], "trl-dpo", tmp_path, conversational=False)[0]["prompt"]
        == only_user[0]["content"]
    )


def test_text_that_is_not_valid_unicode_is_skipped(tmp_path: Path) -> None:
    for fmt in FORMATS:
        report = export_store([rec(MESSY + "\ud800"), rec(MESSY, "抽取\udfff")], fmt, tmp_path)
        assert report.skipped == {"bad_text": 2}, fmt


def test_duplicate_rows_are_written_once(tmp_path: Path) -> None:
    again = rec(MESSY, schema="resume", key="other-key")  # the same output stored under another key
    report = export_store([rec(MESSY), again], "trl-dpo", tmp_path)
    assert (report.exported, report.skipped, report.rows) == (1, {"duplicate": 1}, {"trl_dpo.jsonl": 1})
    # KTO: two outputs for one prompt give two undesirable rows but one desirable canonical row
    messier = MESSY.replace("```json", "```")
    report = export_store([rec(MESSY), rec(messier)], "trl-kto", tmp_path)
    assert (report.exported, report.desirable, report.undesirable, report.skipped) == (2, 1, 2, {})


def test_every_skip_reason_is_documented_and_counts_add_up(tmp_path: Path) -> None:
    records = realistic()
    seen: set[str] = set()
    for fmt in FORMATS:
        report = export_store(records, fmt, tmp_path, filters=Filters(max_score=0.95), eval_fraction=0.2)
        assert report.records == len(records)
        assert report.exported + sum(report.skipped.values()) == report.records
        assert set(report.skipped) <= set(SKIP_REASONS)
        assert all(n > 0 for n in report.skipped.values())
        seen |= set(report.skipped)
    assert {"filter.score", "no_text", "not_ok"} <= seen


# --- filters -------------------------------------------------------------------------------------


def test_each_filter_names_its_reason(tmp_path: Path) -> None:
    fenced = rec(MESSY, schema="resume", model="qwen", created=100.0)
    table = [
        (Filters(schema="medical_record"), "filter.schema"),
        (Filters(model="llama"), "filter.model"),
        (Filters(since=101.0), "filter.time"),
        (Filters(until=100.0), "filter.time"),  # until is exclusive
        (Filters(min_score=0.9), "filter.score"),
        (Filters(max_score=0.1), "filter.score"),
        (Filters(codes=("limit",)), "filter.codes"),
        (Filters(exclude_codes=("fence",)), "filter.exclude_codes"),
        (Filters(exclude_codes=("repair",)), "filter.exclude_codes"),  # a family matches its members
    ]
    for filters, reason in table:
        report = export_store([fenced], "trl-dpo", tmp_path, filters=filters)
        assert report.skipped == {reason: 1}, filters
    passing = Filters(
        schema="resume",
        model="qwen",
        since=100.0,
        until=101.0,
        min_score=fenced.score,
        max_score=fenced.score,
        codes=("nothing", "canon.skills"),
        exclude_codes="invalid",
    )
    assert export_store([fenced], "trl-dpo", tmp_path, filters=passing).exported == 1


def test_filters_select_from_the_corpus(tmp_path: Path) -> None:
    records = realistic()
    filters = Filters(schema="medical_record", model="m1", since=1010.0, until=1080.0, codes=("canon",))
    report = export_store(records, "trl-kto", tmp_path, filters=filters)
    wanted = [
        r
        for r in records
        if r.schema_name == "medical_record"
        and r.model == "m1"
        and 1010 <= r.created < 1080
        and any(c.startswith("canon.") for c in r.codes)
    ]
    assert wanted and report.exported == len(wanted)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_score": 0.9, "max_score": 0.1},
        {"since": 10.0, "until": 5.0},
        {"codes": (1,)},
        {"exclude_codes": ("",)},
        {"since": "2026-01-01"},
        {"until": True},
    ],
)
def test_bad_filters_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="Filters"):
        Filters(**kwargs)


def test_a_single_code_string_is_one_code() -> None:
    assert Filters(codes="fence", exclude_codes=["a", "b"]).codes == ("fence",)
    assert Filters(exclude_codes=["a", "b"]).exclude_codes == ("a", "b")


# --- the train/eval split ------------------------------------------------------------------------


def _keys_by_file(report: ExportReport, records: list[StoredRecord]) -> dict[str, set[str]]:
    by_raw = {r.raw: r.key for r in records}
    return {
        name: {by_raw[row["rejected"][0]["content"]] for row in read(report.out_dir / name)} for name in report.rows
    }


def test_split_is_deterministic_by_key_and_independent_of_order_and_company(tmp_path: Path) -> None:
    records = realistic()
    first = export_store(records, "trl-dpo", tmp_path / "a", eval_fraction=0.3)
    again = export_store(list(reversed(records)), "trl-dpo", tmp_path / "b", eval_fraction=0.3)
    fewer = export_store(records[::2], "trl-dpo", tmp_path / "c", eval_fraction=0.3)
    assert list(first.rows) == ["trl_dpo_train.jsonl", "trl_dpo_eval.jsonl"]
    a, b, c = (_keys_by_file(r, records) for r in (first, again, fewer))
    assert a == b
    assert c["trl_dpo_eval.jsonl"] == a["trl_dpo_eval.jsonl"] & {r.key for r in records[::2]}
    assert 0.1 < len(a["trl_dpo_eval.jsonl"]) / first.exported < 0.5
    assert not a["trl_dpo_train.jsonl"] & a["trl_dpo_eval.jsonl"]


def test_kto_rows_of_one_record_stay_in_one_split(tmp_path: Path) -> None:
    corpus = realistic()[6:]  # one prompt per record
    report = export_store(corpus, "trl-kto", tmp_path, eval_fraction=0.5)
    train, test = (read(tmp_path / name) for name in report.rows)
    assert train and test
    prompts = [{json.dumps(r["prompt"], ensure_ascii=False) for r in rows} for rows in (train, test)]
    assert not prompts[0] & prompts[1]


def test_lf_split_writes_both_files_and_dataset_info_entries(tmp_path: Path) -> None:
    report = export_store(realistic(), "lf-dpo-sharegpt", tmp_path, name="ie_dpo", eval_fraction=0.25)
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"ie_dpo_train", "ie_dpo_eval"}
    assert info["ie_dpo_eval"]["file_name"] == "ie_dpo_eval.json"
    assert [p.name for p in report.files] == ["ie_dpo_train.json", "ie_dpo_eval.json", "dataset_info.json"]
    assert sum(report.rows.values()) == report.exported
    lines = (tmp_path / "ie_dpo_train.json").read_text(encoding="utf-8").splitlines()  # an array, a row per line
    assert (lines[0], lines[-1], len(lines)) == ("[", "]", report.rows["ie_dpo_train.json"] + 2)
    assert all(json.loads(line.rstrip(",")) for line in lines[1:-1])


# --- KTO balance ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desirable", "undesirable", "weights"),
    [
        (10, 10, (1.0, 1.0)),
        (13, 10, (1.0, 1.0)),
        (4, 3, (1.0, 1.01)),  # 1.333 is above the 1.33 TRL checks
        (5, 10, (2.0, 1.0)),
        (3, 10, (3.34, 1.0)),
        (20, 10, (1.0, 1.51)),
        (100, 1, (1.0, 75.19)),
        (0, 10, (1.0, 1.0)),
        (10, 0, (1.0, 1.0)),
    ],
)
def test_kto_weights_table(desirable: int, undesirable: int, weights: tuple[float, float]) -> None:
    assert kto_weights(desirable, undesirable) == weights


@given(st.integers(1, 100_000), st.integers(1, 100_000))
def test_kto_weights_land_in_trl_range(desirable: int, undesirable: int) -> None:
    wd, wu = kto_weights(desirable, undesirable)
    assert min(wd, wu) == 1.0
    assert 1.0 <= wd * desirable / (wu * undesirable) <= 1.33
    # the check KTOTrainer makes before it warns that the weights are out of range
    d, u = desirable, undesirable
    if d != u:
        assert round(u * wu / d, 2) <= wd <= round(u * wu / d * 1.33, 2) or round(d * wd / u / 1.33, 2) <= wu <= round(
            d * wd / u, 2
        )


def _kto_records(bad: int, good: int) -> list[StoredRecord]:
    """`bad` not-ok outputs (undesirable only) and `good` clean ones (desirable only), each its own prompt."""
    return [rec(NOT_OK, f"p{i}") for i in range(bad)] + [rec(CLEAN, f"q{i}") for i in range(good)]


def test_kto_report_weight(tmp_path: Path) -> None:
    report = export_store(_kto_records(30, 10), "trl-kto", tmp_path, kto_balance="weight")
    assert (report.desirable, report.undesirable, report.kto_ratio) == (10, 30, 10 / 30)
    assert (report.desirable_weight, report.undesirable_weight) == (3.0, 1.0)
    assert "pass KTOConfig(desirable_weight=3.0, undesirable_weight=1.0)" in "\n".join(report.lines())
    report = export_store(_kto_records(30, 10), "lf-kto-sharegpt", tmp_path, kto_balance="weight")
    assert "kto_chosen_weight: 3.0 and kto_rejected_weight: 1.0" in "\n".join(report.lines())
    plain = export_store(_kto_records(30, 10), "trl-kto", tmp_path)
    assert (plain.desirable_weight, plain.undesirable_weight) == (1.0, 1.0)
    assert "outside TRL's range; weights 3.0 and 1.0 bring it in" in "\n".join(plain.lines())
    assert "outside" not in "\n".join(export_store(_kto_records(10, 12), "trl-kto", tmp_path).lines())


@pytest.mark.parametrize(("bad", "good", "kept"), [(30, 10, (10, 10)), (10, 30, (13, 10)), (10, 12, (12, 10))])
def test_kto_subsample_lands_in_range_deterministically(
    tmp_path: Path, bad: int, good: int, kept: tuple[int, int]
) -> None:
    records = _kto_records(bad, good)
    report = export_store(records, "trl-kto", tmp_path / "a", kto_balance="subsample")
    assert (report.desirable, report.undesirable) == kept
    assert 1.0 <= report.desirable / report.undesirable <= 1.33
    assert report.skipped.get("kto_balance", 0) == bad + good - sum(kept)
    assert report.exported == sum(kept)
    export_store(list(reversed(records)), "trl-kto", tmp_path / "b", kto_balance="subsample")
    rows_a, rows_b = read(tmp_path / "a" / "trl_kto.jsonl"), read(tmp_path / "b" / "trl_kto.jsonl")
    assert sorted(map(json.dumps, rows_a)) == sorted(map(json.dumps, rows_b))


def test_kto_subsample_balances_the_training_split_only(tmp_path: Path) -> None:
    report = export_store(_kto_records(60, 10), "trl-kto", tmp_path, kto_balance="subsample", eval_fraction=0.3)
    assert report.desirable == report.undesirable
    eval_rows = read(tmp_path / "trl_kto_eval.jsonl")
    assert sum(1 for r in eval_rows if not r["label"]) > sum(1 for r in eval_rows if r["label"])


def test_kto_one_class_is_reported(tmp_path: Path) -> None:
    report = export_store(_kto_records(5, 0), "trl-kto", tmp_path, kto_balance="subsample")
    assert (report.desirable, report.undesirable, report.kto_ratio) == (0, 5, 0.0)
    assert any("one class only" in line for line in report.lines())


# --- files: atomic, merged, reported -------------------------------------------------------------


def test_a_failure_mid_write_leaves_no_file_and_keeps_the_old_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = realistic()
    export_store(records[:3], "lf-dpo-sharegpt", tmp_path, eval_fraction=0.5)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real, calls = export_module._dump_line, []

    def failing(obj: dict[str, Any]) -> str:
        calls.append(1)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real(obj)

    monkeypatch.setattr(export_module, "_dump_line", failing)
    with pytest.raises(OSError, match="No space"):
        export_store(records, "lf-dpo-sharegpt", tmp_path, eval_fraction=0.5)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    calls.clear()
    with pytest.raises(OSError, match="No space"):
        export_store(records, "trl-kto", tmp_path / "fresh")
    assert list((tmp_path / "fresh").iterdir()) == []


def test_a_failing_record_source_leaves_no_file(tmp_path: Path) -> None:
    def records() -> Iterator[StoredRecord]:
        yield rec(MESSY)
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="went away"):
        export_store(records(), "lf-dpo-alpaca", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_temporary_file_is_left_after_success(tmp_path: Path) -> None:
    for fmt in FORMATS:
        export_store(realistic(), fmt, tmp_path, eval_fraction=0.1)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_dataset_info_is_merged_not_clobbered(tmp_path: Path) -> None:
    theirs = {"alpaca_zh": {"file_name": "alpaca_zh.json"}, "ie_dpo": {"file_name": "old.json"}}
    (tmp_path / "dataset_info.json").write_text(json.dumps(theirs), encoding="utf-8")
    export_store([rec(MESSY)], "lf-dpo-sharegpt", tmp_path, name="ie_dpo")
    export_store([rec(MESSY)], "lf-kto-alpaca", tmp_path, name="ie_kto")
    export_store([rec(MESSY)], "trl-dpo", tmp_path, name="ie_kto_trl")  # TRL formats leave it alone
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["alpaca_zh", "ie_dpo", "ie_kto"]
    assert info["alpaca_zh"] == theirs["alpaca_zh"]
    assert info["ie_dpo"] == {
        "file_name": "ie_dpo.json",
        "formatting": "sharegpt",
        "ranking": True,
        "columns": {"messages": "conversations", "system": "system", "chosen": "chosen", "rejected": "rejected"},
    }
    assert info["ie_kto"] == {
        "file_name": "ie_kto.json",
        "formatting": "alpaca",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "system": "system",
            "history": "history",
            "kto_tag": "kto_tag",
        },
    }


@pytest.mark.parametrize(
    ("fmt", "columns"),
    [
        ("lf-dpo-alpaca", ["prompt", "query", "chosen", "rejected", "system", "history"]),
        ("lf-sft-alpaca", ["prompt", "query", "response", "system", "history"]),
        ("lf-kto-sharegpt", ["messages", "system", "kto_tag"]),
        ("lf-sft-sharegpt", ["messages", "system"]),
    ],
)
def test_dataset_info_columns(tmp_path: Path, fmt: str, columns: list[str]) -> None:
    export_store([rec(MESSY)], fmt, tmp_path, name="x")
    entry = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))["x"]
    assert list(entry["columns"]) == columns
    assert entry.get("ranking", False) is ("dpo" in fmt)


@pytest.mark.parametrize("content", ["[1, 2]", "{not json", ""])
def test_an_unreadable_dataset_info_raises_before_anything_is_written(tmp_path: Path, content: str) -> None:
    (tmp_path / "dataset_info.json").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dataset_info\.json.*fix or remove it"):
        export_store([rec(MESSY)], "lf-dpo-alpaca", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["dataset_info.json"]


def test_an_empty_export_writes_valid_empty_files_and_warns(tmp_path: Path) -> None:
    report = export_store([], "lf-sft-alpaca", tmp_path)
    assert read(tmp_path / "lf_sft_alpaca.json") == []
    assert report.rows == {"lf_sft_alpaca.json": 0}
    assert "  warning: lf_sft_alpaca.json has no rows" in report.lines()


def test_report_lines_summarise(tmp_path: Path) -> None:
    report = export_store(realistic(), "trl-kto", tmp_path, eval_fraction=0.2, filters=Filters(max_score=0.99))
    lines = report.lines()
    assert lines[0] == f"trl-kto (conversational): {report.exported} of {report.records} records exported to {tmp_path}"
    assert f"  trl_kto_train.jsonl: {report.rows['trl_kto_train.jsonl']} rows" in lines
    assert any(line.split()[:2] == [str(report.skipped["filter.score"]), "filter.score"] for line in lines)
    assert any(line.startswith(f"  KTO training rows: {report.desirable} desirable") for line in lines)


def test_a_store_is_read_through_its_records_method(tmp_path: Path) -> None:
    class Store:
        def records(self) -> list[StoredRecord]:
            return [rec(MESSY)]

    assert export_store(Store(), "trl-dpo", tmp_path).exported == 1


# --- usage errors --------------------------------------------------------------------------------


def test_an_unknown_format_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown export format 'dpo'; use one of: trl-dpo, trl-kto, .*, lf-sft-sharegpt$"
    ):
        export_store([], "dpo", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_out_dir_that_is_a_file_or_under_one_raises(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("x")
    with pytest.raises(ConfigError, match="is a file; pass a directory"):
        export_store([rec(MESSY)], "trl-dpo", file)
    with pytest.raises(ConfigError, match="cannot create the output directory"):
        export_store([rec(MESSY)], "trl-dpo", file / "sub")
    assert file.read_text() == "x"


def test_the_out_dir_is_created(tmp_path: Path) -> None:
    export_store([rec(MESSY)], "trl-dpo", tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b" / "trl_dpo.jsonl").is_file()


@pytest.mark.parametrize(
    ("fmt", "options", "match"),
    [
        ("trl-dpo", {"name": "../up"}, "name must be"),
        ("trl-dpo", {"name": ""}, "name must be"),
        ("lf-dpo-alpaca", {"name": "dataset_info"}, "name must be"),
        ("trl-dpo", {"eval_fraction": 1.0}, "eval_fraction"),
        ("trl-dpo", {"eval_fraction": -0.1}, "eval_fraction"),
        ("trl-dpo", {"eval_fraction": True}, "eval_fraction"),
        ("trl-dpo", {"kto_balance": "weight"}, "KTO formats only"),
        ("trl-kto", {"kto_balance": "oversample"}, "'weight' or 'subsample'"),
        ("lf-dpo-alpaca", {"conversational": True}, "trl-\\* formats only"),
        ("trl-dpo", {"conversational": "yes"}, "True or False"),
        ("trl-dpo", {"filters": {"min_score": 0.5}}, "Filters"),
    ],
)
def test_bad_options_raise(tmp_path: Path, fmt: str, options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        export_store([rec(MESSY)], fmt, tmp_path, **options)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source", ["feedback.db", Path("feedback.db"), 42])
def test_a_path_or_other_non_record_source_raises(tmp_path: Path, source: Any) -> None:
    with pytest.raises(ConfigError, match="feedback store or an iterable of StoredRecord"):
        export_store(source, "trl-dpo", tmp_path)


def test_importing_the_package_or_the_exporter_loads_no_training_stack() -> None:
    code = (
        "import sys, llm_guard_json\n"
        "assert 'llm_guard_json.export' not in sys.modules\n"
        "import llm_guard_json.export\n"
        "heavy = {'torch', 'transformers', 'datasets', 'trl', 'peft', 'llamafactory'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_kto_weights_survive_floating_point() -> None:
    wd, wu = kto_weights(345, 483)  # 483 / 345 is 1.4, but 1.4 * 345 is 482.99999999999994
    assert wu == 1.0 and wd * 345 >= 483
