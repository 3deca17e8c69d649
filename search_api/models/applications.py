"""Response models of query applications (search_api.routers.applications): an application
as its applicant and approvers read it, with every number in it masked."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from query_logs.applications import Application, SubjectKind
from search_api.masking import mask_id, mask_text


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
