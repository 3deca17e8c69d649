"""The writer: serialised, durable appends to the hash chain, and signed checkpoints.

On SQLite, appends from concurrent threads of one process are group-committed (on PostgreSQL
each keeps its own transaction: ``GROUP_COMMIT_DIALECTS``): an appender queues its entry
and then waits for the writer's lock; whoever holds it takes every entry queued by then and
commits them in one transaction (one lock, one head read, one fsync), in queue order. Each
caller returns only once the commit holding its entry is durable, so the write-ahead guarantee
is per entry as before; seq order is commit order. Across processes the database's own lock
(``begin_serialised``) still serialises the batches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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

# Where concurrent appends of one process share a commit. SQLite: measured ×1.35–4 entries/s at
# 8–64 threads (benchmarks/load_bench.py; its writers otherwise meet in SQLite's sleeping busy
# handler). PostgreSQL: measured slower (×0.3–0.9) on the shared 2-core machine, where one
# connection doing a batch's round trips got less CPU than eight backends each doing their own;
# there each append keeps its own transaction (the advisory lock orders them, and PostgreSQL
# already flushes concurrent commits' WAL together). See docs/scale.md, "Governed throughput".
GROUP_COMMIT_DIALECTS = frozenset({"sqlite"})


@dataclass(slots=True, eq=False)
class _Pending:
    """One queued append: its stored fields and ``first`` step in, its entry or error out."""

    fields: dict[str, Any]
    first: Callable[[Connection], None] | None
    entry: AuditEntry | None = None
    error: BaseException | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.entry is not None or self.error is not None


def read_head(conn: Connection) -> tuple[int, str]:
    """The last entry's (seq, entry_hash), or (0, GENESIS_HASH) for an empty log."""
    row = conn.execute(_HEAD).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.entry_hash))


class AuditLog:
    """Appends entries to the chain in the SQL store; one instance per engine and process (the
    instance is what groups concurrent appends: see the module's docstring).

    Every write runs in one transaction that first takes the writers' lock (see
    ``begin_serialised``), reads the head, inserts the next entries and commits durably before
    the calls return: a returned entry is on disk. Any database failure becomes
    ``AuditLogUnavailableError`` and nothing of that transaction is written.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()  # held only to add to or take the queue
        self._writer = threading.Lock()  # held by the thread committing a batch or checkpoint

    @property
    def engine(self) -> Engine:
        """The store this log writes to."""
        return self._engine

    @contextmanager
    def _write_transaction(self) -> Iterator[Connection]:
        try:
            with self._writer, self._engine.connect() as conn:
                begin_serialised(conn)
                yield conn
                conn.commit()
        except SQLAlchemyError as exc:
            raise AuditLogUnavailableError() from exc

    def _insert_next(self, conn: Connection, fields: dict[str, Any]) -> AuditEntry:
        head_seq, head_hash = read_head(conn)
        row = _link(fields, head_seq, head_hash)
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
        pending = _Pending(prepare_fields(entry), first)
        if self._engine.dialect.name not in GROUP_COMMIT_DIALECTS:
            self._commit_batch([pending])  # its own transaction; the database's lock orders it
            return _settled(pending)
        with self._queue_lock:
            self._queue.append(pending)
        with self._writer:  # the previous batch is committed by now; it may have held ours
            if not pending.finished:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit_batch(batch)
        return _settled(pending)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Commit ``batch`` in one transaction, in order; finish every entry of it (an entry, or
        the error its caller raises). Raises only an interrupt: other threads wait on these
        entries, so a failure is theirs to raise.

        A ``first`` step that fails (a spent quota) fails its own entry only: the transaction is
        rolled back and run again without it (the other steps run again too, undone with it).
        Failures are rare, so this costs less than a savepoint round trip around every step."""
        todo = batch
        while todo:
            try:
                linked = self._try_batch(todo)
            except _StepFailedError:  # that entry holds its error now; the rest go again
                todo = [pending for pending in todo if pending.error is None]
                continue
            except BaseException as exc:  # handed to every caller of the batch
                for pending in todo:
                    pending.error = AuditLogUnavailableError()
                    pending.error.__cause__ = exc
                if not isinstance(exc, Exception):
                    raise  # an interrupt: the batch is finished (failed), the leader stops
                return
            for pending, row in linked:
                pending.entry = AuditEntry.from_row(row)
            return

    def _try_batch(self, todo: list[_Pending]) -> list[tuple[_Pending, dict[str, Any]]]:
        """One transaction for ``todo``: the lock, the head, each step and link, one insert, the
        commit. Raises _StepFailedError (rolled back) when a step fails, its error kept."""
        linked: list[tuple[_Pending, dict[str, Any]]] = []
        with self._engine.connect() as conn:  # closed uncommitted: rolled back
            begin_serialised(conn)
            head_seq, head_hash = read_head(conn)
            for pending in todo:
                if pending.first is not None:
                    _run_first(conn, pending)
                row = _link(pending.fields, head_seq, head_hash)
                head_seq, head_hash = row["seq"], row["entry_hash"]
                linked.append((pending, row))
            conn.execute(_INSERT, [row for _, row in linked])  # one statement; compiled once
            conn.commit()
        return linked

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


def _settled(pending: _Pending) -> AuditEntry:
    """The committed entry, or the error its batch gave it, raised."""
    if pending.error is not None:
        raise pending.error
    assert pending.entry is not None  # noqa: S101 - _commit_batch finishes every entry
    return pending.entry


def _link(fields: dict[str, Any], head_seq: int, head_hash: str) -> dict[str, Any]:
    """The row that follows the head (seq, hash): the fields, the time now and the hashes."""
    row = {
        **fields,
        "seq": head_seq + 1,
        "ts": format_ts(datetime.now(UTC)),
        "prev_hash": head_hash,
    }
    row["entry_hash"] = compute_entry_hash(head_hash, row)
    return row


class _StepFailedError(Exception):
    """A batch entry's ``first`` step failed; the entry holds the error its caller raises."""


def _run_first(conn: Connection, pending: _Pending) -> None:
    """Run the entry's ``first`` step. On failure, keep the error for its caller (a database
    error as the log being unavailable, anything else, such as a spent quota, as raised) and
    raise _StepFailedError so the batch is rolled back and run again without it."""
    assert pending.first is not None  # noqa: S101 - the caller checked
    try:
        pending.first(conn)
    except Exception as exc:
        if isinstance(exc, SQLAlchemyError):
            pending.error = AuditLogUnavailableError()
            pending.error.__cause__ = exc
        else:
            pending.error = exc
        raise _StepFailedError from exc


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
