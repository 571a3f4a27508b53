"""OpenAICompatible: one chat completion over HTTP from vLLM, llama.cpp's llama-server, Ollama or OpenAI.

Each server selects a LoRA its own way (vLLM: `model` names the LoRA; llama.cpp: a `lora` list in the body;
Ollama: the name given to `ollama create`). The schema goes out as `response_format` json_schema, which all four
read (vLLM's removed `guided_json` is silently ignored by current servers, so it is never sent). Standard library
only: http.client for sync calls, asyncio streams for async ones; proxy variables are not read.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit

from .._errors import ConfigError
from . import BackendError, Messages, as_messages, wire_schema

FLAVORS = ("vllm", "llamacpp", "ollama", "openai")
Flavor: TypeAlias = Literal["vllm", "llamacpp", "ollama", "openai"]


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str


#: What one attempt gives: the server's reply, or the transport error (refused, reset, timed out, garbled).
_Outcome: TypeAlias = _Reply | Exception


class OpenAICompatible:
    """POST `{base_url}/v1/chat/completions`; `generate` returns `choices[0].message.content`, even when the
    server stopped at its token limit (`finish_reason` "length": normalization reports the truncation).

    `lora`: vLLM and OpenAI take the served LoRA's name (it replaces `model` in the request); llama.cpp takes an
    adapter id or a list like `[{"id": 0, "scale": 1.0}]`; Ollama bakes the adapter into the model that
    `ollama create` names, so pass that name as `model`. `schema` (a shipped name, a dict, a `Schema`, ...) is
    sent as the constraint, without this library's `x-` keywords. `extra` adds body fields (`max_tokens`, ...),
    merged last; a None value removes one (the default `temperature` of 0). Transport errors, timeouts
    (`timeout` seconds per attempt), 408, 429 and 5xx are retried `retries` times, pausing `backoff`, then twice
    that, ...; then, or on any other error status, `BackendError` says what happened.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        flavor: Flavor = "vllm",
        lora: str | int | Sequence[Mapping[str, Any]] | None = None,
        schema: Any = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.5,
        extra: Mapping[str, Any] | None = None,
        model_id: str | None = None,
    ) -> None:
        if flavor not in FLAVORS:
            raise ConfigError(f"unknown flavor {flavor!r}; pass one of {list(FLAVORS)}")
        if not isinstance(model, str) or not model:
            raise ConfigError("model= must name the served model (vLLM: the base or the LoRA; Ollama: the created one)")
        if not (isinstance(timeout, int | float) and timeout > 0):
            raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not (isinstance(retries, int) and retries >= 0) or not (isinstance(backoff, int | float) and backoff >= 0):
            raise ConfigError(f"retries must be an int >= 0 and backoff seconds >= 0, not {retries!r}, {backoff!r}")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base_url must look like 'http://127.0.0.1:8000', not {base_url!r}")
        self.flavor = flavor
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/').removesuffix('/v1')}/v1/chat/completions"
        self._host, self._path = parts.hostname, urlsplit(self.url).path
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", "Connection": "close"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        body: dict[str, Any] = {"model": model, "temperature": 0}
        selected = _select_lora(flavor, model, lora, body)
        if schema is not None:
            name, root = wire_schema(schema)
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": name, "schema": root}}
        body.update(extra or {})
        self._body = {key: value for key, value in body.items() if value is not None}
        self.model_id: str = model_id or selected

    def __repr__(self) -> str:
        return f"OpenAICompatible({self.url!r}, model_id={self.model_id!r}, flavor={self.flavor!r})"

    def request_body(self, messages: Messages) -> dict[str, Any]:
        """The JSON body sent for `messages`."""
        return {"messages": as_messages(messages), **self._body}

    def generate(self, messages: Messages) -> str:
        """The model's reply to `messages` (a chat or a prompt string)."""
        body = json.dumps(self.request_body(messages), ensure_ascii=False).encode()
        plan = self._plan()
        pause = next(plan)
        while True:
            time.sleep(pause)
            try:
                pause = plan.send(self._post(body))
            except StopIteration as done:
                return str(done.value)

    async def agenerate(self, messages: Messages) -> str:
        """`generate` without blocking the event loop."""
        body = json.dumps(self.request_body(messages), ensure_ascii=False).encode()
        plan = self._plan()
        pause = next(plan)
        while True:
            await asyncio.sleep(pause)
            try:
                pause = plan.send(await self._apost(body))
            except StopIteration as done:
                return str(done.value)

    def _plan(self) -> Generator[float, _Outcome, str]:
        """The retry policy, driven by both methods: yields the pause before each attempt, receives its outcome,
        returns the content or raises BackendError."""
        status: int | None = None
        last = ""
        for attempt in range(1, self.retries + 2):
            outcome = yield self.backoff * 2 ** (attempt - 2) if attempt > 1 else 0.0
            if not isinstance(outcome, _Reply):
                status, last = None, self._describe(outcome)
            elif _retryable(outcome.status):
                status, last = outcome.status, _error_text(outcome)
            else:
                return self._content(outcome, attempt)
        raise BackendError(
            f"POST {self.url}: no answer after {self.retries + 1} attempt(s); the last: {last}",
            url=self.url,
            attempts=self.retries + 1,
            status=status,
            last=last,
        )

    def _content(self, reply: _Reply, attempts: int) -> str:
        if not 200 <= reply.status < 300:
            last = _error_text(reply)
            raise BackendError(
                f"POST {self.url}: {last} (not retried; attempt {attempts})",
                url=self.url,
                attempts=attempts,
                status=reply.status,
                last=last,
            )
        try:
            content = json.loads(reply.body)["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError):
            last = f"HTTP {reply.status} without choices[0].message.content: {reply.body[:200]!r}"
            raise BackendError(
                f"POST {self.url}: {last}", url=self.url, attempts=attempts, status=reply.status, last=last
            ) from None
        if isinstance(content, list):  # content parts
            return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        return "" if content is None else str(content)  # no text (a refusal, say): normalization reports it

    def _describe(self, error: Exception) -> str:
        if isinstance(error, TimeoutError):
            return f"no answer within timeout={self.timeout:g} s (raise timeout= for long generations)"
        if isinstance(error, ConnectionRefusedError):
            return f"connection refused by {self._host}:{self._port} (is the server running there?)"
        return f"{type(error).__name__}: {error}"

    def _post(self, body: bytes) -> _Outcome:
        connection = (
            http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=self._tls)
            if self._tls
            else http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        )
        try:
            connection.request("POST", self._path, body, self._headers)
            response = connection.getresponse()
            return _Reply(response.status, response.read(), response.getheader("Content-Type") or "")
        except (OSError, http.client.HTTPException) as e:  # TimeoutError and ssl.SSLError are OSErrors
            return e
        finally:
            connection.close()

    async def _apost(self, body: bytes) -> _Outcome:
        host = f"[{self._host}]" if ":" in self._host else self._host
        head = [f"POST {self._path} HTTP/1.1", f"Host: {host}:{self._port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in self._headers.items()]
        writer = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self._host, self._port, ssl=self._tls)
                writer.write("\r\n".join([*head, "", ""]).encode("latin-1") + body)
                await writer.drain()
                return await _read_reply(reader)
        except (OSError, EOFError, ValueError, http.client.HTTPException, asyncio.LimitOverrunError) as e:
            return e  # TimeoutError is an OSError; IncompleteReadError an EOFError
        finally:
            if writer is not None:
                writer.close()


async def _read_reply(reader: asyncio.StreamReader) -> _Reply:
    """One HTTP/1.1 response: the status line, headers, then a body by Content-Length, chunks or until EOF."""
    status = 100
    headers: dict[str, str] = {}
    while 100 <= status < 200:  # skip interim (1xx) responses
        line = await reader.readline()
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        version, _, rest = line.decode("latin-1").strip().partition(" ")
        if not version.startswith("HTTP/") or not rest[:3].isdigit():
            raise http.client.BadStatusLine(line.decode("latin-1"))
        status, headers = int(rest[:3]), {}
        while (line := await reader.readline()).strip():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while size := int((await reader.readline()).split(b";")[0], 16):  # b"" (EOF) raises ValueError
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
    return _Reply(status, body, headers.get("content-type", ""))


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def _error_text(reply: _Reply) -> str:
    """What an error reply says: the server's JSON error message, else its content type and first bytes."""
    try:
        data = json.loads(reply.body)
    except ValueError:
        kind = reply.content_type.split(";")[0] or "no content type"
        return f"HTTP {reply.status} ({kind}, not JSON): {reply.body[:200]!r}"
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or error
    return f"HTTP {reply.status}: {str(error)[:500]}"


def _select_lora(flavor: str, model: str, lora: Any, body: dict[str, Any]) -> str:
    """Puts the LoRA selection into `body` the way `flavor` expects; returns the model id."""
    if lora is None:
        return model
    if flavor == "ollama":
        raise ConfigError(
            "Ollama bakes the adapter in: `ollama create NAME` with `ADAPTER` in the Modelfile, then model=NAME"
        )
    if flavor in ("vllm", "openai"):
        if not isinstance(lora, str) or not lora:
            raise ConfigError(f"{flavor} selects a LoRA by its served name: lora='ie-lora', not {lora!r}")
        body["model"] = lora
        return lora
    spec = [{"id": lora}] if isinstance(lora, int) and not isinstance(lora, bool) else lora
    if isinstance(spec, str) or not isinstance(spec, Sequence) or not spec:
        raise ConfigError(f'llama.cpp selects adapters by id: lora=0 or lora=[{{"id": 0, "scale": 1.0}}], not {lora!r}')
    adapters = []
    for item in spec:
        adapter_id, scale = (item.get("id"), item.get("scale", 1.0)) if isinstance(item, Mapping) else (None, None)
        if not isinstance(adapter_id, int) or isinstance(adapter_id, bool) or not isinstance(scale, int | float):
            raise ConfigError(f'each llama.cpp adapter is {{"id": int, "scale": float}}, not {item!r}')
        adapters.append({"id": adapter_id, "scale": float(scale)})
    body["lora"] = adapters
    return model + "+lora:" + ",".join(f"{a['id']}" + (f"@{a['scale']:g}" if a["scale"] != 1 else "") for a in adapters)
