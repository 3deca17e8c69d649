"""Query applications (查询申请): file, decide, revoke, read. No registry data here.

Filing, deciding and revoking are written ahead by the desk (search_api.desk): an
``admin_action`` intent is committed before the store changes, then the
``application_request`` / ``application_decision`` entry; every refusal is a denial. Cases are
search_api.routers.cases'.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from accounts.roles import Permission, role_rules
from accounts.user_fields import jurisdiction_covers
from common.db import RowId
from common.errors import PermissionDeniedError
from query_logs.applications import get_application
from search_api import approvals
from search_api.access import Access, access
from search_api.applicant_desk import file_under_case
from search_api.approvals import DecisionRequest
from search_api.deps import CurrentUser, Database, HandlesDep
from search_api.desk import ApplicantDesk, ApproverDesk, RevokerDesk
from search_api.models.applications import ApplicationRequest, ApplicationResponse

router = APIRouter(tags=["applications"])
AUTH = access(Access.AUTH)


@router.post(
    "/applications", response_model=ApplicationResponse, status_code=201, openapi_extra=AUTH
)
def file(body: ApplicationRequest, desk: ApplicantDesk, handles: HandlesDep) -> ApplicationResponse:
    """File under a case the caller owns or is a member of; written ahead (intent, then the
    ``application_request``), each refusal a denial (search_api.applicant_desk)."""
    return ApplicationResponse.of(file_under_case(desk, body, handles), datetime.now(UTC))


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
