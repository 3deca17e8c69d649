"""The query log for security auditors: entries and chain verification (the review: review.py).

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial (search_api.auditor).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request

from common.errors import DomainError
from query_logs.audit import AuditKind, iter_entries, verify_log
from search_api.access import Access, access
from search_api.auditor import admit_auditor, audit_filters, check_period
from search_api.deps import Audit, CurrentUser, RecorderDep
from search_api.models.audit import EntryResponse, VerifyResponse

router = APIRouter(tags=["audit"])
AUDIT = access(Access.AUDIT)


@router.get("/audit/entries", response_model=list[EntryResponse], openapi_extra=AUDIT)
def entries(
    user: CurrentUser,
    recorder: RecorderDep,
    audit: Audit,
    actor: str | None = None,
    kind: AuditKind | None = None,
    case_id: str | None = None,
    application_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[EntryResponse]:
    auditor = admit_auditor(recorder, user)
    check_period(since, until)
    filters = audit_filters(actor=actor, kind=kind, case_id=case_id, application_id=application_id,
                            since=since, until=until)  # fmt: skip
    auditor.read({"entries": filters})
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
def verify(
    request: Request, user: CurrentUser, recorder: RecorderDep, audit: Audit
) -> VerifyResponse:
    admit_auditor(recorder, user).read({"verify": True})
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
