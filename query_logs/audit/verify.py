"""Recompute the chain from genesis and check every signed checkpoint; name the first bad entry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, RowMapping, Table, func, select
from sqlalchemy.exc import SQLAlchemyError

from query_logs.audit.entries import GENESIS_HASH, AuditEntry, AuditKind, compute_entry_hash
from query_logs.audit.log import AuditLogUnavailableError
from query_logs.audit.schema import audit_checkpoint, audit_entry
from query_logs.audit.signing import signature_is_valid

_BATCH = 2000  # rows per round trip of the streaming cursors


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``verify_log`` found; ``first_bad_seq`` and ``reason`` are None when ``ok``."""

    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    last_checkpoint_seq: int | None = None


class _BadEntryError(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def _stream(conn: Connection, table: Table, last_seq: int) -> Iterator[RowMapping]:
    query = select(table).where(table.c.seq <= last_seq).order_by(table.c.seq)
    # yield_per: a server-side cursor on PostgreSQL, so the log is never held in memory whole
    yield from conn.execution_options(yield_per=_BATCH).execute(query).mappings()


class _Verifier:
    def __init__(self, keys: Ed25519PublicKey | Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = keys
        self.entries = 0
        self.checkpoints = 0
        self.last_checkpoint: int | None = None

    def _key(self, key_id: str) -> Ed25519PublicKey | None:
        if isinstance(self.keys, Ed25519PublicKey):
            return self.keys
        return self.keys.get(key_id)

    def _check_checkpoint(self, entry: AuditEntry, row: RowMapping | None) -> None:
        seq = entry.seq
        if row is None or row["seq"] != seq:
            raise _BadEntryError(seq, f"checkpoint entry {seq} has no signed checkpoint row")
        if row["entry_hash"] != entry.entry_hash:
            since = self.last_checkpoint or 0
            raise _BadEntryError(
                seq, f"chain hash at {seq} differs from the signed one (rewritten after {since})"
            )
        key_id, ts, signature = str(row["key_id"]), str(row["ts"]), str(row["signature"])
        key = self._key(key_id)
        if key is None:
            raise _BadEntryError(seq, f"checkpoint {seq} is signed by unknown key {key_id!r}")
        if not signature_is_valid(key, signature, seq, entry.entry_hash, ts, key_id):
            raise _BadEntryError(seq, f"checkpoint {seq}: the signature does not verify")
        self.checkpoints += 1
        self.last_checkpoint = seq

    def run(self, entries: Iterator[RowMapping], rows: Iterator[RowMapping]) -> int:
        running, expected = GENESIS_HASH, 1
        pending = next(rows, None)
        for raw in entries:
            entry = AuditEntry.from_row(raw)
            if entry.seq != expected:
                raise _BadEntryError(
                    expected, f"entry {expected} is missing (the next one is {entry.seq})"
                )
            if entry.prev_hash != running:
                raise _BadEntryError(
                    expected, f"prev_hash of entry {expected} does not link to the chain"
                )
            if compute_entry_hash(running, raw) != entry.entry_hash:
                raise _BadEntryError(
                    expected, f"entry {expected} does not match its hash (altered)"
                )
            running = entry.entry_hash
            if entry.kind == AuditKind.CHECKPOINT:
                self._check_checkpoint(entry, pending)
                pending = next(rows, None)
            elif pending is not None and pending["seq"] <= expected:
                bad = int(pending["seq"])
                raise _BadEntryError(bad, f"checkpoint row {bad} is on no checkpoint entry")
            self.entries += 1
            expected += 1
        if pending is not None:
            bad = int(pending["seq"])
            raise _BadEntryError(
                bad, f"checkpoint {bad} lies beyond the last entry {expected - 1} (truncated)"
            )
        return expected - 1


def verify_log(
    engine: Engine, public_key: Ed25519PublicKey | Mapping[str, Ed25519PublicKey]
) -> VerifyReport:
    """Check seq contiguity, every link and hash, and every checkpoint (its row, its hash at that
    seq and its signature). ``public_key``: one key, or key id -> key when keys were rotated."""
    verifier = _Verifier(public_key)
    try:
        with engine.connect() as conn:
            # Checkpoints first: every checkpoint committed by then has its entry below the
            # entries' head, so a checkpoint beyond that head is an orphan, not a race.
            checkpoint_head = conn.scalar(
                select(func.coalesce(func.max(audit_checkpoint.c.seq), 0))
            )
            entry_head = conn.scalar(select(func.coalesce(func.max(audit_entry.c.seq), 0)))
            entries = _stream(conn, audit_entry, int(entry_head or 0))
            rows = _stream(conn, audit_checkpoint, int(checkpoint_head or 0))
            try:
                head = verifier.run(entries, rows)
            except _BadEntryError as bad:
                return VerifyReport(
                    ok=False,
                    entries_checked=verifier.entries,
                    checkpoints_checked=verifier.checkpoints,
                    first_bad_seq=bad.seq,
                    reason=bad.reason,
                    head_seq=int(entry_head or 0),
                    last_checkpoint_seq=verifier.last_checkpoint,
                )
    except SQLAlchemyError as exc:
        raise AuditLogUnavailableError() from exc
    return VerifyReport(
        ok=True,
        entries_checked=verifier.entries,
        checkpoints_checked=verifier.checkpoints,
        head_seq=head,
        last_checkpoint_seq=verifier.last_checkpoint,
    )
