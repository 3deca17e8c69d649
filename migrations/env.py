"""Alembic's environment: every upgrade runs in ONE transaction on the store's engine.

SQLite: foreign-key enforcement is off while tables are copied (``render_as_batch``: SQLite's
ALTER TABLE cannot add a key or change a type), the transaction holds the write lock from its
start (``BEGIN IMMEDIATE``), and ``PRAGMA foreign_key_check`` must find nothing before the commit.
PostgreSQL: DDL is transactional; an advisory lock lets one upgrade run at a time.
A failure anywhere rolls everything back: the store stays at the revision it had.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine, text

from common.db import create_db_engine
from common.settings import Settings
from migrations.errors import UpgradeRefusedError
from migrations.store import ENGINE_ATTRIBUTE, MIGRATION_LOCK_KEY, service_metadata


class BrokenForeignKeysError(UpgradeRefusedError):
    """After the migrations a row names a row that does not exist (SQLite's own check)."""


def _refuse_broken_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        shown = broken[:10]
        raise BrokenForeignKeysError(f"rows name missing rows (table, rowid, parent): {shown}")


def run_in_one_transaction(conn: Connection) -> None:
    """Run the pending revisions on ``conn`` (fresh from its pool: no transaction open)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: first
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    try:
        # the transaction is already open, so Alembic runs inside it and leaves the commit to us
        context.configure(
            connection=conn, target_metadata=service_metadata(), render_as_batch=sqlite
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            _refuse_broken_keys(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if sqlite:  # the connection goes back to the pool: enforcement on again
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def run() -> None:
    if context.is_offline_mode():
        raise RuntimeError("migrations run on a live store only (no --sql scripts)")
    given = context.config.attributes.get(ENGINE_ATTRIBUTE)
    engine: Engine = given or create_db_engine(Settings().effective_database_url)
    try:
        with engine.connect() as conn:
            run_in_one_transaction(conn)
    finally:
        if given is None:
            engine.dispose()


run()
