"""A tiny offline chat model for tests: a byte-level BPE tokenizer trained here, with a chat template, a 2-layer
Llama with random weights, and a LoRA adapter that changes its output. Nothing is downloaded.

Callers skip first when torch, transformers or peft is missing (pytest.importorskip); this module imports them
only inside its functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Nothing may be downloaded: the hub libraries read these when they are first imported.
for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_flag] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tokenizer(texts: Iterable[str], vocab_size: int = 600) -> Any:
    """A byte-level BPE tokenizer trained on `texts` (every byte is in its alphabet: any text encodes)."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=["<|pad|>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<|pad|>", eos_token="<|im_end|>")
    tok.chat_template = CHAT_TEMPLATE
    return tok


def llama(tok: Any, seed: int = 0, hidden_size: int = 32, **config: Any) -> Any:
    """A 2-layer Llama with random weights (seeded) for `tok`'s vocabulary; `config` overrides LlamaConfig fields."""
    import torch
    import transformers

    torch.manual_seed(seed)
    llama_config = transformers.LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
        **config,
    )
    return transformers.LlamaForCausalLM(llama_config)


def save_base_and_adapter(tok: Any, root: Path) -> tuple[Path, Path]:
    """A base model with its tokenizer in `root/base`, and a LoRA adapter for it in `root/adapter`.

    The adapter starts from random weights (`init_lora_weights=False`), so it changes the logits at once.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    base_dir, adapter_dir = root / "base", root / "adapter"
    model = llama(tok)
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    model.name_or_path = str(base_dir)  # recorded in adapter_config.json as the base
    torch.manual_seed(1)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(adapter_dir)
    return base_dir, adapter_dir
