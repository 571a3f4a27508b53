"""guard(): fixed locally when normalize can, re-asked when not, every attempt recorded; sync and async alike."""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llm_guard_json import ConfigError, OutputRejected, Result, normalize
from llm_guard_json.feedback import FeedbackStore
from llm_guard_json.guard import guard, read_output

Messages = list[dict[str, str]]

CHINESE = [
    {"role": "system", "content": "Extract the resume as JSON."},
    {"role": "user", "content": "抽取简历：张伟，35岁，擅长Python"},
]
ENGLISH = [{"role": "user", "content": "Extract the resume: Zhang Wei, 35, knows Python."}]
NO_JSON = "抱歉，我无法完成这个任务。"
NO_NAME = '{"age": 35, "skills": ["Python"]}'  # valid JSON, but the required name is absent
RIGHT = '{"name": "张伟", "age": 35, "skills": ["Python"]}'
FIXABLE = '好的：\n```json\n{"姓名": "张伟", "年龄": "35岁", "技能": "擅长Python和Java开发",}\n```'
CANONICAL = normalize(RIGHT, "resume").text  # every key, in order: scores 1.0
assert CANONICAL is not None


class Script:
    """A scripted model: returns its outputs in turn and keeps a copy of every conversation it was sent."""

    def __init__(self, outputs: Iterable[Any], model_id: str | None = None) -> None:
        self.outputs = iter(outputs)
        self.sent: list[Any] = []
        if model_id is not None:
            self.model_id = model_id

    def generate(self, messages: Any) -> object:
        self.sent.append(copy.deepcopy(messages))
        return next(self.outputs)

    async def agenerate(self, messages: Any) -> object:
        await asyncio.sleep(0)
        return self.generate(messages)


def records(path: Path) -> list[Any]:
    with FeedbackStore(path) as store:
        return list(store.records())


def test_wrong_twice_then_right_reasks_with_only_the_latest_failure(tmp_path: Path) -> None:
    model = Script([NO_JSON, NO_NAME, RIGHT], model_id="qwen-7b-lora")
    extract = guard("resume", retries=2, store=tmp_path / "feedback.db")(model.generate)
    conversation = copy.deepcopy(CHINESE)

    result = extract(conversation)

    assert result.ok and isinstance(result.value, dict) and result.value["name"] == "张伟"
    assert conversation == CHINESE  # the caller's list is unchanged
    first, second, third = model.sent
    assert first == CHINESE
    assert second[:2] == CHINESE and len(second) == 4  # the original once, the failure, the re-ask
    assert second[2] == {"role": "assistant", "content": NO_JSON}
    assert second[3]["role"] == "user" and "(no_json)" in second[3]["content"]
    assert third[:2] == CHINESE and len(third) == 4  # only the latest failure: no growth
    assert third[2] == {"role": "assistant", "content": NO_NAME}
    assert "/name" in third[3]["content"] and "(missing.required)" in third[3]["content"]
    assert NO_JSON not in json.dumps(third, ensure_ascii=False)
    stored = records(tmp_path / "feedback.db")
    assert [(r.attempt, r.raw, r.ok, r.model) for r in stored] == [
        (1, NO_JSON, False, "qwen-7b-lora"),
        (2, NO_NAME, False, "qwen-7b-lora"),
        (3, RIGHT, True, "qwen-7b-lora"),
    ]
    assert all(r.prompt == CHINESE for r in stored)  # the original prompt, which the exporters pair with the text
    assert stored[-1].text == result.text


def test_sync_and_async_make_the_same_attempts() -> None:
    outputs = [NO_JSON, FIXABLE.replace("姓名", "年纪"), RIGHT]
    sync_model, async_model = Script(outputs), Script(outputs)
    sync_result = guard("resume", retries=2)(sync_model.generate)(CHINESE)
    guarded = guard("resume", retries=2)(async_model.agenerate)
    assert inspect.iscoroutinefunction(guarded)
    async_result = asyncio.run(guarded(CHINESE))
    assert async_model.sent == sync_model.sent and len(sync_model.sent) == 3
    assert async_result == sync_result and async_result.ok


def test_async_is_found_under_a_wrapper() -> None:
    model = Script([NO_JSON, RIGHT])

    @functools.wraps(model.agenerate)
    def plain(messages: Any) -> Awaitable[object]:  # not `async def`, but wraps one
        return model.agenerate(messages)

    guarded = guard("resume")(plain)
    assert inspect.iscoroutinefunction(guarded)
    assert asyncio.run(guarded(ENGLISH)).ok and len(model.sent) == 2


def test_a_fixable_output_is_fixed_locally_without_a_reask(tmp_path: Path) -> None:
    model = Script([FIXABLE, RIGHT])
    result = guard("resume", store=str(tmp_path / "f.db"), model="lora-v2")(model.generate)(CHINESE)
    assert result.ok and len(model.sent) == 1
    assert {"fence", "repair.trailing_comma", "key.alias"} <= set(result.codes)
    assert isinstance(result.value, dict) and result.value["skills"] == ["Python", "Java"]
    assert [(r.attempt, r.model) for r in records(tmp_path / "f.db")] == [(1, "lora-v2")]


def test_min_score_reasks_an_ok_but_low_output() -> None:
    model = Script([FIXABLE, CANONICAL])
    result = guard("resume", min_score=0.9)(model.generate)(CHINESE)
    assert result.ok and result.score == 1.0 and len(model.sent) == 2
    reask = model.sent[1][-1]["content"]
    assert reask.startswith("上一次的回答可以解析，但格式不规范") and "(key.alias)" in reask


def test_retries_exhausted_return_the_last_result() -> None:
    model = Script([FIXABLE] * 3)
    result = guard("resume", retries=2, min_score=0.9)(model.generate)(CHINESE)
    assert result.ok and result.score < 0.9 and len(model.sent) == 3
    failing = Script([NO_JSON, NO_NAME])
    last = guard("resume", retries=1)(failing.generate)(CHINESE)
    assert not last.ok and last.raw == NO_NAME


def test_raise_on_failure_carries_every_attempt() -> None:
    model = Script([NO_JSON, NO_NAME, NO_JSON + "!"])
    extract = guard("resume", retries=2, raise_on_failure=True)(model.generate)
    with pytest.raises(OutputRejected) as caught:
        extract(ENGLISH)
    error = caught.value
    assert isinstance(error, ValueError)
    assert [a.raw for a in error.attempts] == [NO_JSON, NO_NAME, NO_JSON + "!"]
    assert error.result is error.attempts[-1] and not any(a.ok for a in error.attempts)
    assert "3 attempt(s)" in str(error) and "no_json" in str(error)


def test_a_good_first_answer_does_not_raise() -> None:
    assert guard("resume", raise_on_failure=True)(Script([RIGHT]).generate)(ENGLISH).ok


def test_reask_language_and_shape() -> None:
    english, chinese = Script([NO_JSON, RIGHT]), Script([NO_JSON, RIGHT])
    guard("resume")(english.generate)(ENGLISH)
    guard("resume")(chinese.generate)(CHINESE)
    en, zh = english.sent[1][-1]["content"], chinese.sent[1][-1]["content"]
    assert en.splitlines()[0] == "Your previous answer could not be used:"
    assert "Answer again with only the JSON, nothing else, in this shape (required: name):" in en
    assert zh.splitlines()[0] == "上一次的回答无法使用："
    assert "请重新回答，只输出 JSON，不要其他文字，格式如下（必填：name）：" in zh
    for text in (en, zh):
        shape = text.splitlines()[-1]
        assert shape.startswith('{"name": string, "gender": "男"|"女"|null, "age": integer|null')
        assert len(text.splitlines()) <= 11  # at most 8 problem lines, a header, the ask and the shape


def test_problem_lines_are_capped_with_the_blocking_ones_first() -> None:
    raw = '{"age": "很多", "phone": "138****5678", "salary": "面议", "email": "x", "gender": "?", ' + (
        '"company": 1, "city": 2, "position": 3, "years_of_experience": "几年", "skills": 5}'
    )
    model = Script([raw, RIGHT])
    guard("resume")(model.generate)(ENGLISH)
    lines = model.sent[1][-1]["content"].splitlines()
    problems = [line for line in lines if line.startswith("- ")]
    assert len(problems) == 8 and problems[-1].startswith("- ... and ")
    assert all(line.endswith(("(lost.value)", "(missing.required)")) for line in problems[:7])


def test_a_string_prompt_becomes_messages_on_reask() -> None:
    model = Script([NO_JSON, RIGHT])
    assert guard("resume")(model.generate)("抽取简历：张伟").ok
    assert model.sent[0] == "抽取简历：张伟"
    assert model.sent[1][:2] == [
        {"role": "user", "content": "抽取简历：张伟"},
        {"role": "assistant", "content": NO_JSON},
    ]
    assert model.sent[1][2]["content"].startswith("上一次的回答无法使用")


def test_without_reask_retries_resend_the_original() -> None:
    for prompt in (CHINESE, "抽取简历：张伟"):
        model = Script([NO_JSON, NO_NAME, RIGHT])
        assert guard("resume", reask=False)(model.generate)(prompt).ok
        assert model.sent == [prompt] * 3


def test_the_messages_keyword_and_other_arguments_are_kept() -> None:
    seen: list[tuple[Any, float]] = []
    outputs = iter([NO_JSON, RIGHT])

    @guard("resume")
    def chat(*, messages: Messages, temperature: float = 0.0) -> str:
        seen.append((messages, temperature))
        return next(outputs)

    assert chat(messages=ENGLISH, temperature=0.7).ok
    assert [len(m) for m, _ in seen] == [1, 3] and {t for _, t in seen} == {0.7}

    @guard("resume", reask=False)
    def generate(client: object, messages: Messages) -> str:
        assert client == "client"
        return RIGHT if messages == ENGLISH else NO_JSON

    assert generate("client", ENGLISH).ok
    assert generate("client", messages=ENGLISH).ok


def test_the_model_id_of_a_method_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = FeedbackStore(path)
    bound = Script([RIGHT], model_id="backend-a")
    guard("resume", store=store)(bound.generate)(ENGLISH)

    class Local:
        model_id = "local-7b"

        @guard("resume", store=store)
        def generate(self, messages: Messages) -> str:
            return RIGHT.replace("张伟", "李雷")

    Local().generate(ENGLISH)
    guard("resume", store=store, model="given")(Script([RIGHT], model_id="ignored").generate)(CHINESE)
    guard("resume", store=store, retries=0)(lambda messages: NO_NAME)(ENGLISH)
    assert [r.model for r in records(path)] == ["backend-a", "local-7b", "given", None]
    store.close()


class Completion:
    """An OpenAI-style chat completion object."""

    def __init__(self, content: str | None) -> None:
        self.choices = [SimpleNamespace(message=SimpleNamespace(role="assistant", content=content))]


@pytest.mark.parametrize(
    "output",
    [
        RIGHT,
        RIGHT.encode(),
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": RIGHT}}]},
        Completion(RIGHT),
        {"choices": [{"index": 0, "text": RIGHT}]},
        [{"generated_text": RIGHT}],
        [{"generated_text": [*ENGLISH, {"role": "assistant", "content": RIGHT}]}],
        SimpleNamespace(text=RIGHT),
        SimpleNamespace(content=RIGHT),
    ],
    ids=["str", "bytes", "chat-dict", "chat-object", "completion", "pipeline", "pipeline-chat", "text", "content"],
)
def test_every_output_shape_is_read(output: Any) -> None:
    result = guard("resume")(Script([output]).generate)(ENGLISH)
    assert result.ok and result.raw == RIGHT


def test_an_answer_without_text_is_no_json_and_an_unknown_shape_is_a_config_error() -> None:
    assert read_output(Completion(None)) == ""
    result = guard("resume", retries=0)(Script([Completion(None)]).generate)(ENGLISH)
    assert not result.ok and result.codes == ["no_json"]
    with pytest.raises(ConfigError, match="choices"):
        guard("resume")(Script([42]).generate)(ENGLISH)


def test_exceptions_from_the_function_propagate_unchanged(tmp_path: Path) -> None:
    boom = RuntimeError("the server is down")
    calls: list[int] = []

    def flaky(messages: Messages) -> str:
        calls.append(1)
        if len(calls) == 2:
            raise boom
        return NO_JSON

    with pytest.raises(RuntimeError) as caught:
        guard("resume", store=tmp_path / "f.db")(flaky)(ENGLISH)
    assert caught.value is boom
    assert [r.attempt for r in records(tmp_path / "f.db")] == [1]

    async def down(messages: Messages) -> str:
        raise boom

    with pytest.raises(RuntimeError) as caught:
        asyncio.run(guard("resume")(down)(ENGLISH))
    assert caught.value is boom


@pytest.mark.parametrize(
    ("schema", "options", "fix"),
    [
        ("resume", {"retries": -1}, "retries="),
        ("resume", {"retries": 1.5}, "retries="),
        ("resume", {"retries": True}, "retries="),
        ("resume", {"min_score": 1.5}, "min_score="),
        ("resume", {"min_score": -0.1}, "min_score="),
        ("resume", {"reask": "yes"}, "reask="),
        ("resume", {"raise_on_failure": 1}, "raise_on_failure="),
        ("resume", {"model": 7}, "model="),
        ("resume", {"store": 42}, "store="),
        ("no_such_schema", {}, "shipped schemas"),
        ({"type": "string", "x-canonical": "nope"}, {}, "canonicalizers"),
    ],
)
def test_bad_arguments_raise_config_error_naming_the_fix(schema: Any, options: dict[str, Any], fix: str) -> None:
    with pytest.raises(ConfigError, match=fix):
        guard(schema, **options)


def test_misuse_at_decoration_and_call_time() -> None:
    def extract(messages: Messages) -> str:
        return RIGHT

    with pytest.raises(ConfigError, match=r"@guard\('resume'\)"):
        guard(extract)  # forgot the schema: @guard instead of @guard("resume")
    with pytest.raises(ConfigError, match="decorates a function"):
        guard("resume")(42)  # type: ignore[call-overload]
    guarded = guard("resume")(extract)
    with pytest.raises(ConfigError, match="list of chat messages"):
        guarded(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="list of chat messages"):
        guarded([{"content": "no role"}])
    with pytest.raises(ConfigError, match="first argument or messages="):
        guarded()  # type: ignore[call-arg]


def test_the_signature_is_preserved() -> None:
    def extract(messages: Messages, *, temperature: float = 0.0) -> str:
        """Ask the model."""
        return RIGHT

    async def aextract(messages: Messages, top_p: float = 1.0) -> str:
        return RIGHT

    for original in (extract, aextract):
        guarded: Callable[..., Any] = guard("resume")(original)
        signature = inspect.signature(guarded)
        assert signature.parameters == inspect.signature(original).parameters
        assert signature.return_annotation is Result
        assert guarded.__name__ == original.__name__ and guarded.__doc__ == original.__doc__
        assert guarded.__wrapped__ is original  # type: ignore[attr-defined]
        assert inspect.iscoroutinefunction(guarded) == inspect.iscoroutinefunction(original)


TYPED_USAGE = """
from collections.abc import Coroutine
from typing import Any, assert_type

from llm_guard_json import Result
from llm_guard_json.guard import guard


@guard("resume", retries=1, min_score=0.8)
def extract(messages: list[dict[str, str]], *, temperature: float = 0.0) -> str:
    return messages[-1]["content"]


@guard("resume")
async def aextract(messages: list[dict[str, Any]], **options: Any) -> str:  # an Any keeps it typed too
    return str(messages[-1]["content"])


class Backend:
    model_id = "m"

    def generate(self, messages: str) -> str:
        return messages

    @guard("resume")
    def extract(self, messages: str) -> str:
        return messages


def pending() -> Coroutine[Any, Any, Result]:
    return aextract([{"role": "user", "content": "x"}])


async def main() -> Result:
    return assert_type(await aextract([{"role": "user", "content": "x"}], temperature=0.2), Result)


assert_type(extract([{"role": "user", "content": "x"}], temperature=0.5), Result)
assert_type(guard("resume")(Backend().generate)("x"), Result)
assert_type(Backend().extract("x"), Result)
extract("not a list")  # type: ignore[arg-type]
extract([], temperature="hot")  # type: ignore[arg-type]
"""


def test_mypy_strict_accepts_a_typed_usage(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    (tmp_path / "usage.py").write_text(TYPED_USAGE, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "usage.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # --strict warns about unused ignores: the two wrong calls above must be errors, so the parameters are kept
    assert run.returncode == 0, run.stdout + run.stderr
