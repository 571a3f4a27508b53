"""llama.cpp's `llama-server`, built once and cached outside the clone, and a tiny GGUF model to serve with it.

`python tests/llama_server.py build` downloads the llama-cpp-python sdist with pip (it vendors llama.cpp),
builds `llama-server` (CPU, portable: no -march=native) and keeps it, with the sdist's GGUF converters and
`gguf-py`, in `${LLM_GUARD_JSON_CACHE:-~/.cache/llm_guard_json}/llama.cpp-<version>/`. The build runs in a
temporary folder renamed into place at the end, so an interrupted build leaves no half cache; with the cache
there, `build` does nothing.

`fixture_model(folder)` trains a 2-layer Llama's LoRA adapter for a few seconds on one chat, so that greedy
decoding gives a known answer with the usual deviations (a fence, a trailing comma, a number as text), and
converts the base and the adapter to GGUF with the vendored converters. `Server` runs `llama-server` on
127.0.0.1. Nothing is downloaded after the build.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tiny_model  # sets the offline flags before any hub library is imported

VERSION = "0.3.36"
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # otherwise the build downloads the web UI
    "-DLLAMA_OPENSSL=OFF",
)
#: What the GGUF conversion needs from the sdist's vendor/llama.cpp.
CONVERTER_FILES = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion", "gguf-py")

CHAT = [{"role": "system", "content": "只输出JSON。"}, {"role": "user", "content": "抽取：张三，30岁，北京"}]
#: What the fixture model answers to CHAT, greedily, with its adapter at full scale.
ANSWER = '```json\n{"name": "张三", "age": "30岁", "city": "北京",}\n```'
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}


class BuildError(RuntimeError):
    """The llama-server build failed; the message ends with the build log's tail."""


def cache_dir() -> Path:
    """Where this llama.cpp version is kept: the binary in `bin/`, the converters in `llama.cpp/`."""
    root = os.environ.get("LLM_GUARD_JSON_CACHE") or Path.home() / ".cache" / "llm_guard_json"
    return Path(root).expanduser() / f"llama.cpp-{VERSION}"


def server_binary() -> Path:
    return cache_dir() / "bin" / "llama-server"


def converters() -> Path:
    return cache_dir() / "llama.cpp"


def is_built() -> bool:
    return server_binary().is_file() and all((converters() / name).exists() for name in CONVERTER_FILES)


def build(jobs: int | None = None) -> Path:
    """Builds and caches llama-server unless the cache has it; returns the cache folder. Raises BuildError."""
    target = cache_dir()
    if is_built():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build of the same version waits, then finds the cache
        if is_built():
            return target
        for leftover in target.parent.glob(f".build-{target.name}-*"):  # from a build that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix=f".build-{target.name}-", dir=target.parent) as tmp:
            work = Path(tmp)
            log_path = work / "build.log"
            with log_path.open("w") as log:
                source = _fetch_source(work, log, log_path)
                build_dir = source / "build"
                generator = "Ninja" if shutil.which("ninja") else "Unix Makefiles"  # make is on every machine here
                _step(["cmake", "-S", source, "-B", build_dir, "-G", generator, *CMAKE_FLAGS], log, log_path)
                jobs = jobs or int(os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or os.cpu_count() or 2)
                _step(["cmake", "--build", build_dir, "--target", "llama-server", "-j", str(jobs)], log, log_path)
            staged = work / "staged"
            (staged / "bin").mkdir(parents=True)
            (staged / "llama.cpp").mkdir()
            shutil.copy2(build_dir / "bin" / "llama-server", staged / "bin" / "llama-server")
            for name in CONVERTER_FILES:
                copy = shutil.copytree if (source / name).is_dir() else shutil.copy2
                copy(source / name, staged / "llama.cpp" / name)
            shutil.copy2(log_path, staged / "build.log")
            if target.exists():  # an unusable leftover (a file removed by hand): replaced whole
                shutil.rmtree(target)
            staged.rename(target)
    return target


def _fetch_source(work: Path, log: Any, log_path: Path) -> Path:
    """The sdist, downloaded with pip and unpacked; returns its vendor/llama.cpp."""
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python", "-d", work / "dl"]
    _step([*pip, f"llama-cpp-python=={VERSION}"], log, log_path)
    sdists = sorted((work / "dl").glob("llama_cpp_python-*.tar.gz"))
    if not sdists:
        raise BuildError(f"pip download gave no llama_cpp_python sdist\n{_tail(log_path)}")
    with tarfile.open(sdists[0]) as archive:
        archive.extractall(work / "src", filter="data")
    return work / "src" / f"llama_cpp_python-{VERSION}" / "vendor" / "llama.cpp"


def _step(command: Sequence[str | Path], log: Any, log_path: Path) -> None:
    args = [str(part) for part in command]
    log.write(f"$ {' '.join(args)}\n")
    log.flush()
    try:
        code = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    except OSError as e:  # cmake or ninja missing
        code, detail = -1, f"{type(e).__name__}: {e}"
        log.write(detail + "\n")
    log.flush()
    if code:
        raise BuildError(f"llama-server build step failed (exit {code}): {' '.join(args)}\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "--- build log (last lines) ---\n" + "\n".join(text[-lines:])


# --- the fixture model --------------------------------------------------------------------------------------


def fixture_model(folder: Path) -> tuple[Path, Path]:
    """`folder/tiny.gguf` (a 2-layer Llama) and `folder/tiny-lora.gguf` (its LoRA adapter): with the adapter,
    the greedy answer to CHAT is ANSWER; without it, something else. Needs the cached converters."""
    base_dir, adapter_dir = _train(folder / "hf")
    model, adapter = folder / "tiny.gguf", folder / "tiny-lora.gguf"
    _convert("convert_hf_to_gguf.py", [base_dir, "--outtype", "f32", "--outfile", model])
    _convert("convert_lora_to_gguf.py", ["--base", base_dir, "--outtype", "f32", "--outfile", adapter, adapter_dir])
    return model, adapter


def _train(root: Path) -> tuple[Path, Path]:
    """A random 2-layer Llama in `root/base` and, in `root/adapter`, a LoRA trained until greedy decoding of
    CHAT gives ANSWER with a clear margin at every token (a few seconds on a CPU)."""
    import torch
    from peft import LoraConfig, get_peft_model

    tok = tiny_model.tokenizer([str(CHAT), ANSWER], vocab_size=400)
    prompt = tok(tok.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False), add_special_tokens=False)
    answer = tok(ANSWER + tok.eos_token, add_special_tokens=False)
    ids = torch.tensor([prompt["input_ids"] + answer["input_ids"]])
    labels = ids.clone()
    labels[0, : len(prompt["input_ids"])] = -100
    targets = ids[0, len(prompt["input_ids"]) :]

    base_dir, adapter_dir = root / "base", root / "adapter"
    # initializer_range: embeddings large enough that the logits (tied to them) can separate the tokens clearly
    model = tiny_model.llama(tok, hidden_size=64, initializer_range=0.5)
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    model.name_or_path = str(base_dir)  # recorded in adapter_config.json as the base
    torch.manual_seed(1)
    projections = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    with warnings.catch_warnings():  # peft asks transformers a deprecated question (is_gradient_checkpointing)
        warnings.simplefilter("ignore", FutureWarning)
        peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=projections))
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=5e-3)
    for _ in range(600):
        out = peft_model(input_ids=ids, labels=labels)
        logits = out.logits[0, len(prompt["input_ids"]) - 1 : -1].detach()
        chosen = logits.gather(1, targets[:, None])[:, 0]
        others = logits.scatter(1, targets[:, None], float("-inf")).max(1).values
        if (chosen - others).min() > 2.0:  # every answer token wins by a margin that f32 GGUF cannot flip
            break
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    else:
        raise AssertionError("the fixture LoRA did not learn its answer in 600 steps")
    peft_model.save_pretrained(adapter_dir)
    return base_dir, adapter_dir


def _convert(converter: str, args: Sequence[str | Path]) -> None:
    """Runs a vendored converter in a child Python (see `_patched_converter`); raises with its output on failure."""
    command = [sys.executable, __file__, "convert", converter, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{converter} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")


def _patched_converter(converter: str, args: list[str]) -> None:
    """The vendored converter with the vendored gguf-py (PyPI's gguf of the same version number is older) and the
    BPE pre-tokenizer named: the tiny tokenizer is a byte-level BPE with GPT-2's split."""
    source = str(converters())
    sys.path[:0] = [source, source + "/gguf-py"]
    import runpy

    import conversion.base  # type: ignore[import-not-found]

    conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
    sys.argv = [source + "/" + converter, *args]
    runpy.run_path(sys.argv[0], run_name="__main__")


# --- the server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(model: Path, lora: Path | None = None, startup: float = 60.0) -> Iterator[str]:
    """Runs llama-server on a free port of 127.0.0.1 until the block ends; yields its base URL once /health
    answers 200."""
    port = free_port()
    command = [server_binary(), "-m", model, "--host", "127.0.0.1", "--port", str(port), "-c", "512", "-t", "1"]
    command += ["--lora", lora] if lora else []
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([str(part) for part in command], stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + startup
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-4000:]
                    raise RuntimeError(f"llama-server did not start (exit {process.poll()}):\n{output}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(url: str) -> bool:
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=2)  # no proxy variables read
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        started = time.monotonic()
        try:
            folder = build()
        except BuildError as e:
            print(e, file=sys.stderr)
            return 1
        print(f"llama-server {VERSION}: {folder} ({time.monotonic() - started:.0f} s)")
        return 0
    if argv[:1] == ["convert"] and len(argv) >= 2:
        _patched_converter(argv[1], argv[2:])
        return 0
    print("usage: python tests/llama_server.py build", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
