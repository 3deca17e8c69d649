"""线索汇总: the special-task team's cross-tier clue page (the pattern of pages/search.py).

- ``GET /ui/clues`` (auth): the form only, no registry data.
- ``GET /ui/clues/results`` (governed): the same parameters, gate, builder and masking as
  ``GET /clues`` (search_api.clue_search.search_clues): counts by handling tier (省/市/县/乡) with
  the locality's tier as the second facet, units per tier, a bar chart drawn by
  ``static/js/clues.js`` from the counts in a JSON data element, and the masked hits. A whole
  page, or for htmx only the results fragment.
- ``GET /ui/clues/export`` (governed): the ledger as ``GET /clues/export`` makes it
  (search_api.clue_search.export_clue_ledger: the export flag, capped, masked, logged).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from search_api.access import Access, access
from search_api.clue_search import ClueTiers, export_clue_ledger, search_clues
from search_api.deps import HandlesDep, Provider
from search_api.models.clues import ClueSearchResponse, HandlingTiers, LocalityTiers
from search_api.models.ledger import LedgerFormat
from search_api.models.search import Paging, SearchQuery
from search_api.web.pages.search import hit_view, url_with
from search_api.web.sessions import PageChoice, PageGate, PageSession
from search_api.web.templating import is_fragment_request, render

router = APIRouter(include_in_schema=False)
PAGE_PATH = "/ui/clues"
RESULTS_PATH = "/ui/clues/results"
EXPORT_PATH = "/ui/clues/export"


def chart_data(response: ClueSearchResponse) -> dict[str, Any]:
    """What the bar chart draws: one bar per handling tier, stacked by the locality's tier."""
    localities = [t.tier for t in response.locality_tiers]
    by_group = [{c.tier: c.count for c in g.localities} for g in response.groups]
    return {
        "tiers": [g.tier for g in response.groups],
        "counts": [g.count for g in response.groups],
        "series": [
            {"name": locality, "data": [counts.get(locality, 0) for counts in by_group]}
            for locality in localities
        ],
    }


def _form(request: Request, search: Any, tiers: ClueTiers, page_size: int) -> dict[str, Any]:
    return {
        "q": search.q if search else "",
        "handling": [str(t) for t in tiers.handling or ()],
        "locality_tier": [str(t) for t in tiers.locality or ()],
        "region": (search.region or [""])[0] if search else "",
        "date_from": request.query_params.get("date_from", ""),
        "date_to": request.query_params.get("date_to", ""),
        "page_size": page_size,
        "petitions_only": search is None or "petition" in (search.sources or ()),
    }


@router.get(PAGE_PATH, openapi_extra=access(Access.AUTH))
def clue_form(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    form = _form(request, None, ClueTiers(), 20)
    return render(request, "clues/page.html", {"results": None, "form": form},
                  session=session, choice=choice)  # fmt: skip


@router.get(RESULTS_PATH, openapi_extra=access(Access.GOVERNED))
def clue_results(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    search: SearchQuery,
    page: Paging,
    tier: HandlingTiers = None,
    locality_tier: LocalityTiers = None,
) -> HTMLResponse:
    tiers = ClueTiers(tier, locality_tier)
    response = search_clues(gate, provider, handles, search, page, tiers)
    offset, size = page.offset, page.size
    export = url_with(request, EXPORT_PATH, offset=None, page_size=None,
                      format=str(LedgerFormat.XLSX))  # fmt: skip
    results = {
        "total": response.total,
        "groups": response.groups,
        "locality_tiers": response.locality_tiers,
        "chart": chart_data(response),
        "hits": [hit_view(h) for h in response.hits],
        "page": offset // size + 1,
        "previous": url_with(request, RESULTS_PATH, offset=str(max(offset - size, 0)))
        if offset > 0 else None,
        "next": url_with(request, RESULTS_PATH, offset=str(offset + size))
        if offset + size < response.total else None,
        "export": export,
        "may_export": bool(choice.current and choice.current.export),
    }  # fmt: skip
    form = _form(request, search, tiers, size)
    template = "clues/_results.html" if is_fragment_request(request) else "clues/page.html"
    return render(request, template, {"results": results, "form": form},
                  session=session, choice=choice)  # fmt: skip


@router.get(EXPORT_PATH, openapi_extra=access(Access.GOVERNED))
def clue_ledger(
    session: PageSession,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    search: SearchQuery,
    format: LedgerFormat = LedgerFormat.XLSX,
    tier: HandlingTiers = None,
    locality_tier: LocalityTiers = None,
) -> Response:
    del session  # the gate's authenticator; declared for the route inventory's session rule
    ledger = export_clue_ledger(
        gate, provider, handles, search, ClueTiers(tier, locality_tier), format
    )
    return Response(
        content=ledger.content,
        media_type=ledger.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ledger.filename}"',
            "X-Ledger-Rows": str(ledger.rows),
            "X-Ledger-Total": str(ledger.total),
        },
    )
