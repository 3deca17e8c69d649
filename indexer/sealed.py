"""The sealed store for petition complainant data (反映人…): kept encrypted, never searchable.

A separate SQL database (its own SQLite file by default) that no search, graph or export code
reads. Every value is sealed with AES-GCM (``indexer.sealed_keys``); the rows hold ciphertexts,
the id of the key that sealed them, and what ties a row to the document the index holds.

The store mirrors the petition index: one row per indexed petition, holding the complainant
fields of exactly the version the index holds (an anonymous petition has a row of sealed empty
values, indistinguishable from a signed one). Two stores cannot commit together, so the ingest
writes ahead (``indexer.sealing`` drives the protocol):

1. ``write_ahead``: before a bulk batch goes to the engine, its petitions' sealed values are
   committed to ``sealed_journal``, each with the digest of the document about to be indexed.
2. The engine answers per document.
3. ``settle``: one transaction moves the accepted entries into ``sealed_record`` (replacing the
   petition's row) and deletes the batch's journal entries; refused and superseded ones are
   simply dropped.

A crash between 1 and 3 leaves journal entries; ``indexer.sealing.reconcile_sealed`` settles them
against what the engine holds before the next ingest writes anything. Rows belong to a
*generation*, the concrete index they mirror: a reload writes a new generation beside the current
one, and the swap of the index alias is followed by ``adopt_generation``.

Readers: ``read_complainants`` decrypts for whoever is authorised (tests today; no route reads
the store).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from indexer.sealed_keys import (
    Keyring,
    SealedKeyError,
    generate_sealed_key,
    load_keyring,
    next_key_path,
)

SEALED_FIELDS: tuple[str, ...] = ("complainant_name", "complainant_id", "complainant_phone")
ACTIVE_KEY = "active_key_id"  # sealed_state: the key new values are sealed with
CURRENT_GENERATION = "current_generation"  # sealed_state: the index the readable rows mirror

metadata = MetaData()


def _sealed_columns() -> list[Column[Any]]:
    return [Column(name, LargeBinary, nullable=False) for name in SEALED_FIELDS]


records = Table(
    "sealed_record",
    metadata,
    Column("generation", String(128), primary_key=True),
    Column("petition_no", String(128), primary_key=True),
    Column("key_id", String(16), nullable=False),
    *_sealed_columns(),
    Column("version", BigInteger),  # ordinal of 登记日期, as the engine's external version
    Column("digest", String(64), nullable=False),  # of the indexed document (indexer.sealing)
    Column("source_file", Text, nullable=False),
    Column("line", Integer, nullable=False),
)
journal = Table(
    "sealed_journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("generation", String(128), nullable=False, index=True),
    Column("petition_no", String(128), nullable=False),
    Column("doc_id", String(64), nullable=False),
    Column("key_id", String(16), nullable=False),
    *_sealed_columns(),
    Column("version", BigInteger),
    Column("digest", String(64), nullable=False),
    Column("source_file", Text, nullable=False),
    Column("line", Integer, nullable=False),
    sqlite_autoincrement=True,  # seqs are never reused: a settle cannot take another's
)
state = Table(
    "sealed_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)
_ROW_COLUMNS = ("petition_no", "key_id", *SEALED_FIELDS, "version", "digest", "source_file", "line")


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """One petition's sealed values, about to be written with the document ``doc_id``."""

    petition_no: str
    doc_id: str
    fields: dict[str, str]  # as received; absent fields are empty
    version: int | None
    digest: str
    source_file: str
    line: int


@dataclass(frozen=True, slots=True)
class Complainant:
    """The decrypted complainant fields of one indexed petition (None: empty)."""

    petition_no: str
    complainant_name: str | None
    complainant_id: str | None
    complainant_phone: str | None
    version: int | None
    source_file: str
    line: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """What reconciliation needs of a journal entry (its values stay sealed)."""

    seq: int
    petition_no: str
    doc_id: str
    digest: str


def open_sealed_store(url: str) -> Engine:
    """The sealed store at ``url``, its tables created; SQLite in WAL with synchronous=FULL, so a
    committed write-ahead entry survives a crash of the machine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
    else:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    create_sealed_schema(engine)
    return engine


SCHEMA_ATTEMPTS = 10
RACE_PAUSE_S = 0.05  # times the attempt number, between attempts after losing a race


def _switch_to_wal(cursor: Any) -> None:
    """Put a fresh SQLite file in WAL mode. The switch needs the file alone and SQLite answers
    "database is locked" at once (its busy timeout does not apply) while another connection
    switches it at the same moment: the loser waits and tries again, a bounded number of times."""
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == SCHEMA_ATTEMPTS:
                raise
            time.sleep(RACE_PAUSE_S * attempt)


def create_sealed_schema(engine: Engine) -> None:
    """Create the sealed store's tables where they are missing.

    Two workers opening a fresh store at once may both find a table missing and both create it;
    the loser's CREATE fails, and its next look finds the table (so it is tried again, a bounded
    number of times)."""
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == SCHEMA_ATTEMPTS:
                raise
            time.sleep(RACE_PAUSE_S * attempt)


def _get_state(conn: Connection, name: str) -> str | None:
    return conn.execute(select(state.c.value).where(state.c.name == name)).scalar_one_or_none()


def set_state(conn: Connection, name: str, value: str) -> None:
    """Set one ``sealed_state`` value; an update first, so it takes the row's write lock."""
    if conn.execute(update(state).where(state.c.name == name).values(value=value)).rowcount == 0:
        conn.execute(insert(state).values(name=name, value=value))


def active_key_id(conn: Connection, keyring: Keyring) -> str:
    """The key new values are sealed with: the store's active key, set to the key file's on
    first use. A store with rows but no active key predates this record: refused."""
    # A no-op update first: it takes the write lock (SQLite) or the row lock (PostgreSQL), so a
    # key rotation cannot commit between this read and the caller's writes under the key read.
    conn.execute(update(state).where(state.c.name == ACTIVE_KEY).values(value=state.c.value))
    current = _get_state(conn, ACTIVE_KEY)
    if current is not None:
        return current
    for table in (records, journal):
        if conn.execute(select(table.c.key_id).limit(1)).first() is not None:
            raise SealedKeyError("the sealed store holds rows but names no active key")
    key_id = keyring.file_key_id()
    set_state(conn, ACTIVE_KEY, key_id)
    return key_id


def open_keyring(store: Engine, key_file: Path) -> Keyring:
    """The keyring for ``store``; the key file is created (0600) on first use only.

    A missing key file is never replaced while the store holds values sealed under some key:
    that would seal new values under a key the old ones do not open. Restore the file instead.
    """
    if not key_file.exists() and not next_key_path(key_file).exists():
        used = stored_key_ids(store)
        if used:
            raise SealedKeyError(
                f"{key_file} does not exist, but the sealed store holds values sealed under key "
                f"{', '.join(sorted(used))}: restore that key file (XIANSUO_SEALED_KEY_FILE)"
            )
        with contextlib.suppress(FileExistsError):  # another process made it first
            generate_sealed_key(key_file)
    return load_keyring(key_file)


def stored_key_ids(store: Engine) -> set[str]:
    """Every key id that seals a row or journal entry."""
    with store.connect() as conn:
        found: set[str] = set()
        for table in (records, journal):
            found.update(conn.execute(select(table.c.key_id).distinct()).scalars())
    return found


def write_ahead(
    store: Engine, keyring: Keyring, generation: str, entries: Sequence[SealedEntry]
) -> list[int]:
    """Commit ``entries`` to the journal before their documents are sent; returns their seqs."""
    if not entries:
        return []
    with store.begin() as conn:
        key_id = active_key_id(conn, keyring)
        rows = [
            {
                "generation": generation,
                "petition_no": entry.petition_no,
                "doc_id": entry.doc_id,
                "key_id": key_id,
                **{
                    name: keyring.seal(key_id, entry.petition_no, name, entry.fields.get(name))
                    for name in SEALED_FIELDS
                },
                "version": entry.version,
                "digest": entry.digest,
                "source_file": entry.source_file,
                "line": entry.line,
            }
            for entry in entries
        ]
        written = conn.execute(
            insert(journal).returning(journal.c.seq, sort_by_parameter_order=True), rows
        )
        return list(written.scalars())


class SealedJournalError(RuntimeError):
    """The journal no longer holds a batch's entries: another process settled them."""


def settle(store: Engine, generation: str, seqs: Sequence[int], accepted: Iterable[int]) -> None:
    """In one transaction: accepted journal entries become their petitions' rows; every entry of
    ``seqs`` leaves the journal.

    Refused (SealedJournalError) if the entries are gone: a second petition ingest reconciled
    them meanwhile, and the rows would not follow this batch. The next ingest settles it.
    """
    with store.begin() as conn:
        held = conn.execute(
            select(func.count())
            .select_from(journal)
            .where(journal.c.seq.in_(list(seqs)), journal.c.generation == generation)
        ).scalar_one()
        if held != len(seqs):
            raise SealedJournalError(
                "the sealed journal lost entries of the batch being settled: another petition "
                "ingest ran at the same time (run one at a time); re-run the ingest"
            )
        promote(conn, generation, list(accepted))
        discard(conn, seqs)


def promote(conn: Connection, generation: str, seqs: Sequence[int]) -> None:
    """Replace the rows of the petitions of journal entries ``seqs`` by those entries."""
    if not seqs:
        return
    chosen = [journal.c[name] for name in _ROW_COLUMNS]
    rows = [dict(r._mapping) for r in conn.execute(select(*chosen).where(journal.c.seq.in_(seqs)))]
    conn.execute(
        delete(records).where(
            records.c.generation == generation,
            records.c.petition_no.in_([row["petition_no"] for row in rows]),
        )
    )
    conn.execute(insert(records), [row | {"generation": generation} for row in rows])


def discard(conn: Connection, seqs: Sequence[int]) -> None:
    """Delete journal entries."""
    if seqs:
        conn.execute(delete(journal).where(journal.c.seq.in_(list(seqs))))


def journal_entries(conn: Connection, generation: str) -> list[JournalEntry]:
    """The generation's journal entries in write order."""
    query = (
        select(journal.c.seq, journal.c.petition_no, journal.c.doc_id, journal.c.digest)
        .where(journal.c.generation == generation)
        .order_by(journal.c.seq)
    )
    return [JournalEntry(*row) for row in conn.execute(query)]


def delete_records(conn: Connection, generation: str, petition_nos: Iterable[str]) -> None:
    conn.execute(
        delete(records).where(
            records.c.generation == generation, records.c.petition_no.in_(list(petition_nos))
        )
    )


def drop_other_generations(conn: Connection, generation: str | None) -> int:
    """Delete rows and journal entries of every generation but ``generation`` (all if None)."""
    removed = 0
    for table in (records, journal):
        query = delete(table)
        if generation is not None:
            query = query.where(table.c.generation != generation)
        removed += conn.execute(query).rowcount
    return removed


def adopt_generation(store: Engine, generation: str) -> None:
    """After the alias swap of a reload: ``generation`` becomes the readable one, others go."""
    with store.begin() as conn:
        drop_other_generations(conn, generation)
        set_state(conn, CURRENT_GENERATION, generation)


def current_generation(conn: Connection) -> str | None:
    return _get_state(conn, CURRENT_GENERATION)


def generation_digests(conn: Connection, generation: str | None) -> dict[str, str]:
    """petition_no -> document digest of every row of ``generation``."""
    query = select(records.c.petition_no, records.c.digest).where(
        records.c.generation == generation
    )
    return {no: digest for no, digest in conn.execute(query)}


def count_other_generations(conn: Connection, generation: str | None) -> int:
    """Rows that belong to any other generation than ``generation``."""
    query = select(func.count()).select_from(records)
    if generation is not None:
        query = query.where(records.c.generation != generation)
    return int(conn.execute(query).scalar_one())


def journal_size(conn: Connection) -> int:
    """Journal entries not yet settled (any generation)."""
    return int(conn.execute(select(func.count()).select_from(journal)).scalar_one())


def count_complainants(store: Engine) -> int:
    """Rows of the current generation: one per indexed petition."""
    with store.connect() as conn:
        generation = current_generation(conn)
        query = select(func.count()).select_from(records).where(records.c.generation == generation)
        return int(conn.execute(query).scalar_one())


def read_complainants(
    store: Engine, keyring: Keyring, petition_nos: Iterable[str] | None = None
) -> dict[str, Complainant]:
    """Decrypt the complainant fields of the indexed petitions (all, or ``petition_nos``).

    The only reader of the sealed store: for tests and whoever is authorised to see who filed a
    petition. No route of the API calls it.
    """
    with store.connect() as conn:
        query = select(records).where(records.c.generation == current_generation(conn))
        if petition_nos is not None:
            query = query.where(records.c.petition_no.in_(list(petition_nos)))
        rows = conn.execute(query.order_by(records.c.petition_no)).all()
    out: dict[str, Complainant] = {}
    for row in rows:
        values = {
            name: keyring.open(row.key_id, row.petition_no, name, getattr(row, name))
            for name in SEALED_FIELDS
        }
        out[row.petition_no] = Complainant(
            row.petition_no, **values, version=row.version, source_file=row.source_file,
            line=row.line,
        )  # fmt: skip
    return out
