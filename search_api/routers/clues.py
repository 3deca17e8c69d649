"""Cross-tier clue search (专班) and its ledger export (governed).

GET /clues: one query over every tier the application reaches (a special-task user's reach beyond
the own jurisdiction comes only from an approved cross-tier grant, checked by the gate), hits
grouped by the handling body's level (承办层级: 省/市/县/乡) and 承办单位 with counts, and by the
tier of the problem's locality (问题属地) as a second facet. ``tier`` filters the handling level,
``locality_tier`` the locality's tier; ``region`` stays a filter on the locality. GET
/clues/export: the same result as a ledger (CSV or XLSX): only under an application approved for
export, capped, masked unless the application grants unmasking, and logged as an `export` entry
with its row count and digests. Both are search_api.clue_search's, shared with the web UI's
线索汇总 page.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from search_api.access import Access, access
from search_api.clue_search import ClueTiers, export_clue_ledger, search_clues
from search_api.deps import Gate, HandlesDep, Provider
from search_api.models.clues import ClueSearchResponse, HandlingTiers, LocalityTiers
from search_api.models.ledger import EXPORT_ROW_CAP, MEDIA_TYPES, LedgerFormat
from search_api.models.search import Paging, SearchQuery

router = APIRouter(tags=["clues"])


@router.get("/clues", response_model=ClueSearchResponse, openapi_extra=access(Access.GOVERNED))
def clue_search(
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    search: SearchQuery,
    page: Paging,
    tier: HandlingTiers = None,
    locality_tier: LocalityTiers = None,
) -> ClueSearchResponse:
    return search_clues(gate, provider, handles, search, page, ClueTiers(tier, locality_tier))


@router.get(
    "/clues/export",
    response_class=Response,
    openapi_extra=access(Access.GOVERNED),
    responses={
        200: {
            "content": {media: {} for media in MEDIA_TYPES.values()},
            "description": "the ledger file",
        }
    },
)
def export_clues(
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    search: SearchQuery,
    format: LedgerFormat = LedgerFormat.CSV,
    tier: HandlingTiers = None,
    locality_tier: LocalityTiers = None,
    limit: int = Query(default=EXPORT_ROW_CAP, ge=1, le=EXPORT_ROW_CAP),
) -> Response:
    tiers = ClueTiers(tier, locality_tier)
    ledger = export_clue_ledger(gate, provider, handles, search, tiers, format, limit)
    return Response(
        content=ledger.content,
        media_type=ledger.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ledger.filename}"',
            "X-Ledger-Rows": str(ledger.rows),
            "X-Ledger-Total": str(ledger.total),
        },
    )
