"""GET /entities: person and company cards for an ID, code, phone, name or pinyin (governed).

Two engine calls inside the application's scope (see search_api.queries.entities): the matching
records' entity keys, then one card per key. The outcome entry logs the entity keys returned.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from analyzers.chinese import simplifier
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.models.cards import EntitySearchResponse, read_cards
from search_api.queries.entities import (
    DEFAULT_CARDS,
    MAX_CARDS,
    MAX_QUERY_CHARS,
    EntityKind,
    candidates_query,
    cards_query,
    parse_entity_query,
    read_candidates,
)

router = APIRouter(tags=["entities"])


@router.get("/entities", response_model=EntitySearchResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def search_entities(
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS,
                   description="ID number, 统一社会信用代码, phone, name or its pinyin"),
    kind: EntityKind = EntityKind.AUTO,
    limit: int = Query(default=DEFAULT_CARDS, ge=1, le=MAX_CARDS),
) -> EntitySearchResponse:  # fmt: skip
    # a refusal like any other on a governed route: logged, naming the field, never the value
    query = gate.checked(lambda: parse_entity_query(q, kind, simplifier()), {"invalid": ["q"]})
    admission = gate.admit(
        QueryRequest(page_size=limit),
        {"q": q, "query_type": str(query.type), "kind": str(kind), "limit": limit},
    )
    scope = admission.scope
    found = admission.search(provider, candidates_query(scope, query, kind, limit))
    candidates, truncated = read_candidates(found.get("aggregations", {}), limit)
    keyed = []
    if candidates:
        described = admission.search(provider, cards_query(scope, candidates))
        keyed = read_cards(
            candidates,
            described.get("aggregations", {}),
            query.type,
            unmask=scope.unmask,
            handles=handles,
        )
    admission.complete(len(keyed), [key for key, _ in keyed])
    return EntitySearchResponse(
        query_type=str(query.type), cards=[card for _, card in keyed], truncated=truncated
    )
