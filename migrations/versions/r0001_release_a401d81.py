"""The schema of the first release (commit a401d81), as its ``create_all`` calls made it.

Frozen: the tables below are copies of that release's declarations, not imports of today's, so
this revision makes the same store whatever the code becomes. Like ``create_all`` it creates only
the tables that are missing, so it also adopts a store the release made before there were
migrations (that release made the graph's decisions table only at the first decision or graph
build, and ``xiansuo users add`` made no case tables): such a store gets the missing tables, its
existing tables are checked to have the release's columns, and it is stamped 0001.

The append-only triggers of the query log are made here as the release made them: SQLite refuses
UPDATE and DELETE, PostgreSQL UPDATE, DELETE and TRUNCATE, on both log tables.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.errors import UpgradeRefusedError

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

release = sa.MetaData()

sa.Table(
    "roles",
    release,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("officer", sa.Boolean, nullable=False),
    sa.UniqueConstraint("name", "officer", name="roles_name_kind"),
)
sa.Table(
    "users",
    release,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(64)),
    sa.Column("jurisdiction", sa.String(12), nullable=False),
    sa.Column("id_number", sa.String(18), unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("officer", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("token_epoch", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("id", "officer", name="users_id_kind"),
)
_user_roles = sa.Table(
    "user_roles",
    release,
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("officer", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("user_id", "role"),
    sa.ForeignKeyConstraint(["user_id", "officer"], ["users.id", "users.officer"]),
    sa.ForeignKeyConstraint(["role", "officer"], ["roles.name", "roles.officer"]),
)
sa.Index(
    "user_roles_one_officer_post",
    _user_roles.c.user_id,
    unique=True,
    sqlite_where=_user_roles.c.officer,
    postgresql_where=_user_roles.c.officer,
)
sa.Table(
    "query_case",
    release,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_no", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("created_by", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "query_application",
    release,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, nullable=False),
    sa.Column("applicant_id", sa.Integer, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("sources", sa.Text, nullable=False),
    sa.Column("regions", sa.Text, nullable=False),
    sa.Column("subjects", sa.Text, nullable=False),
    sa.Column("unmask", sa.Boolean, nullable=False),
    sa.Column("export", sa.Boolean, nullable=False),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.Integer),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decision_note", sa.Text),
    sa.Column("page_size_cap", sa.Integer, nullable=False),
    sa.Column("result_cap", sa.Integer, nullable=False),
    sa.Column("query_quota", sa.Integer, nullable=False),
    sa.Column("queries_used", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "cross_tier_grant",
    release,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("grantee_id", sa.Integer, nullable=False),
    sa.Column("regions", sa.Text, nullable=False),
    sa.Column("created_by", sa.Integer, nullable=False),
    sa.Column("approved_by", sa.Integer),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
sa.Table(
    "audit_entry",
    release,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("actor_role", sa.Text),
    sa.Column("source_ip", sa.Text),
    sa.Column("route", sa.Text),
    sa.Column("application_id", sa.Text),
    sa.Column("case_id", sa.Text),
    sa.Column("purpose", sa.Text),
    sa.Column("params", sa.Text),
    sa.Column("scope", sa.Text),
    sa.Column("outcome", sa.String(32)),
    sa.Column("hit_count", sa.BigInteger),
    sa.Column("result_digest", sa.String(64)),
    sa.Column("duration_ms", sa.Float),
    sa.Column("detail", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_entry_actor", "actor", "seq"),
    sa.Index("ix_audit_entry_case", "case_id", "seq"),
    sa.Index("ix_audit_entry_application", "application_id", "seq"),
    sa.Index("ix_audit_entry_kind", "kind", "seq"),
    sa.Index("ix_audit_entry_ts", "ts"),
)
sa.Table(
    "audit_checkpoint",
    release,
    sa.Column("seq", _SEQ, sa.ForeignKey("audit_entry.seq"), primary_key=True, autoincrement=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
)
sa.Table(
    "graph_match_decision",
    release,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mention", sa.String(32), nullable=False, index=True),
    sa.Column("candidate", sa.String(64), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("application_id", sa.Integer, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
)

APPEND_ONLY_TABLES = ("audit_entry", "audit_checkpoint")

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


class NotAReleaseStoreError(UpgradeRefusedError):
    """A table of the store has other columns than the release made: not a store to adopt."""


def _refuse_foreign_tables(bind: sa.Connection) -> None:
    inspector = sa.inspect(bind)
    for table in release.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        found = {column["name"] for column in inspector.get_columns(table.name)}
        if found != set(table.columns.keys()):
            raise NotAReleaseStoreError(
                f"table {table.name} has the columns {sorted(found)}, not the first release's "
                f"{sorted(table.columns.keys())}: this store was not made by that release, and "
                "migrating it needs a person's decision"
            )


def _create_append_only_triggers(bind: sa.Connection) -> None:
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for op_name in ("update", "delete"):
                bind.exec_driver_sql(
                    _SQLITE_TRIGGER.format(table=table, op=op_name, OP=op_name.upper())
                )
        return
    bind.exec_driver_sql(_PG_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        bind.exec_driver_sql(_PG_TRIGGER.format(table=table))


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_foreign_tables(bind)
    release.create_all(bind, checkfirst=True)
    _create_append_only_triggers(bind)


def downgrade() -> None:
    raise NotImplementedError(
        "the first release's schema holds the query log, which is never dropped: "
        "restore a backup instead"
    )
