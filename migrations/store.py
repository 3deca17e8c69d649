"""Bringing the SQL store to the code's schema: upgrade it, tell where it stands, and the rule
the app and the command line follow at start (``prepare_store``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table

from accounts.roles import RoleRules
from accounts.sessions import web_sessions
from accounts.users import roles_table, user_roles_table, users_table, write_role_rows
from common.db import metadata
from comparison.store import COMPARISON_TABLES
from graph.decisions import match_decisions
from migrations.errors import StoreNotCurrentError
from query_logs.applications import applications
from query_logs.audit.schema import audit_checkpoint, audit_entry
from query_logs.cases import case_members, cases
from query_logs.grants import grants
from watching.store import WATCHING_TABLES

MIGRATIONS_DIR = Path(__file__).resolve().parent
ENGINE_ATTRIBUTE = "engine"  # how env.py receives the engine to migrate

SERVICE_TABLES: tuple[Table, ...] = (
    roles_table,
    users_table,
    user_roles_table,
    cases,
    case_members,
    applications,
    grants,
    audit_entry,
    audit_checkpoint,
    match_decisions,
    web_sessions,
    *COMPARISON_TABLES,
    *WATCHING_TABLES,
)
"""Every table of the service's store (a test checks that ``common.db.metadata`` holds no other)."""

MIGRATION_LOCK_KEY = 0x7869616E73756F02  # "xiansuo" + 2: one upgrade at a time on PostgreSQL


def service_metadata() -> MetaData:
    """``common.db.metadata`` with every table of the store on it (importing this module
    imported every module that defines one)."""
    return metadata


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration for our migrations, run on ``engine`` when given (env.py reads it;
    without one, env.py opens the store the settings name, as the ``alembic`` command does)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes[ENGINE_ATTRIBUTE] = engine
    return config


def head_revision() -> str:
    """The revision the code's tables are at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the versions folder ships with the code
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's revision; None for an empty store or one made before the migrations."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def run_migrations(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction (env.py): a store made by the
    first release before there were migrations is adopted by revision 0001."""
    command.upgrade(alembic_config(engine), revision)


def upgrade_store(engine: Engine, rules: RoleRules | None = None) -> None:
    """``xiansuo db upgrade``: the store to the code's revision, and the role reference rows."""
    run_migrations(engine)
    write_role_rows(engine, rules)


def require_current(engine: Engine) -> None:
    """``StoreNotCurrentError`` unless the store is at the code's revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreNotCurrentError(current, head)


def prepare_store(engine: Engine, rules: RoleRules | None = None) -> None:
    """The start-up rule of the app and of every command that uses the store: the embedded
    SQLite store is upgraded in place (one machine, one transaction); a PostgreSQL store must
    already be current (several API servers start at once, and a production schema change is an
    operator's step with a backup). Then the role reference rows follow the role table."""
    if engine.dialect.name == "sqlite":
        upgrade_store(engine, rules)
        return
    require_current(engine)
    write_role_rows(engine, rules)
