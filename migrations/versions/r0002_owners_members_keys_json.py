"""Case owners and members, foreign keys wherever a column names a row, application lists as JSON.

- ``query_case.owner_id`` (filled from ``created_by``: whoever opened a case owned it) and the
  ``query_case_member`` table: only a case's owner and members file applications under it.
- Foreign keys: cases, members, applications and grants name their accounts (``users.id``); an
  application names its case; a match decision names its application and its analyst (by
  username, as decisions always have). Before any change, every row is checked to name an
  existing row: one that does not stops the upgrade with the table, column and ids, and nothing
  is changed (the whole upgrade is one transaction).
- ``query_application.sources/regions/subjects`` and ``cross_tier_grant.regions`` become JSON
  columns; their stored text is kept as it is (it was always ``json.dumps`` of a list, which is
  checked first).

The query log's tables are not touched: no migration ever updates them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from migrations.errors import UpgradeRefusedError

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# (child table, column, parent table, parent column): every foreign key this revision adds
NEW_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("query_case", "created_by", "users", "id"),
    ("query_case", "owner_id", "users", "id"),
    ("query_application", "case_id", "query_case", "id"),
    ("query_application", "applicant_id", "users", "id"),
    ("query_application", "decided_by", "users", "id"),
    ("cross_tier_grant", "grantee_id", "users", "id"),
    ("cross_tier_grant", "created_by", "users", "id"),
    ("cross_tier_grant", "approved_by", "users", "id"),
    ("graph_match_decision", "application_id", "query_application", "id"),
    ("graph_match_decision", "actor", "users", "username"),
)
# table -> its columns that become JSON lists
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "query_application": ("sources", "regions", "subjects"),
    "cross_tier_grant": ("regions",),
}
SHOWN_IDS = 10  # enough ids in an error to find the rows, short enough to read


class StoreDataError(UpgradeRefusedError):
    """A row the new schema would refuse: the upgrade stops before changing anything."""


def key_name(table: str, column: str) -> str:
    """The foreign key's name: PostgreSQL's default, as ``common.db.FOREIGN_KEY_NAME`` gives."""
    return f"{table}_{column}_fkey"


def _refuse_orphans(bind: sa.Connection) -> None:
    for child, column, parent, parent_column in NEW_KEYS:
        if (child, column) == ("query_case", "owner_id"):
            continue  # added below as a copy of created_by, which is checked
        # the parent key has no NULLs (a primary key, or NOT NULL unique username)
        orphans = bind.execute(
            sa.text(
                f"SELECT {column} FROM {child} WHERE {column} IS NOT NULL "  # noqa: S608 - names from NEW_KEYS
                f"AND {column} NOT IN (SELECT {parent_column} FROM {parent}) "
                f"ORDER BY {column}"
            )
        ).scalars()
        found = list(dict.fromkeys(orphans))
        if found:
            raise StoreDataError(
                f"{child}.{column} names {len(found)} {parent}.{parent_column} value(s) that do "
                f"not exist ({found[:SHOWN_IDS]}): correct those rows, then upgrade again"
            )


def _refuse_bad_json(bind: sa.Connection) -> None:
    for table, columns in JSON_COLUMNS.items():
        rows = bind.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}"))  # noqa: S608 - names from JSON_COLUMNS
        for row in rows:
            for column, raw in zip(columns, row[1:], strict=True):
                try:
                    valid = isinstance(json.loads(raw), list)
                except ValueError:
                    valid = False
                if not valid:
                    raise StoreDataError(
                        f"{table}.{column} of row {row[0]} is not a JSON list: correct it, "
                        "then upgrade again"
                    )


def _add_keys(table: str) -> list[tuple[str, str, str, str]]:
    return [key for key in NEW_KEYS if key[0] == table]


def _alter(table: str, not_null: tuple[str, ...] = ()) -> None:
    """Add ``table``'s new foreign keys, turn its JSON columns into JSON and make ``not_null``
    integer columns NOT NULL (SQLite: one copy of the table; PostgreSQL: ALTERs in place, the
    text cast to json)."""
    with op.batch_alter_table(table) as batch:
        for column in not_null:
            batch.alter_column(column, existing_type=sa.Integer(), nullable=False)
        for column in JSON_COLUMNS.get(table, ()):
            batch.alter_column(
                column,
                existing_type=sa.Text(),
                existing_nullable=False,
                type_=sa.JSON(),
                postgresql_using=f"{column}::json",
            )
        for child, column, parent, parent_column in _add_keys(table):
            batch.create_foreign_key(key_name(child, column), parent, [column], [parent_column])


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_orphans(bind)
    _refuse_bad_json(bind)

    op.add_column("query_case", sa.Column("owner_id", sa.Integer()))
    op.execute("UPDATE query_case SET owner_id = created_by")
    _alter("query_case", not_null=("owner_id",))

    op.create_table(
        "query_case_member",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "user_id"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["query_case.id"], name=key_name("query_case_member", "case_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=key_name("query_case_member", "user_id")
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=key_name("query_case_member", "added_by")
        ),
    )
    for table in ("query_application", "cross_tier_grant", "graph_match_decision"):
        _alter(table)


def downgrade() -> None:
    raise NotImplementedError(
        "revision 0002 is not undone in place (case members and owners would be lost): "
        "restore the backup taken before the upgrade"
    )
