"""The SQL store (SQLite embedded by default, PostgreSQL in production) for users and the log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url


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
