"""The sealed store for petition complainant data (反映人…): kept, never searchable.

It is a separate SQL database (its own SQLite file by default) that no search, graph or export
code reads; only the ingest writes it. Values are stored as received.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Engine, MetaData, String, Table, Text, create_engine, insert, select
from sqlalchemy.engine import make_url

metadata = MetaData()
complainants = Table(
    "sealed_complainant",
    metadata,
    Column("petition_no", String(64), primary_key=True),
    Column("complainant_name", Text),
    Column("complainant_id", Text),
    Column("complainant_phone", Text),
    Column("source_file", Text, nullable=False),
)


def open_sealed_store(url: str) -> Engine:
    """The sealed store at ``url``, its table created if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    metadata.create_all(engine)
    return engine


def store_complainants(engine: Engine, rows: Iterable[tuple[str, dict[str, str], str]]) -> int:
    """Upsert ``(petition_no, sealed fields, file)`` rows; returns how many were written."""
    batch = [
        {
            "petition_no": petition_no,
            "complainant_name": fields.get("complainant_name"),
            "complainant_id": fields.get("complainant_id"),
            "complainant_phone": fields.get("complainant_phone"),
            "source_file": file,
        }
        for petition_no, fields, file in rows
    ]
    if not batch:
        return 0
    with engine.begin() as conn:
        conn.execute(
            complainants.delete().where(
                complainants.c.petition_no.in_([b["petition_no"] for b in batch])
            )
        )
        conn.execute(insert(complainants), batch)
    return len(batch)


def count_complainants(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(complainants.c.petition_no)).all())
