"""The query log for security auditors: entries and chain verification (the review: review.py).

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial. The review's own-household rule needs household membership: this router looks up the
户号 of the reviewed users' own ID numbers in the household index, through the provider, and logs
that as one more ``audit_read`` naming the users (never an ID). Nothing read from the index
leaves the server: the review receives only pseudonym tags made with the gate's key.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from accounts.roles import Permission, require_permission
from accounts.users import User
from common.errors import DomainError, InvalidInputError, PermissionDeniedError
from query_logs.audit import (
    AuditEntryIn,
    AuditKind,
    AuditOutcome,
    iter_entries,
    verify_log,
)
from search_api.access import Access, access
from search_api.deps import (
    Audit,
    CurrentUser,
    Database,
    client_ip,
    deny,
    record,
    route_of,
)

router = APIRouter(tags=["audit"])
AUDIT = access(Access.AUDIT)


class EntryResponse(BaseModel):
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
    entry_hash: str


class VerifyResponse(BaseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None
    reason: str | None


def log_audit_read(
    request: Request, audit: Audit, user: CurrentUser, what: dict[str, object]
) -> None:
    record(audit, request, AuditEntryIn(
        kind=AuditKind.AUDIT_READ, actor=user.username, actor_role=",".join(sorted(user.roles)),
        source_ip=client_ip(request), route=route_of(request),
        outcome=AuditOutcome.OK, detail=what,
    ))  # fmt: skip


def require_auditor(request: Request, audit: Audit, user: User) -> None:
    """403 unless the user may read the log; the refusal is logged first."""
    try:
        require_permission(user.roles, Permission.READ_AUDIT_LOG)
    except PermissionDeniedError as exc:
        deny(audit, request, user, exc.detail)
        raise


def audit_filters(**values: object) -> dict[str, object]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in values.items()
        if v is not None
    }


@router.get("/audit/entries", response_model=list[EntryResponse], openapi_extra=AUDIT)
def entries(
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    actor: str | None = None,
    kind: AuditKind | None = None,
    case_id: str | None = None,
    application_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[EntryResponse]:
    require_auditor(request, audit, user)
    check_period(since, until)
    filters = audit_filters(actor=actor, kind=kind, case_id=case_id, application_id=application_id,
                       since=since, until=until)  # fmt: skip
    log_audit_read(request, audit, user, {"entries": filters})
    found = iter_entries(
        audit.engine, actor=actor, kind=kind, case_id=case_id, application_id=application_id,
        since=since, until=until, newest_first=True, limit=limit,
    )  # fmt: skip
    try:
        return [EntryResponse.model_validate(e, from_attributes=True) for e in found]
    finally:
        close = getattr(found, "close", None)
        if close is not None:
            close()


@router.get("/audit/verify", response_model=VerifyResponse, openapi_extra=AUDIT)
def verify(request: Request, user: CurrentUser, audit: Audit, db: Database) -> VerifyResponse:
    require_auditor(request, audit, user)
    log_audit_read(request, audit, user, {"verify": True})
    public_key = getattr(request.app.state, "audit_public_key", None)
    if public_key is None:
        raise DomainError("no checkpoint key is configured")
    report = verify_log(audit.engine, public_key)
    return VerifyResponse(
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        first_bad_seq=report.first_bad_seq,
        reason=report.reason,
    )


# --- review -------------------------------------------------------------------------------------


def check_period(since: datetime | None, until: datetime | None) -> None:
    for moment in (since, until):
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise InvalidInputError(
                "since and until need a time zone (e.g. 2024-05-01T00:00+08:00)"
            )
        try:  # 9999-12-31T23:00-14:00 is a valid datetime but no UTC one: the log is in UTC
            moment.astimezone(UTC)
        except OverflowError:
            raise InvalidInputError(
                "since and until must lie within the years 1 to 9999 in UTC"
            ) from None
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("since must be before until")
