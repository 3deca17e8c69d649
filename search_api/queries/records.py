"""Pure query builders: scope filters and the governed queries, as dicts, tested without a cluster.

The application's scope is always a filter clause inside the query: sources select the indices,
regions and subjects are filters the engine applies before it scores or counts anything.
"""

from __future__ import annotations

from typing import Any

from common.vocab import Source
from query_logs.applications import SubjectKind
from query_logs.gate import Scope
from registry.fields import HIDDEN_FIELDS, NAMES_KEYWORD, ColumnField, Envelope


def newest_first() -> list[dict[str, Any]]:
    """Newest record first, records without a date last, then by natural key: a stable order."""
    return [
        {Envelope.RECORD_DATE: {"order": "desc", "missing": "_last"}},
        {Envelope.RECORD_KEY: "asc"},
    ]


def source_without_hidden() -> dict[str, Any]:
    """The ``_source`` of a query that returns records: every field but `HIDDEN_FIELDS`."""
    return {"excludes": list(HIDDEN_FIELDS)}


def scope_filters(scope: Scope) -> list[dict[str, Any]]:
    """The filter clauses that keep a query inside the scope."""
    filters: list[dict[str, Any]] = [
        {"terms": {Envelope.SOURCE: [str(s) for s in scope.sources]}},
        {"terms": {Envelope.REGION_PREFIXES: list(scope.regions)}},
    ]
    if scope.subjects:
        by_kind: dict[SubjectKind, list[str]] = {}
        for subject in scope.subjects:
            by_kind.setdefault(subject.kind, []).append(subject.value)
        field = {SubjectKind.PERSON: Envelope.PERSONS, SubjectKind.COMPANY: Envelope.COMPANIES,
                 SubjectKind.NAME: NAMES_KEYWORD}  # fmt: skip
        filters.append(
            {
                "bool": {
                    "should": [{"terms": {field[k]: v}} for k, v in sorted(by_kind.items())],
                    "minimum_should_match": 1,
                }
            }
        )
    return filters


def person_records_query(scope: Scope, id_number: str) -> dict[str, Any]:
    """Every record in scope that links the person with this ID number, newest first."""
    return {
        "query": {
            "bool": {"filter": [{"term": {Envelope.PERSONS: id_number}}, *scope_filters(scope)]}
        },
        "sort": newest_first(),
        "from": scope.offset,
        "size": scope.page_size,
        "track_total_hits": True,
        "_source": source_without_hidden(),
    }


# A household with more members is a collective household (集体户: a unit's or a school's), whose
# members are not relatives; flagging look-ups of all of them would bury the real findings.
MAX_HOUSEHOLD_MEMBERS = 30


def own_household_query(id_numbers: list[str]) -> dict[str, Any]:
    """The household records of these persons: their 户号 only (pure; the household index)."""
    return {
        "size": len(id_numbers),
        "query": {"bool": {"filter": [
            {"term": {Envelope.SOURCE: str(Source.HOUSEHOLD)}},
            {"terms": {ColumnField.ID_NUMBER: id_numbers}},
        ]}},
        "_source": [ColumnField.ID_NUMBER, ColumnField.HOUSEHOLD_NO],
    }  # fmt: skip


def household_members_query(household_nos: list[str]) -> dict[str, Any]:
    """The ID numbers in each of these households, counted (pure; the household index)."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [
            {"term": {Envelope.SOURCE: str(Source.HOUSEHOLD)}},
            {"terms": {ColumnField.HOUSEHOLD_NO: household_nos}},
        ]}},
        "aggs": {"households": {
            "terms": {"field": ColumnField.HOUSEHOLD_NO, "size": len(household_nos)},
            "aggs": {"members": {"terms": {"field": ColumnField.ID_NUMBER,
                                           "size": MAX_HOUSEHOLD_MEMBERS + 1}}},
        }},
    }  # fmt: skip
