"""GET /persons/{id_number}/records: the records in scope that link one person (governed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from common.vocab import Source
from query_logs.applications import SubjectKind
from query_logs.gate import QueryRequest
from registry.sources import load_sources
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.masking import mask_record
from search_api.queries.records import person_records_query

router = APIRouter(tags=["persons"])


class RecordResponse(BaseModel):
    id: str
    source: str
    record: dict[str, Any]


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
    sources: list[Source] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    page_size: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=10_000),
) -> RecordsResponse:
    subject = gate.subject(SubjectKind.PERSON, id_number)
    admission = gate.admit(
        QueryRequest(
            sources=frozenset(sources) if sources else None,
            subjects=(subject,),
            page_size=page_size,
            offset=offset,
        ),
        {
            "id_number": subject.value,
            "sources": sorted(sources or []),
            "page_size": page_size,
            "offset": offset,
        },
    )
    scope = admission.scope
    result = admission.search(provider, person_records_query(scope, subject.value))
    hits = result["hits"]["hits"]
    admission.complete(result["hits"]["total"]["value"], [h["_id"] for h in hits])
    specs = load_sources()
    return RecordsResponse(
        total=result["hits"]["total"]["value"],
        records=[
            RecordResponse(
                id=handles.record_id(h["_id"]),
                source=h["_source"]["source"],
                record=mask_record(
                    specs[Source(h["_source"]["source"])], h["_source"], unmask=scope.unmask
                ),
            )
            for h in hits
        ],
    )
