"""The log's two tables, and the write lock every log writer takes.

The tables live on the store's one ``common.db.metadata``. The triggers that make the database
itself refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on them are made by the migrations
(``migrations/versions/r0001_release_a401d81.py``); no migration ever updates these tables.

No foreign keys from the log to other tables, on purpose: it records what was asked and by whom
as text, including an application, case or account name that does not exist (a refused probe is
logged too), and its rows are written once and never changed to follow another table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from common.db import metadata

# SQLite: INTEGER PRIMARY KEY makes seq the rowid (ordered, no extra index). Assigned by the writer.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", Text),
    Column("actor_role", Text),
    Column("source_ip", Text),
    Column("route", Text),
    Column("application_id", Text),
    Column("case_id", Text),
    Column("purpose", Text),
    # params, scope and detail stay Text, not JSON: the hash covers their exact canonical text
    # (query_logs.audit.entries), and a JSON column may store the value re-serialised
    Column("params", Text),
    Column("scope", Text),
    Column("outcome", String(32)),
    Column("hit_count", BigInteger),
    Column("result_digest", String(64)),
    Column("duration_ms", Float),
    Column("detail", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    # the auditors' filters; seq last so each index also yields entries in log order
    Index("ix_audit_entry_actor", "actor", "seq"),
    Index("ix_audit_entry_case", "case_id", "seq"),
    Index("ix_audit_entry_application", "application_id", "seq"),
    Index("ix_audit_entry_kind", "kind", "seq"),
    Index("ix_audit_entry_ts", "ts"),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("seq", _SEQ, ForeignKey("audit_entry.seq"), primary_key=True, autoincrement=False),
    Column("entry_hash", String(64), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("signature", Text, nullable=False),
    Column("key_id", String(64), nullable=False),
)

# Any constant works; every writer takes the same transaction-level lock.
PG_LOCK_KEY = 0x7869616E73756F01  # "xiansuo" + 1


def begin_serialised(conn: Connection) -> None:
    """Open a write transaction that excludes every other log writer until commit or rollback.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock now (waiting up to the busy
    timeout), so reading the head and inserting after it cannot interleave with another process.
    PostgreSQL: a transaction-scoped advisory lock, and ``synchronous_commit`` forced on for this
    transaction so COMMIT returns only once the WAL is flushed, whatever the server default.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous=FULL")  # durable commit even on a foreign engine
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        # one round trip; the head must still be read by a later statement, whose snapshot
        # (READ COMMITTED) is taken after the lock is held
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(:key), set_config('synchronous_commit', 'on', true)"
            ),
            {"key": PG_LOCK_KEY},
        )
