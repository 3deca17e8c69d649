"""GET /entities: person and company cards for an ID, code, phone, name or pinyin (governed).

Two engine calls inside the application's scope (see search_api.queries.entities): the matching
records' entity keys, then one card per key. The outcome entry logs the entity keys returned.
The search itself is search_api.entity_search's, shared with the web UI's 实体 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.entity_search import find_entities
from search_api.models.cards import EntitySearchResponse
from search_api.queries.entities import DEFAULT_CARDS, MAX_CARDS, MAX_QUERY_CHARS, EntityKind

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
    return find_entities(gate, provider, handles, q, kind, limit)
