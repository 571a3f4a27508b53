"""Backends: where model output comes from. Each is a small object with `model_id`, `generate(messages) -> str`
and `async agenerate(messages) -> str`; the text it returns still goes through `normalize`.

- `LocalLoRA`: a transformers model with a peft LoRA adapter, in this process (extra `train`; `constrained`).
- `OpenAICompatible`: vLLM, llama.cpp's llama-server, Ollama or OpenAI over HTTP (standard library only).

Both load lazily: importing this package imports neither torch nor an HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from .._errors import ConfigError, GuardError
from .._schema import _SUBSCHEMA_LISTS, _SUBSCHEMA_MAPS, _SUBSCHEMA_ONE, Schema

if TYPE_CHECKING:
    from .local import LocalLoRA
    from .openai import OpenAICompatible

__all__ = ["Backend", "BackendError", "LocalLoRA", "Messages", "OpenAICompatible", "as_messages", "wire_schema"]

#: A chat (a list of {"role", "content"} messages) or a plain prompt, which becomes one user message.
Messages: TypeAlias = str | Sequence[Mapping[str, Any]]


@runtime_checkable
class Backend(Protocol):
    """What a backend offers: an id for the feedback store and one generation method, sync and async."""

    model_id: str

    def generate(self, messages: Messages) -> str: ...

    async def agenerate(self, messages: Messages) -> str: ...


class BackendError(GuardError):
    """The backend gave no answer: `url`, `attempts` made, `status` (the last HTTP status, or None) and `last`
    (what went wrong on the last attempt)."""

    def __init__(self, message: str, *, url: str, attempts: int, status: int | None, last: str) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts
        self.status = status
        self.last = last


def as_messages(messages: Messages) -> list[dict[str, Any]]:
    """The chat as a list of plain dicts; a string is one user message. Anything else raises ConfigError."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, Sequence) and messages:
        chat = [dict(m) for m in messages if isinstance(m, Mapping)]
        if len(chat) == len(messages) and all(isinstance(m.get("role"), str) and "content" in m for m in chat):
            return chat
    raise ConfigError(
        'messages must be a prompt string or a non-empty list of {"role": ..., "content": ...} dicts; '
        f"got {type(messages).__name__} {str(messages)[:80]!r}"
    )


def wire_schema(schema: Any) -> tuple[str, dict[str, Any]]:
    """(a name, the JSON Schema) to send to a constrained decoder: a shipped name, a path, a dict, a pydantic
    model class or a `Schema`, with this library's `x-` keywords removed (property names are kept)."""
    loaded = Schema(schema)
    if not isinstance(loaded.root, Mapping):
        raise ConfigError("a constrained decoder needs an object schema (a dict), not a boolean schema")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", loaded.name).strip("_")[:64] or "schema"
    return name, _strip(loaded.root)


def _strip(node: Any) -> Any:
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-"):
            continue
        if key in _SUBSCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_strip(sub) for sub in value]
        elif key in _SUBSCHEMA_ONE:  # `items` may be a list (draft 7)
            out[key] = [_strip(sub) for sub in value] if isinstance(value, list) else _strip(value)
        else:
            out[key] = value
    return out


def __getattr__(name: str) -> Any:
    """The backend classes, imported on first use."""
    if name == "LocalLoRA":
        from .local import LocalLoRA

        return LocalLoRA
    if name == "OpenAICompatible":
        from .openai import OpenAICompatible

        return OpenAICompatible
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
