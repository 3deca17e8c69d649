"""Response models of the clue search (search_api.routers.clues) and their builders from the
engine's aggregations (pure: dicts in, models out); the routes' tier filters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from common.vocab import Tier
from search_api.masking import mask_text
from search_api.models.search import SearchHitResponse
from search_api.queries.clues import ClueAgg

NO_UNIT = "（未注明承办单位）"  # records without a 承办单位: the registries other than petitions
NO_HANDLING_TIER = "（无承办层级）"  # records no body handles: the registries other than petitions
NO_TIER = "（无层级）"  # records without a region code
_TIER_ORDER = {str(t): i for i, t in enumerate(Tier)}
TIER_HELP = "承办层级: the level of the body handling the clue (省/市/县/乡)"
LOCALITY_HELP = "the tier of the problem's locality (问题属地行政区划代码)"

# The clue routes' tier filters (the JSON routes and the 线索汇总 page declare them alike).
HandlingTiers = Annotated[list[Tier] | None, Query(description=TIER_HELP)]
LocalityTiers = Annotated[list[Tier] | None, Query(description=LOCALITY_HELP)]


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


def tier_counts(agg: dict[str, Any], empty: str = NO_TIER) -> list[TierCountResponse]:
    """Counts by tier, in the order of the tiers (省, 市, 县, 乡), the empty tier last."""
    counts = [
        TierCountResponse(tier=str(b["key"]) or empty, count=b["doc_count"])
        for b in agg.get("buckets", [])
    ]
    return sorted(counts, key=lambda c: _TIER_ORDER.get(c.tier, len(_TIER_ORDER)))


def clue_groups(aggregations: dict[str, Any], unmask: bool) -> list[TierGroupResponse]:
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
            localities=tier_counts(bucket[ClueAgg.LOCALITIES], NO_TIER),
        )
        for bucket in aggregations.get(ClueAgg.HANDLING, {}).get("buckets", [])
    ]
    return sorted(groups, key=lambda g: _TIER_ORDER.get(g.tier, len(_TIER_ORDER)))
