"""The query log on real SQLite files: chain, append-only triggers, tamper detection on a copy,
concurrent writers in two processes, fail-closed appends, refusal of credentials, checkpoints."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError

from common.db import create_db_engine
from migrations.store import upgrade_store
from query_logs.audit import (
    GENESIS_HASH,
    AuditEntryIn,
    AuditKind,
    AuditLog,
    AuditLogUnavailableError,
    AuditOutcome,
    canonical_json,
    compute_entry_hash,
    digest_record_ids,
    generate_signing_key,
    iter_entries,
    key_fingerprint,
    load_signing_key,
    public_key_path,
    verify_log,
)
from query_logs.audit.entries import HASHED_FIELDS
from query_logs.audit.verify import VerifyReport

TS_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "audit.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(sqlite_url(db_path))
    upgrade_store(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    return AuditLog(engine)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "audit-signing.pem"
    generate_signing_key(path)
    return path


@pytest.fixture
def signing_key(key_file: Path) -> Ed25519PrivateKey:
    return load_signing_key(key_file)


@pytest.fixture
def public_key(signing_key: Ed25519PrivateKey) -> Ed25519PublicKey:
    return signing_key.public_key()


def request_entry(i: int, actor: str = "u1") -> AuditEntryIn:
    return AuditEntryIn(
        kind=AuditKind.QUERY_REQUEST,
        actor=actor,
        actor_role="investigator",
        source_ip="10.0.0.7",
        route="/search",
        application_id=f"app-{i % 3}",
        case_id=f"case-{i % 2}",
        purpose="初核：核查王五在粮食购销中的关联企业",
        params={"q": f"王五{i}", "page": 1, "sources": ["company", "household"]},
        scope={"regions": ["3301"], "sources": ["company"]},
    )


# --- chain -----------------------------------------------------------------------------------


def test_canonical_json_sorts_keys_without_whitespace_and_keeps_chinese() -> None:
    assert (
        canonical_json({"b": 1, "a": "线索", "c": None}) == '{"a":"线索","b":1,"c":null}'.encode()
    )


def test_entry_hash_of_a_fixed_entry_is_pinned() -> None:
    fields: dict[str, Any] = dict.fromkeys(HASHED_FIELDS)
    fields.update(
        seq=1,
        ts="2025-01-02T03:04:05.000006Z",
        kind="query_request",
        actor="张三",
        purpose="初核 王五",
        params='{"q":"王五"}',
        hit_count=3,
        duration_ms=1.5,
        prev_hash=GENESIS_HASH,
    )
    expected = "c9e517d31ee27a6e75b9ef491460a8223af43be1e8f6f80df0a0b5b50e2be18b"
    assert compute_entry_hash(GENESIS_HASH, fields) == expected


def test_each_entry_links_to_the_one_before(log: AuditLog, engine: Engine) -> None:
    for i in range(5):
        log.append(request_entry(i))
    entries = list(iter_entries(engine))
    assert [e.prev_hash for e in entries] == [GENESIS_HASH] + [e.entry_hash for e in entries[:-1]]


def test_stored_entry_hash_recomputes_from_its_fields(log: AuditLog) -> None:
    entry = log.append(request_entry(1))
    assert entry.entry_hash == compute_entry_hash(entry.prev_hash, asdict(entry))


def test_seq_counts_from_one_without_gaps(log: AuditLog) -> None:
    seqs = [log.append(request_entry(i)).seq for i in range(4)]
    assert seqs == [1, 2, 3, 4]


def test_timestamps_are_utc_with_microseconds_and_never_go_back(log: AuditLog) -> None:
    stamps = [log.append(request_entry(i)).ts for i in range(5)]
    assert all(TS_FORMAT.match(ts) for ts in stamps)
    assert stamps == sorted(stamps)


def test_json_fields_are_stored_in_canonical_form(log: AuditLog) -> None:
    entry = log.append(AuditEntryIn(kind=AuditKind.EXPORT, params={"b": [1, 2], "a": "表"}))
    assert entry.params == '{"a":"表","b":[1,2]}'


@pytest.mark.parametrize(
    "entry",
    [
        AuditEntryIn(kind=AuditKind.QUERY_OUTCOME, duration_ms=5, hit_count=0),
        AuditEntryIn(kind=AuditKind.QUERY_OUTCOME, duration_ms=0.1 + 0.2),
        AuditEntryIn(kind=AuditKind.QUERY_OUTCOME, duration_ms=123456.789012),
        AuditEntryIn(kind=AuditKind.DENIAL, purpose="𠀀𪚥 rare CJK Ext B 🙂", actor="王\u3000五"),
        AuditEntryIn(kind=AuditKind.ADMIN_ACTION, detail={"nested": {"list": [1.5, None, True]}}),
    ],
    ids=["int-duration", "float-sum", "long-float", "astral-chars", "nested-json"],
)
def test_values_survive_the_round_trip_and_verify(
    log: AuditLog, engine: Engine, public_key: Ed25519PublicKey, entry: AuditEntryIn
) -> None:
    log.append(entry)
    assert verify_log(engine, public_key).ok


def test_result_digest_ignores_order() -> None:
    assert (
        digest_record_ids(["b", "a"]) == digest_record_ids(["a", "b"]) != digest_record_ids(["a"])
    )


# --- durability and refusals of append ---------------------------------------------------------


def test_an_appended_entry_is_visible_to_a_new_connection_on_return(
    log: AuditLog, db_path: Path
) -> None:
    entry = log.append(request_entry(1))
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("SELECT entry_hash FROM audit_entry").fetchall() == [
            (entry.entry_hash,)
        ]
    finally:
        other.close()


def test_append_refuses_checkpoint_entries(log: AuditLog) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        log.append(AuditEntryIn(kind=AuditKind.CHECKPOINT))


def _counter_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM counter")).scalar_one())


def _bump(conn: Any) -> None:
    conn.execute(text("UPDATE counter SET n = n + 1"))


def test_work_run_first_commits_with_the_entry(log: AuditLog, engine: Engine) -> None:
    _counter_table(engine)
    log.append(request_entry(1), first=_bump)
    assert _count(engine) == 1
    assert [e.seq for e in iter_entries(engine)] == [1]


def test_work_run_first_that_fails_leaves_neither_its_change_nor_an_entry(
    log: AuditLog, engine: Engine
) -> None:
    _counter_table(engine)

    def bump_then_refuse(conn: Any) -> None:
        conn.execute(text("UPDATE counter SET n = n + 1"))
        raise LookupError("refused after the change")

    with pytest.raises(LookupError, match="refused after the change"):
        log.append(request_entry(1), first=bump_then_refuse)
    assert _count(engine) == 0
    assert list(iter_entries(engine)) == []


def test_an_entry_that_cannot_be_written_undoes_the_work_run_first(
    log: AuditLog, engine: Engine
) -> None:
    _counter_table(engine)
    credentials = AuditEntryIn(kind=AuditKind.LOGIN_OK, detail={"password": "x"})
    with pytest.raises(ValueError, match="credentials"):
        log.append(credentials, first=_bump)
    with engine.begin() as conn:  # the entry's insert itself failing: a trigger refusing it
        conn.execute(
            text(
                "CREATE TRIGGER no_more BEFORE INSERT ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'full'); END"
            )
        )
    with pytest.raises(AuditLogUnavailableError):
        log.append(
            request_entry(1), first=lambda c: c.execute(text("UPDATE counter SET n = n + 1"))
        )
    assert _count(engine) == 0


@pytest.mark.parametrize(
    "entry",
    [
        AuditEntryIn(kind=AuditKind.LOGIN_FAILED, params={"username": "u", "password": "x"}),
        AuditEntryIn(kind=AuditKind.USER_CHANGE, detail={"user": {"newPassword": "x"}}),
        AuditEntryIn(kind=AuditKind.QUERY_REQUEST, scope={"items": [{"api_key": "k"}]}),
        AuditEntryIn(kind=AuditKind.QUERY_REQUEST, params={"headers": {"Authorization": "x"}}),
        AuditEntryIn(kind=AuditKind.LOGIN_OK, detail={"access-token": "abc"}),
        AuditEntryIn(kind=AuditKind.ADMIN_ACTION, detail={"client_secret": "s"}),
        AuditEntryIn(kind=AuditKind.QUERY_REQUEST, params={"headers": {"Cookie": "sid=1"}}),
        AuditEntryIn(kind=AuditKind.QUERY_REQUEST, params={"q": "Bearer abcdefghijklmnopqrstu"}),
        AuditEntryIn(
            kind=AuditKind.QUERY_REQUEST,
            params={"q": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"},
        ),
        AuditEntryIn(
            kind=AuditKind.APPLICATION_REQUEST,
            purpose="核查线索 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
        ),
        AuditEntryIn(kind=AuditKind.CASE_CHANGE, case_id="Bearer abcdefghijklmnopqrstu"),
    ],
    ids=[
        "password",
        "camel-case",
        "list-item",
        "authorization",
        "dashed-token",
        "client-secret",
        "cookie",
        "bearer-value",
        "jwt-value",
        "jwt-in-purpose",
        "bearer-as-case",
    ],
)
def test_credentials_are_refused_and_nothing_is_written(
    log: AuditLog, engine: Engine, entry: AuditEntryIn
) -> None:
    with pytest.raises(ValueError, match="credentials"):
        log.append(entry)
    assert list(iter_entries(engine)) == []


@pytest.mark.parametrize(
    "params",
    [{"all_tokens": ["王", "五"]}, {"q": "bearer bonds 1990"}, {"secretary": "书记"}, {"书记": 1}],
    ids=["tokens-word", "bearer-in-text", "secretary", "chinese-key"],
)
def test_keys_that_only_resemble_credentials_are_kept(
    log: AuditLog, params: dict[str, Any]
) -> None:
    assert log.append(AuditEntryIn(kind=AuditKind.QUERY_REQUEST, params=params)).seq == 1


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (AuditEntryIn(kind=AuditKind.QUERY_OUTCOME, duration_ms=float("nan")), "not plain JSON"),
        (AuditEntryIn(kind=AuditKind.QUERY_REQUEST, purpose="a\x00b"), "NUL"),
        (
            AuditEntryIn(kind=AuditKind.QUERY_REQUEST, params={"when": datetime.now(UTC)}),
            "not plain JSON",
        ),
        (AuditEntryIn(kind=AuditKind.QUERY_OUTCOME, hit_count=True), "hit_count"),
    ],
    ids=["nan", "nul", "not-json", "bool-count"],
)
def test_values_that_cannot_be_logged_exactly_are_refused(
    log: AuditLog, entry: AuditEntryIn, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        log.append(entry)


# --- fail closed -----------------------------------------------------------------------------


def _read_only_uri(db_path: Path, _holder: list[sqlite3.Connection]) -> Engine:
    return create_engine(f"sqlite:///file:{db_path}?mode=ro&uri=true")


def _locked_by_another_writer(db_path: Path, holder: list[sqlite3.Connection]) -> Engine:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    holder.append(other)
    return create_engine(sqlite_url(db_path), connect_args={"timeout": 0.2})


def _schema_missing(db_path: Path, _holder: list[sqlite3.Connection]) -> Engine:
    return create_db_engine(sqlite_url(db_path.with_name("empty.db")))


def _unopenable_path(db_path: Path, _holder: list[sqlite3.Connection]) -> Engine:
    return create_engine(sqlite_url(db_path / "not-a-directory" / "audit.db"))


def _postgres_not_listening(_db_path: Path, _holder: list[sqlite3.Connection]) -> Engine:
    return create_engine("postgresql+psycopg://xiansuo@127.0.0.1:1/xiansuo")


@pytest.mark.parametrize(
    ("make_engine", "cause"),
    [
        (_read_only_uri, "readonly database"),
        (_locked_by_another_writer, "database is locked"),
        (_schema_missing, "no such table"),
        (_unopenable_path, "unable to open database file"),
        (_postgres_not_listening, "connection failed"),
    ],
    ids=["read-only", "locked", "schema-missing", "unopenable", "postgres-down"],
)
def test_append_fails_closed_when_the_store_cannot_take_it(
    engine: Engine,
    db_path: Path,
    make_engine: Callable[[Path, list[sqlite3.Connection]], Engine],
    cause: str,
) -> None:
    holder: list[sqlite3.Connection] = []
    broken = make_engine(db_path, holder)
    try:
        with pytest.raises(AuditLogUnavailableError) as caught:
            AuditLog(broken).append(request_entry(1))
    finally:
        broken.dispose()
        for conn in holder:
            conn.close()
    assert cause in str(caught.value.__cause__)


def test_a_refused_append_leaves_no_entry(log: AuditLog, engine: Engine, db_path: Path) -> None:
    log.append(request_entry(1))
    holder: list[sqlite3.Connection] = []
    with pytest.raises(AuditLogUnavailableError):
        AuditLog(_locked_by_another_writer(db_path, holder)).append(request_entry(2))
    holder[0].rollback()
    holder[0].close()
    assert [e.seq for e in iter_entries(engine)] == [1]


def test_unavailable_error_carries_503_and_hides_the_database_error(db_path: Path) -> None:
    broken = _unopenable_path(db_path, [])
    with pytest.raises(AuditLogUnavailableError) as caught:
        AuditLog(broken).append(request_entry(1))
    assert (caught.value.status, str(db_path) in str(caught.value)) == (503, False)


# --- append-only on the live store -----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET actor = 'someone else' WHERE seq = 1",
        "DELETE FROM audit_entry WHERE seq = 2",
        "DELETE FROM audit_entry",
        "UPDATE audit_checkpoint SET signature = 'AAAA'",
        "DELETE FROM audit_checkpoint",
    ],
    ids=[
        "update-entry",
        "delete-entry",
        "delete-all-entries",
        "update-checkpoint",
        "delete-checkpoint",
    ],
)
def test_live_store_refuses_update_and_delete(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey, statement: str
) -> None:
    log.append(request_entry(1))
    log.checkpoint(signing_key)
    with pytest.raises(IntegrityError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))


def test_the_upgraded_store_has_each_append_only_trigger_once(
    engine: Engine, db_path: Path
) -> None:
    upgrade_store(engine)  # again: nothing to do
    conn = sqlite3.connect(db_path)
    try:
        names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    finally:
        conn.close()
    assert sorted(n for (n,) in names) == [
        "audit_checkpoint_no_delete",
        "audit_checkpoint_no_update",
        "audit_entry_no_delete",
        "audit_entry_no_update",
    ]


# --- tamper on a copy --------------------------------------------------------------------------

# The seeded log: entries 1-4, checkpoint 5, entries 6-9, checkpoint 10, entries 11-12.
SEEDED_HEAD = 12


@dataclass(frozen=True)
class Seeded:
    path: Path
    public_key: Ed25519PublicKey


@pytest.fixture
def seeded(log: AuditLog, db_path: Path, signing_key: Ed25519PrivateKey) -> Seeded:
    for i in range(SEEDED_HEAD):
        if i in (4, 9):
            log.checkpoint(signing_key)
        else:
            log.append(request_entry(i, actor=f"u{i % 4}"))
    return Seeded(db_path, signing_key.public_key())


def _copy_without_triggers(source: Path, target: Path) -> sqlite3.Connection:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    for (name,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        dst.execute(f"DROP TRIGGER {name}")
    return dst


def _rechain_from(conn: sqlite3.Connection, seq: int) -> None:
    """What a careful forger does: recompute every hash after the altered entry."""
    conn.row_factory = sqlite3.Row
    (prev,) = conn.execute(
        "SELECT entry_hash FROM audit_entry WHERE seq = ?", (seq - 1,)
    ).fetchone()
    rows = conn.execute("SELECT * FROM audit_entry WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
    for row in rows:
        fields = {**dict(row), "prev_hash": prev}
        new_hash = compute_entry_hash(prev, fields)
        conn.execute(
            "UPDATE audit_entry SET prev_hash = ?, entry_hash = ? WHERE seq = ?",
            (prev, new_hash, row["seq"]),
        )
        prev = new_hash


def _alter_and_rechain(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE audit_entry SET actor = 'nobody' WHERE seq = 7")
    _rechain_from(conn, 7)


TAMPERS: list[tuple[str, Callable[[sqlite3.Connection], object], int]] = [
    ("alter-purpose", lambda c: c.execute("UPDATE audit_entry SET purpose = 'x' WHERE seq = 3"), 3),
    ("alter-first", lambda c: c.execute("UPDATE audit_entry SET actor = 'x' WHERE seq = 1"), 1),
    ("alter-last", lambda c: c.execute("UPDATE audit_entry SET hit_count = 9 WHERE seq = 12"), 12),
    (
        "alter-ts",
        lambda c: c.execute("UPDATE audit_entry SET ts = '2020' || substr(ts, 5) WHERE seq = 8"),
        8,
    ),
    (
        "reformat-params",
        lambda c: c.execute("UPDATE audit_entry SET params = ' ' || params WHERE seq = 6"),
        6,
    ),
    ("delete-entry", lambda c: c.execute("DELETE FROM audit_entry WHERE seq = 7"), 7),
    ("delete-first", lambda c: c.execute("DELETE FROM audit_entry WHERE seq = 1"), 1),
    (
        "swap-seq",
        lambda c: c.executescript(
            "UPDATE audit_entry SET seq = -1 WHERE seq = 3;"
            "UPDATE audit_entry SET seq = 3 WHERE seq = 8;"
            "UPDATE audit_entry SET seq = 8 WHERE seq = -1;"
        ),
        3,
    ),
    (
        "alter-signature",
        lambda c: c.execute(
            "UPDATE audit_checkpoint SET signature = 'AAAA' || substr(signature, 5) WHERE seq = 10"
        ),
        10,
    ),
    (
        "alter-checkpoint-ts",
        lambda c: c.execute(
            "UPDATE audit_checkpoint SET ts = '2020' || substr(ts, 5) WHERE seq = 5"
        ),
        5,
    ),
    ("delete-checkpoint-row", lambda c: c.execute("DELETE FROM audit_checkpoint WHERE seq = 5"), 5),
    (
        "checkpoint-row-moved",
        lambda c: c.execute("UPDATE audit_checkpoint SET seq = 4 WHERE seq = 5"),
        4,
    ),
    ("rewrite-and-rechain", _alter_and_rechain, 10),
    (
        "truncate-from-checkpoint",
        lambda c: c.execute("DELETE FROM audit_entry WHERE seq >= 10"),
        10,
    ),
]


def test_an_untampered_copy_verifies(seeded: Seeded, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    _copy_without_triggers(seeded.path, copy).close()
    copy_engine = create_db_engine(sqlite_url(copy))
    report = verify_log(copy_engine, seeded.public_key)
    copy_engine.dispose()
    assert (report.ok, report.entries_checked, report.checkpoints_checked) == (True, 12, 2)


@pytest.mark.parametrize(("name", "tamper", "first_bad"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampered_copy_fails_verify_at_the_first_bad_entry(
    seeded: Seeded,
    tmp_path: Path,
    name: str,
    tamper: Callable[[sqlite3.Connection], object],
    first_bad: int,
) -> None:
    copy = tmp_path / f"{name}.db"
    conn = _copy_without_triggers(seeded.path, copy)
    tamper(conn)
    conn.commit()
    conn.close()
    copy_engine = create_db_engine(sqlite_url(copy))
    report = verify_log(copy_engine, seeded.public_key)
    copy_engine.dispose()
    assert (report.ok, report.first_bad_seq) == (False, first_bad), report.reason


# --- checkpoints -------------------------------------------------------------------------------


def test_empty_log_verifies(engine: Engine, public_key: Ed25519PublicKey) -> None:
    assert verify_log(engine, public_key) == VerifyReport(
        ok=True, entries_checked=0, checkpoints_checked=0
    )


def test_checkpoint_is_an_entry_whose_hash_it_signs(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey
) -> None:
    log.append(request_entry(1))
    checkpoint = log.checkpoint(signing_key)
    (entry,) = iter_entries(engine, kind=AuditKind.CHECKPOINT)
    assert (checkpoint.seq, checkpoint.entry_hash, checkpoint.ts) == (
        entry.seq,
        entry.entry_hash,
        entry.ts,
    )


def test_checkpoint_key_id_defaults_to_the_key_fingerprint(
    log: AuditLog, signing_key: Ed25519PrivateKey
) -> None:
    assert log.checkpoint(signing_key).key_id == key_fingerprint(signing_key.public_key())


def test_verify_with_another_key_fails_at_the_first_checkpoint(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey
) -> None:
    log.append(request_entry(1))
    log.checkpoint(signing_key)
    report = verify_log(engine, Ed25519PrivateKey.generate().public_key())
    assert (report.ok, report.first_bad_seq) == (False, 2)


def test_verify_accepts_rotated_keys_by_key_id(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey
) -> None:
    new_key = Ed25519PrivateKey.generate()
    log.checkpoint(signing_key, key_id="2025")
    log.append(request_entry(1))
    log.checkpoint(new_key, key_id="2026")
    keys = {"2025": signing_key.public_key(), "2026": new_key.public_key()}
    assert verify_log(engine, keys).checkpoints_checked == 2


def test_verify_refuses_a_checkpoint_of_an_unknown_key_id(
    log: AuditLog, engine: Engine, signing_key: Ed25519PrivateKey
) -> None:
    log.checkpoint(signing_key, key_id="old")
    report = verify_log(engine, {"new": signing_key.public_key()})
    assert (report.ok, report.first_bad_seq) == (False, 1)


@pytest.mark.parametrize(
    ("appends", "every", "expected_seq"),
    [(4, 5, None), (5, 5, 6), (12, 5, 13), (1, 1, 2)],
    ids=["not-yet", "exactly-due", "overdue", "every-entry"],
)
def test_maybe_checkpoint_follows_the_entry_cadence(
    log: AuditLog,
    signing_key: Ed25519PrivateKey,
    appends: int,
    every: int,
    expected_seq: int | None,
) -> None:
    for i in range(appends):
        log.append(request_entry(i))
    checkpoint = log.maybe_checkpoint(signing_key, every_n_entries=every)
    assert (checkpoint.seq if checkpoint else None) == expected_seq


def test_maybe_checkpoint_covers_old_entries_after_max_age(
    log: AuditLog, signing_key: Ed25519PrivateKey
) -> None:
    log.checkpoint(signing_key)
    log.append(request_entry(1))
    checkpoint = log.maybe_checkpoint(signing_key, every_n_entries=100, max_age=timedelta(0))
    assert checkpoint is not None
    assert checkpoint.seq == 3


def test_maybe_checkpoint_skips_when_nothing_is_new(
    log: AuditLog, signing_key: Ed25519PrivateKey
) -> None:
    log.checkpoint(signing_key)
    assert log.maybe_checkpoint(signing_key, every_n_entries=1, max_age=timedelta(0)) is None


def test_signing_key_file_is_private(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_signing_key_is_never_overwritten(key_file: Path) -> None:
    with pytest.raises(FileExistsError):
        generate_signing_key(key_file)


def test_public_key_is_written_beside_the_private_one(key_file: Path) -> None:
    assert public_key_path(key_file).read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_a_readable_signing_key_file_is_refused(key_file: Path) -> None:
    key_file.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        load_signing_key(key_file)


# --- concurrency -----------------------------------------------------------------------------

WRITERS, APPENDS_EACH = 2, 200


def _append_many(url: str, writer: int, count: int, barrier: Any) -> None:
    engine = create_db_engine(url)
    log = AuditLog(engine)
    barrier.wait()
    for i in range(count):
        log.append(request_entry(i, actor=f"writer-{writer}"))
    engine.dispose()


def test_two_processes_appending_keep_one_contiguous_valid_chain(
    engine: Engine, db_path: Path, public_key: Ed25519PublicKey
) -> None:
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: nothing shared but the file
    barrier = ctx.Barrier(WRITERS)
    workers = [
        ctx.Process(target=_append_many, args=(sqlite_url(db_path), w, APPENDS_EACH, barrier))
        for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    report = verify_log(engine, public_key)
    per_writer = Counter(e.actor for e in iter_entries(engine, limit=WRITERS * APPENDS_EACH))
    assert [w.exitcode for w in workers] == [0] * WRITERS
    assert (report.ok, report.entries_checked, report.head_seq) == (True, 400, 400)
    assert per_writer == {f"writer-{w}": APPENDS_EACH for w in range(WRITERS)}


# --- reading for auditors ----------------------------------------------------------------------


@pytest.fixture
def varied(log: AuditLog) -> AuditLog:
    log.append(AuditEntryIn(kind=AuditKind.LOGIN_OK, actor="alice"))
    log.append(request_entry(1, actor="alice"))  # case-1, app-1
    log.append(AuditEntryIn(kind=AuditKind.DENIAL, actor="bob", outcome=AuditOutcome.DENIED))
    log.append(request_entry(2, actor="bob"))  # case-0, app-2
    log.append(
        AuditEntryIn(
            kind=AuditKind.QUERY_OUTCOME,
            actor="alice",
            outcome=AuditOutcome.OK,
            case_id="case-1",
            application_id="app-1",
            hit_count=3,
        )
    )
    return log


FILTERS: list[tuple[str, dict[str, Any], list[int]]] = [
    ("actor", {"actor": "alice"}, [1, 2, 5]),
    ("kind", {"kind": AuditKind.QUERY_REQUEST}, [2, 4]),
    ("case", {"case_id": "case-1"}, [2, 5]),
    ("application", {"application_id": "app-2"}, [4]),
    ("outcome", {"outcome": AuditOutcome.DENIED}, [3]),
    ("actor-and-kind", {"actor": "alice", "kind": AuditKind.QUERY_OUTCOME}, [5]),
    ("after-seq", {"after_seq": 3}, [4, 5]),
    ("newest-first", {"newest_first": True, "limit": 2}, [5, 4]),
    ("limit", {"limit": 2}, [1, 2]),
    ("until-past", {"until": datetime(2000, 1, 1, tzinfo=UTC)}, []),
    ("since-past", {"since": datetime(2000, 1, 1, tzinfo=UTC)}, [1, 2, 3, 4, 5]),
]


@pytest.mark.parametrize(("name", "filters", "seqs"), FILTERS, ids=[f[0] for f in FILTERS])
def test_iter_entries_filters(
    varied: AuditLog, engine: Engine, name: str, filters: dict[str, Any], seqs: list[int]
) -> None:
    assert [e.seq for e in iter_entries(engine, **filters)] == seqs


def test_iter_entries_time_window_splits_at_an_entry(varied: AuditLog, engine: Engine) -> None:
    third = next(iter_entries(engine, after_seq=2))
    moment = datetime.fromisoformat(third.ts)
    before = [e.seq for e in iter_entries(engine, until=moment)]
    after = [e.seq for e in iter_entries(engine, since=moment)]
    assert (before, after[0]) == ([1, 2], 3)


def test_iter_entries_refuses_naive_datetimes(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone"):
        list(iter_entries(engine, since=datetime(2025, 1, 1)))
