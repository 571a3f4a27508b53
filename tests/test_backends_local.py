"""LocalLoRA on a tiny random Llama and a LoRA adapter built and saved here, offline.

Needs the `train` extra (torch, transformers, peft); the constrained tests need xgrammar too. Random weights
write realistic garbage: whitespace floods, cut-off JSON, raw control characters; normalize must take it all.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tiny_model  # sets the offline flags before any hub library is imported
from conftest import load_corpus
from llm_guard_json import ConfigError, Result, normalize

TRAIN_REASON = "the `train` extra (torch, transformers, peft) is not installed"
torch = pytest.importorskip("torch", reason=TRAIN_REASON)
pytest.importorskip("transformers", reason=TRAIN_REASON)
pytest.importorskip("peft", reason=TRAIN_REASON)

from llm_guard_json.backends import Backend, LocalLoRA  # noqa: E402

# peft calls a transformers name that transformers deprecates
pytestmark = pytest.mark.filterwarnings("ignore:.*gradient_checkpointing.*:FutureWarning")
CHAT = [{"role": "system", "content": "只输出JSON。"}, {"role": "user", "content": "抽取简历：张伟，35岁"}]
SMALL = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 8, "x-aliases": ["姓名"]},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The tokenizer, and the directories of a saved base model (with its tokenizer) and LoRA adapter."""
    torch.set_num_threads(1)
    tok = tiny_model.tokenizer([case["raw"] for case in load_corpus()])
    base, adapter = tiny_model.save_base_and_adapter(tok, tmp_path_factory.mktemp("tiny"))
    return SimpleNamespace(tokenizer=tok, base=base, adapter=adapter)


def _expected(model: Any, tok: Any, chat: list[dict[str, str]], max_new_tokens: int) -> str:
    """What greedy decoding gives, computed here without the backend: the new tokens only."""
    ids = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    return str(tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))


def _peft_model(tiny: SimpleNamespace) -> Any:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    return PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny.base), str(tiny.adapter))


def test_generates_from_the_directories(tiny: SimpleNamespace) -> None:
    lm = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 24})
    assert isinstance(lm, Backend) and lm.model_id == "adapter"
    text = lm.generate(CHAT)
    assert text == _expected(_peft_model(tiny), tiny.tokenizer, CHAT, 24)
    assert text and "<|im_start|>" not in text and "只输出JSON" not in text  # the new tokens only


def test_generates_from_a_loaded_peft_model(tiny: SimpleNamespace) -> None:
    from_dirs = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 24})
    loaded = LocalLoRA(_peft_model(tiny), generation={"max_new_tokens": 24}, model_id="ie-lora")
    assert loaded.model_id == "ie-lora"
    assert loaded.generate(CHAT) == from_dirs.generate(CHAT)
    # the tokenizer came from the base model's directory, found through name_or_path
    assert loaded.tokenizer.get_vocab() == tiny.tokenizer.get_vocab()


def test_the_adapter_changes_the_output(tiny: SimpleNamespace) -> None:
    with_lora = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 32})
    base_only = LocalLoRA(tiny.base, generation={"max_new_tokens": 32})
    assert base_only.model_id == str(tiny.base)
    ids = tiny.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        lora_logits, base_logits = with_lora.model(**ids).logits, base_only.model(**ids).logits
    assert lora_logits.shape == base_logits.shape
    assert not torch.allclose(lora_logits, base_logits, atol=1e-3)
    assert with_lora.generate(CHAT) != base_only.generate(CHAT)


def test_agenerate_equals_generate_and_a_prompt_is_one_user_message(tiny: SimpleNamespace) -> None:
    lm = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 16})

    async def both() -> list[str]:
        return list(await asyncio.gather(lm.agenerate(CHAT), lm.agenerate("抽取简历：张伟，35岁")))

    chat, prompt = asyncio.run(both())
    assert chat == lm.generate(CHAT)
    assert prompt == lm.generate([{"role": "user", "content": "抽取简历：张伟，35岁"}]) != chat


def test_random_output_never_breaks_normalize(tiny: SimpleNamespace) -> None:
    lm = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 48})
    prompts = [case["raw"][:60] for case in load_corpus()[:6]]
    for prompt in prompts:
        text = lm.generate(prompt)
        for schema in ("resume", "medical_record", {}):
            result = normalize(text, schema)
            assert isinstance(result, Result)
            assert result.ok or result.deviations  # a result that is not ok says why


def test_constrained_output_follows_the_schema(tiny: SimpleNamespace) -> None:
    pytest.importorskip("xgrammar", reason="the `constrained` extra is not installed (pip install xgrammar)")
    from jsonschema import Draft202012Validator

    free = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 120})
    lm = LocalLoRA(tiny.base, tiny.adapter, schema=SMALL, constrained=True, generation={"max_new_tokens": 120})
    assert lm.constrained and not free.constrained
    plain = {k: v for k, v in SMALL.items() if k != "properties"} | {
        "properties": {"name": {"type": "string", "maxLength": 8}, "age": SMALL["properties"]["age"]}
    }
    for chat in (CHAT, "抽取：李红", "hello"):
        text = lm.generate(chat)
        assert text != free.generate(chat)  # the grammar, not the model, shaped it
        value = json.loads(text, strict=False)  # strict=False: xgrammar lets raw control characters into strings
        assert not list(Draft202012Validator(plain).iter_errors(value)), text
        assert re.fullmatch(r'\{"name":".*","age":-?\d+\}', text, re.DOTALL), text  # compact, in schema order
        result = normalize(text, SMALL)
        assert result.ok and result.value["age"] == value["age"]


def test_constrained_output_cut_off_by_the_token_limit_is_reported(tiny: SimpleNamespace) -> None:
    pytest.importorskip("xgrammar", reason="the `constrained` extra is not installed (pip install xgrammar)")
    lm = LocalLoRA(tiny.base, tiny.adapter, schema=SMALL, constrained=True, generation={"max_new_tokens": 4})
    text = lm.generate(CHAT)
    assert text.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text, strict=False)
    result = normalize(text, SMALL)
    assert not result.ok and "repair.missing_closer" in {d.code for d in result.deviations}
    lm.generation["max_new_tokens"] = 120  # a new logits processor per call: the same backend works again
    assert normalize(lm.generate(CHAT), SMALL).ok


def test_a_shipped_schema_is_sent_without_its_x_keywords(tiny: SimpleNamespace) -> None:
    pytest.importorskip("xgrammar", reason="the `constrained` extra is not installed (pip install xgrammar)")
    lm = LocalLoRA(tiny.base, tiny.adapter, schema="resume", constrained=True, generation={"max_new_tokens": 8})
    assert lm.generate(CHAT).startswith("{")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: LocalLoRA(t.base, t.adapter, constrained=True), "needs the schema"),
        (lambda t: LocalLoRA(t.base / "missing"), "is not a directory"),
        (lambda t: LocalLoRA(_peft_model(t), t.adapter), "already a PeftModel"),
        (lambda t: LocalLoRA(object()), "loaded causal LM"),
        (lambda t: LocalLoRA(t.base, tokenizer=_without_template(t.tokenizer)), "no chat template"),
        (lambda t: LocalLoRA(t.base).generate([{"content": "no role"}]), "role"),
        (lambda t: LocalLoRA(t.base).generate([]), "non-empty list"),
    ],
)
def test_usage_errors_name_the_fix(tiny: SimpleNamespace, make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make(tiny)


def _without_template(tok: Any) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok.backend_tokenizer, eos_token="<|im_end|>")


def test_the_tokenizer_saved_with_the_adapter_is_preferred(tiny: SimpleNamespace, tmp_path: Path) -> None:
    import shutil

    adapter = Path(shutil.copytree(tiny.adapter, tmp_path / "ie-lora"))
    other = tiny_model.tokenizer(["只有这些文字", "and these words"], vocab_size=300)
    other.save_pretrained(adapter)
    lm = LocalLoRA(tiny.base, adapter, generation={"max_new_tokens": 4})
    assert lm.model_id == "ie-lora" and len(lm.tokenizer) == len(other) != len(tiny.tokenizer)


def test_through_the_guard_every_attempt_is_recorded(tiny: SimpleNamespace, tmp_path: Path) -> None:
    """Random weights never write a valid object: the guard asks three times, and the store holds each try
    (an output repeated word for word for the same prompt is one record: the store deduplicates)."""
    from llm_guard_json import OutputRejected, guard
    from llm_guard_json.feedback import FeedbackStore

    lm = LocalLoRA(tiny.base, tiny.adapter, generation={"max_new_tokens": 16})
    store = tmp_path / "feedback.db"
    extract = guard(SMALL, retries=2, store=str(store), raise_on_failure=True)(lm.generate)
    with pytest.raises(OutputRejected) as caught:
        extract(CHAT)
    attempts = caught.value.attempts
    assert len(attempts) == 3 and not any(r.ok for r in attempts)  # nothing invented from garbage
    with FeedbackStore(store) as fb:
        records = list(fb.records())
    first_seen = {r.raw: n for n, r in reversed(list(enumerate(attempts, 1)))}
    assert [(r.raw, r.attempt) for r in records] == sorted(first_seen.items(), key=lambda kv: kv[1])
    assert {r.model for r in records} == {"adapter"}
    assert all(r.prompt == CHAT for r in records)  # the caller's conversation, not the re-asks


def test_constrained_through_the_guard_is_ok_at_once(tiny: SimpleNamespace, tmp_path: Path) -> None:
    pytest.importorskip("xgrammar", reason="the `constrained` extra (xgrammar) is not installed")
    from llm_guard_json import guard
    from llm_guard_json.feedback import FeedbackStore

    lm = LocalLoRA(tiny.base, tiny.adapter, schema=SMALL, constrained=True, generation={"max_new_tokens": 64})
    store = tmp_path / "feedback.db"
    result = guard(SMALL, store=store)(lm.generate)(CHAT)
    with FeedbackStore(store) as fb:
        attempts = [r.attempt for r in fb.records()]
    assert result.ok and set(result.value) == {"name", "age"}  # type: ignore[arg-type]
    assert attempts == [1]
