"""pytest plugin: assert that model outputs normalize cleanly, with a report that says why not.

Loaded through the `pytest11` entry point. It adds `assert_llm_json`, the `llm_guard` fixture,
the `llm_output` marker, the `--llm-guard-min-score` and `--llm-guard-report` options and a
terminal summary of every output checked. Module import needs only pytest and the standard
library; the normalizer itself is imported on first use.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._deviation import Deviation
    from ._result import Result

__all__ = ["LLMGuard", "assert_llm_json"]

#: Most deviation rows a failure report lists; the rest are counted.
_MAX_ROWS = 60
#: Longest raw output a failure report shows whole; longer ones keep their head and tail.
_MAX_RAW_CHARS = 2000
#: Longest canonical value (pretty JSON) a failure report shows whole.
_MAX_VALUE_CHARS = 4000
#: Most deviation codes the terminal summary lists.
_MAX_SUMMARY_CODES = 30
#: Key of the checks a pytest-xdist worker hands back to the controller.
_WORKER_KEY = "llm_guard_json_checks"
#: Float slack when a score is compared with min_score.
_SLACK = 1e-12
_MARKER_KEYS = frozenset({"schema", "min_score", "allow"})


# ---------------------------------------------------------------------------
# the assertion


def assert_llm_json(
    raw: str | bytes,
    schema: Any,
    *,
    min_score: float = 1.0,
    allow: Iterable[str] | str = (),
) -> Result:
    """Normalize `raw` against `schema`; raise AssertionError with a readable report unless it passes.

    It passes when the result is ok and the score over the deviations not in `allow` is at
    least `min_score`. `allow` holds codes or fnmatch patterns (`"repair.*"`). Returns the Result.
    """
    __tracebackhide__ = True
    from ._deviation import score
    from ._pipeline import normalize

    min_score = _check_min_score(min_score, "min_score")
    patterns = _check_allow(allow, "allow")
    result = normalize(raw, schema)
    counted = [d for d in result.deviations if not _allowed(d.code, patterns)]
    counted_score = score(counted)
    passed = result.ok and counted_score + _SLACK >= min_score
    recorder = _ACTIVE[-1] if _ACTIVE else None
    if recorder is not None:
        recorder.record(result, counted_score=counted_score, min_score=min_score, passed=passed)
    if not passed:
        raise AssertionError(_failure_report(result, min_score=min_score, allow=patterns, counted_score=counted_score))
    return result


def _allowed(code: str, patterns: tuple[str, ...]) -> bool:
    return any(code == p or fnmatchcase(code, p) for p in patterns)


def _check_min_score(value: object, where: str) -> float:
    __tracebackhide__ = True
    from ._errors import ConfigError

    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where} must be a number from 0 to 1 (1.0 allows no deviation), not {value!r}")
    return float(value)


def _check_allow(value: object, where: str) -> tuple[str, ...]:
    __tracebackhide__ = True
    from ._errors import ConfigError

    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        raise ConfigError(f"{where} must be a list of deviation codes or patterns like 'repair.*', not {value!r}")
    patterns = tuple(value)
    bad = [p for p in patterns if not isinstance(p, str) or not p]
    if bad:
        raise ConfigError(f"{where} must hold deviation codes or patterns like 'repair.*'; got {bad[0]!r}")
    return patterns


# ---------------------------------------------------------------------------
# the failure report


def _failure_report(
    result: Result,
    *,
    min_score: float,
    allow: tuple[str, ...],
    counted_score: float,
) -> str:
    """The plain-text report of a failed check: verdict, deviation table, canonical value, raw output."""
    name = result.schema.name if result.schema is not None else "schema"
    schema = f" against schema {name!r}" if name != "schema" else " against the schema"
    under = counted_score + _SLACK < min_score
    shown, limit = _score_pair(counted_score, min_score)
    if not result.ok:
        verdict = f"LLM output is not ok{schema}" + (
            f" and scores {shown} under min_score {limit}" if under else f" (score {shown})"
        )
    else:
        verdict = f"LLM output scores {shown} under min_score {limit}{schema}"
    n_allowed = sum(1 for d in result.deviations if _allowed(d.code, allow))
    lines = [verdict, ""]
    counts = f"{len(result.deviations)} deviation(s)"
    if allow:
        counts += f", {n_allowed} allowed by allow={list(allow)!r}"
    lines.append(f"deviations ({counts}):" if result.deviations else "deviations: none")
    if result.deviations:
        lines += ["  " + row for row in _deviation_table(result.deviations, allow=allow)]
    lines += ["", "canonical value:"]
    if result.found:
        value = json.dumps(result.value, ensure_ascii=False, indent=2)
        lines += _indent(_shorten(value, _MAX_VALUE_CHARS))
    else:
        lines.append("  (no JSON value was found)")
    lines += ["", f"raw output ({len(result.raw)} characters):"]
    lines += _indent(_shorten(_printable(result.raw), _MAX_RAW_CHARS))
    return "\n".join(lines)


def _deviation_table(deviations: Iterable[Deviation], *, allow: tuple[str, ...] = ()) -> list[str]:
    """Rows of an aligned plain-text table (code, pointer, weight, detail); wide CJK characters count as two."""
    rows = [["code", "pointer", "weight", "detail"]]
    items = list(deviations)
    for d in items[:_MAX_ROWS]:
        weight = f"{d.weight:g}" + (" (allowed)" if _allowed(d.code, allow) else "")
        rows.append([_cell(d.code), _cell(d.pointer or "/"), weight, _cell(d.detail)])
    widths = [max(_display_width(row[i]) for row in rows) for i in range(3)]
    rows.insert(1, ["-" * w for w in widths] + ["-" * 6])
    out = ["  ".join([*(_pad(cell, w) for cell, w in zip(row, widths, strict=False)), row[3]]).rstrip() for row in rows]
    if len(items) > _MAX_ROWS:
        out.append(f"... and {len(items) - _MAX_ROWS} more")
    return out


def _display_width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters count two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


def _cell(text: str) -> str:
    return _printable(text).replace("\n", "\\n").replace("\t", "\\t")


def _printable(text: str) -> str:
    """`text` with control characters other than newline and tab escaped."""
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else f"\\x{ord(ch):02x}" for ch in text
    )


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    return f"{text[:head]}\n... ({len(text) - head - tail} characters left out) ...\n{text[-tail:]}"


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()] or ["  "]


def _score_pair(score: float, limit: float) -> tuple[str, str]:
    """A score and a limit as short text, with enough digits that they never read as equal."""
    for digits in (4, 8, 17):
        shown, limit_text = f"{score:.{digits}g}", f"{limit:.{digits}g}"
        if shown != limit_text or score == limit:
            return shown, limit_text
    return repr(score), repr(limit)


# ---------------------------------------------------------------------------
# the fixture and the marker


class LLMGuard:
    """The `llm_guard` fixture's checker: `assert_llm_json` with this test's defaults.

    Defaults come from the `llm_output` marker, else `--llm-guard-min-score`; the
    arguments of each call override both.
    """

    def __init__(self, *, schema: Any = None, min_score: float = 1.0, allow: Iterable[str] | str = ()) -> None:
        self.schema = schema
        self.min_score = _check_min_score(min_score, "min_score")
        self.allow = _check_allow(allow, "allow")

    def __call__(
        self,
        raw: str | bytes,
        schema: Any = None,
        *,
        min_score: float | None = None,
        allow: Iterable[str] | str | None = None,
    ) -> Result:
        """Assert that `raw` passes; return its Result."""
        __tracebackhide__ = True
        return assert_llm_json(
            raw,
            self._schema(schema),
            min_score=self.min_score if min_score is None else min_score,
            allow=self.allow if allow is None else allow,
        )

    def normalize(self, raw: str | bytes, schema: Any = None) -> Result:
        """The Result for `raw`, without asserting anything (and not counted in the summary)."""
        __tracebackhide__ = True
        from ._pipeline import normalize

        return normalize(raw, self._schema(schema))

    def _schema(self, schema: Any) -> Any:
        __tracebackhide__ = True
        if schema is not None:
            return schema
        if self.schema is None:
            from ._errors import ConfigError

            raise ConfigError(
                "llm_guard needs a schema: pass llm_guard(raw, 'resume') or mark the test "
                "@pytest.mark.llm_output(schema='resume')"
            )
        return self.schema

    def __repr__(self) -> str:
        return f"LLMGuard(schema={self.schema!r}, min_score={self.min_score!r}, allow={list(self.allow)!r})"


@pytest.fixture
def llm_guard(request: pytest.FixtureRequest) -> LLMGuard:
    """A checker for model outputs: `llm_guard(raw)` asserts, `llm_guard.normalize(raw)` does not."""
    from ._errors import ConfigError

    settings: dict[str, Any] = {"min_score": request.config.getoption("llm_guard_min_score", 1.0)}
    try:
        settings.update(_marker_settings(request.node))
    except ConfigError as e:
        pytest.fail(str(e), pytrace=False)
    return LLMGuard(**settings)


def _marker_settings(node: Any) -> dict[str, Any]:
    """The `llm_output` marks on `node`, closest first: each key from the closest mark that sets it."""
    from ._errors import ConfigError

    settings: dict[str, Any] = {}
    for mark in node.iter_markers("llm_output"):
        unknown = set(mark.kwargs) - _MARKER_KEYS
        if unknown or len(mark.args) > 1:
            given_names = [f"{len(mark.args)} positional"] if mark.args else []
            raise ConfigError(
                "llm_output takes schema (or one positional schema), min_score and allow; "
                f"got {', '.join(given_names + sorted(mark.kwargs))}"
            )
        given = dict(mark.kwargs)
        if mark.args:
            given.setdefault("schema", mark.args[0])
        for key, value in given.items():
            settings.setdefault(key, value)
    if "min_score" in settings:
        settings["min_score"] = _check_min_score(settings["min_score"], "llm_output(min_score=...)")
    if "allow" in settings:
        settings["allow"] = _check_allow(settings["allow"], "llm_output(allow=...)")
    return settings


# ---------------------------------------------------------------------------
# options, recording, summary and report


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's options, in their own help group."""
    group = parser.getgroup("llm-guard-json", "llm-guard-json: checks of LLM JSON outputs")
    group.addoption(
        "--llm-guard-min-score",
        dest="llm_guard_min_score",
        type=_min_score_option,
        default=1.0,
        metavar="SCORE",
        help="default min_score (0 to 1) of the llm_guard fixture; 1.0 allows no deviation. Default: 1.0.",
    )
    group.addoption(
        "--llm-guard-report",
        dest="llm_guard_report",
        default=None,
        metavar="PATH",
        help="write a JSON report of every LLM output checked to PATH at the end of the session.",
    )


def _min_score_option(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a score from 0 to 1, e.g. 0.9") from None
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1; give a score from 0 to 1, e.g. 0.9")
    return value


def pytest_configure(config: pytest.Config) -> None:
    """Register the `llm_output` marker and the recorder of this session's checks."""
    config.addinivalue_line(
        "markers",
        "llm_output(schema=None, min_score=None, allow=None): defaults of the llm_guard fixture in this test "
        "(schema name, path or dict; least score 0..1; deviation codes or patterns like 'repair.*' not counted).",
    )
    recorder = _Recorder(config)
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(recorder, "llm_guard_json_recorder")
    _ACTIVE.append(recorder)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop this session's recorder."""
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None:
        return
    del config.stash[_RECORDER]
    if recorder in _ACTIVE:
        _ACTIVE.remove(recorder)
    if config.pluginmanager.is_registered(recorder):
        config.pluginmanager.unregister(recorder)


class _Recorder:
    """The checks of one pytest session: feeds the terminal summary and the JSON report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.checks: list[dict[str, Any]] = []
        self.nodeid: str | None = None
        path = config.getoption("llm_guard_report", None)
        self.report_path: Path | None = (config.invocation_params.dir / path) if path else None

    def record(self, result: Result, *, counted_score: float, min_score: float, passed: bool) -> None:
        self.checks.append(
            {
                "nodeid": self.nodeid,
                "schema": result.schema.name if result.schema is not None else None,
                "ok": result.ok,
                "score": result.score,
                "counted_score": counted_score,
                "min_score": min_score,
                "passed": passed,
                "codes": result.codes,
            }
        )

    def totals(self) -> dict[str, Any]:
        codes: Counter[str] = Counter(code for check in self.checks for code in check["codes"])
        passed = sum(1 for check in self.checks if check["passed"])
        return {
            "checked": len(self.checks),
            "passed": passed,
            "failed": len(self.checks) - passed,
            "codes": dict(sorted(codes.items(), key=lambda item: (-item[1], item[0]))),
        }

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.nodeid = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist controller: take the checks a worker made."""
        checks = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if isinstance(checks, list):
            self.checks.extend(checks)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: the controller reports
            workeroutput[_WORKER_KEY] = self.checks
            return
        if self.report_path is not None:
            report = {"totals": self.totals(), "outputs": self.checks}
            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            self.report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.checks or hasattr(self.config, "workerinput"):
            return
        totals = self.totals()
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "llm-guard-json")
        write(f"{totals['checked']} LLM output(s) checked: {totals['passed']} passed, {totals['failed']} failed")
        codes: dict[str, int] = totals["codes"]
        if codes:
            write("deviation codes seen (most frequent first):")
            width = max(_display_width(code) for code in codes)
            for code, count in list(codes.items())[:_MAX_SUMMARY_CODES]:
                write(f"  {_pad(code, width)}  {count}")
            if len(codes) > _MAX_SUMMARY_CODES:
                write(f"  ... and {len(codes) - _MAX_SUMMARY_CODES} more code(s)")
        else:
            write("no deviations")
        if self.report_path is not None:
            write(f"report written to {self.report_path}")


_RECORDER = pytest.StashKey[_Recorder]()
#: Recorders of the pytest sessions now configured, innermost last (pytester runs nest).
_ACTIVE: list[_Recorder] = []
