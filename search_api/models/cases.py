"""Response models of cases (search_api.routers.cases)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from query_logs.cases import Case


class CaseResponse(BaseModel):
    id: int
    case_no: str
    title: str
    owner: str
    members: list[str]
    created_at: datetime

    @classmethod
    def of(cls, case: Case) -> CaseResponse:
        return cls(
            id=case.id,
            case_no=case.case_no,
            title=case.title,
            owner=case.owner.username,
            members=[m.username for m in case.members],
            created_at=case.created_at,
        )
