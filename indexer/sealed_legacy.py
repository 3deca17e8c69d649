"""Plaintext rows an earlier version of the sealed store kept: sealed, then adopted.

Earlier versions stored the complainant fields as received, in ``sealed_complainant``. Opening
the store for an ingest (``migrate_plaintext``) seals those rows into the journal under no
generation and drops the table (SQLite is vacuumed and its WAL truncated, so the plaintext pages
leave the files too; PostgreSQL reclaims them at its next vacuum). The next reconciliation
(``indexer.sealing``) moves them into the aliased index's journal and adopts each one whose
petition the index holds, whatever version it holds: the old table had no digest.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, MetaData, Table, insert, inspect, select, update

from indexer.sealed import SEALED_FIELDS, active_key_id, journal
from indexer.sealed_keys import Keyring

# Earlier versions kept the fields in plain text in this table; see ``migrate_plaintext``.
LEGACY_TABLE = "sealed_complainant"
LEGACY_GENERATION = "*legacy*"  # journal entries of migrated rows: adopted by the next reconcile
LEGACY_DIGEST = ""  # a migrated row matches whatever version of its petition the index holds


def migrate_plaintext(store: Engine, keyring: Keyring) -> int:
    """Seal the rows of the plaintext table earlier versions kept, then drop it.

    Returns the number of rows migrated (see the module docstring).
    """
    if LEGACY_TABLE not in inspect(store).get_table_names():
        return 0
    legacy = Table(LEGACY_TABLE, MetaData(), autoload_with=store)
    with store.begin() as conn:
        rows = [dict(row) for row in conn.execute(select(legacy)).mappings()]
        key_id = active_key_id(conn, keyring)
        entries = [
            {
                "generation": LEGACY_GENERATION,
                "petition_no": row["petition_no"],
                "doc_id": "",
                "key_id": key_id,
                **{
                    name: keyring.seal(key_id, row["petition_no"], name, row.get(name))
                    for name in SEALED_FIELDS
                },
                "version": None,
                "digest": LEGACY_DIGEST,
                "source_file": row.get("source_file") or "",
                "line": 0,
            }
            for row in rows
        ]
        if entries:
            conn.execute(insert(journal), entries)
        legacy.drop(conn)
    if store.dialect.name == "sqlite":
        with store.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(entries)


def adopt_legacy_entries(conn: Connection, generation: str) -> None:
    """Migrated plaintext rows join ``generation``'s journal, to be settled against it."""
    conn.execute(
        update(journal)
        .where(journal.c.generation == LEGACY_GENERATION)
        .values(generation=generation)
    )


def set_digests(conn: Connection, digests: dict[int, str]) -> None:
    """Give journal entries (by seq) the digest of the document they are settled with."""
    for seq, digest in digests.items():
        conn.execute(update(journal).where(journal.c.seq == seq).values(digest=digest))
