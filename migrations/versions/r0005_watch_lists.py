"""Watch lists (布控): watched subjects, standing runs and notifications.

- ``watch``: one user's watch of one subject person of one of their applications (unique per
  owner, application and person; ended, not deleted, when removed or no longer admitted).
- ``standing_run``: a comparison run re-run after each ingest (布控运行), with its latest re-run.
- ``notification``: what an ingest produced for a user (记录变更 / 新增线索), read or not.

The tables are copied here as they are made (not imported), so this revision makes the same
store whatever the code becomes. New tables only: no existing row is touched.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def key_name(table: str, column: str) -> str:
    """The foreign key's name: PostgreSQL's default, as ``common.db.FOREIGN_KEY_NAME`` gives."""
    return f"{table}_{column}_fkey"


def _key(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [parent], name=key_name(table, column))


def upgrade() -> None:
    op.create_table(
        "watch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        _key("watch", "owner_id", "users.id"),
        _key("watch", "application_id", "query_application.id"),
        sa.UniqueConstraint("owner_id", "application_id", "person_id", name="watch_subject_key"),
    )
    op.create_table(
        "standing_run",
        sa.Column("run_id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(48), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        _key("standing_run", "run_id", "comparison_run.id"),
        _key("standing_run", "owner_id", "users.id"),
        _key("standing_run", "application_id", "query_application.id"),
        _key("standing_run", "last_run_id", "comparison_run.id"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer()),
        sa.Column("run_id", sa.Integer()),
        sa.Column("clue_id", sa.Integer()),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64)),
        sa.Column("person_id", sa.String(18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        _key("notification", "owner_id", "users.id"),
        _key("notification", "application_id", "query_application.id"),
        _key("notification", "watch_id", "watch.id"),
        _key("notification", "run_id", "comparison_run.id"),
        _key("notification", "clue_id", "comparison_clue.id"),
    )
    op.create_index("ix_notification_owner_id", "notification", ["owner_id"])


def downgrade() -> None:
    raise NotImplementedError(
        "revision 0005 is not undone in place (watches and notifications would be lost): "
        "restore the backup taken before the upgrade"
    )
