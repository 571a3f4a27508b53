"""FeedbackStore: round trips, deduplication, filters, concurrency, crashes, bad files, migrations."""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from llm_guard_json import ConfigError, GuardError, Result, Schema, feedback, normalize
from llm_guard_json.feedback import FeedbackStore, Item, StoredRecord, StoreError, schema_hash

SMALL = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
OTHER = {"type": "object", "properties": {"n": {"type": "number"}}}
CHAT = [
    {"role": "system", "content": "你是一个信息抽取助手，只输出 JSON。"},
    {"role": "user", "content": "抽取：张伟，35岁，擅长Python"},
]
RAW = '好的，抽取结果如下：\n```json\n{"姓名": "张伟", "年龄": "35岁", "技能": "擅长Python和Java开发",}\n```'


def _sql(path: Path, query: str) -> list[Any]:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        return conn.execute(query).fetchall()


def _pairs(store: FeedbackStore) -> list[tuple[str, str]]:
    """(prompt as JSON, raw) of every record, in store order."""
    return [(json.dumps(r.prompt, sort_keys=True), r.raw) for r in store.records()]


# the outputs the concurrency and crash tests write: distinct (prompt, raw) pairs, cheap to normalize
def _prompt(i: int) -> feedback.Prompt:
    text = f"抽取第{i // 1000}组：编号{i}"
    return [{"role": "system", "content": "只输出 JSON"}, {"role": "user", "content": text}] if i % 5 == 0 else text


def _raw(i: int, pad: int = 0) -> str:
    return json.dumps({"n": i % 1000, "pad": "x" * pad})


def _draws(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(3000) for _ in range(2000)]


def _concurrent_writer(path: str, seed: int, ready: Any, go: Any, done: Any) -> None:
    results = {i: normalize(_raw(i), SMALL) for i in set(_draws(seed))}
    store = FeedbackStore(path)
    ready.put(seed)
    go.wait(60)
    new, batch = 0, []
    for j, i in enumerate(_draws(seed)):
        if j % 4 == 0:
            new += store.add(results[i], prompt=_prompt(i), model=f"w{seed}", tags=[f"w{seed}"]).new
        else:
            batch.append((results[i], _prompt(i), f"w{seed}", 1, [f"w{seed}"]))
        if len(batch) == 150:
            new += store.add_many(batch)
            batch = []
    new += store.add_many(batch)
    store.close()
    done.put(new)


def _racing_creator(folder: str, worker: int, barrier: Any, done: Any) -> None:
    result = normalize('{"n": 1}', SMALL)
    try:
        for k in range(10):
            barrier.wait(60)  # all at once, on a path that does not exist yet
            with FeedbackStore(Path(folder) / f"{k}.db") as store:
                store.add(result, prompt=f"worker {worker}")
    except BaseException as e:
        barrier.abort()  # the others stop waiting
        done.put(repr(e))
    else:
        done.put(worker)


def _crash_writer(path: str, pipe: Any, hold_in_batch: int | None) -> None:
    """Commit batches of 100 in a loop, reporting each; in batch `hold_in_batch`, stop halfway through its inserts."""
    store = FeedbackStore(path)
    inserts = []

    def halfway(statement: str) -> None:
        inserts.append(statement.startswith("INSERT"))
        if sum(inserts) == 50:
            pipe.send("inside")
            time.sleep(120)

    for b in range(10_000):
        if b == hold_in_batch:
            assert store._conn is not None
            store._conn.set_trace_callback(halfway)
        store.add_many(Item(normalize(_raw(i, 2000), SMALL), f"batch {b}", attempt=b + 1) for i in range(100))
        pipe.send(b)


# round trip and deduplication


def test_every_field_round_trips(tmp_path: Path) -> None:
    result = normalize(RAW, "resume")
    path = tmp_path / "feedback.db"
    with FeedbackStore(path) as store:
        before = time.time()
        added = store.add(result, prompt="抽取：张伟，35岁", model="qwen-7b-lora", attempt=2, tags=["v1", "中文"])
        after = time.time()
        chat = store.add(result, prompt=CHAT, created=1_700_000_000.5)
        assert added.new and chat.new
        assert len(store) == 2
        got = store.get(added.key)
        assert isinstance(got, StoredRecord) and got == added
        assert got.prompt == "抽取：张伟，35岁" and got.raw == RAW
        assert got.schema_name == "resume"
        root = json.dumps(result.schema.root, sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # type: ignore[union-attr]
        assert got.schema_hash == hashlib.sha256(root.encode()).hexdigest() == schema_hash(Schema("resume"))
        assert got.text == result.text and json.loads(got.text or "")["name"] == "张伟"
        assert (got.ok, got.score) == (result.ok, result.score)
        assert got.deviations == [d.as_dict() for d in result.deviations] and got.codes == result.codes
        assert (got.model, got.attempt, got.tags) == ("qwen-7b-lora", 2, ["v1", "中文"])
        assert before <= got.created <= after
        assert len(got.key) == 64 and all(c in "0123456789abcdef" for c in got.key)
        got_chat = store.get(chat.key)
        assert got_chat is not None and got_chat.prompt == CHAT and got_chat.created == 1_700_000_000.5
        assert [list(message) for message in got_chat.prompt] == [["role", "content"]] * 2
        assert (got_chat.model, got_chat.attempt, got_chat.tags) == (None, 1, [])
        assert store.get("0" * 64) is None
    # Chinese text is stored as is, not as \u escapes
    prompts = [row[0] for row in _sql(path, "SELECT prompt FROM records ORDER BY id")]
    assert "张伟" in prompts[0] and "信息抽取" in prompts[1] and "\\u" not in "".join(prompts)


def test_an_output_without_json_round_trips(tmp_path: Path) -> None:
    result = normalize("抱歉，我无法回答。", SMALL)
    with FeedbackStore(tmp_path / "f.db") as store:
        record = store.add(result, prompt="抽取")
        got = store.get(record.key)
    assert got is not None and got.text is None and got.ok is False and got.codes == result.codes
    assert got.schema_name == "schema"


def test_same_prompt_raw_and_schema_is_one_record(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db") as store:
        first = store.add(normalize(RAW, "resume"), prompt=CHAT, model="a", tags=["first"])
        again = store.add(normalize(RAW, "resume", weights={"fence": 5.0}), prompt=CHAT, model="b")
        assert first.new and not again.new
        assert again.key == first.key and (again.model, again.tags, again.score) == ("a", ["first"], first.score)
        assert len(store) == 1
        assert store.add(normalize(RAW, "resume"), prompt=CHAT[1:]).new  # another prompt
        assert store.add(normalize(RAW, "resume"), prompt=CHAT[1]["content"]).new  # the same text, not as a chat
        assert store.add(normalize(RAW, SMALL), prompt=CHAT).new  # another schema
        assert store.add(normalize(RAW + " ", "resume"), prompt=CHAT).new  # another raw
        assert len(store) == 5
        result = normalize('{"n": 1}', SMALL)
        assert store.add_many([(result, "p"), (result, "p"), Item(result, "q"), (result, CHAT)]) == 3
        assert store.add_many([(result, "p"), (result, "q")]) == 0
        assert len(store) == 8
        assert len({r.key for r in store.records()}) == 8


def test_add_many_writes_all_or_nothing(tmp_path: Path) -> None:
    result = normalize('{"n": 1}', SMALL)
    with FeedbackStore(tmp_path / "f.db") as store:
        with pytest.raises(ConfigError, match="prompt"):
            store.add_many([(result, "a"), (result, "b"), (result, {"role": "user"})])
        assert len(store) == 0
        assert store.add_many(Item(result, f"p{i}", model="m", attempt=3, tags=["t"]) for i in range(300)) == 300
        assert {(r.model, r.attempt, tuple(r.tags)) for r in store.records()} == {("m", 3, ("t",))}


# filters and streaming


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[FeedbackStore]:
    store = FeedbackStore(tmp_path / "f.db")
    outputs = [
        ('{"n": 1}', SMALL, "a", 1000.0),
        ('```json\n{"n": 2}\n```', SMALL, "b", 2000.0),
        ("no JSON at all", SMALL, None, 3000.0),
        ('{"n": 4.5}', OTHER, "a", 4000.0),
        (RAW, "resume", "b", 5000.0),
        ('{"m": 6}', SMALL, "a", 6000.0),
    ]
    for raw, schema, model, created in outputs:
        store.add(normalize(raw, schema), prompt=f"prompt for {raw}", model=model, created=created)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"schema": "schema"}, lambda r: r.schema_name == "schema"),
        ({"schema": "resume"}, lambda r: r.schema_name == "resume"),
        ({"schema": Schema(OTHER)}, lambda r: '"n": 4.5' in r.raw),
        ({"model": "a"}, lambda r: r.model == "a"),
        ({"since": 2000}, lambda r: r.created >= 2000),
        ({"until": 3000.0}, lambda r: r.created < 3000),
        ({"since": 2000, "until": 5000}, lambda r: 2000 <= r.created < 5000),
        ({"min_score": 0.9}, lambda r: r.score >= 0.9),
        ({"max_score": 0.5}, lambda r: r.score <= 0.5),
        ({"ok": True}, lambda r: r.ok),
        ({"ok": False}, lambda r: not r.ok),
        (
            {"model": "a", "ok": True, "schema": "schema"},
            lambda r: r.model == "a" and r.ok and r.schema_name == "schema",
        ),
    ],
)
def test_filters(filled: FeedbackStore, filters: dict[str, Any], keep: Any) -> None:
    every = list(filled.records())
    expected = [r for r in every if keep(r)]
    assert 0 < len(expected) < len(every), "the fixture should make this filter choose"
    assert list(filled.records(**filters)) == expected
    assert filled.count(**filters) == len(expected)


def test_filters_select_what_the_fixture_holds(filled: FeedbackStore) -> None:
    assert len(filled) == filled.count() == 6
    assert filled.count(schema="schema") == 5  # SMALL and OTHER are both untitled
    assert filled.count(schema=Schema(SMALL)) == 4 and filled.count(schema=Schema(OTHER)) == 1
    assert filled.count(model="a") == 3 and filled.count(model="nobody") == 0
    assert filled.count(ok=False) == 2  # no JSON; no required "n"
    assert filled.count(min_score=1.0) == 2  # '{"n": 1}' and '{"n": 4.5}' as a number
    assert [r.created for r in filled.records(since=2000, until=5000)] == [2000.0, 3000.0, 4000.0]


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"since": "2024-01-01"}, "since"),
        ({"until": True}, "until"),
        ({"schema": 3}, "schema"),
        ({"ok": 1}, "ok"),
        ({"model": ["a"]}, "model"),
        ({"min_score": "0.5"}, "min_score"),
    ],
)
def test_a_bad_filter_raises_at_the_call(filled: FeedbackStore, filters: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=f"{named}= takes"):
        filled.records(**filters)
    with pytest.raises(ConfigError, match=f"{named}= takes"):
        filled.count(**filters)


def test_records_stream_in_insertion_order_a_page_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedback, "_PAGE", 3)
    with FeedbackStore(tmp_path / "f.db") as store:
        # created goes down while ids go up: order is insertion order, not time
        for i in range(10):
            store.add(normalize(f'{{"n": {i}}}', SMALL), prompt=f"p{i}", created=1000.0 - i)
        stream = store.records()
        assert iter(stream) is stream
        assert [r.prompt for r in stream] == [f"p{i}" for i in range(10)]
        assert [r.prompt for r in store.records(since=994)] == [f"p{i}" for i in range(7)]
        # writing while reading: the stream holds no lock or statement between pages
        seen = []
        for record in store.records():
            seen.append(record.prompt)
            if len(seen) <= 2:
                store.add(normalize('{"n": 0}', SMALL), prompt=f"late{len(seen)}")
        assert seen == [f"p{i}" for i in range(10)] + ["late1", "late2"]


# concurrency and crashes


def test_four_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    FeedbackStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    workers = [ctx.Process(target=_concurrent_writer, args=(str(path), seed, ready, go, done)) for seed in range(4)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=90)
    go.set()
    new = sum(done.get(timeout=90) for _ in workers)
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    distinct = set().union(*(_draws(seed) for seed in range(4)))
    assert 1500 < len(distinct) < 3000, "the draws should overlap"
    expected = {(json.dumps(_prompt(i), sort_keys=True), _raw(i)) for i in distinct}
    with FeedbackStore(path) as store:
        pairs = _pairs(store)
        assert len(pairs) == len(store) == len(distinct) == new  # each record added once, by one writer
        assert set(pairs) == expected
        assert all(r.tags == [r.model] and r.model in {"w0", "w1", "w2", "w3"} for r in store.records())
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]


def test_processes_creating_one_new_store_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, done = ctx.Barrier(6), ctx.Queue()
    workers = [ctx.Process(target=_racing_creator, args=(str(tmp_path), w, barrier, done)) for w in range(6)]
    for worker in workers:
        worker.start()
    reports = [done.get(timeout=90) for _ in workers]
    assert sorted(reports, key=str) == list(range(6)), reports
    for worker in workers:
        worker.join(30)
    names = sorted(p.name for p in tmp_path.iterdir())
    # no half-made store is left over (a -wal or -shm may stay where a checkpoint met a newcomer)
    assert [n for n in names if not n.endswith(("-wal", "-shm"))] == [f"{k}.db" for k in range(10)]
    for k in range(10):
        with FeedbackStore(tmp_path / f"{k}.db") as store:
            assert sorted(r.prompt for r in store.records()) == [f"worker {w}" for w in range(6)]


def test_threads_share_one_store(tmp_path: Path) -> None:
    results = {i: normalize(_raw(i), SMALL) for i in range(600)}
    barrier = threading.Barrier(5)

    def write(seed: int) -> int:
        rng, new = random.Random(seed), 0
        barrier.wait(30)
        for _ in range(20):
            ids = [rng.randrange(600) for _ in range(20)]
            new += store.add_many((results[i], _prompt(i)) for i in ids[:15])
            new += sum(store.add(results[i], prompt=_prompt(i)).new for i in ids[15:])
        return new

    def read() -> list[int]:
        barrier.wait(30)
        seen = []
        for _ in range(20):
            keys = [r.key for r in store.records()]
            assert len(keys) == len(set(keys))
            seen.append(len(keys))
        return seen

    with FeedbackStore(tmp_path / "f.db") as store, ThreadPoolExecutor(5) as pool:
        writers = [pool.submit(write, seed) for seed in range(4)]
        reader = pool.submit(read)
        new = sum(w.result(timeout=60) for w in writers)
        seen = reader.result(timeout=60)
        assert seen == sorted(seen) and seen[-1] <= new
        distinct = {rng_id for seed in range(4) for rng_id in _thread_draws(seed)}
        assert new == len(store) == len(distinct)
        assert set(_pairs(store)) == {(json.dumps(_prompt(i), sort_keys=True), _raw(i)) for i in distinct}


def _thread_draws(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(600) for _ in range(20 * 20)]


@pytest.mark.parametrize(
    ("batches", "hold"),
    [(2, None), (6, None), (None, 4)],
    ids=["after 2 batches", "after 6 batches", "halfway through batch 4"],
)
def test_a_killed_writer_loses_no_committed_batch(tmp_path: Path, batches: int | None, hold: int | None) -> None:
    path = tmp_path / "f.db"
    ctx = multiprocessing.get_context("spawn")
    reading, writing = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_crash_writer, args=(str(path), writing, hold))
    child.start()
    writing.close()
    reported: list[int] = []
    while len(reported) != batches:
        assert reading.poll(60), "the writer stopped reporting"
        message = reading.recv()
        if message == "inside":  # 50 of the batch's 100 rows are inserted, not committed
            break
        reported.append(message)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    while True:  # what it reported before it died
        try:
            reported.append(reading.recv())
        except (EOFError, OSError):
            break
    assert reported == list(range(len(reported)))
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]
    with FeedbackStore(path) as store:
        prompts = [r.prompt for r in store.records()]
        held = len(prompts) // 100
        assert len(prompts) % 100 == 0, "a half batch was kept"
        if hold is None:
            assert held in (len(reported), len(reported) + 1)  # the last may have committed before its report
        else:
            assert held == len(reported) == hold
        assert prompts == [f"batch {b}" for b in range(held) for _ in range(100)]
        assert store.count(schema="schema", ok=True) == len(prompts)


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    with FeedbackStore(tmp_path / "f.db") as store:
        store.add(normalize('{"n": 1}', SMALL), prompt="parent before")
        outputs = [(normalize('{"n": 2}', SMALL), f"child {i}") for i in range(50)]
        child = ctx.Process(target=lambda: store.add_many(outputs))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        store.add(normalize('{"n": 3}', SMALL), prompt="parent after")
        prompts = [r.prompt for r in store.records()]
    assert prompts == ["parent before"] + [f"child {i}" for i in range(50)] + ["parent after"]


# bad input


def test_a_missing_directory_is_named_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"directory .*nope/deeper' does not exist; create it first"):
        FeedbackStore(tmp_path / "nope" / "deeper" / "f.db")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_as_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory; pass a file path"):
        FeedbackStore(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    with FeedbackStore(path) as store:
        store.add(normalize('{"n": 1}', SMALL), prompt="p")
    path.chmod(0o444)
    try:
        if not os.access(path, os.W_OK):
            with pytest.raises(StoreError) as caught:
                FeedbackStore(path)
            message = str(caught.value)
        else:  # root: check in a child without the capabilities that override file modes, where setpriv can
            message = _open_without_root_powers(path)
        assert f"{str(path)!r} is read-only; make it writable (chmod u+w)" in message
    finally:
        path.chmod(0o644)


def _open_without_root_powers(path: Path) -> str:
    setpriv = shutil.which("setpriv")  # util-linux: on every Debian machine
    assert setpriv is not None, "as root, chmod does not make a file read-only: install util-linux's setpriv"
    code = (
        "import sys\nfrom llm_guard_json.feedback import FeedbackStore, StoreError\n"
        "try:\n    FeedbackStore(sys.argv[1])\nexcept StoreError as e:\n    print(e)\n"
    )
    drop = ["--bounding-set", "-dac_override,-dac_read_search,-fowner"]
    command = [setpriv, *drop, sys.executable, "-c", code, str(path)]
    child = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert not child.stderr.startswith("setpriv"), (
        f"setpriv cannot drop capabilities here ({child.stderr.strip()[:200]}); run the tests as a user, not root"
    )
    assert child.returncode == 0, child.stderr
    return child.stdout


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    garbage = b"not a database " + random.Random(1).randbytes(8000)
    path.write_bytes(garbage)
    with pytest.raises(
        StoreError, match="is not a feedback store: the file is not an SQLite database; pass another path"
    ):
        FeedbackStore(path)
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.db"]


def test_an_sqlite_file_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    _sql(path, "CREATE TABLE notes (text TEXT)")
    with pytest.raises(StoreError, match="an SQLite database but not a feedback store"):
        FeedbackStore(path)
    assert _sql(path, "SELECT name FROM sqlite_master") == [("notes",)]


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    path.touch()
    with FeedbackStore(path) as store:
        assert store.add(normalize('{"n": 1}', SMALL), prompt="p").new
    assert _sql(path, "PRAGMA user_version") == [(1,)]


def test_a_damaged_page_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    with FeedbackStore(path) as store:
        store.add_many((normalize(_raw(i, 500), SMALL), f"p{i}") for i in range(200))
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 6] = random.Random(2).randbytes(4096 * 4)  # pages 3 to 6: the table and its indexes
    path.write_bytes(bytes(data))
    with (
        pytest.raises(StoreError, match=r"is damaged \(SQLite finds it malformed\); restore a copy"),
        FeedbackStore(path) as store,
    ):
        list(store.records())
        store.count(model="m")
        store.add_many((normalize(_raw(i, 500), SMALL), f"q{i}") for i in range(200))


@pytest.mark.parametrize(
    ("prompt", "says"),
    [
        (None, "a prompt must be a string or a non-empty list"),
        (42, "a prompt must be a string or a non-empty list"),
        ([], "a prompt must be a string or a non-empty list"),
        ({"role": "user", "content": "x"}, "a prompt must be a string or a non-empty list"),
        (("user", "x"), "a prompt must be a string or a non-empty list"),
        (["just text"], "prompt message 0 is 'just text'"),
        ([{"role": "user"}], "prompt message 0 is"),
        ([{"role": "user", "content": "x", "name": "n"}], "prompt message 0 is"),
        ([{"role": "user", "content": 1}], "'role' and 'content' must be strings"),
        ([{"role": "bot", "content": "x"}], "prompt message 0 has the role 'bot'"),
        (
            [{"role": "user", "content": "x"}, {"role": "system", "content": "s"}, {"role": "user", "content": "y"}],
            "prompt message 1 has the role 'system'",
        ),
        ([{"role": "system", "content": "s"}], "the last prompt message is the system's, not the user's"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "assistant's, not the user's"),
    ],
)
def test_a_bad_prompt_names_the_fix(tmp_path: Path, prompt: Any, says: str) -> None:
    with FeedbackStore(tmp_path / "f.db") as store:
        with pytest.raises(ConfigError) as caught:
            store.add(normalize('{"n": 1}', SMALL), prompt=prompt)
        assert says in str(caught.value)
        assert "pass the prompt as a string, or as a list of messages" in str(caught.value)
        with pytest.raises(ConfigError, match="prompt"):
            store.add_many([(normalize('{"n": 1}', SMALL), prompt)])
        assert len(store) == 0


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"model": 7}, "model must be a string id or None"),
        ({"attempt": 0}, "attempt must be an integer from 1"),
        ({"attempt": True}, "attempt must be an integer from 1"),
        ({"tags": "retry"}, "tags must be a list of strings"),
        ({"tags": [1]}, "tags must be a list of strings"),
        ({"created": float("nan")}, "created must be seconds since the epoch"),
        ({"result": "{}"}, "pass the Result that normalize"),
        ({"result": Result("{}", {}, True, (), 1.0)}, "pass the Result that normalize"),
    ],
)
def test_bad_arguments_name_the_fix(tmp_path: Path, arguments: dict[str, Any], says: str) -> None:
    result = arguments.pop("result", normalize('{"n": 1}', SMALL))
    with FeedbackStore(tmp_path / "f.db") as store, pytest.raises(ConfigError, match=says):
        store.add(result, prompt="p", **arguments)


def test_add_many_names_what_it_takes(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db") as store:
        for bad in ["text", (normalize("{}", SMALL),), {"result": 1}]:
            with pytest.raises(ConfigError, match=r"add_many takes Items or \(result, prompt"):
                store.add_many([bad])  # type: ignore[list-item]


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.db")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="is closed; open a new FeedbackStore"):
        len(store)
    with pytest.raises(StoreError, match="is closed"):
        store.add(normalize('{"n": 1}', SMALL), prompt="p")
    assert issubclass(StoreError, GuardError) and not issubclass(StoreError, ConfigError)
    with pytest.raises(ConfigError, match="needs a file path"):
        FeedbackStore(3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="timeout= takes the seconds"):
        FeedbackStore(tmp_path / "g.db", timeout="30")  # type: ignore[arg-type]
    assert not (tmp_path / "g.db").exists()


# the file: pragmas and migrations


def test_a_new_file_is_version_1_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    with FeedbackStore(path) as store:
        assert store.count() == 0
        conn = store._conn
        assert conn is not None
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (30_000,)
    assert _sql(path, "PRAGMA user_version") == [(1,)]
    assert _sql(path, "PRAGMA journal_mode") == [("wal",)]
    indexes = {row[0]: row[1] for row in _sql(path, "SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    assert set(indexes) == {"records_key", "records_created", "records_schema_name", "records_model"}
    assert indexes["records_key"].startswith("CREATE UNIQUE INDEX")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.db"]  # no creation leftovers


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    FeedbackStore(path).close()
    _sql(path, "PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"version 99, newer than this llm_guard_json reads \(up to 1\); upgrade"):
        FeedbackStore(path)
    assert _sql(path, "PRAGMA user_version") == [(99,)]


def test_migrations_run_in_order_in_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.db"
    with FeedbackStore(path) as store:
        store.add(normalize('{"n": 1}', SMALL), prompt="kept")
    broken = "ALTER TABLE records ADD COLUMN note TEXT; CREATE INDEX records_note ON records (missing);"
    monkeypatch.setattr(feedback, "MIGRATIONS", (*feedback.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="no such column"):
        FeedbackStore(path)
    assert _sql(path, "PRAGMA user_version") == [(1,)]
    assert "note" not in {row[1] for row in _sql(path, "PRAGMA table_info(records)")}  # rolled back
    second = "ALTER TABLE records ADD COLUMN note TEXT DEFAULT 'a;b';\nCREATE INDEX records_note ON records (note);"
    third = "UPDATE records SET note = note || ';c';"
    monkeypatch.setattr(feedback, "MIGRATIONS", (*feedback.MIGRATIONS[:1], second, third))
    with FeedbackStore(path) as store:
        assert [r.prompt for r in store.records()] == ["kept"]
    assert _sql(path, "PRAGMA user_version") == [(3,)]
    assert _sql(path, "SELECT note FROM records") == [("a;b;c",)]
