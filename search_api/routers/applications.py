"""Cases and query applications (查询申请): file, decide, revoke, read. No registry data here."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from query_logs.applications import (
    Application,
    SubjectKind,
    create_case,
    decide_application,
    file_application,
    get_application,
    parse_subject,
    revoke_application,
)
from query_logs.audit import AuditEntryIn, AuditKind, AuditOutcome
from query_logs.errors import PermissionDeniedError
from query_logs.grants import active_grant_regions
from query_logs.roles import Permission, role_rules
from query_logs.user_fields import jurisdiction_covers
from search_api.access import Access, access
from search_api.deps import (
    Audit,
    CurrentUser,
    Database,
    HandlesDep,
    SettingsDep,
    client_ip,
    record,
    route_of,
)
from search_api.masking import mask_id, mask_text, protect_identifiers

router = APIRouter(tags=["applications"])
AUTH = access(Access.AUTH)


class CaseRequest(BaseModel):
    case_no: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)


class CaseResponse(BaseModel):
    id: int
    case_no: str


class SubjectRequest(BaseModel):
    kind: str
    value: str = Field(min_length=1, max_length=64)


class ApplicationRequest(BaseModel):
    case_id: int
    purpose: str = Field(max_length=2000)
    category: str
    sources: list[str] = Field(min_length=1, max_length=9)
    regions: list[str] = Field(min_length=1, max_length=50)
    subjects: list[SubjectRequest] = Field(default_factory=list, max_length=200)
    unmask: bool = False
    export: bool = False
    valid_days: int = 30


class DecisionRequest(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=1000)


class SubjectResponse(BaseModel):
    kind: str
    value: str


class ApplicationResponse(BaseModel):
    id: int
    case_no: str
    applicant_id: int
    purpose: str
    category: str
    sources: list[str]
    regions: list[str]
    subjects: list[SubjectResponse]
    unmask: bool
    export: bool
    valid_from: datetime
    valid_until: datetime
    state: str
    queries_used: int
    query_quota: int

    @classmethod
    def of(cls, app: Application, now: datetime) -> ApplicationResponse:
        return cls(
            id=app.id,
            case_no=app.case_no,
            applicant_id=app.applicant_id,
            # Numbers written into the purpose or a name subject are masked like any text.
            purpose=mask_text(app.purpose),
            category=app.category,
            sources=sorted(app.sources),
            regions=list(app.regions),
            # Subjects are masked here too: an application lists people, it does not unmask them.
            subjects=[
                SubjectResponse(
                    kind=s.kind,
                    value=mask_id(s.value) if s.kind is SubjectKind.PERSON else mask_text(s.value),
                )
                for s in app.subjects
            ],
            unmask=app.unmask,
            export=app.export,
            valid_from=app.valid_from,
            valid_until=app.valid_until,
            state=app.effective_state(now),
            queries_used=app.queries_used,
            query_quota=app.query_quota,
        )


def _log(request: Request, audit: Audit, settings: SettingsDep, kind: AuditKind, user: CurrentUser,
         app: Application, detail: dict[str, object]) -> None:  # fmt: skip
    key = settings.secret_key.get_secret_value().encode()
    record(
        audit,
        request,
        AuditEntryIn(
            kind=kind,
            actor=user.username,
            actor_role=",".join(sorted(user.roles)),
            source_ip=client_ip(request),
            route=route_of(request),
            application_id=str(app.id),
            case_id=app.case_no,
            purpose=protect_identifiers(app.purpose, key),
            outcome=AuditOutcome.OK,
            detail=protect_identifiers(detail, key),
        ),
    )


@router.post("/cases", response_model=CaseResponse, status_code=201, openapi_extra=AUTH)
def open_case(body: CaseRequest, user: CurrentUser, db: Database) -> CaseResponse:
    case_id = create_case(db, user, body.case_no, body.title, datetime.now(UTC))
    return CaseResponse(id=case_id, case_no=body.case_no.strip())


@router.post(
    "/applications", response_model=ApplicationResponse, status_code=201, openapi_extra=AUTH
)
def file(
    body: ApplicationRequest,
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    settings: SettingsDep,
    handles: HandlesDep,
) -> ApplicationResponse:
    now = datetime.now(UTC)
    # A subject of kind "handle" is resolved here to the person's number (search_api.handles).
    subjects = [parse_subject(s.kind, s.value, handles.open) for s in body.subjects]
    app = file_application(
        db,
        user,
        case_id=body.case_id,
        purpose=body.purpose,
        category=body.category,
        sources=body.sources,
        regions=body.regions,
        subjects=subjects,
        unmask=body.unmask,
        export=body.export,
        valid_days=body.valid_days,
        now=now,
        grant_regions=active_grant_regions(db, user.id, now),
    )
    _log(request, audit, settings, AuditKind.APPLICATION_REQUEST, user, app,
         {"sources": body.sources, "regions": body.regions,
          "subjects": [{"kind": s.kind, "value": s.value} for s in subjects],
          "unmask": body.unmask, "export": body.export})  # fmt: skip
    return ApplicationResponse.of(app, now)


@router.post("/applications/{application_id}/decision", response_model=ApplicationResponse,
             openapi_extra=AUTH)  # fmt: skip
def decide(
    application_id: int,
    body: DecisionRequest,
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    settings: SettingsDep,
) -> ApplicationResponse:
    now = datetime.now(UTC)
    app = decide_application(
        db, user, application_id, approve=body.approve, note=body.note, now=now
    )
    _log(request, audit, settings, AuditKind.APPLICATION_DECISION, user, app,
         {"approve": body.approve, "note": body.note})  # fmt: skip
    return ApplicationResponse.of(app, now)


@router.post("/applications/{application_id}/revoke", response_model=ApplicationResponse,
             openapi_extra=AUTH)  # fmt: skip
def revoke(
    application_id: int,
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    settings: SettingsDep,
) -> ApplicationResponse:
    now = datetime.now(UTC)
    app = revoke_application(db, user, application_id, now)
    _log(request, audit, settings, AuditKind.APPLICATION_DECISION, user, app, {"revoked": True})
    return ApplicationResponse.of(app, now)


@router.get(
    "/applications/{application_id}", response_model=ApplicationResponse, openapi_extra=AUTH
)
def read(application_id: int, user: CurrentUser, db: Database) -> ApplicationResponse:
    app = get_application(db, application_id)
    approver = Permission.APPROVE in role_rules().permissions_of(user.roles) and all(
        jurisdiction_covers(user.jurisdiction, r) for r in app.regions
    )
    if app.applicant_id != user.id and not approver:
        raise PermissionDeniedError("only the applicant and approvers over its regions may read it")
    return ApplicationResponse.of(app, datetime.now(UTC))
