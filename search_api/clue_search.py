"""The cross-tier clue search and its ledger, shared by ``GET /clues`` and ``GET /clues/export``
(search_api.routers.clues) and the 线索汇总 page (search_api.web.pages.clues): the query is
parsed (a malformed one is a logged refusal), the gate admits the request (the ledger only under
an application approved for export), the pure builder makes the engine query inside the admitted
scope, the outcome (and the ledger's ``export`` entry) is logged, and hits, unit names and ledger
cells come back masked. Both doors therefore log, count and mask alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from analyzers.chinese import simplifier
from common.vocab import Tier
from query_logs.audit import AuditKind, digest_record_ids
from query_logs.gate import RESULT_WINDOW_CAP
from registry.engine import EngineDoor
from search_api.gatekeeper import GateKeeper
from search_api.handles import Handles
from search_api.models.clues import ClueSearchResponse, clue_groups, tier_counts
from search_api.models.ledger import (
    EXPORT_ROW_CAP,
    MEDIA_TYPES,
    LedgerFormat,
    ledger_rows,
    write_ledger,
)
from search_api.models.search import Page, SearchParams, masked_hit
from search_api.queries.clues import ClueAgg, ClueFilters, clue_search_query
from search_api.queries.syntax import parse_query


@dataclass(frozen=True, slots=True)
class ClueTiers:
    """The two tier filters: the handling body's level (承办层级) and the locality's tier."""

    handling: list[Tier] | None = None
    locality: list[Tier] | None = None


def _filters(search: SearchParams, tiers: ClueTiers) -> ClueFilters:
    """The clue builder's filters: handling levels, locality tiers, and the shared ones."""
    return ClueFilters(tuple(tiers.handling or ()), tuple(tiers.locality or ()),
                       tuple(search.category or ()), search.date_from, search.date_to)  # fmt: skip


def search_clues(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    search: SearchParams,
    page: Page,
    tiers: ClueTiers,
) -> ClueSearchResponse:
    """One page of masked clues with their counts by tier and unit, admitted and logged."""
    params = search.logged(tiers.handling, locality_tier=sorted(tiers.locality or []),
                           page_size=page.size, offset=page.offset)  # fmt: skip
    node = gate.checked(lambda: parse_query(search.q), params)
    admission = gate.admit(search.query_request(page_size=page.size, offset=page.offset), params)
    scope = admission.scope
    body = clue_search_query(node, scope, _filters(search, tiers), size=scope.page_size,
                             offset=scope.offset, simplify=simplifier())  # fmt: skip
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


@dataclass(frozen=True, slots=True)
class Ledger:
    """A ledger file and what its response headers say."""

    content: bytes
    media_type: str
    filename: str
    rows: int
    total: int


def export_clue_ledger(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    search: SearchParams,
    tiers: ClueTiers,
    format: LedgerFormat,
    limit: int = EXPORT_ROW_CAP,
) -> Ledger:
    """The clues as a ledger (CSV or XLSX): refused (and logged) unless the application was
    approved for export; capped; masked unless it unmasks; an ``export`` entry with the row
    count and digests."""
    params = search.logged(tiers.handling, locality_tier=sorted(tiers.locality or []),
                           format=str(format), limit=limit)  # fmt: skip
    node = gate.checked(lambda: parse_query(search.q), params)
    admission = gate.admit(search.query_request(export=True), params)
    scope = admission.scope
    cap = min(limit, EXPORT_ROW_CAP, admission.application.result_cap, RESULT_WINDOW_CAP)
    body = clue_search_query(node, scope, _filters(search, tiers), size=cap, offset=0,
                             simplify=simplifier())  # fmt: skip
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
    filename = f"clues-{scope.application_id}-{stamp}.{format}"
    return Ledger(content, MEDIA_TYPES[format], filename, len(hits), total)
