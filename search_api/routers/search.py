"""GET /search: keyword search over the registries in the application's scope (governed).

The query text is parsed by our own parser (search_api.queries.syntax) before the gate admits the
request; a refused query is logged as a denial with what was asked, then answered 400.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, StringConstraints

from analyzers.chinese import simplifier
from common.vocab import Source, Tier
from query_logs.gate import QueryRequest
from registry.sources import load_sources
from search_api.access import Access, access
from search_api.deps import Gate, GateKeeper, HandlesDep, Provider
from search_api.handles import Handles
from search_api.masking import mask_fragment, mask_record, mask_text
from search_api.queries.search import (
    Facet,
    Filters,
    Sort,
    keyword_search_query,
    merge_highlights,
)
from search_api.queries.syntax import Node, QuerySyntaxError, parse_query

router = APIRouter(tags=["search"])

# A region filter is a 行政区划代码 prefix: province, city, county or township.
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{2}(\d{2}(\d{3})?)?)?$")]
CategoryLabel = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SearchHitResponse(BaseModel):
    id: str
    source: str
    score: float | None
    record: dict[str, Any]
    highlights: dict[str, list[str]]


class FacetBucketResponse(BaseModel):
    value: str
    count: int


class SearchResponse(BaseModel):
    total: int
    hits: list[SearchHitResponse]
    facets: dict[str, list[FacetBucketResponse]]


def parse_or_refuse(text: str, gate: GateKeeper, params: dict[str, Any]) -> Node:
    """The parsed query; a refusal is logged as a denial of the authenticated caller (400).

    Parsing comes before the gate's admission, so a malformed query spends no quota and writes no
    write-ahead entry; the caller is authenticated first (an unauthenticated one gets 401).
    """
    try:
        return parse_query(text)
    except QuerySyntaxError as exc:
        raise gate.refuse(exc, params) from None


def masked_hit(hit: dict[str, Any], unmask: bool, handles: Handles) -> SearchHitResponse:
    """One hit as returned: the record through mask_record, highlights masked as fragments of
    prose, the engine's id as its pseudonym (search_api.handles)."""
    source = hit["_source"]
    spec = load_sources()[Source(source["source"])]
    highlights = {
        field: [fragment if unmask else mask_fragment(fragment) for fragment in fragments]
        for field, fragments in merge_highlights(hit.get("highlight", {})).items()
    }
    return SearchHitResponse(
        id=handles.record_id(hit["_id"]),
        source=source["source"],
        score=hit.get("_score"),
        record=mask_record(spec, source, unmask=unmask),
        highlights=highlights,
    )


def facets_of(aggregations: dict[str, Any], unmask: bool) -> dict[str, list[FacetBucketResponse]]:
    """Facet buckets; a value is masked by shape like any text (a 问题类别 is what the export
    wrote)."""
    facets: dict[str, list[FacetBucketResponse]] = {}
    for facet in Facet:
        buckets = aggregations.get(facet, {}).get("buckets", [])
        values = [str(b.get("key_as_string", b["key"])) for b in buckets]
        facets[facet] = [
            FacetBucketResponse(value=v if unmask else mask_text(v), count=b["doc_count"])
            for v, b in zip(values, buckets, strict=True)
        ]
    return facets


def search_params(
    q: str,
    sources: list[Source] | None,
    region: list[str] | None,
    tier: list[Tier] | None,
    category: list[str] | None,
    date_from: date | None,
    date_to: date | None,
) -> dict[str, Any]:
    """What a search request asked for, as logged (the gate pseudonymises numbers in it)."""
    return {
        "q": q,
        "sources": sorted(sources or []),
        "region": sorted(region or []),
        "tier": sorted(tier or []),
        "category": sorted(category or []),
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }


@router.get("/search", response_model=SearchResponse, openapi_extra=access(Access.GOVERNED))
def keyword_search(
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    q: str = Query(description="the query; see docs/search-syntax.md"),
    sources: list[Source] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    region: list[RegionPrefix] | None = Query(default=None),  # noqa: B008
    tier: list[Tier] | None = Query(default=None),  # noqa: B008
    category: list[CategoryLabel] | None = Query(default=None),  # noqa: B008
    date_from: date | None = None,
    date_to: date | None = None,
    sort: Sort = Sort.RELEVANCE,
    page_size: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=10_000),
) -> SearchResponse:
    params = search_params(q, sources, region, tier, category, date_from, date_to)
    params |= {"sort": str(sort), "page_size": page_size, "offset": offset}
    node = parse_or_refuse(q, gate, params)
    admission = gate.admit(
        QueryRequest(
            sources=frozenset(sources) if sources else None,
            regions=tuple(region) if region else None,
            page_size=page_size,
            offset=offset,
        ),
        params,
    )
    scope = admission.scope
    filters = Filters(tuple(tier or ()), tuple(category or ()), date_from, date_to)
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
