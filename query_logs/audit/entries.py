"""Log entries as plain data, their canonical form and their place in the hash chain.

An entry's hash is ``SHA-256(prev_hash || canonical_json(fields))`` over every stored field but
``entry_hash``; the JSON-valued fields (params, scope, detail) are hashed as the exact canonical
text that is stored, so verifying never depends on re-parsing JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of entry 1."""

HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "ts",
    "kind",
    "actor",
    "actor_role",
    "source_ip",
    "route",
    "application_id",
    "case_id",
    "purpose",
    "params",
    "scope",
    "outcome",
    "hit_count",
    "result_digest",
    "duration_ms",
    "detail",
    "prev_hash",
)
"""Fixed on purpose: a column added later must not change the hash of the entries before it."""


class AuditKind(StrEnum):
    """What an entry records."""

    QUERY_REQUEST = "query_request"
    QUERY_OUTCOME = "query_outcome"
    DENIAL = "denial"
    LOGIN_OK = "login_ok"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    USER_CHANGE = "user_change"
    ROLE_CHANGE = "role_change"
    APPLICATION_REQUEST = "application_request"
    APPLICATION_DECISION = "application_decision"
    GRANT_CHANGE = "grant_change"
    CASE_CHANGE = "case_change"  # a case opened, a member added or removed
    EXPORT = "export"
    AUDIT_READ = "audit_read"
    ADMIN_ACTION = "admin_action"
    NOTIFICATION = "notification"  # notifications a watch or standing run produced (布控)
    CHECKPOINT = "checkpoint"


class AuditOutcome(StrEnum):
    """How the recorded action ended."""

    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """Who acts, from where, on which route, and under which application and case: the columns
    every entry of one request (or command line) shares; built once, by the Recorder's caller."""

    actor: str | None = None
    actor_role: str | None = None
    source_ip: str | None = None
    route: str | None = None
    application_id: str | None = None
    case_id: str | None = None
    purpose: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntryIn(Envelope):
    """An envelope and what happened: what the Recorder hands to ``AuditLog.append``; the log
    assigns seq, ts and the hashes."""

    kind: AuditKind
    params: Mapping[str, Any] | None = None
    scope: Mapping[str, Any] | None = None
    outcome: AuditOutcome | None = None
    hit_count: int | None = None
    result_digest: str | None = None
    duration_ms: float | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One stored entry, exactly as in the database (params, scope, detail are JSON text)."""

    seq: int
    ts: str
    kind: str
    actor: str | None
    actor_role: str | None
    source_ip: str | None
    route: str | None
    application_id: str | None
    case_id: str | None
    purpose: str | None
    params: str | None
    scope: str | None
    outcome: str | None
    hit_count: int | None
    result_digest: str | None
    duration_ms: float | None
    detail: str | None
    prev_hash: str
    entry_hash: str

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AuditEntry:
        """An entry from a result row of the ``audit_entry`` table."""
        return cls(**{name: row[name] for name in (*HASHED_FIELDS, "entry_hash")})


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, non-ASCII kept, UTF-8; NaN and infinities refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_entry_hash(prev_hash: str, fields: Mapping[Any, Any]) -> str:
    """``SHA-256(prev_hash || canonical_json(fields))`` in lower-case hex (entry_hash ignored)."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()


def format_ts(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: fixed width, so the text sorts as the time does."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest_record_ids(record_ids: Iterable[str]) -> str:
    """SHA-256 of the sorted record ids (canonical JSON array): order-free, so re-runs compare."""
    return hashlib.sha256(canonical_json(sorted(record_ids))).hexdigest()


# Key names that carry credentials; matched on whole words of the key (camelCase and -/space split).
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "token", "authorization", "cookie"}
    | {"credential", "credentials", "apikey", "jwt", "otp", "bearer"}
)
_SECRET_COMPOUNDS = ("api_key", "private_key", "session_id", "set_cookie")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
# A whole "Bearer <token>" value, or anything shaped like a JWT (base64url '{"' header).
_CREDENTIAL_VALUE = re.compile(r"^\s*bearer\s+[\w.~+/-]{16,}=*\s*$|eyJ[\w-]{5,}\.[\w-]{5,}\.", re.I)


def _is_secret_key(key: str) -> bool:
    snake = "_".join(w for w in _WORD_SPLIT.split(_CAMEL.sub("_", key).lower()) if w)
    words = set(snake.split("_"))
    return bool(words & _SECRET_WORDS) or any(f"_{c}_" in f"_{snake}_" for c in _SECRET_COMPOUNDS)


def find_secret(value: Any, path: str = "") -> str | None:
    """The path of the first credential-like key or bearer/JWT value in ``value``, else None."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _is_secret_key(str(key)):
                return where
            if (found := find_secret(item, where)) is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := find_secret(item, f"{path}[{index}]")) is not None:
                return found
    elif isinstance(value, str) and _CREDENTIAL_VALUE.search(value):
        return path or "<value>"
    return None


def _json_text(name: str, value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    if (where := find_secret(value)) is not None:
        raise ValueError(f"audit {name} must not hold credentials (found at {where!r})")
    try:
        return canonical_json(value).decode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit {name} is not plain JSON: {exc}") from exc


def _check_text(name: str, text: str) -> None:
    """A text column (purpose, case, route...) is held to the rules of the JSON fields: no NUL
    character, and no credential (a JWT typed into an application's purpose is refused)."""
    if "\x00" in text:
        raise ValueError(f"audit {name} must not contain NUL characters")
    if find_secret(text) is not None:
        raise ValueError(f"audit {name} must not hold credentials")


def prepare_fields(entry: AuditEntryIn) -> dict[str, Any]:
    """The stored values of ``entry`` (without seq, ts and hashes); ValueError when unfit to log."""
    if not isinstance(entry.kind, AuditKind):
        raise ValueError(f"unknown audit kind {entry.kind!r}")
    if entry.hit_count is not None and (
        isinstance(entry.hit_count, bool) or not isinstance(entry.hit_count, int)
    ):
        raise ValueError("hit_count must be an integer")
    fields: dict[str, Any] = {
        "kind": entry.kind.value,
        "actor": entry.actor,
        "actor_role": entry.actor_role,
        "source_ip": entry.source_ip,
        "route": entry.route,
        "application_id": entry.application_id,
        "case_id": entry.case_id,
        "purpose": entry.purpose,
        "outcome": None if entry.outcome is None else AuditOutcome(entry.outcome).value,
        "hit_count": entry.hit_count,
        "result_digest": entry.result_digest,
        # Stored as a double and hashed as its repr: normalise so the round trip is exact.
        "duration_ms": None if entry.duration_ms is None else round(float(entry.duration_ms), 3),
    }
    for name, text in fields.items():
        if isinstance(text, str):
            _check_text(name, text)
    fields["params"] = _json_text("params", entry.params)
    fields["scope"] = _json_text("scope", entry.scope)
    fields["detail"] = _json_text("detail", entry.detail)
    try:  # NaN/inf durations and lone surrogates cannot be hashed exactly: refuse before writing
        canonical_json(fields)
    except ValueError as exc:
        raise ValueError(f"audit entry is not plain JSON: {exc}") from exc
    return fields


def load_json(text: str | None) -> Any:
    """The value of a stored JSON field (params, scope, detail)."""
    return None if text is None else json.loads(text)
