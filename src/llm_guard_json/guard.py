"""guard(): around a model call, every output normalized; what cannot be fixed is asked again; every attempt recorded.

    @guard("resume", retries=2, store="feedback.db")
    def extract(messages: list[dict[str, str]]) -> str:
        return client.chat(messages)

    result = extract([{"role": "user", "content": "抽取简历：张伟，35岁"}])   # a Result, fixed or re-asked

The retry loop is written once, as a generator that yields each conversation to send and is sent
the model's output back; a sync and an async driver run it (`async def` functions get the async one).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar, overload

from ._errors import ConfigError, OutputRejected
from ._pipeline import _canonicalizers, normalize
from ._reask import followup, problem_lines
from ._result import Result
from ._schema import Schema, as_schema

if TYPE_CHECKING:
    from .feedback import FeedbackStore

__all__ = ["Conversation", "Guard", "guard", "read_output"]

P = ParamSpec("P")
_A = TypeVar("_A", bound=Awaitable[object])
_R = TypeVar("_R")
#: What the guarded function is sent: the caller's prompt text, or chat messages {"role", "content"}.
Conversation = str | list[dict[str, Any]]
_Loop = Generator[Conversation, object, Result]
_CONVERSATION_FIX = "pass the prompt text or a list of chat messages {'role': ..., 'content': ...}"


def read_output(output: object) -> str | bytes:
    """The text of a model's output: str or bytes as they are; an OpenAI-style chat completion, dict or object
    (`choices[0].message.content`, or `choices[0].text`); a transformers pipeline's `[{"generated_text": ...}]`
    (text, or messages ending with the assistant's); anything with a `.text` or `.content` string.

    An answer with no text (`content: null`, a refusal or a tool call) reads as "": no JSON, not an error.
    """
    if isinstance(output, str | bytes):
        return output
    choices = _field(output, "choices")
    if isinstance(choices, Sequence) and choices:
        message = _field(choices[0], "message")
        text = _field(message, "content") if message is not None else _field(choices[0], "text")
        if text is None or isinstance(text, str):
            return text or ""
    if isinstance(output, list) and output and isinstance(output[0], Mapping) and "generated_text" in output[0]:
        generated = output[0]["generated_text"]
        if isinstance(generated, list):  # chat input: the conversation, the assistant's answer last
            last = generated[-1] if generated else {}
            generated = _field(last, "content") if _field(last, "role") == "assistant" else ""
        if isinstance(generated, str):
            return generated
    for name in ("text", "content"):
        text = _field(output, name)
        if isinstance(text, str):
            return text
    raise ConfigError(
        f"cannot read the model's text from {type(output).__name__}; return a str, an OpenAI-style chat "
        "completion (choices[0].message.content), a transformers pipeline output ([{'generated_text': ...}]) "
        "or an object with a .text or .content string"
    )


def _field(thing: object, name: str) -> Any:
    return thing.get(name) if isinstance(thing, Mapping) else getattr(thing, name, None)


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a call holds the conversation: `messages=`, else the first positional argument (after `self`)."""

    name: str | None  # the parameter, when the signature names one
    index: int  # its place among the positional arguments
    method: bool  # the first parameter is `self` or `cls`: the conversation comes after it

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> _Slot:
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature: the first argument
            return cls(None, 0, method=False)
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        method = bool(positional) and positional[0] in ("self", "cls")
        if "messages" in positional:
            return cls("messages", positional.index("messages"), method)
        name = positional[int(method)] if len(positional) > method else None
        return cls(name, int(method), method)

    def get(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str | int, Any]:
        """(where, conversation): a keyword's name or a position, and what is there."""
        for key in ("messages", self.name):
            if key is not None and key in kwargs:
                return key, kwargs[key]
        if len(args) > self.index:
            return self.index, args[self.index]
        raise ConfigError(f"the guarded function needs the conversation as its first argument or messages=; "
                          f"{_CONVERSATION_FIX}")  # fmt: skip


def _conversation(value: Any) -> Conversation:
    """A checked copy of the caller's conversation (their list is never changed)."""
    if isinstance(value, str):
        return value
    messages = value if isinstance(value, list | tuple) else ()
    if messages and all(isinstance(m, Mapping) and {"role", "content"} <= m.keys() for m in messages):
        return [dict(m) for m in messages]
    raise ConfigError(f"the conversation is {value!r:.80}; {_CONVERSATION_FIX}")


def _messages(conversation: Conversation) -> list[dict[str, Any]]:
    return [{"role": "user", "content": conversation}] if isinstance(conversation, str) else conversation


def _stored(conversation: Conversation) -> str | list[dict[str, str]]:
    """The prompt as the store keeps it: text, or each message's role and content."""
    if isinstance(conversation, str):
        return conversation
    return [{"role": m["role"], "content": m["content"]} for m in conversation]


class Guard:
    """A checked guard configuration; calling it on a function gives the guarded function (see `guard`)."""

    def __init__(
        self,
        schema: Any,
        *,
        retries: int = 2,
        reask: bool = True,
        store: FeedbackStore | str | os.PathLike[str] | None = None,
        min_score: float | None = None,
        raise_on_failure: bool = False,
        model: str | None = None,
    ) -> None:
        if inspect.isfunction(schema) or inspect.ismethod(schema):
            raise ConfigError("guard needs a schema first: write @guard('resume') or @guard(schema), not @guard")
        self.schema: Schema = as_schema(schema)
        _canonicalizers(self.schema, None)  # a schema naming unknown canonicalizers fails now, not per call
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries= is how many more calls a failed output may get, an int >= 0, not {retries!r}")
        if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, int | float)
                                      or not 0 <= min_score <= 1):  # fmt: skip
            raise ConfigError(f"min_score= is a score from 0 to 1 (e.g. 0.8) or None, not {min_score!r}")
        for name, flag in (("reask", reask), ("raise_on_failure", raise_on_failure)):
            if not isinstance(flag, bool):
                raise ConfigError(f"{name}= takes True or False, not {flag!r}")
        if model is not None and not isinstance(model, str):
            raise ConfigError(f"model= is the model's id as a string, e.g. 'qwen-7b-lora', not {model!r}")
        self.retries, self.reask, self.min_score, self.model = retries, reask, min_score, model
        self.raise_on_failure = raise_on_failure
        self.store = _open(store)

    def accepts(self, result: Result) -> bool:
        """Whether `result` is good enough to return: ok, and at least `min_score` when one is set."""
        return result.ok and (self.min_score is None or result.score >= self.min_score)

    def attempts(self, conversation: Conversation, model: str | None) -> _Loop:
        """The loop, written once: yields each conversation to send, is sent each output; returns the Result."""
        results: list[Result] = []
        for attempt in range(1, self.retries + 2):
            resend = attempt == 1 or not self.reask
            output = yield _conversation(conversation) if resend else followup(_messages(conversation), results[-1])
            result = normalize(read_output(output), self.schema)
            results.append(result)
            if self.store is not None:
                self.store.add(result, prompt=_stored(conversation), model=model, attempt=attempt)
            if self.accepts(result):
                return result
        if self.raise_on_failure:
            last = results[-1]
            why = "; ".join(line.removeprefix("- ") for line in problem_lines(last))
            message = f"no acceptable output in {len(results)} attempt(s); the last (score {last.score:.2f}): {why}"
            raise OutputRejected(message, last, results)
        return results[-1]

    # A type checker sees the guarded function keep its parameters and return Result (a coroutine of one for
    # an `async def`). The awaitable and the plain return are TypeVars so that an Any among the parameters
    # leaves no ambiguity between the two; a function declared `-> Any` is matched by neither (it fits NoReturn
    # first) and stays untyped, rather than being taken for a coroutine.
    @overload
    def __call__(self, fn: Callable[P, NoReturn]) -> Callable[P, Result]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[P, _A]) -> Callable[P, Coroutine[Any, Any, Result]]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[P, _R]) -> Callable[P, Result]: ...
    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        if not callable(fn):
            raise ConfigError(f"guard(...) decorates a function that calls the model, not {fn!r:.60}")
        slot = _Slot.of(fn)
        target: Callable[..., Any] = fn  # fn, typed to take the conversation in its place
        bound = next((f.__self__ for f in (fn, inspect.unwrap(fn)) if inspect.ismethod(f)), None)

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[_Loop, Callable[[Conversation], Any]]:
            where, given = slot.get(args, kwargs)
            owner = args[0] if slot.method and args else bound
            model_id = self.model or getattr(owner, "model_id", None)
            loop = self.attempts(_conversation(given), model_id if isinstance(model_id, str) else None)

            def call(conversation: Conversation) -> Any:
                if isinstance(where, str):
                    return target(*args, **{**kwargs, where: conversation})
                return target(*args[:where], conversation, *args[where + 1 :], **kwargs)

            return loop, call

        if _is_async(fn):

            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Result:
                loop, call = start(args, kwargs)
                request = next(loop)
                while True:
                    output = await call(request)
                    try:
                        request = loop.send(output)
                    except StopIteration as done:
                        result: Result = done.value
                        return result

            return _wrap(fn, guarded_async)

        def guarded(*args: P.args, **kwargs: P.kwargs) -> Result:
            loop, call = start(args, kwargs)
            request = next(loop)
            while True:
                output = call(request)
                try:
                    request = loop.send(output)
                except StopIteration as done:
                    result: Result = done.value
                    return result

        return _wrap(fn, guarded)


def guard(
    schema: Any,
    *,
    retries: int = 2,
    reask: bool = True,
    store: FeedbackStore | str | os.PathLike[str] | None = None,
    min_score: float | None = None,
    raise_on_failure: bool = False,
    model: str | None = None,
) -> Guard:
    """Decorate a function that calls a model so that it returns the normalized `Result` of its output.

    The function takes the conversation (prompt text or chat messages) as its first argument or as
    `messages=`, and returns the model's text (or a chat completion, a pipeline output, ...: `read_output`).
    An output normalize can fix is returned fixed. One it cannot (not ok, or under `min_score`) is tried
    again up to `retries` times: with `reask`, the original conversation plus the failed answer and a
    message saying what was wrong (in Chinese for a Chinese prompt); without, the same conversation
    again. The last Result is returned, or with `raise_on_failure` OutputRejected is raised, its
    `.attempts` holding every attempt's Result. With `store` (a FeedbackStore or a path, opened once),
    every attempt is recorded with the original prompt, its number and the model id: `model=`, else
    the `model_id` of the object whose method is guarded (a short SQLite commit, in async code too).
    `async def` functions stay async. Exceptions the function raises pass through unchanged.
    """
    return Guard(schema, retries=retries, reask=reask, store=store, min_score=min_score,
                 raise_on_failure=raise_on_failure, model=model)  # fmt: skip


def _open(store: object) -> FeedbackStore | None:
    if store is None:
        return None
    from .feedback import FeedbackStore

    if isinstance(store, FeedbackStore):
        return store
    if isinstance(store, str | os.PathLike):
        return FeedbackStore(store)
    raise ConfigError(f"store= takes a FeedbackStore or a file path, e.g. 'feedback.db', not {type(store).__name__}")


def _is_async(fn: Callable[..., Any]) -> bool:
    """Whether `fn`, a function it wraps (`__wrapped__`) or its `__call__` is a coroutine function."""

    def coroutine(f: Any) -> bool:
        return inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(type(f).__call__)

    return coroutine(inspect.unwrap(fn, stop=coroutine))


def _wrap(fn: Callable[P, Any], guarded: Callable[P, Any]) -> Callable[P, Any]:
    """`guarded` looking like `fn` (name, docstring, parameters), its return annotation now Result."""
    wrapped = functools.wraps(fn)(guarded)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return wrapped
    wrapped.__signature__ = signature.replace(return_annotation=Result)  # type: ignore[attr-defined]
    return wrapped
