"""Wire models of query applications (search_api.routers.applications, the 我的案件 page): the
filing request, and an application as its applicant and approvers read it, with every number
in it masked."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from common.db import RowId
from query_logs.applications import (
    MAX_MODELS,
    MAX_PURPOSE_CHARS,
    MAX_SUBJECTS,
    MAX_VALID_DAYS,
    Application,
    SubjectKind,
)
from search_api.masking import mask_id, mask_text


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
    models: list[str]  # comparison models a 专项核查 application may run

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
            models=list(app.models),
        )
