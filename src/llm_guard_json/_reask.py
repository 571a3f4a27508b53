"""The re-ask: the failed answer, then a short user message saying what was wrong and what shape is wanted.

The message is Chinese when the user's messages hold CJK characters, else English. It lists at most
eight problems, those that made the answer unusable (no_json, missing.*, invalid.*, lost.*, limit.*)
first, then the rest by weight; then the wanted shape in one line: the keys and their types (two
levels deep when that is short).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ._result import Result
from ._schema import Schema

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BLOCKING = ("no_json", "missing.", "invalid.", "lost.", "limit.")
_MAX_PROBLEMS = 8
_MAX_DETAIL = 160
_MAX_KEYS = 16
_MAX_SHAPE = 600  # characters: a deeper shape that is longer falls back to the top-level keys
_MAX_ECHO = 4000  # characters of the failed answer sent back: a runaway output must not fill the context
_WORDS = {
    False: {
        "failed": "Your previous answer could not be used:",
        "low": "Your previous answer was usable but not in the expected form:",
        "more": "- ... and {n} more",
        "ask": "Answer again with only the JSON, nothing else",
        "shape": ", in this shape{required}:",
        "required": " (required: {keys})",
    },
    True: {
        "failed": "上一次的回答无法使用：",
        "low": "上一次的回答可以解析，但格式不规范：",
        "more": "- ……另有 {n} 处",
        "ask": "请重新回答，只输出 JSON，不要其他文字",
        "shape": "，格式如下{required}：",
        "required": "（必填：{keys}）",
    },
}


def is_chinese(messages: list[dict[str, Any]]) -> bool:
    """Whether the user's messages hold CJK characters."""
    return any(m.get("role") == "user" and isinstance(m.get("content"), str) and _CJK.search(m["content"])
               for m in messages)  # fmt: skip


def followup(messages: list[dict[str, Any]], failed: Result) -> list[dict[str, Any]]:
    """A new conversation: `messages`, the failed answer as the assistant's, then the re-ask."""
    echo = failed.raw if len(failed.raw) <= _MAX_ECHO else failed.raw[:_MAX_ECHO] + " ..."
    return [
        *(dict(m) for m in messages),
        {"role": "assistant", "content": echo},
        {"role": "user", "content": reask_text(failed, chinese=is_chinese(messages))},
    ]


def reask_text(failed: Result, *, chinese: bool) -> str:
    """The user message that asks again: what was wrong, then the wanted shape."""
    words = _WORDS[chinese]
    lines = [words["failed"] if not failed.ok else words["low"], *problem_lines(failed, words["more"])]
    ask = words["ask"]
    shape = describe(failed.schema) if failed.schema is not None else "any"
    if shape == "any":
        return "\n".join([*lines, ask + ("。" if chinese else ".")])
    required = _required(failed.schema)
    keys = words["required"].format(keys=", ".join(required)) if required else ""
    return "\n".join([*lines, ask + words["shape"].format(required=keys), shape])


def problem_lines(failed: Result, more: str = "- ... and {n} more") -> list[str]:
    """One line per deviation, `- /pointer: detail (code)`, the blocking ones first; at most eight.

    The keys filled with their defaults share one line: they are many, and each says little.
    """
    blocking = [d for d in failed.deviations if d.code.startswith(_BLOCKING)]
    rest = [d for d in failed.deviations if not d.code.startswith(_BLOCKING) and d.code != "default"]
    lines = [_line(d.pointer, d.detail, d.code) for d in blocking + sorted(rest, key=lambda d: -d.weight)]
    defaults = [d.pointer for d in failed.deviations if d.code == "default"]
    if defaults:
        lines.append(_line("", "absent, filled with the default: " + ", ".join(defaults), "default"))
    if len(lines) > _MAX_PROBLEMS:
        lines[_MAX_PROBLEMS - 1 :] = [more.format(n=len(lines) - _MAX_PROBLEMS + 1)]
    return lines


def _line(pointer: str, detail: str, code: str) -> str:
    detail = detail if len(detail) <= _MAX_DETAIL else detail[: _MAX_DETAIL - 3] + "..."
    return f"- {pointer + ': ' if pointer else ''}{detail} ({code})"


def describe(schema: Schema) -> str:
    """The wanted shape in one line: two levels deep when that is short, else the top-level keys.

    For example `{"name": string, "age": integer|null, "skills": [string], "salary": {...}|null}`.
    """
    deeper = _describe(schema, schema.root, depth=2)
    return deeper if len(deeper) <= _MAX_SHAPE else _describe(schema, schema.root, depth=1)


def _required(schema: Schema | None) -> list[str]:
    root = schema.resolve(schema.root) if schema is not None else {}
    required = root.get("required")
    return [str(k) for k in required] if isinstance(required, list) else []


def _describe(schema: Schema, node: Any, depth: int) -> str:
    node = schema.resolve(node)
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    if isinstance(node.get("enum"), list):
        return "|".join(json.dumps(v, ensure_ascii=False) for v in node["enum"])
    for keyword in ("anyOf", "oneOf"):
        if isinstance(node.get(keyword), list):
            return "|".join(dict.fromkeys(_describe(schema, branch, depth) for branch in node[keyword]))
    kinds = node.get("type")
    if kinds is None:
        kinds = "object" if "properties" in node else "array" if "items" in node else "any"
    return "|".join(_kind(schema, node, str(kind), depth) for kind in (kinds if isinstance(kinds, list) else [kinds]))


def _kind(schema: Schema, node: Mapping[str, Any], kind: str, depth: int) -> str:
    properties = node.get("properties")
    if kind == "object" and depth > 0 and isinstance(properties, Mapping) and properties:
        keys = [
            f"{json.dumps(k, ensure_ascii=False)}: {_describe(schema, v, depth - 1)}" for k, v in properties.items()
        ]
        return "{" + ", ".join(keys[:_MAX_KEYS] + (["..."] if len(keys) > _MAX_KEYS else [])) + "}"
    if kind == "array":
        return f"[{_describe(schema, node.get('items', True), depth)}]"
    return kind
