"""GET /search: keyword search over the registries in the application's scope (governed).

The query text is parsed by our own parser (search_api.queries.syntax) before the gate admits the
request; a refused query is logged as a denial with what was asked, then answered 400. The
parameters it shares with the clue search are search_api.models.search's; the search itself is
search_api.keyword_search's, shared with the web UI's 检索 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from common.vocab import Tier
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.keyword_search import search_records
from search_api.models.search import Paging, SearchQuery, SearchResponse
from search_api.queries.search import Sort

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResponse, openapi_extra=access(Access.GOVERNED))
def keyword_search(
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    search: SearchQuery,
    page: Paging,
    tier: list[Tier] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    sort: Sort = Sort.RELEVANCE,
) -> SearchResponse:
    return search_records(gate, provider, handles, search, page, tier, sort)
