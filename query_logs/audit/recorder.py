"""The one writer of audit entries: the envelope built once, then deny, intent, done and read.

A `Recorder` is made per HTTP request (search_api builds its `Envelope` from the request: peer
address, matched route) or per command line (the CLI: ``route`` like ``xiansuo users add``, no
address). It knows nothing of HTTP. Every entry it writes carries the envelope (who, with which
roles, from where, on which route, under which application and case), and what people wrote
(parameters, purposes, case numbers, reasons, what was asked) passes through ``protect``, which
replaces every ID and phone number by its keyed pseudonym. Values the server made (counts, seqs,
digests, region codes read back from the store) go in ``facts`` and are logged as they are.

"Log the intent, then what was done": `intent` is committed before the change or query runs (a
log that cannot be written stops it with 503; what the log refuses to keep is not done:
`UnloggableInputError`), `done` says what happened, `deny` logs a refusal before it is raised.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection

from accounts.users import User
from common.errors import DomainError, InvalidInputError
from query_logs.audit.entries import AuditEntry, AuditEntryIn, AuditKind, AuditOutcome, Envelope
from query_logs.audit.log import AuditLog

log = structlog.get_logger(__name__)

Protect = Callable[[Any], Any]
"""Pseudonymises every ID and phone number in a value (search_api.masking.protect_identifiers
bound to the server's key); protecting twice changes nothing."""

# Appends between two probes for a due checkpoint (two reads); checkpoints fall due every
# `audit_checkpoint_every` entries (100 by default), so a probe every 16 appends is ample.
CHECKPOINT_PROBE_EVERY = 16

# The envelope's columns that hold what people wrote (pseudonymised like parameters).
TYPED_ENVELOPE = ("application_id", "case_id", "purpose")

WITHHELD = "what was asked is withheld: it holds credential-like or non-JSON text"


class UnloggableInputError(InvalidInputError):
    """The request holds text the log refuses to keep (a pasted token, a control character, a
    lone surrogate): what cannot be logged is not done."""

    def __init__(self) -> None:
        super().__init__(
            "the request holds text the query log cannot keep (a credential, a control "
            "character or invalid Unicode); remove it and ask again"
        )


def roles_text(user: User) -> str:
    """An account's roles as an entry's ``actor_role``: sorted, comma-separated."""
    return ",".join(sorted(user.roles))


@dataclass(slots=True)
class Checkpoints:
    """When the recorder signs the chain: a probe (two reads) every ``probe_every`` appends of
    this process, a checkpoint when ``every_n_entries`` entries or ``max_age`` call for one."""

    key: Ed25519PrivateKey
    every_n_entries: int
    max_age: timedelta | None = None
    probe_every: int = CHECKPOINT_PROBE_EVERY
    _appends: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def after_append(self, audit: AuditLog) -> None:
        """Checkpoint when due; a failure is only noted (the entry is committed already, and
        the next probe retries)."""
        if next(self._appends) % self.probe_every:
            return
        try:
            audit.maybe_checkpoint(
                self.key, every_n_entries=self.every_n_entries, max_age=self.max_age
            )
        except DomainError:
            log.warning("audit.checkpoint_failed")


@dataclass(frozen=True, slots=True)
class Recorder:
    """Writes the entries of one request or command line; see the module's docstring."""

    audit: AuditLog
    envelope: Envelope
    protect: Protect
    checkpoints: Checkpoints | None = None
    on_deny: Callable[[], None] | None = None  # told once a refusal is logged

    def by(self, user: User | None) -> Recorder:
        """This recorder acting as ``user`` (nobody when None: an unauthenticated refusal)."""
        if user is None:
            return self.named(None)
        return self._with(actor=user.username, actor_role=roles_text(user))

    def named(self, actor: str | None) -> Recorder:
        """This recorder acting as ``actor`` without roles (a failed login of a known name)."""
        return self._with(actor=actor, actor_role=None)

    def under(
        self,
        application_id: str | None = None,
        case_id: str | None = None,
        purpose: str | None = None,
    ) -> Recorder:
        """This recorder for entries under an application (and its case and purpose)."""
        return self._with(application_id=application_id, case_id=case_id, purpose=purpose)

    def _with(self, **changes: str | None) -> Recorder:
        return replace(self, envelope=replace(self.envelope, **changes))

    def deny(
        self,
        reason: str,
        *,
        params: Mapping[str, Any] | None = None,
        kind: AuditKind = AuditKind.DENIAL,
    ) -> None:
        """Log a refusal before the caller raises it.

        What a client typed can be unfit for the log (a JWT pasted into a query, a NUL
        character): the log refuses such an entry, and the denial is then written without the
        client's text (parameters, purpose, case), so that the refusal is still logged."""
        detail = {"reason": reason}
        try:
            self._append(kind, outcome=AuditOutcome.DENIED, params=params, detail=detail)
        except ValueError:
            bare = self._with(case_id=None, purpose=None)
            bare._append(kind, outcome=AuditOutcome.DENIED, facts={"reason": WITHHELD})
        if self.on_deny is not None:
            self.on_deny()

    def intent(
        self,
        kind: AuditKind,
        *,
        params: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        scope: Mapping[str, Any] | None = None,
        outcome: AuditOutcome | None = None,
        first: Callable[[Connection], None] | None = None,
    ) -> AuditEntry:
        """Commit what is about to be done, before it is done (write-ahead).

        ``first`` runs in the entry's transaction (the gate counts the quota there). ``scope``
        is logged as given (the caller made it log-safe). Raises `UnloggableInputError` when the
        log refuses what was asked: it is then not done."""
        try:
            return self._append(
                kind, params=params, detail=detail, scope=scope, outcome=outcome, first=first
            )
        except ValueError:
            raise UnloggableInputError() from None

    def done(
        self,
        kind: AuditKind,
        *,
        outcome: AuditOutcome = AuditOutcome.OK,
        params: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        hit_count: int | None = None,
        result_digest: str | None = None,
        duration_ms: float | None = None,
    ) -> AuditEntry:
        """Log what was done (what changed, a query's outcome, an export)."""
        return self._append(
            kind,
            outcome=outcome,
            params=params,
            detail=detail,
            facts=facts,
            hit_count=hit_count,
            result_digest=result_digest,
            duration_ms=duration_ms,
        )

    def read(
        self,
        what: Mapping[str, Any],
        *,
        kind: AuditKind = AuditKind.AUDIT_READ,
        params: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Log a read (of the log, of accounts, of cases) before anything is returned."""
        return self.done(kind, params=params, detail=what)

    def _append(
        self,
        kind: AuditKind,
        *,
        params: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        first: Callable[[Connection], None] | None = None,
        **columns: Any,
    ) -> AuditEntry:
        """The one place an entry is built: the envelope, what people wrote protected, facts and
        the other ``columns`` (outcome, scope, hit_count, ...) as they are; then appended and,
        when due, checkpointed. A log that cannot be written raises 503."""
        envelope, protect = self.envelope, self.protect
        typed = {  # what people wrote into the envelope: the application's id, case and purpose
            name: None if (text := getattr(envelope, name)) is None else str(protect(text))
            for name in TYPED_ENVELOPE
        }
        merged = None
        if detail is not None or facts is not None:
            merged = dict(protect(dict(detail or {}))) | dict(facts or {})
        entry = AuditEntryIn(
            **(asdict(envelope) | typed),
            kind=kind,
            params=None if params is None else protect(dict(params)),
            detail=merged,
            **columns,
        )
        written = self.audit.append(entry, first=first)
        if self.checkpoints is not None:
            self.checkpoints.after_append(self.audit)
        return written
