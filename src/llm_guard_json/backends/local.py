"""LocalLoRA: a transformers causal LM with a peft LoRA adapter, generating in this process.

The tokenizer's chat template builds the prompt; only the new tokens are decoded. With `constrained=True`
xgrammar masks the logits so that the output follows the schema, as compact JSON (the canonical form); it can
still be cut short by `max_new_tokens` and still goes through normalization. Needs the `train` extra
(torch, transformers, peft); constrained decoding needs the `constrained` extra (xgrammar).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from . import Messages, as_messages, wire_schema

#: Greedy decoding: the same prompt gives the same output, as an extraction model should.
DEFAULT_GENERATION: Mapping[str, Any] = {"max_new_tokens": 512, "do_sample": False}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
_INSTALL = "pip install --no-deps xgrammar apache-tvm-ffi  (or: pip install 'llm-guard-json[constrained]')"


class LocalLoRA:
    """A local model: `base` is a model directory or a loaded model (a `PeftModel` too; load it yourself to choose
    dtype and device); `adapter` a LoRA adapter directory, put onto the base with peft (in place, for a loaded base).

    `tokenizer`: a tokenizer or its directory; default the adapter's directory when it holds one, else the base's.
    `generation`: `model.generate` keyword arguments over DEFAULT_GENERATION. `schema` with `constrained=True`:
    decode under the schema's grammar. `model_id` (the id the feedback store records) defaults to the adapter
    directory's name, else the base's `name_or_path` (so pass it with a loaded PeftModel). Calls run one at a
    time; `agenerate` runs in a worker thread.
    """

    def __init__(
        self,
        base: str | os.PathLike[str] | Any,
        adapter: str | os.PathLike[str] | None = None,
        *,
        tokenizer: str | os.PathLike[str] | Any = None,
        generation: Mapping[str, Any] | None = None,
        schema: Any = None,
        constrained: bool = False,
        model_id: str | None = None,
    ) -> None:
        if constrained and schema is None:
            raise ConfigError("constrained=True needs the schema to decode under: pass schema=")
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ConfigError("LocalLoRA needs transformers and peft: pip install 'llm-guard-json[train]'") from e
        model = AutoModelForCausalLM.from_pretrained(_directory(base, "base")) if _is_path(base) else base
        if not hasattr(model, "generate"):
            raise ConfigError(f"base must be a model directory or a loaded causal LM, not {type(base).__name__}")
        if adapter is not None:
            model = _with_adapter(model, _directory(adapter, "adapter"))
        base_name = str(getattr(_base_of(model), "name_or_path", "") or "")
        source = _tokenizer_dir(adapter, base_name) if tokenizer is None else tokenizer
        tok: Any = AutoTokenizer.from_pretrained(_directory(source, "tokenizer")) if _is_path(source) else source
        if not getattr(tok, "chat_template", None):
            raise ConfigError("the tokenizer has no chat template: set tokenizer.chat_template, or pass tokenizer=")
        self.model: Any = model
        self.tokenizer: Any = tok
        self.generation: dict[str, Any] = {**DEFAULT_GENERATION, **(generation or {})}
        if tok.pad_token_id is None and "pad_token_id" not in self.generation:
            self.generation["pad_token_id"] = tok.eos_token_id
        self.schema = schema
        self.model_id: str = model_id or (Path(adapter).resolve().name if adapter is not None else base_name)
        if not self.model_id:
            raise ConfigError("the model has no name_or_path to use as its id: pass model_id=")
        self._grammar = self._compile(schema) if constrained else None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalLoRA(model_id={self.model_id!r}, constrained={self._grammar is not None})"

    @property
    def constrained(self) -> bool:
        """Whether generation follows the schema's grammar."""
        return self._grammar is not None

    def generate(self, messages: Messages) -> str:
        """The model's reply to `messages` (a chat or a prompt string): the new tokens only, decoded."""
        import torch

        chat = as_messages(messages)
        inputs = self.tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.model.device)
        kwargs = dict(self.generation)
        if self._grammar is not None:
            import xgrammar

            # a processor holds its matcher's state: a new one for every call
            processors = [*kwargs.pop("logits_processor", []), xgrammar.contrib.hf.LogitsProcessor(self._grammar)]
            kwargs["logits_processor"] = processors
        with self._lock, torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        return str(self.tokenizer.decode(new_tokens, skip_special_tokens=True))

    async def agenerate(self, messages: Messages) -> str:
        """`generate` in a worker thread, so that the event loop keeps running."""
        return await asyncio.to_thread(self.generate, messages)

    def _compile(self, schema: Any) -> Any:
        """The schema as an xgrammar grammar for this tokenizer: compact JSON, no free whitespace (a weak model
        would fill it with newlines)."""
        try:
            import xgrammar
            import xgrammar.contrib.hf  # the logits processor lives in this submodule
        except ImportError as e:
            raise ConfigError(f"constrained=True needs xgrammar: {_INSTALL}") from e
        _, root = wire_schema(schema)
        config = getattr(self.model, "config", None)
        stop = self.generation.get("eos_token_id", getattr(self.model.generation_config, "eos_token_id", None))
        stop_ids = {*(stop if isinstance(stop, list) else [stop]), self.tokenizer.eos_token_id} - {None}
        info = xgrammar.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=getattr(config, "vocab_size", None), stop_token_ids=sorted(stop_ids)
        )
        compiler = xgrammar.GrammarCompiler(info)
        schema_text = json.dumps(root, ensure_ascii=False)
        return compiler.compile_json_schema(schema_text, any_whitespace=False, separators=(",", ":"))


def _is_path(value: object) -> bool:
    return isinstance(value, str | os.PathLike)


def _directory(value: str | os.PathLike[str], what: str) -> str:
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(f"{what} {str(value)!r} is not a directory (models are loaded from local directories)")
    return str(path)


def _base_of(model: Any) -> Any:
    """The underlying transformers model of a PeftModel; the model itself otherwise."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _with_adapter(model: Any, adapter: str) -> Any:
    from peft import PeftModel

    if isinstance(model, PeftModel):
        raise ConfigError("base is already a PeftModel with its adapter: pass adapter=None, or the plain base model")
    return PeftModel.from_pretrained(model, adapter)


def _tokenizer_dir(adapter: str | os.PathLike[str] | None, base_name: str) -> str:
    """The adapter directory when a tokenizer was saved with it (trainers do), else the base model's."""
    if adapter is not None and any((Path(adapter) / name).is_file() for name in _TOKENIZER_FILES):
        return str(adapter)
    if base_name and Path(base_name).is_dir():
        return base_name
    raise ConfigError("no tokenizer directory found beside the adapter or the base model: pass tokenizer=")
