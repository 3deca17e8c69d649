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
from comparison.definitions import shipped_catalogue
from query_logs.applications import (
    MAX_MODELS,
    MAX_PURPOSE_CHARS,
    MAX_SUBJECTS,
    MAX_VALID_DAYS,
    Application,
    decide_application,
    file_application,
    get_application,
    parse_subject,
    revoke_application,
)
from query_logs.audit import AuditKind
from query_logs.cases import get_case, require_case_access
from query_logs.grants import active_grant_regions
from search_api.access import Access, access
from search_api.deps import CurrentUser, Database, HandlesDep
from search_api.desk import Action, ApplicantDesk, ApproverDesk, Desk, RevokerDesk
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
    # the comparison models a 专项核查 application may run (GET /models lists them)
    models: list[str] = Field(default_factory=list, max_length=MAX_MODELS)


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
        "models": body.models,
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
            models=body.models,
            known_models=shipped_catalogue().ids,
        )
    filed = {"sources": sorted(app.sources), "state": str(app.state),
             "subjects": [{"kind": s.kind, "value": s.value} for s in app.subjects],
             "unmask": app.unmask, "export": app.export, "models": list(app.models)}  # fmt: skip
    desk.done(AuditKind.APPLICATION_REQUEST, action, case.case_no, filed,
              {"regions": list(app.regions)}, **_under(app))  # fmt: skip
    return ApplicationResponse.of(app, now)


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
