"""The clue search builder and the ledger's tier columns, without a cluster.

The engine side (groups by handling level over petitions handled at every level about
localities at other levels) is tests/integration/test_clues_api.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from common.vocab import Source, Tier
from query_logs.gate import Scope
from search_api.models.ledger import HEADER, ledger_rows
from search_api.queries.clues import (
    HANDLING_TIER,
    LOCALITY_TIER,
    ClueAgg,
    ClueFilters,
    clue_search_query,
)
from search_api.queries.syntax import parse_query

SCOPE = Scope(7, 3, (Source.PETITION, Source.OFFICIAL), ("4601",), (), False, 20, 40)


def _query(filters: ClueFilters | None = None) -> dict[str, Any]:
    chosen = filters or ClueFilters()
    return clue_search_query(parse_query("粮食购销"), SCOPE, chosen, size=100, offset=0)


def _filters(body: dict[str, Any]) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = body["query"]["bool"]["filter"]
    return filters


def test_groups_are_handling_levels_then_units_and_locality_tiers() -> None:
    aggs = _query()["aggs"]
    handling = aggs[ClueAgg.HANDLING]
    assert handling["terms"]["field"] == HANDLING_TIER == "handling_tier"
    assert handling["aggs"][ClueAgg.UNITS]["terms"]["field"] == "handling_unit.keyword"
    assert handling["aggs"][ClueAgg.LOCALITIES]["terms"]["field"] == LOCALITY_TIER == "tier"
    assert aggs[ClueAgg.LOCALITIES]["terms"]["field"] == "tier"
    # every record lands in a bucket: the counts of a level add up to the total
    assert handling["terms"]["missing"] == ""
    assert handling["aggs"][ClueAgg.UNITS]["terms"]["missing"] == ""


@pytest.mark.parametrize(
    ("filters", "clause", "absent"),
    [
        (
            ClueFilters(handling_tiers=(Tier.PROVINCE, Tier.TOWNSHIP)),
            {"terms": {"handling_tier": ["省", "乡"]}},
            {"terms": {"tier": ["省", "乡"]}},
        ),
        (
            ClueFilters(locality_tiers=(Tier.COUNTY,)),
            {"terms": {"tier": ["县"]}},
            {"terms": {"handling_tier": ["县"]}},
        ),
    ],
)
def test_each_tier_filter_narrows_its_own_field(
    filters: ClueFilters, clause: dict[str, Any], absent: dict[str, Any]
) -> None:
    clauses = _filters(_query(filters))
    assert clause in clauses
    assert absent not in clauses


def test_the_scope_regions_stay_a_filter_on_the_locality() -> None:
    clauses = _filters(_query(ClueFilters(handling_tiers=(Tier.PROVINCE,))))
    assert {"terms": {"region_prefixes": ["4601"]}} in clauses


def test_hits_sort_by_handling_level_then_locality_then_newest() -> None:
    sort = _query()["sort"]
    fields = [s["_script"]["script"]["params"]["field"] for s in sort[:2]]
    assert fields == ["handling_tier", "tier"]
    assert sort[0]["_script"]["script"]["params"]["order"] == {"省": 0, "市": 1, "县": 2, "乡": 3}
    assert sort[2] == {"record_date": {"order": "desc", "missing": "_last"}}
    assert sort[-1] == {"record_key": "asc"}  # a unique tie-break: stable pages


def test_the_ledger_shows_both_tiers() -> None:
    hit = {
        "_id": "abc",
        "_source": {
            "source": "petition",
            "petition_no": "XF-1",
            "tier": "乡",
            "handling_tier": "省",
            "handling_unit": "海南省纪委监委信访室",
        },
    }
    row = dict(zip(HEADER, ledger_rows([hit], unmask=False, record_id=str.upper)[1], strict=True))
    assert (row["承办层级"], row["承办单位"], row["属地层级"]) == (
        "省",
        "海南省纪委监委信访室",
        "乡",
    )
