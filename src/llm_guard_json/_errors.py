"""The error tree. Bad model output is data (a `Result`); only programmer errors raise.

GuardError(Exception)
├── ConfigError(GuardError, TypeError)        bad arguments from the caller
├── SchemaError(GuardError, ValueError)       the schema itself is invalid
└── OutputRejected(GuardError, ValueError)    .result / .attempts: nothing valid came back
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._result import Result


class GuardError(Exception):
    """Base of every error this library raises on purpose."""


class ConfigError(GuardError, TypeError):
    """A wrong argument from the caller; the message names the fix."""


class SchemaError(GuardError, ValueError):
    """The schema is not valid JSON Schema, or one of its `x-` keywords is malformed.

    `keyword` is the offending keyword and `location` the JSON Pointer of the
    subschema that holds it.
    """

    def __init__(self, message: str, *, keyword: str = "", location: str = "") -> None:
        super().__init__(message)
        self.keyword = keyword
        self.location = location


class OutputRejected(GuardError, ValueError):
    """No acceptable output: `.result` is the last result, `.attempts` every one."""

    def __init__(self, message: str, result: Result, attempts: Sequence[Result] = ()) -> None:
        super().__init__(message)
        self.result = result
        self.attempts: tuple[Result, ...] = tuple(attempts) or (result,)
