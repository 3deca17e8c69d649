"""Readers of a comparison run's answers: per-person buckets to record ids (pure).

The queries (comparison.queries) group every answer by person; these turn the buckets back
into canonical ID numbers and the ids of the records to cite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from comparison.queries import Agg, person_key


def person_buckets(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-person buckets of an answer built with ``_by_person``."""
    buckets: list[dict[str, Any]] = (
        answer.get("aggregations", {}).get(Agg.PERSON, {}).get("buckets", [])
    )
    return buckets


def top_ids(bucket: Mapping[str, Any], name: str = Agg.RECORDS) -> list[str]:
    """The record ids of a bucket's top hits."""
    return [str(hit["_id"]) for hit in bucket[name]["hits"]["hits"]]


def records_by_person(answer: Mapping[str, Any]) -> dict[str, list[str]]:
    """Person -> ids of the records that prove the condition for them."""
    return {person_key(b["key"]): top_ids(b) for b in person_buckets(answer)}


def units_by_person(answer: Mapping[str, Any], min_units: int) -> dict[str, list[str]]:
    """Person -> one record per unit, for persons with at least ``min_units`` distinct units."""
    found = {}
    for bucket in person_buckets(answer):
        units = bucket[Agg.UNITS]["buckets"]
        if len(units) >= min_units:
            found[person_key(bucket["key"])] = [top_ids(unit)[0] for unit in units]
    return found


def duplicate_slots(answer: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The (person, benefit type, 所属期) slots paid more than once."""
    return [
        (person_key(bucket["key"]), str(kind["key"]), str(period["key"]))
        for bucket in person_buckets(answer)
        for kind in bucket[Agg.TYPES]["buckets"]
        for period in kind[Agg.PERIODS]["buckets"]
    ]
