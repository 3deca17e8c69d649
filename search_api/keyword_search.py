"""The keyword search itself, shared by ``GET /search`` (JSON) and the 检索 page (search_api.web):
the query is parsed (a malformed one is a logged refusal), the gate admits the request, the pure
builder makes the engine query inside the admitted scope, the outcome is logged, and the hits
come back masked. Both doors therefore log, count and mask alike.
"""

from __future__ import annotations

from analyzers.chinese import simplifier
from common.vocab import Tier
from registry.engine import EngineDoor
from search_api.gatekeeper import GateKeeper
from search_api.handles import Handles
from search_api.models.search import (
    Page,
    SearchParams,
    SearchResponse,
    facets_of,
    masked_hit,
)
from search_api.queries.search import Filters, Sort, keyword_search_query
from search_api.queries.syntax import parse_query


def search_records(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    search: SearchParams,
    page: Page,
    tier: list[Tier] | None,
    sort: Sort,
) -> SearchResponse:
    """One page of masked hits with facets, admitted and logged by ``gate``."""
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
