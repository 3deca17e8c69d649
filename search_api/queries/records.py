"""Pure query builders: scope filters and the governed queries, as dicts, tested without a cluster.

The application's scope is always a filter clause inside the query: sources select the indices,
regions and subjects are filters the engine applies before it scores or counts anything.
"""

from __future__ import annotations

from typing import Any

from common.vocab import Source
from query_logs.applications import SubjectKind
from query_logs.gate import Scope

# Fields of the stored documents that a response may show (strict: internal search fields, raw
# unparsed values and the provenance key are never returned).
HIDDEN_FIELDS = ("all_text", "all_tokens", "names_nodot", "names_pinyin", "names_initials",
                 "unparsed", "record_key", "warnings", "content_vector")  # fmt: skip


def scope_filters(scope: Scope) -> list[dict[str, Any]]:
    """The filter clauses that keep a query inside the scope."""
    filters: list[dict[str, Any]] = [
        {"terms": {"source": [str(s) for s in scope.sources]}},
        {"terms": {"region_prefixes": list(scope.regions)}},
    ]
    if scope.subjects:
        by_kind: dict[SubjectKind, list[str]] = {}
        for subject in scope.subjects:
            by_kind.setdefault(subject.kind, []).append(subject.value)
        field = {SubjectKind.PERSON: "persons", SubjectKind.COMPANY: "companies",
                 SubjectKind.NAME: "names.keyword"}  # fmt: skip
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
        "query": {"bool": {"filter": [{"term": {"persons": id_number}}, *scope_filters(scope)]}},
        "sort": [{"record_date": {"order": "desc", "missing": "_last"}}, {"record_key": "asc"}],
        "from": scope.offset,
        "size": scope.page_size,
        "track_total_hits": True,
        "_source": {"excludes": list(HIDDEN_FIELDS)},
    }


# A household with more members is a collective household (集体户: a unit's or a school's), whose
# members are not relatives; flagging look-ups of all of them would bury the real findings.
MAX_HOUSEHOLD_MEMBERS = 30


def own_household_query(id_numbers: list[str]) -> dict[str, Any]:
    """The household records of these persons: their 户号 only (pure; the household index)."""
    return {
        "size": len(id_numbers),
        "query": {"bool": {"filter": [
            {"term": {"source": str(Source.HOUSEHOLD)}},
            {"terms": {"id_number": id_numbers}},
        ]}},
        "_source": ["id_number", "household_no"],
    }  # fmt: skip


def household_members_query(household_nos: list[str]) -> dict[str, Any]:
    """The ID numbers in each of these households, counted (pure; the household index)."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [
            {"term": {"source": str(Source.HOUSEHOLD)}},
            {"terms": {"household_no": household_nos}},
        ]}},
        "aggs": {"households": {
            "terms": {"field": "household_no", "size": len(household_nos)},
            "aggs": {"members": {"terms": {"field": "id_number",
                                           "size": MAX_HOUSEHOLD_MEMBERS + 1}}},
        }},
    }  # fmt: skip
