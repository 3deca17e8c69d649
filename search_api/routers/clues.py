"""Cross-tier clue search (专班) and its ledger export (governed).

GET /clues: one query over every tier the application reaches (a special-task user's reach beyond
the own jurisdiction comes only from an approved cross-tier grant, checked by the gate), hits
grouped by the handling body's level (承办层级: 省/市/县/乡) and 承办单位 with counts, and by the
tier of the problem's locality (问题属地) as a second facet. ``tier`` filters the handling level,
``locality_tier`` the locality's tier; ``region`` stays a filter on the locality. GET
/clues/export: the same result as a ledger (CSV or XLSX): only under an application approved for
export, capped, masked unless the application grants unmasking, and logged as an `export` entry
with its row count and digests.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from analyzers.chinese import simplifier
from common.vocab import Tier
from query_logs.audit import AuditKind, digest_record_ids
from query_logs.gate import RESULT_WINDOW_CAP
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.models.clues import ClueSearchResponse, clue_groups, tier_counts
from search_api.models.ledger import (
    EXPORT_ROW_CAP,
    MEDIA_TYPES,
    LedgerFormat,
    ledger_rows,
    write_ledger,
)
from search_api.models.search import Paging, SearchParams, SearchQuery, masked_hit
from search_api.queries.clues import ClueAgg, ClueFilters, clue_search_query
from search_api.queries.syntax import parse_query

router = APIRouter(tags=["clues"])

TIER_HELP = "承办层级: the level of the body handling the clue (省/市/县/乡)"
LOCALITY_HELP = "the tier of the problem's locality (问题属地行政区划代码)"


HandlingTiers = Annotated[list[Tier] | None, Query(description=TIER_HELP)]
LocalityTiers = Annotated[list[Tier] | None, Query(description=LOCALITY_HELP)]


def _filters(
    search: SearchParams, tier: list[Tier] | None, locality: list[Tier] | None
) -> ClueFilters:
    """The clue builder's filters: handling levels, locality tiers, and the shared ones."""
    return ClueFilters(tuple(tier or ()), tuple(locality or ()), tuple(search.category or ()),
                       search.date_from, search.date_to)  # fmt: skip


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
    params = search.logged(tier, locality_tier=sorted(locality_tier or []),
                           page_size=page.size, offset=page.offset)  # fmt: skip
    node = gate.checked(lambda: parse_query(search.q), params)
    admission = gate.admit(search.query_request(page_size=page.size, offset=page.offset), params)
    scope = admission.scope
    filters = _filters(search, tier, locality_tier)
    body = clue_search_query(
        node, scope, filters, size=scope.page_size, offset=scope.offset, simplify=simplifier()
    )
    result = admission.search(provider, body)
    hits = result["hits"]["hits"]
    total = result["hits"]["total"]["value"]
    admission.complete(total, [h["_id"] for h in hits])
    aggregations = result.get("aggregations", {})
    return ClueSearchResponse(
        total=total,
        groups=clue_groups(aggregations, scope.unmask),
        locality_tiers=tier_counts(aggregations.get(ClueAgg.LOCALITIES, {})),
        hits=[masked_hit(h, scope.unmask, handles) for h in hits],
    )


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
    params = search.logged(tier, locality_tier=sorted(locality_tier or []), format=str(format),
                           limit=limit)  # fmt: skip
    node = gate.checked(lambda: parse_query(search.q), params)
    # refused (and logged) unless the application was approved for export
    admission = gate.admit(search.query_request(export=True), params)
    scope = admission.scope
    cap = min(limit, EXPORT_ROW_CAP, admission.application.result_cap, RESULT_WINDOW_CAP)
    filters = _filters(search, tier, locality_tier)
    body = clue_search_query(node, scope, filters, size=cap, offset=0, simplify=simplifier())
    result = admission.search(provider, body)
    hits = result["hits"]["hits"]
    total = result["hits"]["total"]["value"]
    ids = [h["_id"] for h in hits]
    content = write_ledger(
        ledger_rows(hits, unmask=scope.unmask, record_id=handles.record_id), format
    )
    admission.note(
        AuditKind.EXPORT,
        {
            "request_seq": admission.request_seq,
            "format": str(format),
            "rows": len(hits),
            "total": total,
            "row_cap": cap,
            "truncated": total > len(hits),
            "unmasked": scope.unmask,
            "file_sha256": hashlib.sha256(content).hexdigest(),
        },
        hit_count=len(hits),
        result_digest=digest_record_ids(ids),
    )
    admission.complete(total, ids)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=content,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="clues-{scope.application_id}-{stamp}'
            f'.{format}"',
            "X-Ledger-Rows": str(len(hits)),
            "X-Ledger-Total": str(total),
        },
    )
