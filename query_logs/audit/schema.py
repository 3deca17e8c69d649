"""The log's two tables and the triggers that make the database itself refuse UPDATE and DELETE."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

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

APPEND_ONLY_TABLES = (audit_entry.name, audit_checkpoint.name)

# Any constant works; both writers and the schema set-up take the same transaction-level lock.
PG_LOCK_KEY = 0x7869616E73756F01  # "xiansuo" + 1

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION xiansuo_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING
    MESSAGE = 'xiansuo audit log is append-only: '
      || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
    ERRCODE = 'insufficient_privilege';
END
$$
"""

_PG_TRIGGER = """
DO $$ BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_trigger WHERE tgname = '{table}_append_only' AND tgrelid = '{table}'::regclass
  ) THEN
    CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
      FOR EACH STATEMENT EXECUTE FUNCTION xiansuo_audit_append_only();
  END IF;
END $$
"""

_SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {OP} ON {table}
BEGIN SELECT RAISE(ABORT, 'xiansuo audit log is append-only: {OP} on {table} refused'); END
"""


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


def create_audit_schema(engine: Engine) -> None:
    """Create the tables, indexes and append-only triggers; safe to repeat and to race."""
    with engine.connect() as conn:
        begin_serialised(conn)
        metadata.create_all(conn)
        if conn.dialect.name == "sqlite":
            for table in APPEND_ONLY_TABLES:
                for op in ("update", "delete"):
                    conn.exec_driver_sql(_SQLITE_TRIGGER.format(table=table, op=op, OP=op.upper()))
        else:
            conn.exec_driver_sql(_PG_FUNCTION)
            for table in APPEND_ONLY_TABLES:
                conn.exec_driver_sql(_PG_TRIGGER.format(table=table))
        conn.commit()
