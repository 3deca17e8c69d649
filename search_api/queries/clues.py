"""Pure builder of the cross-tier clue search (专班): parsed query + scope -> dict.

A special-task team pulls the clues "held by the province, city, county and township bodies": a
clue's tier is the level of the body that handles it (承办层级, field ``handling_tier``), not the
tier of the region the problem is about (问题属地, the envelope's ``tier``). A township 纪委 may
handle a county matter and the provincial 信访室 a township one. Hits are therefore grouped and
filtered by the handling level, then by 承办单位, with the locality's tier as a second facet (per
handling level and overall). Records of registries other than petitions have no handling body:
they count under the empty handling level. The regions of the scope stay a filter on the
locality (the records' ``region_prefixes``), as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from analyzers.index_settings import SUBFIELD_KEYWORD
from common.vocab import Tier
from query_logs.gate import Scope
from registry.fields import ColumnField, Envelope, join_path
from search_api.queries.records import source_without_hidden
from search_api.queries.search import Filters, Sort, matching_query, sort_clause
from search_api.queries.syntax import Node

# 承办层级 of a petition (省/市/县/乡, normalised at ingest), and the envelope's tier: from the
# record's 行政区划代码 (问题属地).
HANDLING_TIER = ColumnField.HANDLING_TIER
LOCALITY_TIER = Envelope.TIER
HANDLING_UNIT = join_path(ColumnField.HANDLING_UNIT, SUBFIELD_KEYWORD)

# Handling units listed per handling level; the rest is summed in ``sum_other_doc_count``.
CLUE_UNITS_PER_TIER = 50
# Buckets of a tier aggregation: the four tiers and the empty one, with room to spare.
_TIER_BUCKETS = 8
# Where a record without a handling level (or an unknown one) sorts: after the four tiers.
_NO_TIER_RANK = len(Tier)
# Sorts hits by handling level 省 > 市 > 县 > 乡 (the keyword's code-point order would be 乡 县 市
# 省); the field is absent from the indices of registries other than petitions.
_TIER_ORDER_SCRIPT = (
    "if (!doc.containsKey(params.field) || doc[params.field].size() == 0) "
    "{ return params.missing; } "
    "def rank = params.order.get(doc[params.field].value); "
    "return rank == null ? params.missing : rank;"
)


class ClueAgg(StrEnum):
    """Aggregation names of the clue query (the router reads the buckets by these)."""

    HANDLING = "handling"
    UNITS = "units"
    LOCALITIES = "localities"


@dataclass(frozen=True, slots=True)
class ClueFilters:
    """The user's narrowing of a clue search: handling levels, locality tiers and the rest."""

    handling_tiers: tuple[Tier, ...] = ()
    locality_tiers: tuple[Tier, ...] = ()
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    def search_filters(self) -> Filters:
        """The filters the keyword builder applies (its ``tiers`` are locality tiers)."""
        return Filters(
            tuple(str(t) for t in self.locality_tiers),
            self.categories,
            self.date_from,
            self.date_to,
        )


def tier_terms(field: str, missing: bool = True) -> dict[str, Any]:
    """A terms aggregation over a tier field; records without one fall in the "" bucket."""
    terms: dict[str, Any] = {"field": field, "size": _TIER_BUCKETS}
    if missing:
        terms["missing"] = ""
    return {"terms": terms}


def tier_order_sort(field: str) -> dict[str, Any]:
    """Ascending 省, 市, 县, 乡, then records without a (known) tier."""
    return {
        "_script": {
            "type": "number",
            "order": "asc",
            "script": {
                "lang": "painless",
                "source": _TIER_ORDER_SCRIPT,
                "params": {
                    "field": field,
                    "order": {str(t): i for i, t in enumerate(Tier)},
                    "missing": _NO_TIER_RANK,
                },
            },
        }
    }


def clue_aggregations() -> dict[str, Any]:
    """Handling level -> 承办单位 and -> locality tier; the locality tier overall."""
    handling = tier_terms(HANDLING_TIER)
    handling["aggs"] = {
        ClueAgg.UNITS: {
            "terms": {"field": HANDLING_UNIT, "size": CLUE_UNITS_PER_TIER, "missing": ""}
        },
        ClueAgg.LOCALITIES: tier_terms(LOCALITY_TIER),
    }
    return {ClueAgg.HANDLING: handling, ClueAgg.LOCALITIES: tier_terms(LOCALITY_TIER)}


def clue_search_query(
    node: Node,
    scope: Scope,
    filters: ClueFilters,
    *,
    size: int,
    offset: int,
    simplify: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Clue search over all tiers in the scope: hits by handling level and 承办单位 with counts.

    Records without a handling unit count under their handling level in the "missing" bucket, so
    the unit counts of a level always add up to the level's count; likewise the locality tiers.
    Hits come by handling level (省 first), then locality tier, then newest first.
    """
    query = matching_query(node, scope, filters.search_filters(), simplify)
    if filters.handling_tiers:
        terms = {"terms": {HANDLING_TIER: [str(t) for t in filters.handling_tiers]}}
        query["bool"]["filter"].append(terms)
    return {
        "query": query,
        "sort": [
            tier_order_sort(HANDLING_TIER),
            tier_order_sort(LOCALITY_TIER),
            *sort_clause(Sort.DATE_DESC),
        ],
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "_source": source_without_hidden(),
        "aggs": clue_aggregations(),
    }
