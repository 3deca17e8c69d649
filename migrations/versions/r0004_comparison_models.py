"""Comparison models (碰撞比对): the models an application may run, runs, hits and the clue ledger.

- ``query_application.models``: the comparison models a 专项核查 application names (a JSON list;
  every application filed before this revision names none: ``[]``).
- ``comparison_run``: one row per run (its model, application, case, user, the scope's regions,
  the write-ahead log entry's seq, state and counts).
- ``comparison_clue``: the case's clue ledger, one clue per (case, model, person).
- ``comparison_hit``: every hit of every run, naming its clue, with the records it cites.

The tables are copied here as they are made (not imported), so this revision makes the same
store whatever the code becomes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def key_name(table: str, column: str) -> str:
    """The foreign key's name: PostgreSQL's default, as ``common.db.FOREIGN_KEY_NAME`` gives."""
    return f"{table}_{column}_fkey"


def _key(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [parent], name=key_name(table, column))


def upgrade() -> None:
    op.add_column("query_application", sa.Column("models", sa.JSON()))
    op.execute("UPDATE query_application SET models = '[]'")
    with op.batch_alter_table("query_application") as batch:
        batch.alter_column("models", existing_type=sa.JSON(), nullable=False)

    op.create_table(
        "comparison_run",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(48), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("request_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("hit_count", sa.Integer()),
        sa.Column("new_count", sa.Integer()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        _key("comparison_run", "application_id", "query_application.id"),
        _key("comparison_run", "case_id", "query_case.id"),
        _key("comparison_run", "user_id", "users.id"),
    )
    op.create_table(
        "comparison_clue",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(48), nullable=False),
        sa.Column("person_id", sa.String(18), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("scope_key", sa.Text(), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _key("comparison_clue", "case_id", "query_case.id"),
        _key("comparison_clue", "first_run_id", "comparison_run.id"),
        _key("comparison_clue", "last_run_id", "comparison_run.id"),
        sa.UniqueConstraint("case_id", "model_id", "person_id", name="comparison_clue_subject_key"),
    )
    op.create_table(
        "comparison_hit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("clue_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(18), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("is_new", sa.Boolean(), nullable=False),
        _key("comparison_hit", "run_id", "comparison_run.id"),
        _key("comparison_hit", "clue_id", "comparison_clue.id"),
    )
    op.create_index("ix_comparison_hit_run_id", "comparison_hit", ["run_id"])


def downgrade() -> None:
    raise NotImplementedError(
        "revision 0003 is not undone in place (runs and the clue ledger would be lost): "
        "restore the backup taken before the upgrade"
    )
