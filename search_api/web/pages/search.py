"""检索: the investigator's search page, the pattern every data page follows (docs/web.md).

- ``GET /ui/search`` (auth): the form only, no registry data.
- ``GET /ui/search/results`` (governed): the same parameters, gate, builder and masking as
  ``GET /search`` (search_api.keyword_search); a whole page, or for htmx only the results
  fragment (``search/_results.html``), which replaces ``#results`` and pushes the URL.

Everything here is presentation: links for paging and facets, field names for columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from common.vocab import Tier
from registry.fields import Envelope
from search_api.access import Access, access
from search_api.deps import HandlesDep, Provider
from search_api.keyword_search import search_records
from search_api.models.search import Paging, SearchHitResponse, SearchQuery, SearchResponse
from search_api.queries.search import Facet, Sort
from search_api.web.labels import field_labels, source_label
from search_api.web.sessions import PageChoice, PageGate, PageSession
from search_api.web.templating import is_fragment_request, render

router = APIRouter(include_in_schema=False)
RESULTS_PATH = "/ui/search/results"
SHOWN_FIELDS = 8  # columns of a record shown in its row; the rest is in the highlights
FACET_BUCKETS = 10
# The query parameter a facet's bucket filters by (the region levels filter by code prefix).
FACET_PARAMS: dict[Facet, str] = {
    Facet.SOURCE: "sources",
    Facet.PROVINCE: "region",
    Facet.CITY: "region",
    Facet.COUNTY: "region",
    Facet.TOWNSHIP: "region",
    Facet.TIER: "tier",
    Facet.CATEGORY: "category",
}
FILTER_PARAMS = ("sources", "region", "tier", "category", "date_from", "date_to")


@dataclass(frozen=True, slots=True)
class HitView:
    id: str
    source: str
    title: str
    fields: list[tuple[str, str]]
    highlights: list[tuple[str, list[str]]]


@dataclass(frozen=True, slots=True)
class FacetLink:
    label: str
    count: int
    url: str
    active: bool


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "；".join(str(v) for v in value) if value else None
    return None


def hit_view(hit: SearchHitResponse) -> HitView:
    """A masked hit as a row: its source, names, labelled columns and highlights."""
    labels = field_labels()
    shown = [(labels[k], t) for k, v in hit.record.items()
             if k in labels and (t := _text(v))]  # fmt: skip
    names = _text(hit.record.get(Envelope.NAMES)) or ""
    highlights = [(labels.get(f, f), fragments) for f, fragments in hit.highlights.items()]
    return HitView(hit.id, source_label(hit.source), names, shown[:SHOWN_FIELDS], highlights)


def url_with(request: Request, path: str, **changes: list[str] | str | None) -> str:
    """``path`` with the request's query parameters, ``changes`` replacing theirs (None drops)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    for key, change in changes.items():
        if change is None:
            params.pop(key, None)
        else:
            params[key] = [change] if isinstance(change, str) else change
    return f"{path}?{urlencode(params, doseq=True)}" if params else path


def facet_links(request: Request, response: SearchResponse) -> list[tuple[str, list[FacetLink]]]:
    """Each facet's buckets as links that add (or, when active, remove) its filter; the
    offset starts again at the first page."""
    out: list[tuple[str, list[FacetLink]]] = []
    for facet in Facet:
        buckets = response.facets.get(facet, [])[:FACET_BUCKETS]
        if not buckets:
            continue
        param = FACET_PARAMS.get(facet)
        links = []
        for bucket in buckets:
            label = source_label(bucket.value) if facet is Facet.SOURCE else bucket.value
            if param is None:  # the year: a date range
                active = request.query_params.get("date_from") == f"{bucket.value}-01-01"
                change: dict[str, Any] = (
                    {"date_from": None, "date_to": None} if active
                    else {"date_from": f"{bucket.value}-01-01", "date_to": f"{bucket.value}-12-31"}
                )  # fmt: skip
            else:
                current = request.query_params.getlist(param)
                active = bucket.value in current
                kept = [v for v in current if v != bucket.value]
                change = {param: kept if active else [*current, bucket.value]}
            url = url_with(request, RESULTS_PATH, offset=None, **change)
            links.append(FacetLink(label, bucket.count, url, active))
        out.append((str(facet), links))
    return out


@router.get("/ui/search", openapi_extra=access(Access.AUTH))
def search_form(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    return render(request, "search/page.html", {"results": None, "form": {}},
                  session=session, choice=choice)  # fmt: skip


@router.get(RESULTS_PATH, openapi_extra=access(Access.GOVERNED))
def search_results(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    search: SearchQuery,
    page: Paging,
    tier: list[Tier] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    sort: Sort = Sort.RELEVANCE,
) -> HTMLResponse:
    response = search_records(gate, provider, handles, search, page, tier, sort)
    offset, size = page.offset, page.size
    results = {
        "total": response.total,
        "hits": [hit_view(h) for h in response.hits],
        "facets": facet_links(request, response),
        "page": offset // size + 1,
        "previous": url_with(request, RESULTS_PATH, offset=str(max(offset - size, 0)))
        if offset > 0 else None,
        "next": url_with(request, RESULTS_PATH, offset=str(offset + size))
        if offset + size < response.total else None,
        "clear": url_with(request, RESULTS_PATH, offset=None,
                          **dict.fromkeys(FILTER_PARAMS)),
        "active_filters": any(request.query_params.getlist(p) for p in FILTER_PARAMS),
    }  # fmt: skip
    form = {"q": search.q, "sort": str(sort), "page_size": size}
    template = "search/_results.html" if is_fragment_request(request) else "search/page.html"
    return render(request, template, {"results": results, "form": form},
                  session=session, choice=choice)  # fmt: skip
