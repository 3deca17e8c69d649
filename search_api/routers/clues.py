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
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from analyzers.chinese import simplifier
from common.vocab import Source, Tier
from query_logs.audit import AuditKind, digest_record_ids
from query_logs.gate import RESULT_WINDOW_CAP, QueryRequest
from search_api.access import Access, access
from search_api.deps import (
    Gate,
    HandlesDep,
    Provider,
)
from search_api.ledger import (
    EXPORT_ROW_CAP,
    MEDIA_TYPES,
    LedgerFormat,
    ledger_rows,
    write_ledger,
)
from search_api.masking import mask_text
from search_api.queries.clues import ClueAgg, ClueFilters, clue_search_query
from search_api.routers.search import (
    CategoryLabel,
    RegionPrefix,
    SearchHitResponse,
    masked_hit,
    parse_or_refuse,
    search_params,
)

router = APIRouter(tags=["clues"])

NO_UNIT = "（未注明承办单位）"  # records without a 承办单位: the registries other than petitions
NO_HANDLING_TIER = "（无承办层级）"  # records no body handles: the registries other than petitions
NO_TIER = "（无层级）"  # records without a region code
_TIER_ORDER = {str(t): i for i, t in enumerate(Tier)}
TIER_HELP = "承办层级: the level of the body handling the clue (省/市/县/乡)"
LOCALITY_HELP = "the tier of the problem's locality (问题属地行政区划代码)"


class UnitCountResponse(BaseModel):
    unit: str
    count: int


class TierCountResponse(BaseModel):
    tier: str
    count: int


class TierGroupResponse(BaseModel):
    tier: str = Field(description="承办层级: the level of the handling body")
    count: int
    units: list[UnitCountResponse]
    other_units_count: int  # hits of this level under units beyond the listed ones
    localities: list[TierCountResponse] = Field(
        description="the same hits by the tier of the problem's locality (问题属地)"
    )


class ClueSearchResponse(BaseModel):
    total: int
    groups: list[TierGroupResponse]
    locality_tiers: list[TierCountResponse]
    hits: list[SearchHitResponse]


def _tier_counts(agg: dict[str, Any], empty: str) -> list[TierCountResponse]:
    counts = [
        TierCountResponse(tier=str(b["key"]) or empty, count=b["doc_count"])
        for b in agg.get("buckets", [])
    ]
    return sorted(counts, key=lambda c: _TIER_ORDER.get(c.tier, len(_TIER_ORDER)))


def _groups(aggregations: dict[str, Any], unmask: bool) -> list[TierGroupResponse]:
    """Counts by handling level and 承办单位; a unit's name is free text, masked like any other."""
    groups = [
        TierGroupResponse(
            tier=str(bucket["key"]) or NO_HANDLING_TIER,
            count=bucket["doc_count"],
            units=[
                UnitCountResponse(
                    unit=(str(u["key"]) if unmask else mask_text(str(u["key"]))) or NO_UNIT,
                    count=u["doc_count"],
                )
                for u in bucket[ClueAgg.UNITS]["buckets"]
            ],
            other_units_count=bucket[ClueAgg.UNITS].get("sum_other_doc_count", 0),
            localities=_tier_counts(bucket[ClueAgg.LOCALITIES], NO_TIER),
        )
        for bucket in aggregations.get(ClueAgg.HANDLING, {}).get("buckets", [])
    ]
    return sorted(groups, key=lambda g: _TIER_ORDER.get(g.tier, len(_TIER_ORDER)))


@router.get("/clues", response_model=ClueSearchResponse, openapi_extra=access(Access.GOVERNED))
def clue_search(
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    q: str = Query(description="the query; see docs/search-syntax.md"),
    sources: list[Source] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    region: list[RegionPrefix] | None = Query(default=None),  # noqa: B008
    tier: list[Tier] | None = Query(default=None, description=TIER_HELP),  # noqa: B008
    locality_tier: list[Tier] | None = Query(default=None, description=LOCALITY_HELP),  # noqa: B008
    category: list[CategoryLabel] | None = Query(default=None),  # noqa: B008
    date_from: date | None = None,
    date_to: date | None = None,
    page_size: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=10_000),
) -> ClueSearchResponse:
    params = search_params(q, sources, region, tier, category, date_from, date_to)
    params |= {
        "locality_tier": sorted(locality_tier or []),
        "page_size": page_size,
        "offset": offset,
    }
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
    filters = ClueFilters(
        tuple(tier or ()), tuple(locality_tier or ()), tuple(category or ()), date_from, date_to
    )
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
        groups=_groups(aggregations, scope.unmask),
        locality_tiers=_tier_counts(aggregations.get(ClueAgg.LOCALITIES, {}), NO_TIER),
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
    q: str = Query(description="the query; see docs/search-syntax.md"),
    format: LedgerFormat = LedgerFormat.CSV,
    sources: list[Source] | None = Query(default=None),  # noqa: B008 - FastAPI's declaration
    region: list[RegionPrefix] | None = Query(default=None),  # noqa: B008
    tier: list[Tier] | None = Query(default=None, description=TIER_HELP),  # noqa: B008
    locality_tier: list[Tier] | None = Query(default=None, description=LOCALITY_HELP),  # noqa: B008
    category: list[CategoryLabel] | None = Query(default=None),  # noqa: B008
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = Query(default=EXPORT_ROW_CAP, ge=1, le=EXPORT_ROW_CAP),
) -> Response:
    params = search_params(q, sources, region, tier, category, date_from, date_to)
    params |= {"locality_tier": sorted(locality_tier or []), "format": str(format), "limit": limit}
    node = parse_or_refuse(q, gate, params)
    admission = gate.admit(
        QueryRequest(
            sources=frozenset(sources) if sources else None,
            regions=tuple(region) if region else None,
            export=True,  # refused (and logged) unless the application was approved for export
        ),
        params,
    )
    scope = admission.scope
    cap = min(limit, EXPORT_ROW_CAP, admission.application.result_cap, RESULT_WINDOW_CAP)
    filters = ClueFilters(
        tuple(tier or ()), tuple(locality_tier or ()), tuple(category or ()), date_from, date_to
    )
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
