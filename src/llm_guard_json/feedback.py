"""The feedback store: every model output with its prompt and its normalized result, in SQLite.

Deviating outputs become training data: the exporters (`llm_guard_json.export`) read these
records and write DPO, KTO and SFT files for TRL and LLaMA-Factory.

One file, no server: WAL journal and `synchronous=NORMAL` (a committed record survives a crash
of the process; only a power loss may take the last commits), and a busy timeout, so writers in
other threads and processes wait their turn. Records are deduplicated by `key`, the hash of
(prompt, raw output, schema). A file the store cannot use raises `StoreError`, a bad argument
`ConfigError`; each message names the fix.

    with FeedbackStore("feedback.db") as store:
        store.add(normalize(raw, "resume"), prompt="抽取简历：…", model="qwen-7b-lora")
        misses = list(store.records(schema="resume", ok=False))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ._errors import ConfigError, GuardError
from ._result import Result
from ._schema import Schema

__all__ = ["AddedRecord", "FeedbackStore", "Item", "MIGRATIONS", "Prompt", "StoreError", "StoredRecord", "schema_hash"]

#: A prompt: the text of one user turn, or chat messages ({"role", "content"}; an optional
#: leading system message; the last one the user's).
Prompt = str | list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One model output as the store holds it.

    `key` is the content hash of (prompt, raw, schema) that deduplicates records; `text` is
    the canonical text (None when no JSON was found); `deviations` are `Deviation.as_dict()`
    forms; `created` is seconds since the epoch (UTC).
    """

    key: str
    prompt: Prompt
    raw: str
    schema_name: str
    schema_hash: str
    text: str | None
    ok: bool
    score: float
    deviations: list[dict[str, Any]]
    model: str | None = None
    attempt: int = 1
    created: float = 0.0
    tags: list[str] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        """The deviation codes, in order."""
        return [str(d.get("code")) for d in self.deviations]


@dataclass(frozen=True, slots=True, eq=False)
class AddedRecord(StoredRecord):
    """What `add` returns: the record as the store holds it, and whether this call added it.

    It compares equal to the StoredRecord that `get` and `records` give for the same row.
    """

    new: bool = True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredRecord):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _NAMES)

    __hash__ = StoredRecord.__hash__


@dataclass(frozen=True, slots=True)
class Item:
    """One output for `add_many`; a tuple (result, prompt, model, attempt, tags) works too."""

    result: Result
    prompt: Prompt
    model: str | None = None
    attempt: int = 1
    tags: Sequence[str] = ()
    created: float | None = None


class StoreError(GuardError):
    """The store file cannot be used: no such directory, read-only, not a feedback store, too new."""


#: Schema migrations: script N takes a file from `PRAGMA user_version` N-1 to N, in one transaction.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE records (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL, prompt TEXT NOT NULL, raw TEXT NOT NULL,
        schema_name TEXT NOT NULL, schema_hash TEXT NOT NULL, text TEXT, ok INTEGER NOT NULL,
        score REAL NOT NULL, deviations TEXT NOT NULL, model TEXT, attempt INTEGER NOT NULL,
        created REAL NOT NULL, tags TEXT NOT NULL
    );
    CREATE UNIQUE INDEX records_key ON records (key);
    CREATE INDEX records_created ON records (created);
    CREATE INDEX records_schema_name ON records (schema_name);
    CREATE INDEX records_model ON records (model);
    """,
)
_NAMES = ("key", "prompt", "raw", "schema_name", "schema_hash", "text", "ok", "score", "deviations", "model",
          "attempt", "created", "tags")  # fmt: skip
_COLUMNS = ", ".join(_NAMES)
_INSERT = f"INSERT OR IGNORE INTO records ({_COLUMNS}) VALUES ({', '.join('?' * len(_NAMES))})"
_PAGE = 500  # records() reads this many rows per query, so no statement stays open between pages
_ROLES = ("system", "user", "assistant")
_PROMPT_FIX = (
    "pass the prompt as a string, or as a list of messages {'role': ..., 'content': ...} (roles system, "
    "user, assistant; an optional system message first; the last message the user's)"
)
_EPOCH = "seconds since the epoch (e.g. datetime.timestamp())"
_FILTERS: dict[str, tuple[str, Any, str]] = {  # records() and count(): the clause, the type and its description
    "schema": ("schema_name = ?", str | Schema, "a schema name or a Schema"),
    "model": ("model = ?", str, "a model id"),
    "since": ("created >= ?", int | float, _EPOCH),
    "until": ("created < ?", int | float, _EPOCH),
    "min_score": ("score >= ?", int | float, "a number"),
    "max_score": ("score <= ?", int | float, "a number"),
    "ok": ("ok = ?", bool, "True or False"),
}
_HASHES: weakref.WeakKeyDictionary[Schema, str] = weakref.WeakKeyDictionary()


def _dumps(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, separators=(",", ":"))


def schema_hash(schema: Schema) -> str:
    """sha256 of the canonical JSON of `schema.root`: equal schemas give equal hashes."""
    digest = _HASHES.get(schema)
    if digest is None:
        digest = _HASHES[schema] = hashlib.sha256(_dumps(schema.root, sort_keys=True).encode()).hexdigest()
    return digest


def _check_prompt(prompt: Any) -> Prompt:
    if isinstance(prompt, str):
        return prompt
    if not isinstance(prompt, list) or not prompt:
        raise ConfigError(
            f"a prompt must be a string or a non-empty list of messages, not {prompt!r:.60}; {_PROMPT_FIX}"
        )
    for i, message in enumerate(prompt):
        if not (isinstance(message, dict) and set(message) == {"role", "content"}):
            raise ConfigError(f"prompt message {i} is {message!r:.80}, not {{'role', 'content'}}; {_PROMPT_FIX}")
        if not (isinstance(message["role"], str) and isinstance(message["content"], str)):
            raise ConfigError(f"prompt message {i}: 'role' and 'content' must be strings; {_PROMPT_FIX}")
        if message["role"] not in _ROLES or (message["role"] == "system" and i > 0):
            raise ConfigError(f"prompt message {i} has the role {message['role']!r} there; {_PROMPT_FIX}")
    if prompt[-1]["role"] != "user":
        raise ConfigError(f"the last prompt message is the {prompt[-1]['role']}'s, not the user's; {_PROMPT_FIX}")
    return [{"role": m["role"], "content": m["content"]} for m in prompt]  # one key order: one hash


def _row(item: Item | tuple[Any, ...]) -> tuple[Any, ...]:
    """The table row for one output; ConfigError naming the fix for a bad argument."""
    if isinstance(item, tuple) and 2 <= len(item) <= 6:
        item = Item(*item)
    if not isinstance(item, Item):
        raise ConfigError(f"add_many takes Items or (result, prompt, model, attempt, tags) tuples, not {item!r:.80}")
    result, prompt = item.result, _check_prompt(item.prompt)
    if not isinstance(result, Result) or result.schema is None:
        given = "a Result without a schema" if isinstance(result, Result) else type(result).__name__
        raise ConfigError(f"pass the Result that normalize() returned (it carries its schema), not {given}")
    if item.model is not None and not isinstance(item.model, str):
        raise ConfigError(f"model must be a string id or None, not {item.model!r:.80}")
    if isinstance(item.attempt, bool) or not isinstance(item.attempt, int) or item.attempt < 1:
        raise ConfigError(f"attempt must be an integer from 1 up, not {item.attempt!r:.80}")
    if isinstance(item.tags, str) or not all(isinstance(t, str) for t in item.tags):
        raise ConfigError(f"tags must be a list of strings, e.g. tags=['retry'], not {item.tags!r:.80}")
    created = time.time() if item.created is None else item.created
    if isinstance(created, bool) or not isinstance(created, int | float) or not math.isfinite(created):
        raise ConfigError(f"created must be seconds since the epoch (a finite number), not {created!r:.80}")
    digest = schema_hash(result.schema)
    key = hashlib.sha256(_dumps([prompt, result.raw, digest]).encode("utf-8", "surrogatepass")).hexdigest()
    deviations = _dumps([d.as_dict() for d in result.deviations])
    tags = _dumps(list(item.tags))
    return (key, _dumps(prompt), result.raw, result.schema.name, digest, result.text, int(result.ok),
            float(result.score), deviations, item.model, item.attempt, float(created), tags)  # fmt: skip


def _fields(row: Sequence[Any]) -> dict[str, Any]:
    """A table row as StoredRecord's keyword arguments."""
    fields = dict(zip(_NAMES, row, strict=True))
    for name in ("prompt", "deviations", "tags"):
        fields[name] = json.loads(fields[name])
    return fields | {"ok": bool(fields["ok"])}


def _where(given: dict[str, Any]) -> tuple[str, list[Any]]:
    """The SQL condition (` AND ...` clauses) and its parameters for the filters of records() and count()."""
    clauses, params = [], []
    for name, (condition, kind, what) in _FILTERS.items():
        value = given[name]
        if value is None:
            continue
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(f"{name}= takes {what}, not {value!r:.80}")
        clauses.append(" AND schema_hash = ?" if isinstance(value, Schema) else f" AND {condition}")
        params.append(schema_hash(value) if isinstance(value, Schema) else value)
    return "".join(clauses), params


class FeedbackStore:
    """Model outputs and their normalized results in one SQLite file (created if absent).

    One store may be shared by threads (a lock guards its one connection); several processes may
    write to one file at once. Use it as a context manager, or call `close()`.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        if not isinstance(path, str | os.PathLike):
            raise ConfigError(f"FeedbackStore needs a file path, not {type(path).__name__}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
            raise ConfigError(f"timeout= takes the seconds a writer waits for another, e.g. 30, not {timeout!r:.40}")
        self.path, self.timeout = Path(path), timeout
        where, folder = repr(str(self.path)), self.path.parent
        if self.path.is_dir():
            raise StoreError(f"{where} is a directory; pass a file path, e.g. {str(self.path / 'feedback.db')!r}")
        if not folder.is_dir():
            raise StoreError(f"cannot create {where}: the directory {str(folder)!r} does not exist; create it first")
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise StoreError(f"{where} is read-only; make it writable (chmod u+w) or pass another path")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"the directory {str(folder)!r} is read-only; a store writes its journal next to {where}")
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        """Build a new store beside `path`, then link it there: it appears whole or not at all."""
        new = self.path.with_name(f"{self.path.name}.creating-{os.getpid()}-{threading.get_ident()}")
        try:
            with self._errors(), contextlib.closing(sqlite3.connect(new, isolation_level=None)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                with self._transaction(conn):
                    self._migrate(conn, 0)
            os.link(new, self.path)
        except FileExistsError:
            pass  # another process created it first: use that one
        except OSError:  # a file system without hard links: move it there, unless one appeared meanwhile
            if not self.path.exists():
                os.replace(new, self.path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{new}{suffix}").unlink(missing_ok=True)

    def _open(self) -> None:
        self._pid = os.getpid()
        if not self.path.exists():
            self._create()
        with self._errors():
            conn = self._conn = sqlite3.connect(self.path, self.timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                with self._transaction(conn):  # version read again inside: another process may be migrating
                    self._migrate(conn, conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        where = repr(str(self.path))
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{where} is a feedback store of version {version}, newer than this llm_guard_json reads "
                f"(up to {len(MIGRATIONS)}); upgrade llm_guard_json"
            )
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{where} is an SQLite database but not a feedback store; pass another path")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            statement = ""
            for part in script.split(";"):
                statement += part + ";"
                if sqlite3.complete_statement(statement):
                    if statement.strip(" \n;"):
                        conn.execute(statement)
                    statement = ""
            conn.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")  # take the write lock now (waiting up to timeout), not halfway
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn an sqlite3 error into a StoreError that says what is wrong with the file."""
        try:
            yield
        except sqlite3.Error as e:
            text = str(e)
            if "not a database" in text:
                why = "is not a feedback store: the file is not an SQLite database; pass another path"
            elif "malformed" in text:
                why = "is damaged (SQLite finds it malformed); restore a copy, or try the sqlite3 shell's .recover"
            elif "readonly" in text:
                why = "is read-only; make it writable (chmod u+w) or pass another path"
            elif "locked" in text or "busy" in text:
                why = f"stayed locked by another writer for {self.timeout} s; retry, or pass a longer timeout="
            else:
                why = f"cannot be used: SQLite says {text!r}"
            raise StoreError(f"{str(self.path)!r} {why}") from e

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with sqlite3 errors translated."""
        if self._conn is not None and self._pid != os.getpid():  # forked: never use the parent's connection or lock
            self._lock, self._conn = threading.RLock(), None
            self._open()
        with self._lock, self._errors():
            if self._conn is None:
                raise StoreError(f"the feedback store {str(self.path)!r} is closed; open a new FeedbackStore")
            yield self._conn

    def close(self) -> None:
        """Close the file; the store cannot be used afterwards. Safe to call twice."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FeedbackStore({str(self.path)!r})"

    def add(
        self,
        result: Result,
        *,
        prompt: Prompt,
        model: str | None = None,
        attempt: int = 1,
        tags: Sequence[str] = (),
        created: float | None = None,
    ) -> AddedRecord:
        """Store one output. `.new` is False when its (prompt, raw, schema) was there; that record stays as it was."""
        row = _row(Item(result, prompt, model, attempt, tags, created))
        with self._connection() as conn:
            if conn.execute(_INSERT, row).rowcount == 1:
                return AddedRecord(**_fields(row), new=True)
            row = conn.execute(f"SELECT {_COLUMNS} FROM records WHERE key = ?", (row[0],)).fetchone()
        return AddedRecord(**_fields(row), new=False)

    def add_many(self, items: Iterable[Item | tuple[Any, ...]]) -> int:
        """Store a batch in one transaction (all or nothing); return how many records were new."""
        rows = [_row(item) for item in items]
        with self._connection() as conn:
            before = conn.total_changes
            with self._transaction(conn):
                conn.executemany(_INSERT, rows)
            return conn.total_changes - before

    def records(
        self,
        *,
        schema: str | Schema | None = None,
        model: str | None = None,
        since: float | None = None,
        until: float | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        ok: bool | None = None,
    ) -> Iterator[StoredRecord]:
        """The records that pass every filter given, in insertion order, read a page at a time.

        `schema` is a schema name, or a Schema (matched by its hash); `since <= created < until`;
        the score bounds are inclusive. Records committed while iterating may appear at the end.
        """
        where, params = _where(locals())  # checked now, not on the first next()
        return self._pages(f"SELECT id, {_COLUMNS} FROM records WHERE id > ?{where} ORDER BY id LIMIT {_PAGE}", params)

    def _pages(self, query: str, params: list[Any]) -> Iterator[StoredRecord]:
        last = 0
        while True:
            with self._connection() as conn:
                page = conn.execute(query, (last, *params)).fetchall()
            yield from (StoredRecord(**_fields(row[1:])) for row in page)
            if len(page) < _PAGE:
                return
            last = page[-1][0]

    def count(
        self,
        *,
        schema: str | Schema | None = None,
        model: str | None = None,
        since: float | None = None,
        until: float | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        ok: bool | None = None,
    ) -> int:
        """How many records `records()` with the same filters gives."""
        where, params = _where(locals())
        with self._connection() as conn:
            return int(conn.execute(f"SELECT count(*) FROM records WHERE 1{where}", params).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    def get(self, key: str) -> StoredRecord | None:
        """The record with this key, or None."""
        with self._connection() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else StoredRecord(**_fields(row))
