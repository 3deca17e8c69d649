"""The query log on a real PostgreSQL: triggers, chain, serialised concurrent writers, durability.

deploy/test.sh starts PostgreSQL and exports XIANSUO_TEST_POSTGRES_URL. Without it the module is
skipped locally and fails under CI. Each test gets its own throw-away database (the URL's role
needs CREATEDB).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from common.db import create_db_engine
from migrations.store import upgrade_store
from query_logs.audit import (
    AuditEntryIn,
    AuditKind,
    AuditLog,
    AuditLogUnavailableError,
    iter_entries,
    verify_log,
)
from query_logs.audit.schema import begin_serialised

_HOW = "deploy/test.sh starts PostgreSQL (deploy/postgres.sh) and exports it"


@pytest.fixture(scope="module")
def pg_url() -> str:
    url = os.environ.get("XIANSUO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"XIANSUO_TEST_POSTGRES_URL is not set under CI: {_HOW}", pytrace=False)
        pytest.skip(f"XIANSUO_TEST_POSTGRES_URL is not set: {_HOW}")
    return url


@pytest.fixture
def db_url(pg_url: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards (the log's tables cannot be emptied)."""
    name = f"xs_audit_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    upgrade_store(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    return AuditLog(engine)


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def request_entry(i: int, actor: str = "u1") -> AuditEntryIn:
    return AuditEntryIn(
        kind=AuditKind.QUERY_REQUEST,
        actor=actor,
        route="/search",
        case_id=f"case-{i % 2}",
        purpose="审查调查：核查𠀀姓人员的社保记录",
        params={"q": f"王五{i}", "page": 1},
        duration_ms=(i + 0.1) * 0.3,
    )


def test_the_upgraded_store_has_each_append_only_trigger_once(engine: Engine) -> None:
    upgrade_store(engine)  # again: nothing to do
    with engine.connect() as conn:
        names = conn.scalars(
            text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'audit_%' ORDER BY tgname")
        ).all()
    assert names == ["audit_checkpoint_append_only", "audit_entry_append_only"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET actor = 'someone else' WHERE seq = 1",
        "DELETE FROM audit_entry WHERE seq = 1",
        "TRUNCATE audit_entry CASCADE",
        "UPDATE audit_checkpoint SET signature = 'AAAA'",
        "DELETE FROM audit_checkpoint",
        "TRUNCATE audit_checkpoint",
    ],
    ids=[
        "update-entry",
        "delete-entry",
        "truncate-entry",
        "update-checkpoint",
        "delete-checkpoint",
        "truncate-checkpoint",
    ],
)
def test_store_refuses_update_delete_and_truncate(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey, statement: str
) -> None:
    log.append(request_entry(1))
    log.checkpoint(signing_key)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))


def test_chain_with_checkpoints_verifies(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey
) -> None:
    for i in range(30):
        log.append(request_entry(i))
        log.maybe_checkpoint(signing_key, every_n_entries=10)
    report = verify_log(engine, signing_key.public_key())
    assert (report.ok, report.entries_checked, report.checkpoints_checked) == (True, 33, 3)


def test_altered_entry_fails_verify_at_that_entry(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey
) -> None:
    for i in range(5):
        log.append(request_entry(i))
    with engine.begin() as conn:  # the owner can still switch the triggers off: the chain tells
        conn.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        conn.exec_driver_sql("UPDATE audit_entry SET purpose = 'routine' WHERE seq = 3")
    report = verify_log(engine, signing_key.public_key())
    assert (report.ok, report.first_bad_seq) == (False, 3)


WRITERS, APPENDS_EACH = 2, 150


def test_two_threads_on_separate_connections_keep_one_valid_chain(
    engine: Engine, db_url: str, signing_key: Ed25519PrivateKey
) -> None:
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        own = create_db_engine(db_url)
        try:
            log = AuditLog(own)
            barrier.wait()
            for i in range(APPENDS_EACH):
                log.append(request_entry(i, actor=f"writer-{writer}"))
        except BaseException as exc:
            failures.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    report = verify_log(engine, signing_key.public_key())
    per_writer = Counter(e.actor for e in iter_entries(engine, limit=WRITERS * APPENDS_EACH))
    assert failures == []
    assert (report.ok, report.head_seq) == (True, WRITERS * APPENDS_EACH)
    assert per_writer == {f"writer-{w}": APPENDS_EACH for w in range(WRITERS)}


def test_an_append_waits_for_the_writer_holding_the_lock(log: AuditLog, engine: Engine) -> None:
    done = threading.Event()

    def append_then_signal() -> None:
        log.append(request_entry(1))
        done.set()

    with engine.connect() as holder:
        begin_serialised(holder)
        appender = threading.Thread(target=append_then_signal)
        appender.start()
        waited = not done.wait(timeout=0.5)
        holder.rollback()
    appender.join(timeout=10)
    assert (waited, done.is_set()) == (True, True)


def test_commit_is_synchronous_even_when_the_database_default_is_not(
    engine: Engine, db_url: str
) -> None:
    name = make_url(db_url).database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    fresh = create_db_engine(db_url)
    try:
        with fresh.connect() as conn:
            begin_serialised(conn)
            setting = conn.scalar(text("SHOW synchronous_commit"))
            conn.rollback()
    finally:
        fresh.dispose()
    assert setting == "on"


def test_append_fails_closed_on_a_read_only_database(engine: Engine, db_url: str) -> None:
    read_only = create_engine(
        db_url, connect_args={"options": "-c default_transaction_read_only=on"}
    )
    try:
        with pytest.raises(AuditLogUnavailableError) as caught:
            AuditLog(read_only).append(request_entry(1))
    finally:
        read_only.dispose()
    assert "read-only transaction" in str(caught.value.__cause__)


def test_iter_entries_filters_on_postgres(log: AuditLog, engine: Engine) -> None:
    for i in range(4):
        log.append(request_entry(i, actor="alice" if i % 2 else "bob"))
    assert [e.seq for e in iter_entries(engine, actor="alice", case_id="case-1")] == [2, 4]
