"""OpenAICompatible over real HTTP on 127.0.0.1, against a small scripted chat-completions server: the request
each server flavor expects, and the faults a real one shows (timeouts, dropped connections, error pages)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llm_guard_json import ConfigError, GuardError, Schema, normalize
from llm_guard_json.backends import Backend, BackendError, OpenAICompatible
from llm_guard_json.backends import openai as openai_backend

pytestmark = pytest.mark.timeout(30)  # a hang guard: every test here takes well under a second
CHAT = [{"role": "system", "content": "只输出JSON。"}, {"role": "user", "content": "抽取简历：张伟，35岁"}]
ANSWER = '{"name":"张伟","age":35}'
Step = Callable[["_Handler"], None]


def completion(content: str | None, finish_reason: str = "stop") -> dict[str, Any]:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
    return {"id": "c1", "object": "chat.completion", "choices": [choice]}


def reply(content: str | None = ANSWER, finish_reason: str = "stop", status: int = 200) -> Step:
    return lambda h: h.send(status, json.dumps(completion(content, finish_reason)).encode(), "application/json")


def error(status: int, payload: Any) -> Step:
    return lambda h: h.send(status, json.dumps(payload).encode(), "application/json")


def page(status: int, html: str) -> Step:
    return lambda h: h.send(status, html.encode(), "text/html; charset=utf-8")


def hang(h: _Handler) -> None:
    """Answer nothing until the test ends (the client times out first)."""
    h.server.release.wait(20)  # type: ignore[attr-defined]


def drop(h: _Handler) -> None:
    """Close the connection without a word."""
    h.close_connection = True


def unsized(chunks: bool) -> Step:
    """An answer without Content-Length: in chunks (with a chunk extension), or until the connection closes."""

    def step(h: _Handler) -> None:
        body = json.dumps(completion(ANSWER)).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header(*(("Transfer-Encoding", "chunked") if chunks else ("Connection", "close")))
        h.end_headers()
        if not chunks:
            h.wfile.write(body)
            h.close_connection = True
            return
        for i in range(0, len(body), 7):
            h.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]))
        h.wfile.write(b"0\r\n\r\n")

    return step


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server: Any = self.server
        with server.lock:
            server.requests.append(SimpleNamespace(path=self.path, headers=dict(self.headers), body=body))
            step = server.script[min(len(server.requests), len(server.script)) - 1]  # the last step repeats
        try:
            step(self)
        except OSError:  # the client gave up first
            self.close_connection = True

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Any]:
    """A chat-completions server: set `.script` (one step per request), read `.requests` after."""
    httpd: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests, httpd.script, httpd.lock, httpd.release = [], [reply()], threading.Lock(), threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True).start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Callable[[OpenAICompatible, Any], str]:
    """The backend's generate, or its agenerate run in an event loop."""
    if request.param == "sync":
        return lambda backend, messages: backend.generate(messages)
    return lambda backend, messages: asyncio.run(backend.agenerate(messages))


def test_vllm_request_names_the_lora_and_sends_the_schema_as_response_format(server: Any, call: Any) -> None:
    backend = OpenAICompatible(server.url, model="Qwen/Qwen2.5-7B", lora="ie-lora", schema="resume", api_key="k1")
    assert isinstance(backend, Backend) and backend.model_id == "ie-lora"
    assert call(backend, CHAT) == ANSWER
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Content-Type"] == "application/json" and request.headers["Authorization"] == "Bearer k1"
    body = request.body
    assert body["model"] == "ie-lora" and body["messages"] == CHAT and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema" and "guided_json" not in body
    sent = body["response_format"]["json_schema"]
    assert sent["name"] == "resume"
    root = Schema("resume").root
    assert list(sent["schema"]["properties"]) == list(root["properties"])
    assert '"x-' not in json.dumps(sent["schema"]) and '"x-aliases"' in json.dumps(root)  # this library's keywords
    age = {"type": ["integer", "null"], "minimum": 0, "maximum": 150, "default": None}
    assert sent["schema"]["properties"]["age"] == age


def test_ollama_request_names_the_created_model(server: Any, call: Any) -> None:
    schema = {"title": "简历 v2", "properties": {"x-id": {"type": "string", "x-aliases": ["编号"]}}}
    extra = {"temperature": None, "seed": 7}  # merged last; None removes a field
    backend = OpenAICompatible(server.url + "/v1/", model="ie-model", flavor="ollama", schema=schema, extra=extra)
    assert call(backend, "抽取：张伟") == ANSWER
    (request,) = server.requests
    assert request.path == "/v1/chat/completions" and "Authorization" not in request.headers
    assert request.body["model"] == "ie-model" and "lora" not in request.body and "temperature" not in request.body
    assert request.body["seed"] == 7
    assert request.body["messages"] == [{"role": "user", "content": "抽取：张伟"}]
    sent = {"title": "简历 v2", "properties": {"x-id": {"type": "string"}}}  # a property may be named x-...
    assert request.body["response_format"]["json_schema"] == {"name": "v2", "schema": sent}
    assert backend.model_id == "ie-model"


@pytest.mark.parametrize(
    ("lora", "sent", "model_id"),
    [
        (0, [{"id": 0, "scale": 1.0}], "b+lora:0"),
        ([{"id": 1, "scale": 0.5}, {"id": 2}], [{"id": 1, "scale": 0.5}, {"id": 2, "scale": 1.0}], "b+lora:1@0.5,2"),
    ],
)  # fmt: skip
def test_llamacpp_request_carries_a_lora_list(server: Any, call: Any, lora: Any, sent: Any, model_id: str) -> None:
    backend = OpenAICompatible(server.url, model="b", flavor="llamacpp", lora=lora, extra={"max_tokens": 64})
    assert call(backend, CHAT) == ANSWER
    body = server.requests[0].body
    assert body["lora"] == sent and body["model"] == "b" and body["max_tokens"] == 64
    assert "response_format" not in body  # no schema given, no constraint sent
    assert backend.model_id == model_id


@pytest.mark.parametrize(
    ("content", "finish_reason", "codes"),
    [
        (f"好的：\n```json\n{ANSWER}\n```", "stop", {"fence", "prose"}),
        ('{"name":"张伟","age', "length", {"repair.missing_closer", "repair.dangling_key"}),  # cut at the token limit
        ('{"name":"张\x01伟\n","age":35}', "stop", {"repair.escape"}),  # raw control characters in a string
    ],
    ids=["fenced", "truncated", "control-characters"],
)
def test_output_comes_back_as_written_for_normalize_to_report(
    server: Any, call: Any, content: str, finish_reason: str, codes: set[str]
) -> None:
    server.script = [reply(content, finish_reason)]
    assert call(OpenAICompatible(server.url, model="m"), CHAT) == content
    result = normalize(content, "resume")
    assert result.ok and codes <= {d.code for d in result.deviations}


@pytest.mark.parametrize("chunks", [True, False], ids=["chunked", "until-close"])
def test_bodies_without_content_length_are_read(server: Any, call: Any, chunks: bool) -> None:
    server.script = [unsized(chunks)]
    assert call(OpenAICompatible(server.url, model="m"), CHAT) == ANSWER


def test_null_content_is_empty_text(server: Any, call: Any) -> None:
    server.script = [reply(None)]
    assert call(OpenAICompatible(server.url, model="m"), CHAT) == ""


PAGE = "<html><h1>Bad Gateway</h1></html>" + "x" * 1000


@pytest.mark.parametrize(
    ("fault", "status", "last"),
    [
        (hang, None, r"no answer within timeout=0.2 s \(raise timeout= for long generations\)"),
        (drop, None, "RemoteDisconnected: Remote end closed connection without response"),
        (page(502, PAGE), 502, r"HTTP 502 \(text/html, not JSON\): b'<html><h1>Bad Gateway</h1></html>x+'"),
        (error(503, {"error": {"message": "loading the model"}}), 503, "HTTP 503: loading the model"),
    ],
    ids=["timeout", "closed", "html-502", "json-503"],
)  # fmt: skip
def test_faults_are_retried_then_reported(server: Any, call: Any, fault: Step, status: int | None, last: str) -> None:
    server.script = [fault]
    backend = OpenAICompatible(server.url, model="m", timeout=0.2, retries=2, backoff=0.01)
    with pytest.raises(BackendError) as caught:
        call(backend, CHAT)
    caught.match(rf"^POST {backend.url}: no answer after 3 attempt\(s\); the last: {last}$")
    assert len(server.requests) == 3  # counted by the server
    assert (caught.value.url, caught.value.attempts, caught.value.status) == (backend.url, 3, status)
    assert len(caught.value.last) < 300  # an error page is cut to its first bytes


@pytest.mark.parametrize("fault", [hang, drop, page(502, PAGE), error(429, {"error": "slow down"})])
def test_a_fault_then_an_answer_is_an_answer(server: Any, call: Any, fault: Step) -> None:
    server.script = [fault, reply()]
    backend = OpenAICompatible(server.url, model="m", timeout=0.2, retries=2, backoff=0.01)
    assert call(backend, CHAT) == ANSWER
    assert len(server.requests) == 2


def test_a_client_error_is_not_retried(server: Any, call: Any) -> None:
    server.script = [error(400, {"error": {"message": "The model `ie-lora` does not exist.", "code": 404}})]
    with pytest.raises(BackendError, match=r"HTTP 400: The model `ie-lora` does not exist. \(not retried") as caught:
        call(OpenAICompatible(server.url, model="ie-lora", retries=3, backoff=0.01), CHAT)
    assert (caught.value.status, caught.value.attempts, len(server.requests)) == (400, 1, 1)
    assert isinstance(caught.value, GuardError)


def test_a_success_without_choices_is_reported(server: Any, call: Any) -> None:
    server.script = [error(200, {"object": "error"})]
    with pytest.raises(BackendError, match=r"HTTP 200 without choices\[0\]\.message\.content"):
        call(OpenAICompatible(server.url, model="m"), CHAT)
    assert len(server.requests) == 1


def test_no_server_is_retried_then_reported(call: Any) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OpenAICompatible(f"http://127.0.0.1:{port}", model="m", retries=1, backoff=0.01)
    with pytest.raises(BackendError, match=r"2 attempt\(s\).*connection refused by 127.0.0.1:\d+ \(is the server"):
        call(backend, CHAT)


def test_retries_pause_with_exponential_backoff(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(openai_backend, "time", SimpleNamespace(sleep=pauses.append))
    server.script = [error(503, {"error": "loading"})] * 3 + [reply()]
    assert OpenAICompatible(server.url, model="m", retries=3, backoff=0.25).generate(CHAT) == ANSWER
    assert pauses == [0.0, 0.25, 0.5, 1.0] and len(server.requests) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flavor": "tgi"}, "unknown flavor 'tgi'"),
        ({"base_url": "127.0.0.1:8000"}, "base_url must look like"),
        ({"model": ""}, "model= must name"),
        ({"timeout": 0}, "timeout must be"),
        ({"retries": -1}, "retries must be"),
        ({"flavor": "ollama", "lora": "x"}, "ollama create"),
        ({"flavor": "vllm", "lora": 0}, "served name"),
        ({"flavor": "llamacpp", "lora": "a.gguf"}, "selects adapters by id"),
        ({"flavor": "llamacpp", "lora": [{"id": "0"}]}, "each llama.cpp adapter"),
        ({"schema": "no_such_schema"}, "unknown schema name"),
    ],
)
def test_usage_errors_name_the_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OpenAICompatible(**{"base_url": "http://127.0.0.1:8000", "model": "m"} | kwargs)


@pytest.mark.parametrize("messages", [[], [{"role": "user"}], ["hello"], 42])
def test_bad_messages_raise_before_any_request(server: Any, messages: Any) -> None:
    with pytest.raises(ConfigError, match="messages must be"):
        OpenAICompatible(server.url, model="m").generate(messages)
    assert server.requests == []


def test_the_backends_import_no_heavy_module() -> None:
    code = (
        "import sys; from llm_guard_json.backends import LocalLoRA, OpenAICompatible; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'xgrammar', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_through_the_guard_a_wrong_answer_is_asked_again_over_http(server: Any, tmp_path: Path, mode: str) -> None:
    """The server first writes prose with no JSON, then the answer: two requests, the second holding the first
    failure and a re-ask in Chinese; both attempts are in the store under the LoRA's name."""
    from llm_guard_json import guard
    from llm_guard_json.feedback import FeedbackStore

    server.script = [reply("抱歉，无法抽取。"), reply("```json\n" + ANSWER + "\n```")]
    backend = OpenAICompatible(server.url, model="base", lora="ie-lora", schema="resume")
    store = tmp_path / "feedback.db"
    method = backend.generate if mode == "sync" else backend.agenerate
    wrapped = guard("resume", store=store)(method)
    result = wrapped(CHAT) if mode == "sync" else asyncio.run(wrapped(CHAT))  # type: ignore[arg-type]
    assert result.ok and result.value["name"] == "张伟"  # type: ignore[index]
    first, second = (r.body["messages"] for r in server.requests)
    assert first == CHAT
    assert second[: len(CHAT)] == CHAT and second[len(CHAT)] == {"role": "assistant", "content": "抱歉，无法抽取。"}
    assert "上一次的回答无法使用" in second[-1]["content"] and len(second) == len(CHAT) + 2
    with FeedbackStore(store) as fb:
        assert [(r.attempt, r.model, r.ok) for r in fb.records()] == [(1, "ie-lora", False), (2, "ie-lora", True)]
