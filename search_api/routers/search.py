"""GET /search: keyword search over the registries in the application's scope (governed).

The query text is parsed by our own parser (search_api.queries.syntax) before the gate admits the
request; a refused query is logged as a denial with what was asked, then answered 400. The
parameters it shares with the clue search are search_api.models.search's.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from analyzers.chinese import simplifier
from common.vocab import Tier
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.models.search import (
    Paging,
    SearchQuery,
    SearchResponse,
    facets_of,
    masked_hit,
)
from search_api.queries.search import Filters, Sort, keyword_search_query
from search_api.queries.syntax import parse_query

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
    params = search.logged(tier, sort=str(sort), page_size=page.size, offset=page.offset)
    node = gate.checked(lambda: parse_query(search.q), params)
    admission = gate.admit(search.query_request(page_size=page.size, offset=page.offset), params)
    scope = admission.scope
    filters = Filters(tuple(tier or ()), tuple(search.category or ()), search.date_from,
                      search.date_to)  # fmt: skip
    body = keyword_search_query(node, scope, filters, sort, simplifier())
    result = admission.search(provider, body)
    hits = result["hits"]["hits"]
    total = result["hits"]["total"]["value"]
    admission.complete(total, [h["_id"] for h in hits])
    return SearchResponse(
        total=total,
        hits=[masked_hit(h, scope.unmask, handles) for h in hits],
        facets=facets_of(result.get("aggregations", {}), scope.unmask),
    )
