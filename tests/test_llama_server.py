"""OpenAICompatible(flavor="llamacpp") over real HTTP on 127.0.0.1 against llama.cpp's own `llama-server`: the
JSON schema sent as `response_format`, the adapter chosen by the `lora` list, and a served model's known deviating
answer normalized. The server is built once and cached (tests/llama_server.py; `python tests/llama_server.py
build` does it ahead, as .ci/run does); a failed build fails these tests with the build log's tail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("sentencepiece")  # the vendored GGUF converter imports it

import llama_server
from llama_server import ANSWER, CHAT, SCHEMA
from llm_guard_json import normalize
from llm_guard_json.backends import OpenAICompatible

# A hang guard per test. The first test also waits for the session fixture: the fixture model and the server start
# take about 10 s; a build (only without the cache) takes 5 to 15 minutes on 2 cores.
pytestmark = [pytest.mark.llama_server, pytest.mark.timeout(180 if llama_server.is_built() else 3600)]
EXPECTED = {"name": "张三", "age": 30, "city": "北京"}


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-server serving the fixture model with its adapter loaded as id 0."""
    try:
        llama_server.build()
    except llama_server.BuildError as e:
        pytest.fail(str(e), pytrace=False)
    model, adapter = llama_server.fixture_model(tmp_path_factory.mktemp("llama-server"))
    with llama_server.serve(model, adapter) as url:
        yield url


def backend(url: str, scale: float = 1.0, schema: object = None) -> OpenAICompatible:
    return OpenAICompatible(
        url,
        model="tiny",
        flavor="llamacpp",
        lora=[{"id": 0, "scale": scale}],
        schema=schema,
        timeout=60,
        extra={"max_tokens": 48},
    )


def test_schema_and_lora_go_out_and_an_answer_comes_back(server_url: str) -> None:
    guarded = OpenAICompatible(server_url, model="tiny", flavor="llamacpp", lora=0, schema=SCHEMA, timeout=60)
    body = guarded.request_body(CHAT)
    assert body["lora"] == [{"id": 0, "scale": 1.0}]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["name", "age", "city"]
    text = guarded.generate(CHAT)
    # The grammar the server builds from the schema rules out the fence and the trailing comma the model learnt.
    value = json.loads(text)
    assert set(value) == {"name", "age", "city"}
    assert isinstance(value["age"], int)
    result = normalize(text, SCHEMA)
    assert result.ok, [d.as_dict() for d in result.deviations]
    assert "fence" not in [d.code for d in result.deviations]


def test_the_adapter_scale_changes_the_answer(server_url: str) -> None:
    with_adapter = backend(server_url, 1.0).generate(CHAT)
    without = backend(server_url, 0.0).generate(CHAT)
    assert with_adapter == ANSWER
    assert without != with_adapter


def test_the_known_deviating_answer_normalizes(server_url: str) -> None:
    text = backend(server_url).generate(CHAT)
    result = normalize(text, SCHEMA)
    assert result.ok
    assert result.value == EXPECTED
    assert [d.code for d in result.deviations] == ["fence", "repair.trailing_comma", "coerce.number_from_text"]


def test_async_gets_the_same_answer(server_url: str) -> None:
    assert asyncio.run(backend(server_url).agenerate(CHAT)) == ANSWER
