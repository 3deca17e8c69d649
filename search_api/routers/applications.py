"""Query applications (查询申请): file, decide, revoke, read. No registry data here.

Filing, deciding and revoking are written ahead by the desk (search_api.desk): an
``admin_action`` intent is committed before the store changes, then the
``application_request`` / ``application_decision`` entry; every refusal is a denial. Cases are
search_api.routers.cases'.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from accounts.roles import Permission, role_rules
from accounts.user_fields import jurisdiction_covers
from common.db import RowId
from common.errors import PermissionDeniedError
from query_logs.applications import (
    MAX_PURPOSE_CHARS,
    MAX_SUBJECTS,
    MAX_VALID_DAYS,
    file_application,
    get_application,
    parse_subject,
)
from query_logs.audit import AuditKind
from query_logs.cases import get_case, require_case_access
from query_logs.grants import active_grant_regions
from search_api import approvals
from search_api.access import Access, access
from search_api.approvals import DecisionRequest
from search_api.deps import CurrentUser, Database, HandlesDep
from search_api.desk import Action, ApplicantDesk, ApproverDesk, RevokerDesk
from search_api.models.applications import ApplicationResponse

router = APIRouter(tags=["applications"])
AUTH = access(Access.AUTH)


class SubjectRequest(BaseModel):
    kind: str
    value: str = Field(min_length=1, max_length=64)


class ApplicationRequest(BaseModel):
    case_id: RowId
    purpose: str = Field(max_length=MAX_PURPOSE_CHARS)
    category: str
    sources: list[str] = Field(min_length=1, max_length=9)
    regions: list[str] = Field(min_length=1, max_length=50)
    subjects: list[SubjectRequest] = Field(default_factory=list, max_length=MAX_SUBJECTS)
    unmask: bool = False
    export: bool = False
    valid_days: int = Field(default=30, ge=1, le=MAX_VALID_DAYS)


@router.post(
    "/applications", response_model=ApplicationResponse, status_code=201, openapi_extra=AUTH
)
def file(body: ApplicationRequest, desk: ApplicantDesk, handles: HandlesDep) -> ApplicationResponse:
    """File under a case the caller owns or is a member of; written ahead (intent, then the
    ``application_request``), each refusal a denial."""
    now, action = datetime.now(UTC), Action.FILE_APPLICATION
    with desk.refusals(action, f"case {body.case_id}"):
        case = get_case(desk.db, body.case_id)
        require_case_access(case, desk.actor)
        # A subject of kind "handle" is resolved here to the person's number (search_api.handles).
        subjects = [parse_subject(s.kind, s.value, handles.open) for s in body.subjects]
    asked = {
        "sources": body.sources,
        "regions": body.regions,
        "subjects": [{"kind": s.kind, "value": s.value} for s in subjects],
        "unmask": body.unmask,
        "export": body.export,
        "valid_days": body.valid_days,
    }
    with desk.change(action, case.case_no, asked, case_id=case.case_no, purpose=body.purpose):
        app = file_application(
            desk.db,
            desk.actor,
            case_id=case.id,
            purpose=body.purpose,
            category=body.category,
            sources=body.sources,
            regions=body.regions,
            subjects=subjects,
            unmask=body.unmask,
            export=body.export,
            valid_days=body.valid_days,
            now=now,
            grant_regions=active_grant_regions(desk.db, desk.actor.id, now),
        )
    filed = {"sources": sorted(app.sources), "state": str(app.state),
             "subjects": [{"kind": s.kind, "value": s.value} for s in app.subjects],
             "unmask": app.unmask, "export": app.export}  # fmt: skip
    desk.done(AuditKind.APPLICATION_REQUEST, action, case.case_no, filed,
              {"regions": list(app.regions)}, **approvals.under_application(app))  # fmt: skip
    return ApplicationResponse.of(app, now)


@router.post("/applications/{application_id}/decision", response_model=ApplicationResponse,
             openapi_extra=AUTH)  # fmt: skip
def decide(application_id: RowId, body: DecisionRequest, desk: ApproverDesk) -> ApplicationResponse:
    return approvals.decide(desk, application_id, body)


@router.post("/applications/{application_id}/revoke", response_model=ApplicationResponse,
             openapi_extra=AUTH)  # fmt: skip
def revoke(application_id: RowId, desk: RevokerDesk) -> ApplicationResponse:
    return approvals.revoke(desk, application_id)


@router.get("/approvals/applications", response_model=list[ApplicationResponse],
            openapi_extra=AUTH)  # fmt: skip
def pending(desk: ApproverDesk) -> list[ApplicationResponse]:
    """The pending applications the caller may decide (another's, within their jurisdiction)."""
    return approvals.pending_applications(desk)


@router.get(
    "/applications/{application_id}", response_model=ApplicationResponse, openapi_extra=AUTH
)
def read(application_id: RowId, user: CurrentUser, db: Database) -> ApplicationResponse:
    """The applicant and approvers over its regions read it; any other reader is refused (a
    denial logged by the app's handler, like every refusal no route logs itself)."""
    app = get_application(db, application_id)
    approver = Permission.APPROVE in role_rules().permissions_of(user.roles) and all(
        jurisdiction_covers(user.jurisdiction, r) for r in app.regions
    )
    if app.applicant_id != user.id and not approver:
        raise PermissionDeniedError("only the applicant and approvers over its regions may read it")
    return ApplicationResponse.of(app, datetime.now(UTC))
