"""Query applications (查询申请): file, decide, revoke, read. No registry data here.

Filing, deciding and revoking are written ahead by the desk (search_api.desk): an
``admin_action`` intent is committed before the store changes, then the
``application_request`` / ``application_decision`` entry; every refusal is a denial. Cases are
search_api.routers.cases'.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from accounts.roles import Permission, role_rules
from accounts.user_fields import jurisdiction_covers
from common.db import RowId
from common.errors import PermissionDeniedError
from query_logs.applications import (
    Application,
    decide_application,
    get_application,
    revoke_application,
)
from query_logs.audit import AuditKind
from search_api.access import Access, access
from search_api.applicant_desk import file_under_case
from search_api.deps import CurrentUser, Database, HandlesDep
from search_api.desk import Action, ApplicantDesk, ApproverDesk, Desk, RevokerDesk
from search_api.models.applications import ApplicationRequest, ApplicationResponse

router = APIRouter(tags=["applications"])
AUTH = access(Access.AUTH)


class DecisionRequest(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=1000)


def _under(app: Application) -> dict[str, str]:
    """The application's place in an entry: its id, its case, its purpose (the recorder
    pseudonymises numbers in them)."""
    return {"application_id": str(app.id), "case_id": app.case_no, "purpose": app.purpose}


@router.post(
    "/applications", response_model=ApplicationResponse, status_code=201, openapi_extra=AUTH
)
def file(body: ApplicationRequest, desk: ApplicantDesk, handles: HandlesDep) -> ApplicationResponse:
    """File under a case the caller owns or is a member of; written ahead (intent, then the
    ``application_request``), each refusal a denial (search_api.applicant_desk)."""
    return ApplicationResponse.of(file_under_case(desk, body, handles), datetime.now(UTC))


def _change_state(
    desk: Desk,
    application_id: int,
    action: Action,
    asked: dict[str, Any],
    apply: Callable[[], Application],
) -> ApplicationResponse:
    """Decide or revoke: the application is found (a logged 404), the intent is written, then
    ``apply`` (query_logs' rules: self-approval, jurisdiction, state; refusals are denials)."""
    target = f"application {application_id}"
    with desk.refusals(action, target):
        before = get_application(desk.db, application_id)
    with desk.change(action, target, asked, **_under(before)):
        after = apply()
    changed = asked | {"state": {"before": str(before.state), "after": str(after.state)}}
    desk.done(AuditKind.APPLICATION_DECISION, action, target, changed,
              {"regions": list(after.regions)}, **_under(after))  # fmt: skip
    return ApplicationResponse.of(after, datetime.now(UTC))


@router.post("/applications/{application_id}/decision", response_model=ApplicationResponse,
             openapi_extra=AUTH)  # fmt: skip
def decide(application_id: RowId, body: DecisionRequest, desk: ApproverDesk) -> ApplicationResponse:
    def apply() -> Application:
        return decide_application(desk.db, desk.actor, application_id, approve=body.approve,
                                  note=body.note, now=datetime.now(UTC))  # fmt: skip

    asked = {"approve": body.approve, "note": body.note}
    return _change_state(desk, application_id, Action.DECIDE_APPLICATION, asked, apply)


@router.post("/applications/{application_id}/revoke", response_model=ApplicationResponse,
             openapi_extra=AUTH)  # fmt: skip
def revoke(application_id: RowId, desk: RevokerDesk) -> ApplicationResponse:
    def apply() -> Application:
        return revoke_application(desk.db, desk.actor, application_id, datetime.now(UTC))

    return _change_state(desk, application_id, Action.REVOKE_APPLICATION, {"revoke": True}, apply)


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
