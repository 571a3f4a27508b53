"""The pytest plugin: assert_llm_json, the llm_guard fixture, the llm_output marker, options, summary, report."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import unicodedata
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from llm_guard_json import ConfigError, normalize, pytest_plugin
from llm_guard_json.pytest_plugin import _RECORDER, LLMGuard, assert_llm_json

#: Every resume key, in schema order, already canonical: score 1.0.
CLEAN = (
    '{"name": "张三", "gender": "男", "age": 30, "company": "字节跳动", "position": "后端工程师", "city": "北京", '
    '"years_of_experience": 6, "education": [{"degree": "本科", "school": "北京大学", "major": "计算机", '
    '"graduation_year": 2016}], "skills": ["Python", "Java"], "salary": {"amount": 30000, "period": "month", '
    '"currency": "CNY"}, "phone": "13812345678", "email": "zhangsan@example.com"}'
)
#: The same, fenced and with a trailing comma: fence (0.05) + repair.trailing_comma (0.1).
FENCED_COMMA = "```json\n" + CLEAN[:-1] + ",}\n```"
#: Ok, but sparse: fence, canon.skills and ten `default`s; score 0.7407.
SPARSE = '```json\n{"name": "张三", "skills": "Python、Java"}\n```'
#: No name: missing.required at /name, so not ok.
NO_NAME = '好的，以下是抽取结果：\n```json\n{"年龄": "35岁", "公司": "阿里巴巴", "职位": "算法工程师"}\n```'
NO_JSON = "抱歉，这段文字里没有简历信息，无法抽取。"


@pytest.fixture(autouse=True)
def own_recorders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the checks these tests make out of this suite's own summary and report."""
    monkeypatch.setattr(pytest_plugin, "_ACTIVE", [])


def first_line(excinfo: pytest.ExceptionInfo[AssertionError]) -> str:
    return str(excinfo.value).splitlines()[0]


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# ---------------------------------------------------------------------------
# assert_llm_json, called directly


def test_passing_output_returns_its_result() -> None:
    result = assert_llm_json(CLEAN, "resume")
    assert result.ok
    assert result.score == 1.0
    assert result.value["name"] == "张三"


def test_not_ok_output_fails_with_a_full_report() -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(NO_NAME, "resume", min_score=0.0)
    message = str(excinfo.value)
    assert first_line(excinfo) == "LLM output is not ok against schema 'resume' (score 0.2695)"
    rows = [line.split() for line in message.splitlines()]
    assert ["missing.required", "/name", "1", "required", "property", "'name'", "is", "absent"] in rows
    assert ["coerce.number_from_text", "/age", "0.1", '"35岁"', "->", "35"] in rows
    assert "canonical value:" in message
    assert '    "age": 35,' in message.splitlines()  # pretty, indented, ensure_ascii=False
    assert '    "company": "阿里巴巴",' in message.splitlines()
    assert f"raw output ({len(NO_NAME)} characters):" in message
    assert "  好的，以下是抽取结果：" in message.splitlines()


def test_score_under_min_score_fails_and_a_lower_min_score_passes() -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(SPARSE, "resume")
    assert first_line(excinfo) == "LLM output scores 0.7407 under min_score 1 against schema 'resume'"
    assert "deviations (12 deviation(s)):" in str(excinfo.value)
    assert assert_llm_json(SPARSE, "resume", min_score=0.74).ok
    with pytest.raises(AssertionError, match=r"under min_score 0\.75"):
        assert_llm_json(SPARSE, "resume", min_score=0.75)


def test_allow_codes_and_family_patterns() -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(FENCED_COMMA, "resume", allow=["fence"])
    message = str(excinfo.value)
    assert first_line(excinfo) == "LLM output scores 0.9091 under min_score 1 against schema 'resume'"
    assert "2 deviation(s), 1 allowed by allow=['fence']" in message
    assert message.splitlines()[5].split()[:4] == ["fence", "/", "0.05", "(allowed)"]
    assert assert_llm_json(FENCED_COMMA, "resume", allow=["fence", "repair.*"]).codes == [
        "fence",
        "repair.trailing_comma",
    ]
    assert assert_llm_json(SPARSE, "resume", allow=("fence", "canon.*", "default")).ok
    with pytest.raises(AssertionError, match=r"repair\.trailing_comma"):  # a pattern matches whole codes only
        assert_llm_json(FENCED_COMMA, "resume", allow=["fence", "repair"])


def test_allow_as_one_string_is_one_code() -> None:
    assert assert_llm_json(FENCED_COMMA, "resume", min_score=0.9, allow="fence").ok
    with pytest.raises(AssertionError, match=r"allowed by allow=\['fence'\]"):
        assert_llm_json(FENCED_COMMA, "resume", allow="fence")


def test_allow_never_rescues_an_output_that_is_not_ok() -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(NO_NAME, "resume", allow=["*"])
    assert first_line(excinfo) == "LLM output is not ok against schema 'resume' (score 1)"
    assert "16 deviation(s), 16 allowed by allow=['*']" in str(excinfo.value)


def test_no_json_is_reported() -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(NO_JSON, "resume")
    message = str(excinfo.value)
    assert first_line(excinfo) == "LLM output is not ok against schema 'resume' and scores 0.5 under min_score 1"
    assert ["no_json", "/", "1", "no", "JSON", "value", "was", "found", "in", "the", "output"] in [
        line.split() for line in message.splitlines()
    ]
    assert "  (no JSON value was found)" in message.splitlines()
    assert f"  {NO_JSON}" in message.splitlines()


def test_table_columns_align_with_cjk_text() -> None:
    schema = {
        "type": "object",
        "properties": {"年龄": {"type": "integer"}, "城市": {"type": "string"}},
        "additionalProperties": False,
    }
    raw = '模型输出：{"年龄": "三十五岁", "城市": "北京", "爱好": "篮球"}'
    result = normalize(raw, schema)
    assert {d.pointer for d in result.deviations} >= {"/年龄", "/爱好"}
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(raw, schema)
    assert first_line(excinfo).startswith("LLM output scores ")
    assert first_line(excinfo).endswith(" under min_score 1 against the schema")
    lines = str(excinfo.value).splitlines()
    header = next(line for line in lines if line.split() == ["code", "pointer", "weight", "detail"])
    columns = [width(header[: header.index(name)]) for name in ("pointer", "weight", "detail")]
    for d in result.deviations:
        row = next(line for line in lines if line.endswith(d.detail) and line.split()[0] == d.code)
        starts = [width(row[: row.index(cell, len(d.code) + 2)]) for cell in (d.pointer or "/", f"{d.weight:g}")]
        assert starts == columns[:2], row
        assert width(row[: row.rindex(d.detail)]) == columns[2], row


def test_long_raw_output_is_shortened() -> None:
    raw = "好的，" + "这是一段很长的说明。" * 2000 + "\n" + CLEAN
    with pytest.raises(AssertionError) as excinfo:
        assert_llm_json(raw, "resume")
    message = str(excinfo.value)
    assert f"raw output ({len(raw)} characters):" in message
    assert "characters left out) ..." in message
    assert len(message) < 6000
    assert message.rstrip().endswith('"email": "zhangsan@example.com"}')


def test_bad_arguments_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="min_score must be a number from 0 to 1"):
        assert_llm_json(CLEAN, "resume", min_score=1.5)
    with pytest.raises(ConfigError, match="min_score"):
        assert_llm_json(CLEAN, "resume", min_score=True)
    with pytest.raises(ConfigError, match="allow must hold deviation codes"):
        assert_llm_json(CLEAN, "resume", allow=["fence", 3])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="llm_guard needs a schema"):
        LLMGuard()(CLEAN)


def test_works_outside_a_pytest_session() -> None:
    code = textwrap.dedent(
        f"""
        from llm_guard_json.pytest_plugin import assert_llm_json
        print(assert_llm_json({CLEAN!r}, "resume").score)
        try:
            assert_llm_json({NO_NAME!r}, "resume")
        except AssertionError as e:
            print(str(e).splitlines()[0])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", check=True)
    assert done.stdout.splitlines() == [
        "1.0",
        "LLM output is not ok against schema 'resume' and scores 0.2695 under min_score 1",
    ]


# ---------------------------------------------------------------------------
# in a pytest session (pytester)

HEADER = f"""
import pytest
from llm_guard_json.pytest_plugin import assert_llm_json

CLEAN = {CLEAN!r}
FENCED_COMMA = {FENCED_COMMA!r}
SPARSE = {SPARSE!r}
NO_NAME = {NO_NAME!r}
"""


def run(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_outputs=HEADER + textwrap.dedent(body))
    return pytester.runpytest("-p", "no:cacheprovider", *args)


THREE_CHECKS = """
def test_clean():
    assert_llm_json(CLEAN, "resume")

def test_fenced(llm_guard):
    llm_guard(FENCED_COMMA, "resume", allow=["fence", "repair.*"])

def test_no_name():
    assert_llm_json(NO_NAME, "resume")
"""


def test_failure_report_in_the_test_output(pytester: pytest.Pytester) -> None:
    result = run(pytester, THREE_CHECKS)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: LLM output is not ok against schema 'resume' and scores 0.2695 under min_score 1",
            "*deviations (16 deviation(s)):",
            "*missing.required*/name*1*required property 'name' is absent",
            "*canonical value:",
            '*"company": "阿里巴巴",',
            f"*raw output ({len(NO_NAME)} characters):",
        ]
    )
    assert "__tracebackhide__" not in result.stdout.str()
    assert "pytest_plugin.py" not in result.stdout.str()  # the traceback stops at the test


def test_terminal_summary_counts_checks_and_codes(pytester: pytest.Pytester) -> None:
    result = run(pytester, THREE_CHECKS)
    codes = Counter(normalize(FENCED_COMMA, "resume").codes + normalize(NO_NAME, "resume").codes)
    ordered = sorted(codes.items(), key=lambda item: (-item[1], item[0]))
    assert ordered[0] == ("default", 8)
    result.stdout.fnmatch_lines(
        [
            "*= llm-guard-json =*",
            "3 LLM output(s) checked: 2 passed, 1 failed",
            "deviation codes seen (most frequent first):",
            *(f"  {code} * {count}" for code, count in ordered),
        ]
    )


def test_no_summary_without_checks(pytester: pytest.Pytester) -> None:
    result = run(pytester, "def test_nothing():\n    assert True\n")
    result.assert_outcomes(passed=1)
    assert "= llm-guard-json =" not in result.stdout.str()
    assert "LLM output(s) checked" not in result.stdout.str()


def test_report_file(pytester: pytest.Pytester) -> None:
    result = run(pytester, THREE_CHECKS, "--llm-guard-report=reports/llm.json")
    result.assert_outcomes(passed=2, failed=1)
    path = pytester.path / "reports" / "llm.json"
    result.stdout.fnmatch_lines([f"report written to {path}"])
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["totals"]["checked"] == 3
    assert report["totals"]["passed"] == 2
    assert report["totals"]["failed"] == 1
    assert report["totals"]["codes"]["default"] == 8
    counts = list(report["totals"]["codes"].values())
    assert counts == sorted(counts, reverse=True)
    by_test = {entry["nodeid"]: entry for entry in report["outputs"]}
    assert set(by_test) == {f"test_outputs.py::test_{name}" for name in ("clean", "fenced", "no_name")}
    clean, fenced, no_name = (by_test[f"test_outputs.py::test_{n}"] for n in ("clean", "fenced", "no_name"))
    assert (clean["ok"], clean["passed"], clean["score"], clean["codes"]) == (True, True, 1.0, [])
    assert fenced["codes"] == ["fence", "repair.trailing_comma"]
    assert fenced["passed"] and fenced["counted_score"] == 1.0
    assert fenced["score"] == pytest.approx(1 / 1.15)
    assert (no_name["ok"], no_name["passed"], no_name["schema"]) == (False, False, "resume")
    assert no_name["codes"] == normalize(NO_NAME, "resume").codes


def test_report_file_without_checks(pytester: pytest.Pytester) -> None:
    run(pytester, "def test_nothing():\n    assert True\n", "--llm-guard-report", "llm.json")
    report = json.loads((pytester.path / "llm.json").read_text(encoding="utf-8"))
    assert report == {"totals": {"checked": 0, "passed": 0, "failed": 0, "codes": {}}, "outputs": []}


FIXTURE_SPARSE = """
def test_sparse(llm_guard):
    result = llm_guard(SPARSE, "resume")
    assert result.value["skills"] == ["Python", "Java"]
"""


@pytest.mark.parametrize(("option", "passed"), [(None, False), ("0.7", True), ("0.74", True), ("0.75", False)])
def test_fixture_min_score_from_the_option(pytester: pytest.Pytester, option: str | None, passed: bool) -> None:
    args = [] if option is None else [f"--llm-guard-min-score={option}"]
    result = run(pytester, FIXTURE_SPARSE, *args)
    result.assert_outcomes(passed=int(passed), failed=int(not passed))
    if not passed:
        limit = option or "1"
        result.stdout.fnmatch_lines([f"*LLM output scores 0.7407 under min_score {limit} against schema 'resume'"])


def test_marker_sets_the_fixture_defaults(pytester: pytest.Pytester) -> None:
    body = """
    @pytest.mark.llm_output(schema="resume", min_score=0.85, allow=["default"])
    def test_marker_defaults(llm_guard):
        assert llm_guard(SPARSE).ok  # fence + canon.skills counted: 0.8696

    @pytest.mark.llm_output(schema="resume", min_score=0.9, allow=["default"])
    def test_marker_min_score_beats_the_option(llm_guard):
        llm_guard(SPARSE)

    @pytest.mark.llm_output(schema="resume", min_score=0.99)
    def test_arguments_beat_the_marker(llm_guard):
        llm_guard(SPARSE, min_score=0.7)
        llm_guard(FENCED_COMMA, allow=["fence", "repair.*"])

    @pytest.mark.llm_output("resume")
    def test_option_when_the_marker_has_no_min_score(llm_guard):
        llm_guard(SPARSE)

    @pytest.mark.llm_output(schema="resume", min_score=0.5, allow=["repair.*"])
    class TestMerged:
        @pytest.mark.llm_output(min_score=0.9)
        def test_closest_mark_wins_per_key(self, llm_guard):
            assert llm_guard.schema == "resume"
            assert llm_guard.allow == ("repair.*",)
            assert llm_guard.min_score == 0.9
            llm_guard(FENCED_COMMA)  # 0.9524 with repair.* allowed
    """
    result = run(pytester, body, "--strict-markers", "--llm-guard-min-score=0.5")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_outputs.py::test_marker_min_score_beats_the_option - *"])
    result.stdout.fnmatch_lines(["*LLM output scores 0.8696 under min_score 0.9 against schema 'resume'"])


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["@pytest.mark.llm_output(schema=None, min_score=None, allow=None): *"])
    unregistered = run(pytester, "@pytest.mark.llm_outputs\ndef test_typo():\n    pass\n", "--strict-markers")
    unregistered.stdout.fnmatch_lines(["*'llm_outputs' not found in `markers` configuration option*"])


def test_fixture_errors_name_the_fix(pytester: pytest.Pytester) -> None:
    body = """
    def test_no_schema(llm_guard):
        llm_guard(CLEAN)

    @pytest.mark.llm_output(schema="resume", min_score=2)
    def test_bad_min_score(llm_guard):
        pass

    @pytest.mark.llm_output(schema="resume", alow=["fence"])
    def test_unknown_marker_key(llm_guard):
        pass
    """
    result = run(pytester, body, "--strict-markers")
    result.assert_outcomes(failed=1, errors=2)
    result.stdout.fnmatch_lines(["*llm_guard needs a schema: pass llm_guard(raw, 'resume') or mark the test*"])
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_bad_min_score*",
            "llm_output(min_score=...) must be a number from 0 to 1 (1.0 allows no deviation), not 2",
            "*ERROR at setup of test_unknown_marker_key*",
            "llm_output takes schema (or one positional schema), min_score and allow; got alow, schema",
        ]
    )
    assert "pytest_plugin.py" not in result.stdout.str()


def test_fixture_normalize_neither_asserts_nor_counts(pytester: pytest.Pytester) -> None:
    body = """
    @pytest.mark.llm_output(schema="resume")
    def test_normalize(llm_guard):
        result = llm_guard.normalize(NO_NAME)
        assert not result.ok
        assert "missing.required" in result.codes
        assert llm_guard.normalize(CLEAN, {"type": "object"}).score == 1.0
    """
    result = run(pytester, body)
    result.assert_outcomes(passed=1)
    assert "LLM output(s) checked" not in result.stdout.str()


@pytest.mark.parametrize("value", ["abc", "1.5", "-0.1", "nan"])
def test_bad_min_score_option_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llm-guard-min-score={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*argument --llm-guard-min-score: *give a score from 0 to 1, e.g. 0.9*"])
    assert "collected" not in result.stdout.str()


def test_help_lists_the_group_and_options(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert "llm-guard-json: checks of LLM JSON outputs:" in lines
    start = lines.index("llm-guard-json: checks of LLM JSON outputs:")
    group = "\n".join(lines[start : start + 8])
    assert "--llm-guard-min-score=SCORE" in group
    assert "--llm-guard-report=PATH" in group


def test_xdist_workers_hand_their_checks_to_the_controller(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure()
    recorder = config.stash[_RECORDER]
    check = {"nodeid": "t.py::test_a", "ok": True, "passed": True, "codes": ["fence"], "score": 0.95}
    recorder.pytest_testnodedown(SimpleNamespace(workeroutput={"llm_guard_json_checks": [check]}), None)
    recorder.pytest_testnodedown(SimpleNamespace(workeroutput={}), None)  # a worker that checked nothing
    assert recorder.checks == [check]
    assert recorder.totals() == {"checked": 1, "passed": 1, "failed": 0, "codes": {"fence": 1}}
    worker = pytester.parseconfigure()
    worker.workeroutput = {}  # type: ignore[attr-defined]
    worker_recorder = worker.stash[_RECORDER]
    worker_recorder.checks.append(check)
    worker_recorder.pytest_sessionfinish(SimpleNamespace())  # type: ignore[arg-type]
    assert worker.workeroutput == {"llm_guard_json_checks": [check]}  # type: ignore[attr-defined]
