"""What the exporters write: which records pass, the examples each gives, every format's row shape.

A prompt is read into a `Chat`: a system text, then turns that alternate user/assistant and end on
the user's. `items` turns a record into `Item`s (a chat plus a chosen/rejected pair, a labelled
completion or an SFT target), or names the reason it gives none; `row` is the JSON object one
format holds for an item, and `dataset_info_entry` LLaMA-Factory's entry for a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ConfigError

if TYPE_CHECKING:
    from .feedback import StoredRecord

Kind = Literal["dpo", "kto", "sft"]

#: Each format: its kind of example and its LLaMA-Factory formatting (None for TRL).
SPECS: dict[str, tuple[Kind, str | None]] = {
    "trl-dpo": ("dpo", None),
    "trl-kto": ("kto", None),
    "trl-sft": ("sft", None),
    "lf-dpo-alpaca": ("dpo", "alpaca"),
    "lf-dpo-sharegpt": ("dpo", "sharegpt"),
    "lf-kto-alpaca": ("kto", "alpaca"),
    "lf-kto-sharegpt": ("kto", "sharegpt"),
    "lf-sft-alpaca": ("sft", "alpaca"),
    "lf-sft-sharegpt": ("sft", "sharegpt"),
}

#: Why a record gave no row; `ExportReport.skipped` counts records by these names.
SKIP_REASONS: dict[str, str] = {
    "filter.schema": "another schema",
    "filter.model": "another model",
    "filter.time": "created outside the time window",
    "filter.score": "score outside the range",
    "filter.codes": "none of the wanted deviation codes",
    "filter.exclude_codes": "an excluded deviation code",
    "bad_prompt": "the prompt is neither a string nor chat messages ending on the user's",
    "bad_text": "a string that is not valid Unicode (a lone surrogate)",
    "chat_prompt": "a system message or earlier turns do not fit a standard (string) prompt",
    "no_text": "no JSON was found, so there is no canonical text",
    "not_ok": "the canonical value is not valid, so it cannot be chosen or a target",
    "no_deviation": "nothing deviated (score 1.0): no preference signal",
    "duplicate": "its rows were already written",
    "kto_balance": "left out to balance desirable and undesirable rows",
}


@dataclass(frozen=True, slots=True)
class Filters:
    """Which records to export: a record must pass every filter that is set.

    Scores are inclusive bounds. `codes` keeps records with any of these deviation codes and
    `exclude_codes` drops records with any of them; a family ("repair") matches its members
    ("repair.trailing_comma"). The time window is `since <= created < until`, in seconds since
    the epoch.
    """

    min_score: float | None = None
    max_score: float | None = None
    codes: tuple[str, ...] = ()
    exclude_codes: tuple[str, ...] = ()
    schema: str | None = None
    model: str | None = None
    since: float | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        for name in ("codes", "exclude_codes"):
            value = getattr(self, name)
            codes = (value,) if isinstance(value, str) else tuple(value)
            if not all(isinstance(code, str) and code for code in codes):
                raise ConfigError(f"Filters.{name} must be deviation codes (strings), got {value!r}")
            object.__setattr__(self, name, codes)
        for name in ("since", "until"):
            object.__setattr__(self, name, _seconds(name, getattr(self, name)))
        for low, high in (("min_score", "max_score"), ("since", "until")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ConfigError(f"Filters.{low} ({a}) is above Filters.{high} ({b}); swap them")

    def reason(self, record: StoredRecord) -> str | None:
        """The first filter `record` fails (a `SKIP_REASONS` name), or None when it passes."""
        if self.schema is not None and record.schema_name != self.schema:
            return "filter.schema"
        if self.model is not None and record.model != self.model:
            return "filter.model"
        if (self.since is not None and record.created < self.since) or (
            self.until is not None and record.created >= self.until
        ):
            return "filter.time"
        if (self.min_score is not None and record.score < self.min_score) or (
            self.max_score is not None and record.score > self.max_score
        ):
            return "filter.score"
        codes = record.codes
        if self.codes and not any(_in_family(code, self.codes) for code in codes):
            return "filter.codes"
        if self.exclude_codes and any(_in_family(code, self.exclude_codes) for code in codes):
            return "filter.exclude_codes"
        return None


def _seconds(name: str, value: object) -> float | None:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise ConfigError(f"Filters.{name} must be seconds since the epoch (datetime.timestamp()), got {value!r}")


def _in_family(code: str, wanted: tuple[str, ...]) -> bool:
    return any(code == w or code.startswith(w + ".") for w in wanted)


_ROLES = ("user", "assistant")
_SHAREGPT_ROLES = ("human", "gpt")


@dataclass(frozen=True, slots=True)
class Chat:
    """A prompt: the system text ("" for none) and turns user, assistant, ..., user (an odd count)."""

    system: str
    turns: tuple[str, ...]

    def messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages, system first when there is one."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [{"role": _ROLES[i % 2], "content": text} for i, text in enumerate(self.turns)]

    @property
    def plain(self) -> str | None:
        """The prompt as one string, when it is a single user turn without a system text."""
        return self.turns[0] if not self.system and len(self.turns) == 1 else None


def read_prompt(prompt: object) -> Chat | None:
    """A `Chat` from a prompt string or message list; None when the messages are malformed."""
    if isinstance(prompt, str):
        return Chat("", (prompt,))
    if not isinstance(prompt, list) or not all(_is_message(m) for m in prompt):
        return None
    system = ""
    if prompt and prompt[0]["role"] == "system":
        system, prompt = prompt[0]["content"], prompt[1:]
    roles = [m["role"] for m in prompt]
    if len(roles) % 2 == 0 or roles != [_ROLES[i % 2] for i in range(len(roles))]:
        return None
    return Chat(system, tuple(m["content"] for m in prompt))


def _is_message(message: object) -> bool:
    return (
        isinstance(message, dict) and isinstance(message.get("role"), str) and isinstance(message.get("content"), str)
    )


@dataclass(frozen=True, slots=True)
class Item:
    """One example: `completion` is the chosen text (DPO), the judged text (KTO) or the target (SFT)."""

    chat: Chat
    completion: str
    rejected: str | None = None
    label: bool | None = None


def items(record: StoredRecord, kind: Kind, conversational: bool | None) -> tuple[str | None, list[Item]]:
    """The examples one record gives, or the reason it gives none."""
    chat = read_prompt(record.prompt)
    if chat is None:
        return "bad_prompt", []
    if not all(_encodable(s) for s in (record.raw, record.text or "", chat.system, *chat.turns)):
        return "bad_text", []
    if conversational is False and chat.plain is None:
        return "chat_prompt", []
    deviated = record.score < 1.0 and record.raw.strip() != record.text
    if kind == "kto":
        found = [Item(chat, record.raw, label=False)] if not record.ok or deviated else []
        if record.ok and record.text is not None:
            found.append(Item(chat, record.text, label=True))
        return None, found
    if record.text is None:
        return "no_text", []
    if not record.ok:
        return "not_ok", []
    if kind == "sft":
        return None, [Item(chat, record.text)]
    if not deviated:
        return "no_deviation", []
    return None, [Item(chat, record.text, rejected=record.raw)]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def row(fmt: str, item: Item, *, conversational: bool) -> dict[str, Any]:
    """The JSON object one format holds for `item`."""
    kind, formatting = SPECS[fmt]
    if formatting is None:
        return _trl(kind, item, conversational)
    if formatting == "alpaca":
        return _alpaca(kind, item)
    return _sharegpt(kind, item)


def _trl(kind: Kind, item: Item, conversational: bool) -> dict[str, Any]:
    prompt: Any
    if conversational:
        prompt = item.chat.messages()

        def wrap(text: str) -> Any:
            return [{"role": "assistant", "content": text}]
    else:
        prompt = item.chat.plain

        def wrap(text: str) -> Any:
            return text

    if kind == "dpo":
        assert item.rejected is not None
        return {"prompt": prompt, "chosen": wrap(item.completion), "rejected": wrap(item.rejected)}
    if kind == "kto":
        return {"prompt": prompt, "completion": wrap(item.completion), "label": item.label}
    if conversational:
        return {"messages": prompt + wrap(item.completion)}
    return {"prompt": prompt, "completion": item.completion}


def _alpaca(kind: Kind, item: Item) -> dict[str, Any]:
    turns = item.chat.turns
    out: dict[str, Any] = {"instruction": turns[-1], "input": ""}
    if kind == "dpo":
        out |= {"chosen": item.completion, "rejected": item.rejected}
    else:
        out["output"] = item.completion
    if kind == "kto":
        out["kto_tag"] = item.label
    history = [[turns[i], turns[i + 1]] for i in range(0, len(turns) - 1, 2)]
    return out | {"system": item.chat.system, "history": history}


def _sharegpt(kind: Kind, item: Item) -> dict[str, Any]:
    conversations = [{"from": _SHAREGPT_ROLES[i % 2], "value": text} for i, text in enumerate(item.chat.turns)]
    if kind == "dpo":
        return {
            "conversations": conversations,
            "system": item.chat.system,
            "chosen": {"from": "gpt", "value": item.completion},
            "rejected": {"from": "gpt", "value": item.rejected},
        }
    out: dict[str, Any] = {
        "conversations": [*conversations, {"from": "gpt", "value": item.completion}],
        "system": item.chat.system,
    }
    if kind == "kto":
        out["kto_tag"] = item.label
    return out


def dataset_info_entry(fmt: str, file_name: str) -> dict[str, Any]:
    """LLaMA-Factory's dataset_info.json entry for a file written in the `lf-*` format `fmt`."""
    kind, formatting = SPECS[fmt]
    assert formatting is not None
    entry: dict[str, Any] = {"file_name": file_name, "formatting": formatting}
    if kind == "dpo":
        entry["ranking"] = True
    if formatting == "alpaca":
        columns = {"prompt": "instruction", "query": "input"}
        columns |= {"chosen": "chosen", "rejected": "rejected"} if kind == "dpo" else {"response": "output"}
        columns |= {"system": "system", "history": "history"}
    else:
        columns = {"messages": "conversations", "system": "system"}
        if kind == "dpo":
            columns |= {"chosen": "chosen", "rejected": "rejected"}
    if kind == "kto":
        columns["kto_tag"] = "kto_tag"
    entry["columns"] = columns
    return entry
