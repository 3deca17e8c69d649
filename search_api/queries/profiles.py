"""Profile searches (issue 5, items 3 and 4): the records that link one person or company.

Pure functions returning dicts, tested without a cluster; all inside ``scope_filters(scope)``
except the three searches that must leave the subject filter (household members, petitions that
mention the person by name and unit, petitions that name the company), which keep the
application's sources and regions, are anchored on the subject's own records and return only
masked members or petition references.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from common.vocab import Source
from query_logs.gate import Scope
from registry.fields import (
    REPORTED_ID_NUMBER,
    REPORTED_NAME,
    REPORTED_UNIT,
    ColumnField,
    Envelope,
)
from search_api.queries.entities import NEWEST_FIRST
from search_api.queries.records import newest_first, scope_filters, source_without_hidden

DEFAULT_PER_SOURCE = 20
MAX_PER_SOURCE = 50
# Insured employees listed on a company profile (all are counted).
EMPLOYEE_LIST_CAP = 50
# Petitions that mention a company by name, listed as references.
PETITION_REFERENCE_CAP = 50
# What a petition reference shows: no content, no person.
PETITION_REFERENCE_FIELDS = [
    ColumnField.PETITION_NO,
    ColumnField.REGISTERED_ON,
    ColumnField.CATEGORY,
    ColumnField.STATUS,
    ColumnField.HANDLING_UNIT,
    ColumnField.HANDLING_TIER,
    REPORTED_UNIT,
]
# What a listed member or employee shows (masked by the caller).
_MEMBER_FIELDS = [
    ColumnField.NAME,
    ColumnField.RELATION,
    ColumnField.ID_NUMBER,
    ColumnField.HOUSEHOLD_NO,
]
_STAFF_FIELDS = [
    ColumnField.NAME,
    ColumnField.STATUS,
    ColumnField.INSURED_ON,
    ColumnField.STOPPED_ON,
]


def _newest_first(size: int) -> dict[str, Any]:
    return {
        "sort": newest_first(),
        "size": size,
        "track_total_hits": True,
        "_source": source_without_hidden(),
    }


def linked_records_searches(
    scope: Scope, field: str, key: str, per_source: int
) -> list[tuple[Source, dict[str, Any]]]:
    """One search per source in scope: the records linking ``key`` (``persons`` or ``companies``),
    newest first. Benefits are also summed per type; insured staff are aggregated (a company's
    hundreds of staff are counted and listed by person, not as records)."""
    searches: list[tuple[Source, dict[str, Any]]] = []
    for source in scope.sources:
        body: dict[str, Any] = {
            "query": {"bool": {"filter": [{"term": {field: key}},
                                          {"term": {Envelope.SOURCE: str(source)}},
                                          *scope_filters(scope)]}},
            **_newest_first(per_source),
        }  # fmt: skip
        if source is Source.BENEFIT:
            body["aggs"] = {"types": {
                "terms": {"field": ColumnField.BENEFIT_TYPE, "size": 20},
                "aggs": {
                    ColumnField.AMOUNT: {"sum": {"field": ColumnField.AMOUNT}},
                    "first": {"min": {"field": ColumnField.PAID_ON}},
                    "last": {"max": {"field": ColumnField.PAID_ON}},
                },
            }}  # fmt: skip
        if source is Source.INSURED and field == Envelope.COMPANIES:
            body["query"]["bool"]["filter"].append({"term": {ColumnField.EMPLOYER_CODE: key}})
            body["size"] = 0
            body["aggs"] = {
                Envelope.PERSONS: {"cardinality": {"field": ColumnField.ID_NUMBER,
                                                   "precision_threshold": 40000}},
                # The name the insurer records for the employer (a unit may have no registry
                # record of its own: its petitions are found by this name).
                "employer": {"top_hits": {"size": 1, "sort": NEWEST_FIRST,
                                          "_source": [ColumnField.EMPLOYER_NAME]}},
                "staff": {"terms": {"field": ColumnField.ID_NUMBER, "size": EMPLOYEE_LIST_CAP,
                                    "order": {"_key": "asc"}},
                          "aggs": {"latest": {"top_hits": {
                              "size": 1, "sort": [{Envelope.RECORD_DATE: {"order": "desc"}}],
                              "_source": _STAFF_FIELDS}}}},
            }  # fmt: skip
        searches.append((source, body))
    return searches


def household_members_search(scope: Scope, household_nos: list[str], limit: int) -> dict[str, Any]:
    """The household records of these 户号 in the application's sources and regions.

    Members are other persons, outside the application's subjects: this one query drops the
    subject filter and is anchored instead on the subject's own 户号 (read from a record that
    passed it). It returns only name, relation and ID (masked by the caller, whatever the
    application's unmasking), never a member's other fields.
    """
    return {
        "query": {"bool": {"filter": [
            {"term": {Envelope.SOURCE: str(Source.HOUSEHOLD)}},
            {"terms": {ColumnField.HOUSEHOLD_NO: household_nos}},
            *scope_filters(replace(scope, subjects=())),
        ]}},
        "sort": [{Envelope.RECORD_KEY: "asc"}],
        "size": limit + 1,
        "_source": _MEMBER_FIELDS,
    }  # fmt: skip


def petition_references_search(scope: Scope, company_names: list[str]) -> dict[str, Any]:
    """Petitions whose text (a reported person's unit, the content) names the company.

    Petitions carry no credit code, so the subject filter cannot reach them: like household
    members, this query keeps the sources and regions, is anchored on the company's registered
    names, and returns references only (number, date, category, status, handling unit and the
    reported units), never the content or any person's data.
    """
    return {
        "query": {"bool": {
            "filter": [{"term": {Envelope.SOURCE: str(Source.PETITION)}},
                       *scope_filters(replace(scope, subjects=()))],
            "should": [{"match_phrase": {Envelope.ALL_TEXT: name}} for name in company_names],
            "minimum_should_match": 1,
        }},
        "sort": newest_first(),
        "size": PETITION_REFERENCE_CAP,
        "track_total_hits": True,
        "_source": PETITION_REFERENCE_FIELDS,
    }  # fmt: skip


def person_mentions_search(
    scope: Scope, id_number: str, names: list[str], unit: str
) -> dict[str, Any]:
    """Petitions that report someone by the person's name and unit but without an ID number.

    The graph's rule (name + unit, never a name alone) applied to one subject: anchored on the
    names and the unit of the subject's own roster record, outside the subject filter (such a
    petition has no identity link), so like the company's petitions it returns references only.
    """
    entry = {"bool": {"filter": [{"terms": {REPORTED_NAME: names}},
                                 {"match_phrase": {REPORTED_UNIT: unit}}],
                      "must_not": [{"exists": {"field": REPORTED_ID_NUMBER}}]}}  # fmt: skip
    return {
        "query": {"bool": {
            "filter": [{"term": {Envelope.SOURCE: str(Source.PETITION)}},
                       {"nested": {"path": ColumnField.REPORTED, "query": entry}},
                       *scope_filters(replace(scope, subjects=()))],
            "must_not": [{"term": {Envelope.PERSONS: id_number}}],
        }},
        "sort": newest_first(),
        "size": PETITION_REFERENCE_CAP,
        "track_total_hits": True,
        "_source": PETITION_REFERENCE_FIELDS,
    }  # fmt: skip
