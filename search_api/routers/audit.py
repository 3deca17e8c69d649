"""The query log for security auditors: entries and chain verification (the review: review.py).

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial (search_api.auditor). What each route does is search_api.log_review's (shared with the
日志审查 page).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request

from common.db import RowId
from query_logs.audit import AuditKind, AuditOutcome
from search_api import log_review
from search_api.access import Access, access
from search_api.deps import Audit, CurrentUser, RecorderDep
from search_api.log_review import EntryFilters
from search_api.models.audit import EntryResponse, VerifyResponse

router = APIRouter(tags=["audit"])
AUDIT = access(Access.AUDIT)
PUBLIC_KEY = "audit_public_key"  # app.state: the checkpoints' verification key


@router.get("/audit/entries", response_model=list[EntryResponse], openapi_extra=AUDIT)
def entries(
    user: CurrentUser,
    recorder: RecorderDep,
    audit: Audit,
    actor: str | None = None,
    kind: AuditKind | None = None,
    outcome: AuditOutcome | None = None,
    case_id: str | None = None,
    application_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: RowId | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[EntryResponse]:
    filters = EntryFilters(actor=actor, kind=kind, outcome=outcome, case_id=case_id,
                           application_id=application_id, since=since, until=until,
                           before_seq=before_seq, limit=limit)  # fmt: skip
    return log_review.read_entries(recorder, user, audit, filters)


@router.get("/audit/verify", response_model=VerifyResponse, openapi_extra=AUDIT)
def verify(
    request: Request, user: CurrentUser, recorder: RecorderDep, audit: Audit
) -> VerifyResponse:
    public_key = getattr(request.app.state, PUBLIC_KEY, None)
    return log_review.verify_chain(recorder, user, audit, public_key).result
