"""Group commit of the query log (SQLite): appends from concurrent threads share a transaction,
each caller returns only once its entry is committed, the chain stays whole, a failing step is
undone alone, and a process killed in the middle of a batch loses only that batch's uncommitted
entries, none of whose callers had gone on to run their query. On real SQLite files; concurrent
appends also on PostgreSQL (XIANSUO_TEST_POSTGRES_URL), where each append keeps its own
transaction."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text

from common.db import create_db_engine
from migrations.store import upgrade_store
from query_logs.audit import (
    AuditEntry,
    AuditEntryIn,
    AuditKind,
    AuditLog,
    AuditLogUnavailableError,
    iter_entries,
    load_json,
    verify_log,
)

THREADS, APPENDS_EACH = 12, 15
QUEUED = 8  # appends queued behind a leader held in its step
SYNC_DEADLINE_S = 60  # how long a test waits for threads to reach a state (never a timing check)


def entry_for(tag: str) -> AuditEntryIn:
    return AuditEntryIn(
        kind=AuditKind.QUERY_REQUEST,
        actor="inv",
        route="GET /persons/{id_number}/records",
        params={"tag": tag},
    )


def tag_of(entry: AuditEntry) -> str:
    return str(load_json(entry.params)["tag"])


def stored_tags(engine: Engine) -> dict[str, int]:
    """tag -> seq of every stored query entry."""
    return {tag_of(e): e.seq for e in iter_entries(engine, kind=AuditKind.QUERY_REQUEST)}


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SYNC_DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the threads did not reach the expected state")
        time.sleep(0.005)


def sqlite_engine(path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_store(engine)
    return engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "audit.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(db_path)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh PostgreSQL database (the log's tables cannot be emptied), dropped afterwards."""
    url = os.environ.get("XIANSUO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("XIANSUO_TEST_POSTGRES_URL is not set under CI", pytrace=False)
        pytest.skip("XIANSUO_TEST_POSTGRES_URL is not set")
    name = f"xs_group_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = create_db_engine(make_url(url).set(database=name).render_as_string(False))
    upgrade_store(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    fixture = "engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


def count_commits(engine: Engine) -> list[int]:
    """A one-item list counting the transactions committed on ``engine`` from now on."""
    commits = [0]

    @event.listens_for(engine, "commit")
    def _count(_conn: Connection) -> None:
        commits[0] += 1

    return commits


def test_concurrent_appends_give_one_whole_chain_holding_every_entry(any_engine: Engine) -> None:
    log = AuditLog(any_engine)
    returned: dict[str, AuditEntry] = {}
    barrier = threading.Barrier(THREADS)

    def append_many(thread: int) -> None:
        barrier.wait()
        for i in range(APPENDS_EACH):
            tag = f"t{thread}-{i}"
            returned[tag] = log.append(entry_for(tag))

    threads = [threading.Thread(target=append_many, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = verify_log(any_engine, Ed25519PrivateKey.generate().public_key())
    assert (report.ok, report.head_seq) == (True, THREADS * APPENDS_EACH)
    assert stored_tags(any_engine) == {tag: e.seq for tag, e in returned.items()}


def test_each_thread_sees_its_appends_in_the_order_it_made_them(engine: Engine) -> None:
    log = AuditLog(engine)
    seqs: dict[int, list[int]] = {}

    def append_many(thread: int) -> None:
        seqs[thread] = [log.append(entry_for(f"t{thread}-{i}")).seq for i in range(APPENDS_EACH)]

    threads = [threading.Thread(target=append_many, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(s == sorted(s) for s in seqs.values())


def hold_leader(log: AuditLog, tag: str) -> tuple[threading.Thread, threading.Event]:
    """A thread whose append is held in its ``first`` step (it is then the writer, its queue
    taken) until the returned ``release`` is set; returns once it is held."""
    held, release = threading.Event(), threading.Event()

    def step(_conn: Connection) -> None:
        held.set()
        release.wait()

    thread = threading.Thread(target=lambda: log.append(entry_for(tag), first=step))
    thread.start()
    held.wait()
    return thread, release


def queue_behind(log: AuditLog, tags: list[str], **steps: Any) -> list[threading.Thread]:
    """Threads appending ``tags`` (with ``steps[tag]`` as their first step when given), started
    in order and each queued before the next starts."""
    threads = []
    for n, tag in enumerate(tags, start=1):
        thread = threading.Thread(
            target=lambda tag=tag: _append_catching(log, tag, steps.get(tag)), daemon=True
        )
        thread.start()
        wait_until(lambda n=n: len(log._queue) == n)
        threads.append(thread)
    return threads


ERRORS: dict[str, BaseException] = {}


def _append_catching(log: AuditLog, tag: str, step: Callable[[Connection], None] | None) -> None:
    try:
        log.append(entry_for(tag), first=step)
    except Exception as exc:
        ERRORS[tag] = exc


def test_appends_queued_behind_a_commit_share_the_next_one_in_queue_order(engine: Engine) -> None:
    log = AuditLog(engine)
    commits = count_commits(engine)
    leader, release = hold_leader(log, "leader")
    tags = [f"q{i}" for i in range(QUEUED)]
    waiting = queue_behind(log, tags)
    release.set()
    for thread in [leader, *waiting]:
        thread.join()
    assert commits == [2]  # the leader's own, then one for all eight queued behind it
    assert stored_tags(engine) == {"leader": 1} | {tag: i + 2 for i, tag in enumerate(tags)}


class StepRefusedError(Exception):
    """A first step's own refusal (as a spent quota is)."""


def test_a_failing_step_is_undone_alone_and_raised_to_its_caller_only(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE step_marks (tag TEXT)")
    log = AuditLog(engine)

    def mark(tag: str, fail: bool = False) -> Callable[[Connection], None]:
        def step(conn: Connection) -> None:
            conn.execute(text("INSERT INTO step_marks VALUES (:tag)"), {"tag": tag})
            if fail:
                raise StepRefusedError(tag)

        return step

    leader, release = hold_leader(log, "leader")
    tags = ["a", "refused", "b"]
    steps = {"a": mark("a"), "refused": mark("refused", fail=True), "b": mark("b")}
    ERRORS.clear()
    waiting = queue_behind(log, tags, **steps)
    release.set()
    for thread in [leader, *waiting]:
        thread.join()
    with engine.connect() as conn:
        marks = set(conn.scalars(text("SELECT tag FROM step_marks")))
    assert set(ERRORS) == {"refused"}
    assert isinstance(ERRORS["refused"], StepRefusedError)
    assert marks == {"a", "b"}
    assert stored_tags(engine) == {"leader": 1, "a": 2, "b": 3}


def test_a_batch_the_database_refuses_fails_every_caller_in_it(engine: Engine) -> None:
    with engine.begin() as conn:  # the database refuses one row: the batch is one transaction
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_y BEFORE INSERT ON audit_entry"
            " WHEN NEW.params = '{\"tag\":\"y\"}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    log = AuditLog(engine)
    leader, release = hold_leader(log, "leader")
    tags = ["x", "y"]
    ERRORS.clear()
    waiting = queue_behind(log, tags)
    release.set()
    for thread in [leader, *waiting]:
        thread.join()
    assert {tag: type(e) for tag, e in ERRORS.items()} == dict.fromkeys(
        tags, AuditLogUnavailableError
    )
    assert stored_tags(engine) == {"leader": 1}


# --- a crash in the middle of a batch ----------------------------------------------------------

COMMITTED_FIRST = 5


def _crash_mid_batch(db: str, ran_file: str) -> None:
    """In a process of its own: five appends, then a leader held in its step while eight appends
    queue behind it; the batch of the eight dies (os._exit) after its rows are inserted, before
    its commit. A caller whose append returns "runs its query": writes its tag to ``ran_file``,
    fsynced."""
    engine = create_db_engine(f"sqlite:///{db}")
    log = AuditLog(engine)
    ran = os.open(ran_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def run_query(tag: str, step: Callable[[Connection], None] | None = None) -> None:
        log.append(entry_for(tag), first=step)
        os.write(ran, f"{tag}\n".encode())
        os.fsync(ran)

    for i in range(COMMITTED_FIRST):
        run_query(f"early{i}")
    commits = count_commits(engine)

    @event.listens_for(engine, "commit")
    def _die_in_second_commit(_conn: Connection) -> None:
        if commits[0] == 2:  # the queued batch: inserted, not committed
            os._exit(9)

    held, release = threading.Event(), threading.Event()

    def step(_conn: Connection) -> None:
        held.set()
        release.wait()

    threading.Thread(target=run_query, args=("leader", step), daemon=True).start()
    held.wait()
    for i in range(QUEUED):
        threading.Thread(target=run_query, args=(f"q{i}",), daemon=True).start()
        wait_until(lambda n=i + 1: len(log._queue) == n)
    release.set()
    time.sleep(SYNC_DEADLINE_S)  # the crash ends this process long before
    os._exit(0)


def test_a_crash_mid_batch_loses_only_its_uncommitted_entries_whose_queries_never_ran(
    engine: Engine, db_path: Path, tmp_path: Path
) -> None:
    ran_file = tmp_path / "ran.txt"
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_crash_mid_batch, args=(str(db_path), str(ran_file)))
    child.start()
    child.join(timeout=SYNC_DEADLINE_S * 2)
    ran = set(ran_file.read_text().split())
    stored = stored_tags(engine)
    early = {f"early{i}" for i in range(COMMITTED_FIRST)}
    assert child.exitcode == 9
    assert set(stored) == early | {"leader"}  # the eight queued entries are gone
    assert ran <= set(stored)  # no query ran whose entry is not committed
    assert early <= ran
    report = verify_log(engine, Ed25519PrivateKey.generate().public_key())
    assert (report.ok, report.head_seq) == (True, COMMITTED_FIRST + 1)
    assert AuditLog(engine).append(entry_for("after")).seq == COMMITTED_FIRST + 2
