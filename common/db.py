"""The SQL store (SQLite embedded by default, PostgreSQL in production) for users and the log.

``metadata`` is the store's one schema: every package that keeps rows here (accounts, cases,
applications, grants, the query log, the graph's match decisions) defines its tables on it, so
foreign keys can name any of them. Nothing calls ``create_all`` on it: the Alembic migrations
(``migrations/``) make and upgrade the store, and a test proves their head equals ``metadata``.
The sealed complainant store is another database by design and keeps its own ``MetaData``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from annotated_types import Ge, Le
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url

MAX_ROW_ID = 2**31 - 1
"""The largest id any of our INTEGER primary keys holds on every store: PostgreSQL's INTEGER is
32-bit (SQLite's is 64-bit). An id beyond it names nothing, and sending it to PostgreSQL would be
an out-of-range error, to SQLite (past 2**63) an overflow."""

FOREIGN_KEY_NAME = "%(table_name)s_%(column_0_N_name)s_fkey"
"""PostgreSQL's own default name for a foreign key, given on SQLite too: a migration can then
name any key it changes, and the keys of stores made before the migrations already match.
(Indexes keep SQLAlchemy's default names.)"""

metadata = MetaData(naming_convention={"ix": "ix_%(column_0_label)s", "fk": FOREIGN_KEY_NAME})
"""The tables of the service's SQL store (see the module's docstring)."""

RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
"""A row id as the API takes it (path, query, header, body): one type, so every id is bounded."""


def in_row_range(row_id: int) -> bool:
    """Whether ``row_id`` can name a row: lookups answer "not found" for any other."""
    return 1 <= row_id <= MAX_ROW_ID


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and synchronous=FULL so a commit is durable."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    uri_form = parsed.query.get("uri") == "true"  # "file:..." names a URI, not a path
    if parsed.database and parsed.database != ":memory:" and not uri_form:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # the write-ahead query log relies on it
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


# Readers take either: an engine (they check a connection out) or a connection the caller holds,
# so that the gate does all of a request's reads on one checkout.
Bind = Engine | Connection


@contextmanager
def connection(bind: Bind) -> Iterator[Connection]:
    """A connection for reading: ``bind`` itself, or one checked out of it and returned after."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn
