"""Database exports: a table (or an operator's query) whose columns carry the Chinese names.

Rows are streamed (a server-side cursor where the driver has one), never fetched all at once.
The statement runs in a transaction that is rolled back when the connection closes. The table
name must be a plain identifier, optionally schema-qualified; SQLAlchemy quotes it, it is never
pasted into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from indexer.readers.base import DropError, RawRow, name_columns, render_cell, render_raw

# Letters (CJK included), digits and "_", not starting with a digit; "schema.table" allowed.
_IDENTIFIER_RE = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)?")
# Rows per round trip with a server-side cursor.
BATCH_ROWS = 2000


def read_sql(url: str, table: str | None = None, query: str | None = None) -> Iterator[RawRow]:
    """Yield one `RawRow` per row of `table`, or of `query`; exactly one of them must be given.

    `RawRow.file` is the URL without its password, then "#" and the table name or "query".
    Raise `DropError` for a bad table name, URL or statement, or a database that fails.
    """
    if (table is None) == (query is None):
        raise DropError("give either a table or a query, not both or neither")
    statement = _table_select(table) if table is not None else sa.text(query or "")
    try:
        engine = sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DropError(f"unusable database URL: {exc}") from None
    label = f"{engine.url.render_as_string(hide_password=True)}#{table or 'query'}"
    try:
        with engine.connect() as connection:
            result = connection.execution_options(
                stream_results=True, yield_per=BATCH_ROWS
            ).execute(statement)
            header = name_columns(result.keys())
            for ordinal, row in enumerate(result, start=1):
                values = {key: render_cell(value) for key, value in zip(header, row, strict=True)}
                yield RawRow(label, ordinal, values, render_raw(values))
    except SQLAlchemyError as exc:
        raise DropError(
            f"{label}: {type(exc).__name__}: {exc.args[0] if exc.args else exc}"
        ) from None
    finally:
        engine.dispose()


def _table_select(table: str) -> sa.Select[tuple[object, ...]]:
    if not _IDENTIFIER_RE.fullmatch(table):
        raise DropError(f"not a plain table name: {table!r}")
    schema, _, name = table.rpartition(".")
    return sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
