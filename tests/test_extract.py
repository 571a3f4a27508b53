"""extract(): raw text -> candidate spans, with fence / prose / think deviations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import MB, repeat_to
from llm_guard_json._deviation import CODES
from llm_guard_json._errors import ConfigError
from llm_guard_json._extract import Candidate, bare_text, extract, value_end

F = "```"

# (id, raw, [(candidate text stripped, {codes})])
CASES = [
    # the whole text is one JSON value
    ("bare_object", '{"a": 1}', [('{"a": 1}', set())]),
    ("bare_object_spaces", '\n  {"a": 1}\n ', [('{"a": 1}', set())]),
    ("bare_array", "[1, 2]", [("[1, 2]", set())]),
    ("bare_broken", "{'a': 1,}", [("{'a': 1,}", set())]),
    ("bare_scalar_number", "42", [("42", set())]),
    ("bare_scalar_string", '"text"', [('"text"', set())]),
    ("double_encoded", '"{\\"a\\": 1, \\"b\\": [1, 2]}"', [('"{\\"a\\": 1, \\"b\\": [1, 2]}"', set())]),
    ("fullwidth_braces", "｛“name”：“张伟”，“age”：35｝", [("｛“name”：“张伟”，“age”：35｝", set())]),
    ("braces_inside_strings", '{"a": "}{][", "b": "x"}', [('{"a": "}{][", "b": "x"}', set())]),
    ("fence_in_string", '{"code": "```python\\nx\\n```"}', [('{"code": "```python\\nx\\n```"}', set())]),
    # nothing that looks like JSON
    ("empty", "", []),
    ("prose_only", "I'm sorry, I can't help with that.", []),
    ("key_value_lines", "姓名：曹颖\n性别：女", []),
    ("blank_fence", f"{F}\n\n{F}", []),
    # prose around values
    (
        "two_objs_prose",
        'First draft: {"name": "Alice", "age": 30}\nCorrection: {"name": "Alice", "age": 31}',
        [('{"name": "Alice", "age": 30}', {"prose"}), ('{"name": "Alice", "age": 31}', {"prose"})],
    ),
    (
        "two_objs_jsonl",
        '{"step": 1, "action": "search"}\n{"step": 2, "action": "answer"}',
        [('{"step": 1, "action": "search"}', {"prose"}), ('{"step": 2, "action": "answer"}', {"prose"})],
    ),
    ("two_objs_diff_keys", '{"a": 1}\n{"b": 2}', [('{"a": 1}', {"prose"}), ('{"b": 2}', {"prose"})]),
    (
        "prose_braces_before",
        'Use {placeholder} syntax, e.g. {name}. Result:\n{"name": "Bob", "ok": true}',
        [("{placeholder}", {"prose"}), ("{name}", {"prose"}), ('{"name": "Bob", "ok": true}', {"prose"})],
    ),
    (
        "prose_braces_after",
        '{"name": "Bob", "ok": true}\nNote: fields like {name} are templated.',
        [('{"name": "Bob", "ok": true}', {"prose"}), ("{name}", {"prose"})],
    ),
    ("chinese_correction", '初步：{"a": 1}\n修正如下：{"a": 2}', [('{"a": 1}', {"prose"}), ('{"a": 2}', {"prose"})]),
    ("apostrophe_in_prose", "It's {x} and it's done: {'a': 1}", [("{x}", {"prose"}), ("{'a': 1}", {"prose"})]),
    ("unbalanced_runs_to_end", 'Result: {"a": [1, 2', [('{"a": [1, 2', {"prose"})]),
    ("unclosed_string_runs_to_end", 'Result: {"a": "x}', [('{"a": "x}', {"prose"})]),
    # fences
    ("fence_json", f'{F}json\n{{"a": 1}}\n{F}', [('{"a": 1}', {"fence"})]),
    (
        "fence_JSON_upper",
        f'Sure!\n{F}JSON\n{{"a": 1, "b": [1, 2]}}\n{F}',
        [('{"a": 1, "b": [1, 2]}', {"fence", "prose"})],
    ),
    (
        "fence_json5_tag",
        f'{F}json5\n{{name: "Bob", // comment\n age: 3,}}\n{F}',
        [('{name: "Bob", // comment\n age: 3,}', {"fence"})],
    ),
    ("fence_no_tag", f"{F}\n[1]\n{F}", [("[1]", {"fence"})]),
    ("fence_tilde", '~~~json\n{"a": 1}\n~~~', [('{"a": 1}', {"fence"})]),
    ("fence_unclosed", f'{F}json\n{{"a": 1, "b": [', [('{"a": 1, "b": [', {"fence"})]),
    ("fence_inline_opener", f'Here you go: {F}json\n{{"a": 1}}\n{F}', [('{"a": 1}', {"fence", "prose"})]),
    ("fence_one_line", f'{F}json {{"a": 1}} {F}', [('{"a": 1}', {"fence"})]),
    ("fence_four_backticks", '````json\n{"c": "```"}\n```\n````', [('{"c": "```"}\n```', {"fence"})]),
    (
        "two_fences",
        f'{F}json\n{{"v": 1}}\n{F}\nOr alternatively:\n{F}json\n{{"v": 2}}\n{F}',
        [('{"v": 1}', {"fence", "prose"}), ('{"v": 2}', {"fence", "prose"})],
    ),
    (
        "fence_then_schema_prose",
        f'{F}json\n{{"a": 1}}\n{F}\nHere the field a follows {{"type": "integer"}}.',
        [('{"a": 1}', {"fence", "prose"}), ('{"type": "integer"}', {"prose"})],
    ),
    (
        "fw_in_fence_prose",
        f"好的，结果如下：\n{F}json\n{{“city”：“上海”，“temp”：21}}\n{F}\n还有问题吗？",
        [("{“city”：“上海”，“temp”：21}", {"fence", "prose"})],
    ),
    ("fence_python", f"{F}python\nprint(1)\n{F}", [("print(1)", {"fence"})]),
    # <think>
    (
        "think_block",
        '<think>The format is {"name": ...}, fine.</think>\n{"name": "Carol", "age": 41}',
        [('{"name": "Carol", "age": 41}', {"think"})],
    ),
    ("think_any_case", "<THINK>a {b}</Think>  [1, 2]  ", [("[1, 2]", {"think"})]),
    ("think_lone_close", 'so {"draft": 1} maybe</think>\n{"a": 1}', [('{"a": 1}', {"think"})]),
    ("think_unclosed", '<think>the answer is {"a": 1}', [('{"a": 1}', {"think", "prose"})]),
    ("think_unclosed_fence", f'<think>hmm\n{F}json\n{{"a": 1}}\n{F}', [('{"a": 1}', {"think", "fence", "prose"})]),
    ("think_then_fence", f'<think>{{"x"}}</think>\n{F}json\n{{"a": 1}}\n{F}', [('{"a": 1}', {"think", "fence"})]),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_extract(raw: str, expected: list[tuple[str, set[str]]]) -> None:
    got = [(c.text.strip(), {d.code for d in c.deviations}) for c in extract(raw)]
    assert got == expected


@pytest.mark.parametrize(
    ("raw", "starts"),
    [
        ('ab {"a": 1} cd [2]', [3, 15]),
        (f'x\n{F}json\n{{"a": 1}}\n{F}', [9]),
        ('<think>{"q": 1}</think>{"a": 1}', [23]),
        ('x</think> {"a": 1}', [10]),
    ],
)
def test_start_is_the_offset_in_the_raw_text(raw: str, starts: list[int]) -> None:
    cands = extract(raw)
    assert [c.start for c in cands] == starts
    for c in cands:
        assert raw[c.start : c.start + len(c.text)] == c.text


def test_every_deviation_is_a_known_code_at_the_root() -> None:
    for _, raw, _ in CASES:
        for c in extract(raw):
            assert isinstance(c, Candidate)
            assert all(d.code in CODES and d.path == () for d in c.deviations)


def test_over_the_limit_keeps_fences_and_the_longest_spans() -> None:
    prose = " ".join(f"see [{i}]" for i in range(30))
    raw = f'{prose}\n{{"name": "Bob", "skills": ["a"]}}\n{F}json\n[1]\n{F}'
    cands = extract(raw, max_candidates=4)
    assert len(cands) == 4
    assert [c.start for c in cands] == sorted(c.start for c in cands)
    texts = [c.text.strip() for c in cands]
    assert '{"name": "Bob", "skills": ["a"]}' in texts and "[1]" in texts
    assert all("limit.candidates" in {d.code for d in c.deviations} for c in cands)


def test_at_the_limit_nothing_is_reported() -> None:
    cands = extract("[1] [2]", max_candidates=2)
    assert len(cands) == 2 and all("limit.candidates" not in {d.code for d in c.deviations} for c in cands)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3"])
def test_bad_max_candidates_raises(bad: object) -> None:
    with pytest.raises(ConfigError):
        extract("{}", max_candidates=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "text", "codes"),
    [
        ("<think>hm</think>\n北京", "北京", {"think"}),
        (f"答案：\n{F}\n42\n{F}\n", "答案：\n\n42", {"fence"}),
        (" YES ", "YES", set()),
        ("x</think>  a", "a", {"think"}),
        ("", "", set()),
    ],
)
def test_bare_text_is_the_whole_output_unwrapped(raw: str, text: str, codes: set[str]) -> None:
    got = bare_text(raw)
    assert (got.text, {d.code for d in got.deviations}) == (text, codes)
    assert got.text[:1] == raw[got.start : got.start + 1]


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("{}", 2),
        ('{"a": "}"} x', 10),
        ("[1, [2], {3}] x", 13),
        ("{'a': '}'}", 10),
        ("{it's}", 6),
        ("{“a”: “}”}", 10),
        ('{"a": "\\"}"}', 12),
        ("{{{", 3),
        ("｛1｝", 3),
    ],
)
def test_value_end(text: str, end: int) -> None:
    assert value_end(text, 0, len(text)) == end


# Adversarial shapes: a generous hang guard, never a fine timing.
ADVERSARIAL = {
    "open_braces": "{" * MB,
    "open_brackets": "[" * MB,
    "open_key_colon": '{"a": ' * (MB // 6),
    "prose_braces_brackets": repeat_to("Use {x} and [y] here. ", MB),
    "latex_prose": repeat_to(r"Let $x_{i}$ and $A[i]$ be \frac{a}{b}. ", MB),
    "quote_storm": '{"a": "' + repeat_to('x", "y": "z, ', MB),
    "only_quotes": '"' * MB,
    "fences": repeat_to("```\n", MB),
    "think_tags": repeat_to("<think>", MB),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("raw", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_input_is_scanned_without_a_hang(raw: str) -> None:
    assert len(extract(raw)) <= 16  # the default max_candidates


@given(st.text())
def test_extract_never_raises_and_spans_come_from_the_text(raw: str) -> None:
    cands = extract(raw)
    assert [c.start for c in cands] == sorted(c.start for c in cands)
    if "think" not in raw.lower():
        for c in cands:
            assert raw[c.start : c.start + len(c.text)] == c.text


@given(st.text(alphabet="{}[]\"'`~<>/think ,:：“”‘’｛｝ab\n\\"))
def test_extract_never_raises_on_bracket_soup(raw: str) -> None:
    for c in extract(raw):
        assert c.text.strip()


def test_several_values_in_one_fence_are_separate_candidates() -> None:
    raw = '```json\n{"name": "甲", "age": 30}\n\n修正如下：\n{"name": "乙", "age": 31}\n```'
    found = extract(raw)
    assert [c.text for c in found] == ['{"name": "甲", "age": 30}', '{"name": "乙", "age": 31}']
    assert all({"fence", "prose"} <= {d.code for d in c.deviations} for c in found)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("x\n[/* c */'a]', 1]", ["a]", 1]),
        ('x\n{"k":[/* c */\'a]b\'],"z":1}', {"k": ["a]b"], "z": 1}),
        ('x\n{"k": // note\n  \'a]b\', "z": 1}', {"k": "a]b", "z": 1}),
        ("it's prose, then ['a', 'b']", ["a", "b"]),
    ],
)
def test_a_single_quote_after_a_comment_opens_a_string(raw: str, value: object) -> None:
    from llm_guard_json import normalize

    assert normalize(raw, {}).value == value
