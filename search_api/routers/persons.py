"""GET /persons/{id_number}/records: the records in scope that link one person (governed)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from common.vocab import Source
from query_logs.applications import SubjectKind
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.models.records import RecordResponse, masked_record
from search_api.models.search import Paging
from search_api.queries.records import person_records_query

router = APIRouter(tags=["persons"])


class RecordsResponse(BaseModel):
    total: int
    records: list[RecordResponse]


@router.get("/persons/{id_number}/records", response_model=RecordsResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def person_records(
    id_number: str,
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    page: Paging,
    sources: list[Source] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
) -> RecordsResponse:
    subject = gate.subject(SubjectKind.PERSON, id_number)
    admission = gate.admit(
        QueryRequest(
            sources=frozenset(sources) if sources else None,
            subjects=(subject,),
            page_size=page.size,
            offset=page.offset,
        ),
        {
            "id_number": subject.value,
            "sources": sorted(sources or []),
            "page_size": page.size,
            "offset": page.offset,
        },
    )
    scope = admission.scope
    result = admission.search(provider, person_records_query(scope, subject.value))
    hits = result["hits"]["hits"]
    total = result["hits"]["total"]["value"]
    admission.complete(total, [h["_id"] for h in hits])
    return RecordsResponse(
        total=total, records=[masked_record(h, scope.unmask, handles) for h in hits]
    )
