"""The two-run HTML report in headless Chromium: it loads, every chart draws, nothing errs or is refused."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import load_corpus
from llm_guard_json import normalize
from llm_guard_json._cli import main

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and Path(p).is_file()), None)
SECTIONS = ("summary", "recommendation", "ok-rate", "scores", "codes", "fields", "worst")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium at /usr/bin/chromium: `apt-get install chromium` (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev corpus as raw outputs and as its canonical texts (a better model), reported together."""
    pytest.importorskip("matplotlib", reason="--html needs the [report] extra (matplotlib)")
    tmp = tmp_path_factory.mktemp("browser")
    cases = load_corpus()
    base, tuned = tmp / "base.jsonl", tmp / "tuned.jsonl"
    with base.open("w", encoding="utf-8") as b, tuned.open("w", encoding="utf-8") as t:
        for c in cases:
            better = normalize(c["raw"], c["schema"]).text or c["raw"]
            b.write(json.dumps({"id": c["id"], "schema": c["schema"], "output": c["raw"]}, ensure_ascii=False) + "\n")
            t.write(json.dumps({"id": c["id"], "schema": c["schema"], "output": better}, ensure_ascii=False) + "\n")
    target = tmp / "report.html"
    argv = ["report", str(base), str(tuned), "--schema", "resume", "--schema-field", "schema", "--workers", "1"]
    code = main([*argv, "--html", str(target)], out=io.StringIO(), err=io.StringIO())
    assert code == 0
    return target


def chromium(page: Path, tmp_path: Path, *action: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    flags += [f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, *flags, *action, page.as_uri()], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    problems = [
        line for line in proc.stderr.splitlines() if re.search(r":CONSOLE|Refused to|Uncaught|Content Security", line)
    ]
    assert problems == []  # the page logs nothing: any console line is an error, a CSP refusal or an exception
    return proc


def test_the_report_loads_and_every_chart_draws(page: Path, tmp_path: Path) -> None:
    dom = chromium(page, tmp_path, "--dump-dom").stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-rendered="ok"' in body.group(0) and 'data-charts="4"' in body.group(0)
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom
    assert dom.count("<svg ") == 4 and "DPO on the exported pairs" in dom


def test_the_screenshot_is_a_real_picture(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,3000")
    width, height, colours = png_summary(shot.read_bytes())
    assert (width, height) == (1280, 3000)
    assert colours > 8  # text, charts in several colours and a white page: not one flat colour


def png_summary(data: bytes) -> tuple[int, int, int]:
    """Width, height, and how many distinct pixels the first rows hold (8-bit RGB or RGBA PNGs)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    chunks, at = [], 8
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + size])
        at += size + 12
    raw = zlib.decompress(b"".join(chunks))
    step = 3 if colour_type == 2 else 4
    stride = width * step + 1
    rows = min(height, 400)  # the title, the links and the summary table
    pixels: set[bytes] = set()
    previous = bytearray(stride - 1)
    for y in range(rows):
        line = unfilter(raw[y * stride], bytearray(raw[y * stride + 1 : (y + 1) * stride]), previous, step)
        pixels.update(bytes(line[x : x + step]) for x in range(0, len(line), step))
        previous = line
    return width, height, len(pixels)


def unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> bytearray:
    """Undo one PNG scanline filter (none, sub, up, average, Paeth)."""
    for i in range(len(line)):
        a = line[i - step] if i >= step else 0
        b = above[i]
        c = above[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + a) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + b) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return line
