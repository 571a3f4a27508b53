"""The exported files in the real trainers, offline: TRL's DPO, KTO and SFT trainers take one LoRA step on
a tiny model built here, and LLaMA-Factory's own parser and converter read every lf-* export.

Needs the `train` extra and `llamafactory` (installed with --no-deps); skipped without them.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import sys
import tempfile
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tiny_model  # sets the offline flags before any hub library is imported

datasets = pytest.importorskip("datasets", reason="the `train` extra is not installed (pip install '.[train]')")

from llm_guard_json.export import export_store  # noqa: E402
from llm_guard_json.feedback import StoredRecord  # noqa: E402
from test_export import CHAT, CLEAN, MESSY, NOT_OK, SYSTEM, USER, realistic, rec  # noqa: E402

# transformers deprecates the gradient-checkpointing names that TRL still calls
pytestmark = pytest.mark.filterwarnings("ignore:.*gradient_checkpointing.*:FutureWarning")
TRAIN_REASON = "the `train` extra (torch, transformers, peft, trl) is not installed"


def _records(chat: bool) -> list[StoredRecord]:
    """Realistic records, one prompt each: chat messages with a system message, or plain strings."""
    records = []
    for i, record in enumerate(realistic()[:8]):
        user = f"{USER}（{i}）"
        records.append(rec(record.raw, [CHAT[0], {"role": "user", "content": user}] if chat else user))
    return records


# --- TRL -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> SimpleNamespace:
    """A byte-level BPE tokenizer trained here, with a chat template, and a factory of 2-layer Llama models."""
    torch = pytest.importorskip("torch", reason=TRAIN_REASON)
    pytest.importorskip("transformers", reason=TRAIN_REASON)
    pytest.importorskip("peft", reason=TRAIN_REASON)
    pytest.importorskip("trl", reason=TRAIN_REASON)

    torch.set_num_threads(1)
    tokenizer = tiny_model.tokenizer([t for r in realistic() for t in (r.raw, r.text or "")])
    return SimpleNamespace(tokenizer=tokenizer, model=lambda: tiny_model.llama(tokenizer))


def _train(tiny: SimpleNamespace, kind: str, data: Path, tmp_path: Path, **config: Any) -> Any:
    """One LoRA optimisation step of TRL's `kind` trainer on the exported file; the trainer after it."""
    import trl
    from peft import LoraConfig

    trainer_class, config_class = {
        "dpo": (trl.DPOTrainer, trl.DPOConfig),
        "kto": (trl.KTOTrainer, trl.KTOConfig),
        "sft": (trl.SFTTrainer, trl.SFTConfig),
    }[kind]
    dataset = datasets.load_dataset("json", data_files=str(data), split="train", cache_dir=str(tmp_path / "cache"))
    args = config_class(
        output_dir=str(tmp_path / kind),
        per_device_train_batch_size=2,  # KTO's KL estimate needs more than one row per batch
        max_steps=1,
        learning_rate=1e-3,
        max_length=1024,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
        **config,
    )
    trainer = trainer_class(
        model=tiny.model(),
        args=args,
        train_dataset=dataset,
        processing_class=tiny.tokenizer,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    output = trainer.train()
    assert output.global_step == 1 and trainer.state.global_step == 1
    assert math.isfinite(output.training_loss)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses and all(math.isfinite(loss) for loss in losses)
    return trainer


@pytest.mark.parametrize("conversational", [True, False])
def test_dpo_trainer_takes_a_step(tiny: SimpleNamespace, tmp_path: Path, conversational: bool) -> None:
    records = _records(chat=conversational)
    report = export_store(records, "trl-dpo", tmp_path, conversational=conversational)
    pairs = {(r.text, r.raw) for r in records if r.ok and r.score < 1}
    assert report.rows == {"trl_dpo.jsonl": len(pairs)} and len(pairs) >= 4
    trainer = _train(tiny, "dpo", tmp_path / "trl_dpo.jsonl", tmp_path)
    data = trainer.train_dataset
    assert len(data) == len(pairs)  # TRL kept every row (nothing truncated away)
    decode = tiny.tokenizer.decode
    seen = {(decode(row["chosen_ids"]), decode(row["rejected_ids"])) for row in data}
    for text, raw in pairs:  # chosen is the canonical text, rejected the raw output, token for token
        assert any(c.startswith(text) and r.startswith(raw) for c, r in seen), text


@pytest.mark.parametrize("conversational", [True, False])
def test_kto_trainer_takes_a_step_with_the_reported_weights(
    tiny: SimpleNamespace, tmp_path: Path, conversational: bool, caplog: pytest.LogCaptureFixture
) -> None:
    prompts = [
        [CHAT[0], {"role": "user", "content": f"抽取：{i}"}] if conversational else f"抽取：{i}" for i in range(6)
    ]
    records = _records(chat=conversational) + [rec(NOT_OK, prompt) for prompt in prompts]
    report = export_store(records, "trl-kto", tmp_path, conversational=conversational, kto_balance="weight")
    assert report.undesirable > report.desirable > 0
    assert report.undesirable_weight == 1.0 and report.desirable_weight > 1.0
    with caplog.at_level(logging.WARNING):
        trainer = _train(
            tiny,
            "kto",
            tmp_path / "trl_kto.jsonl",
            tmp_path,
            desirable_weight=report.desirable_weight,
            undesirable_weight=report.undesirable_weight,
        )
    assert "don't seem to be in an ideal range" not in caplog.text  # TRL agrees with the weights
    labels = trainer.train_dataset["label"]
    assert (sum(labels), len(labels) - sum(labels)) == (report.desirable, report.undesirable)


def test_sft_trainer_takes_a_step(tiny: SimpleNamespace, tmp_path: Path) -> None:
    records = _records(chat=True)
    report = export_store(records, "trl-sft", tmp_path)
    assert report.rows == {"trl_sft.jsonl": sum(r.ok for r in records)}
    trainer = _train(tiny, "sft", tmp_path / "trl_sft.jsonl", tmp_path)
    assert len(trainer.train_dataset) == report.rows["trl_sft.jsonl"]
    first = tiny.tokenizer.decode(trainer.train_dataset[0]["input_ids"])
    assert first.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{USER}")
    assert f"<|im_start|>assistant\n{records[0].text}<|im_end|>" in first


# --- LLaMA-Factory -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llamafactory() -> SimpleNamespace:
    """LLaMA-Factory's dataset parser and converter.

    `llamafactory.data`'s own __init__ imports its multimodal plugin (torchaudio and more), which the
    text datasets never use, so the package is entered without running it; its modules are the real ones.
    """
    pytest.importorskip("torch", reason=TRAIN_REASON)
    lf = pytest.importorskip(
        "llamafactory", reason="llamafactory is not installed (pip install --no-deps llamafactory)"
    )
    if "llamafactory.data" not in sys.modules:
        package = types.ModuleType("llamafactory.data")
        package.__path__ = [str(Path(lf.__file__).parent / "data")]
        sys.modules["llamafactory.data"] = package
    parser = importlib.import_module("llamafactory.data.parser")
    converter = importlib.import_module("llamafactory.data.converter")
    constants = importlib.import_module("llamafactory.extras.constants")
    return SimpleNamespace(parser=parser, converter=converter, file_types=constants.FILEEXT2TYPE)


def _lf_load(lf: SimpleNamespace, out: Path, name: str) -> list[dict[str, Any]]:
    """The dataset `name` as LLaMA-Factory aligns it: `_prompt`, `_response`, `_system` per example."""
    (attr,) = lf.parser.get_dataset_list([name], str(out))
    assert attr.load_from == "file"
    path = out / attr.dataset_name  # as `_load_single_dataset` reads a local file
    cache = tempfile.mkdtemp(dir=out)  # a fresh cache: a test rewrites a file in place
    dataset = datasets.load_dataset(
        lf.file_types[path.suffix[1:]], data_files=[str(path)], split=attr.split, cache_dir=cache
    )
    data_args = SimpleNamespace(
        media_dir=str(out), streaming=False, preprocessing_num_workers=None, overwrite_cache=True
    )
    aligned = lf.converter.align_dataset(dataset, attr, data_args, SimpleNamespace(local_process_index=0))
    return [{k: row[k] for k in ("_prompt", "_response", "_system")} for row in aligned]


def _msgs(*texts: str) -> list[dict[str, str]]:
    return [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(texts)]


SHOT = ("抽取：李红", '{"name":"李红"}')


def _lf_records() -> tuple[list[StoredRecord], dict[str, list[tuple[str, list[dict[str, str]], list[str]]]]]:
    """Records with a system prompt, a plain prompt and a few-shot chat; the (system, prompt, responses) expected."""
    multi = [CHAT[0], *_msgs(*SHOT), {"role": "user", "content": "抽取：王五"}]
    real = realistic()[0]
    d = rec(real.raw, multi)
    records = [rec(MESSY, CHAT), rec(CLEAN, "抽取简历"), rec(NOT_OK, multi), d]
    assert d.ok and d.text and d.score < 1
    user, plain, few = _msgs(USER), _msgs("抽取简历"), _msgs(*SHOT, "抽取：王五")
    expected = {
        "dpo": [(SYSTEM, user, [CLEAN, MESSY]), (SYSTEM, few, [d.text, d.raw])],
        "kto": [
            (SYSTEM, user, ["", MESSY]),  # false: undesirable
            (SYSTEM, user, [CLEAN, ""]),  # true: desirable
            ("", plain, [CLEAN, ""]),
            (SYSTEM, few, ["", NOT_OK]),
            (SYSTEM, few, ["", d.raw]),
            (SYSTEM, few, [d.text, ""]),
        ],
        "sft": [(SYSTEM, user, [CLEAN]), ("", plain, [CLEAN]), (SYSTEM, few, [d.text])],
    }
    return records, expected


@pytest.mark.parametrize(
    "fmt", ["lf-dpo-alpaca", "lf-dpo-sharegpt", "lf-kto-alpaca", "lf-kto-sharegpt", "lf-sft-alpaca", "lf-sft-sharegpt"]
)
def test_llamafactory_reads_every_lf_export(llamafactory: SimpleNamespace, tmp_path: Path, fmt: str) -> None:
    records, expected = _lf_records()
    (tmp_path / "dataset_info.json").write_text('{"theirs": {"file_name": "theirs.json"}}', encoding="utf-8")
    export_store(records, fmt, tmp_path, name="ie", eval_fraction=0.0)
    examples = _lf_load(llamafactory, tmp_path, "ie")
    got = [(e["_system"], e["_prompt"], [r["content"] for r in e["_response"]]) for e in examples]
    assert got == expected[fmt.split("-")[1]]
    assert all(all(r["role"] == "assistant" for r in e["_response"]) for e in examples)
    assert llamafactory.parser.get_dataset_list(["theirs"], str(tmp_path))[0].dataset_name == "theirs.json"


@pytest.mark.parametrize("fmt", ["lf-dpo-sharegpt", "lf-kto-alpaca"])
def test_llamafactory_reads_both_splits(llamafactory: SimpleNamespace, tmp_path: Path, fmt: str) -> None:
    records = realistic()
    report = export_store(records, fmt, tmp_path, name="ie", eval_fraction=0.3)
    for split in ("train", "eval"):
        examples = _lf_load(llamafactory, tmp_path, f"ie_{split}")
        assert len(examples) == report.rows[f"ie_{split}.json"] > 0
        assert all(e["_prompt"] and e["_response"] for e in examples)  # no example was dropped as malformed


def test_a_kto_tag_written_as_a_string_would_turn_into_sft(llamafactory: SimpleNamespace, tmp_path: Path) -> None:
    records, _ = _lf_records()
    export_store(records, "lf-kto-sharegpt", tmp_path, name="ie")
    rows = json.loads((tmp_path / "ie.json").read_text(encoding="utf-8"))
    assert {type(row["kto_tag"]) for row in rows} == {bool}
    kto = _lf_load(llamafactory, tmp_path, "ie")
    assert all(len(e["_response"]) == 2 for e in kto)  # KTO: [response, ""] or ["", response]
    stringly = [row | {"kto_tag": str(row["kto_tag"]).lower()} for row in rows]  # the pitfall, on purpose
    (tmp_path / "ie.json").write_text(json.dumps(stringly, ensure_ascii=False), encoding="utf-8")
    sft = _lf_load(llamafactory, tmp_path, "ie")
    assert all(len(e["_response"]) == 1 for e in sft)  # silently plain SFT examples, undesirable ones included
