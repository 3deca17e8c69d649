"""The writer: serialised, durable appends to the hash chain, and signed checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from common.errors import DomainError
from query_logs.audit.entries import (
    GENESIS_HASH,
    AuditEntry,
    AuditEntryIn,
    AuditKind,
    compute_entry_hash,
    format_ts,
    prepare_fields,
)
from query_logs.audit.schema import audit_checkpoint, audit_entry, begin_serialised
from query_logs.audit.signing import key_fingerprint, sign_checkpoint


class AuditLogUnavailableError(DomainError):
    """The log could not be written or read (down, read-only, locked, full): fail closed, 503.

    The client sees only the fixed ``detail``; the database's own error is the ``__cause__``.
    """

    status: ClassVar[int] = 503

    def __init__(self, detail: str = "the audit log is unavailable; nothing was done") -> None:
        super().__init__(detail)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the chain's hash at ``seq`` was ``entry_hash``."""

    seq: int
    entry_hash: str
    ts: str
    signature: str
    key_id: str


_HEAD = (  # built once: read on every append
    select(audit_entry.c.seq, audit_entry.c.entry_hash)
    .order_by(audit_entry.c.seq.desc())
    .limit(1)  # one index probe, whatever the size of the log
)


_INSERT = insert(audit_entry)  # built once: its cache key is then memoised


def read_head(conn: Connection) -> tuple[int, str]:
    """The last entry's (seq, entry_hash), or (0, GENESIS_HASH) for an empty log."""
    row = conn.execute(_HEAD).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.entry_hash))


class AuditLog:
    """Appends entries to the chain in the SQL store; one instance per engine is enough.

    Every write runs in one transaction that first takes the writers' lock (see
    ``begin_serialised``), reads the head, inserts the next entry and commits durably before the
    call returns: a returned entry is on disk. Any database failure becomes
    ``AuditLogUnavailableError`` and nothing is written.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The store this log writes to."""
        return self._engine

    @contextmanager
    def _write_transaction(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                begin_serialised(conn)
                yield conn
                conn.commit()
        except SQLAlchemyError as exc:
            raise AuditLogUnavailableError() from exc

    def _insert_next(self, conn: Connection, fields: dict[str, Any]) -> AuditEntry:
        head_seq, head_hash = read_head(conn)
        row = {
            **fields,
            "seq": head_seq + 1,
            "ts": format_ts(datetime.now(UTC)),
            "prev_hash": head_hash,
        }
        row["entry_hash"] = compute_entry_hash(head_hash, row)
        conn.execute(_INSERT, row)  # parameters apart: the compiled form is cached
        return AuditEntry.from_row(row)

    def append(
        self, entry: AuditEntryIn, *, first: Callable[[Connection], None] | None = None
    ) -> AuditEntry:
        """Commit ``entry`` as the next link; ValueError if it holds credentials or is not JSON.

        ``first`` runs in the same transaction before the insert (the gate counts the quota
        there: one durable commit, and a query is counted only if its entry is written); an
        exception from it rolls everything back and propagates unchanged.
        """
        if entry.kind is AuditKind.CHECKPOINT:
            raise ValueError("checkpoint entries are written by AuditLog.checkpoint only")
        fields = prepare_fields(entry)
        with self._write_transaction() as conn:
            if first is not None:
                first(conn)
            return self._insert_next(conn, fields)

    def _checkpoint_in(self, conn: Connection, key: Ed25519PrivateKey, key_id: str) -> Checkpoint:
        # The checkpoint is itself an entry, and the signature covers that entry's hash: the
        # checkpoint is chained like everything else and a removed checkpoint row is noticed.
        fields = prepare_fields(AuditEntryIn(kind=AuditKind.CHECKPOINT, detail={"key_id": key_id}))
        entry = self._insert_next(conn, fields)
        signature = sign_checkpoint(key, entry.seq, entry.entry_hash, entry.ts, key_id)
        checkpoint = Checkpoint(entry.seq, entry.entry_hash, entry.ts, signature, key_id)
        conn.execute(
            insert(audit_checkpoint),
            {
                "seq": checkpoint.seq,
                "entry_hash": checkpoint.entry_hash,
                "ts": checkpoint.ts,
                "signature": checkpoint.signature,
                "key_id": checkpoint.key_id,
            },
        )
        return checkpoint

    def checkpoint(self, key: Ed25519PrivateKey, key_id: str | None = None) -> Checkpoint:
        """Append a ``checkpoint`` entry and sign the chain's hash at it (key id: fingerprint)."""
        key_id = key_id or key_fingerprint(key.public_key())
        with self._write_transaction() as conn:
            return self._checkpoint_in(conn, key, key_id)

    def maybe_checkpoint(
        self,
        key: Ed25519PrivateKey,
        *,
        every_n_entries: int,
        max_age: timedelta | None = None,
        key_id: str | None = None,
    ) -> Checkpoint | None:
        """Checkpoint when ``every_n_entries`` entries follow the last checkpoint, or when any do
        and that checkpoint is older than ``max_age``; two indexed reads and no lock otherwise."""
        if every_n_entries < 1:
            raise ValueError("every_n_entries must be at least 1")
        try:
            with self._engine.connect() as conn:
                due = _checkpoint_due(conn, every_n_entries, max_age)
        except SQLAlchemyError as exc:
            raise AuditLogUnavailableError() from exc
        if not due:
            return None
        key_id = key_id or key_fingerprint(key.public_key())
        with self._write_transaction() as conn:
            if not _checkpoint_due(conn, every_n_entries, max_age):  # another writer beat us
                return None
            return self._checkpoint_in(conn, key, key_id)


def _checkpoint_due(conn: Connection, every_n: int, max_age: timedelta | None) -> bool:
    last = select(audit_checkpoint.c.seq, audit_checkpoint.c.ts).order_by(
        audit_checkpoint.c.seq.desc()
    )
    row = conn.execute(  # one round trip: the head, and the last checkpoint's seq and time
        select(
            select(func.max(audit_entry.c.seq)).scalar_subquery(),
            last.with_only_columns(audit_checkpoint.c.seq).limit(1).scalar_subquery(),
            last.with_only_columns(audit_checkpoint.c.ts).limit(1).scalar_subquery(),
        )
    ).one()
    head_seq, covered_seq, covered_ts = int(row[0] or 0), int(row[1] or 0), row[2]
    uncovered = head_seq - covered_seq
    if uncovered >= every_n:
        return True
    if max_age is None or uncovered == 0:
        return False
    return covered_ts is None or str(covered_ts) <= format_ts(datetime.now(UTC) - max_age)
