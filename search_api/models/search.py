"""What the keyword search and the clue search share: their query parameters, as one model read
by one dependency, the paging, and the hit model with its masking.

The parameters are declared once here (``SearchQuery``, ``Paging``), so both routes validate
them alike, log them alike (``SearchParams.logged``) and hand the gate the same request
(``SearchParams.query_request``). The tier filter is not shared: on ``/search`` it is the
record's tier, on ``/clues`` the handling body's level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, StringConstraints

from common.vocab import Source, Tier
from query_logs.gate import QueryRequest
from search_api.handles import Handles
from search_api.masking import mask_fragment, mask_text
from search_api.models.records import masked_record
from search_api.queries.search import Facet, merge_highlights

# A region filter is a 行政区划代码 prefix: province, city, county or township.
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{2}(\d{2}(\d{3})?)?)?$")]
CategoryLabel = Annotated[str, StringConstraints(min_length=1, max_length=64)]
QUERY_HELP = "the query; see docs/search-syntax.md"
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000


@dataclass(frozen=True, slots=True)
class SearchParams:
    """The query text and the filters every registry has, as the client sent them."""

    q: str
    sources: list[Source] | None
    region: list[str] | None
    category: list[str] | None
    date_from: date | None
    date_to: date | None

    def logged(self, tier: list[Tier] | None, **more: Any) -> dict[str, Any]:
        """What the request asked for, as logged (the gate pseudonymises numbers in it)."""
        return {
            "q": self.q,
            "sources": sorted(self.sources or []),
            "region": sorted(self.region or []),
            "tier": sorted(tier or []),
            "category": sorted(self.category or []),
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        } | more

    def query_request(self, **paging: Any) -> QueryRequest:
        """The gate's request: the sources and regions asked for (None: all the application
        allows), with ``paging`` (page_size and offset, or export)."""
        return QueryRequest(
            sources=frozenset(self.sources) if self.sources else None,
            regions=tuple(self.region) if self.region else None,
            **paging,
        )


def read_search_params(
    q: str = Query(description=QUERY_HELP),
    sources: list[Source] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    region: list[RegionPrefix] | None = Query(default=None),  # noqa: B008
    category: list[CategoryLabel] | None = Query(default=None),  # noqa: B008
    date_from: date | None = None,
    date_to: date | None = None,
) -> SearchParams:
    return SearchParams(q, sources, region, category, date_from, date_to)


SearchQuery = Annotated[SearchParams, Depends(read_search_params)]


@dataclass(frozen=True, slots=True)
class Page:
    """A page of hits: how many, from where (the gate caps both by the application)."""

    size: int
    offset: int


def read_page(
    page_size: int = Query(default=20, ge=1, le=MAX_PAGE_SIZE),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> Page:
    return Page(page_size, offset)


Paging = Annotated[Page, Depends(read_page)]


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


def masked_hit(hit: dict[str, Any], unmask: bool, handles: Handles) -> SearchHitResponse:
    """One hit as returned: the record as every response shows it (search_api.models.records),
    highlights masked as fragments of prose."""
    shown = masked_record(hit, unmask, handles)
    highlights = {
        field: [fragment if unmask else mask_fragment(fragment) for fragment in fragments]
        for field, fragments in merge_highlights(hit.get("highlight", {})).items()
    }
    return SearchHitResponse(
        id=shown.id,
        source=shown.source,
        score=hit.get("_score"),
        record=shown.record,
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
