"""The tamper-evident, write-ahead query log: a hash chain with signed checkpoints.

Entries are written by a `Recorder` (the envelope built once: deny, intent, done, read) and
appended (never updated or deleted: triggers refuse it in SQLite and PostgreSQL),
each committed durably before ``AuditLog.append`` returns; ``verify_log`` recomputes the chain and
names the first bad entry.
"""

from query_logs.audit.entries import (
    GENESIS_HASH,
    AuditEntry,
    AuditEntryIn,
    AuditKind,
    AuditOutcome,
    Envelope,
    canonical_json,
    compute_entry_hash,
    digest_record_ids,
    find_secret,
    load_json,
)
from query_logs.audit.log import AuditLog, AuditLogUnavailableError, Checkpoint, read_head
from query_logs.audit.read import iter_entries
from query_logs.audit.recorder import (
    Checkpoints,
    Protect,
    Recorder,
    UnloggableInputError,
    roles_text,
)
from query_logs.audit.schema import audit_checkpoint, audit_entry
from query_logs.audit.signing import (
    checkpoint_payload,
    generate_signing_key,
    key_fingerprint,
    load_public_key,
    load_signing_key,
    public_key_path,
)
from query_logs.audit.verify import VerifyReport, verify_log

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditEntryIn",
    "AuditKind",
    "AuditLog",
    "AuditLogUnavailableError",
    "AuditOutcome",
    "Checkpoint",
    "Checkpoints",
    "Envelope",
    "Protect",
    "Recorder",
    "UnloggableInputError",
    "VerifyReport",
    "audit_checkpoint",
    "audit_entry",
    "canonical_json",
    "checkpoint_payload",
    "compute_entry_hash",
    "digest_record_ids",
    "find_secret",
    "generate_signing_key",
    "iter_entries",
    "key_fingerprint",
    "load_json",
    "load_public_key",
    "load_signing_key",
    "public_key_path",
    "read_head",
    "roles_text",
    "verify_log",
]
