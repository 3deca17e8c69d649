"""Pure query builders of a list screening (名单筛查): dicts, tested without a cluster.

Two kinds of search, each inside ``scope_filters(scope)`` (the application's sources, regions
and subjects) and each batched into multi-searches, never one request per row:

- ``person_records_search``: the records of a chunk of persons (``terms`` on the person key),
  aggregated per person and per source with a few record ids as evidence. ID rows, and the
  persons the name rows resolve to, are answered by these.
- ``candidates_search``: the persons a chunk of names may be, read where the graph's entity
  resolution reads them (graph.build: the officials roster with unit, post and region, the
  household register with region), by the normalised name without dots.
"""

from __future__ import annotations

from typing import Any

from common.vocab import Source
from query_logs.gate import Scope
from registry.fields import ColumnField, Envelope
from search_api.queries.records import newest_first, scope_filters

# Persons per records search, names per candidates search (the engine's terms are cheap; these
# keep one answer's size bounded: persons x sources x evidence hits).
PERSON_CHUNK = 200
NAME_CHUNK = 50
EVIDENCE_PER_SOURCE = 3
# Candidate records one names search returns; more means the chunk's names are too common
# to resolve here (their rows are answered with an error, never with a guess).
CANDIDATE_HITS = 5000
CANDIDATE_SOURCES = (Source.OFFICIAL, Source.HOUSEHOLD)
CANDIDATE_FIELDS = [
    ColumnField.ID_NUMBER,
    ColumnField.NAME,
    ColumnField.UNIT,
    ColumnField.POST,
    ColumnField.REGION_CODE,
]
PERSONS_AGG = "per_person"
SOURCES_AGG = "per_source"
RECORDS_AGG = "evidence"


def chunks(values: list[str], size: int) -> list[list[str]]:
    """``values`` in consecutive chunks of at most ``size``."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def person_records_search(scope: Scope, persons: list[str]) -> dict[str, Any]:
    """The records in scope of these persons: per person (``terms`` with ``include`` so only
    the asked persons are buckets, not a record's other parties) and per source, the count and
    the newest ``EVIDENCE_PER_SOURCE`` record ids, with the name the record gives its person."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [{"terms": {Envelope.PERSONS: persons}},
                                      *scope_filters(scope)]}},
        "aggs": {PERSONS_AGG: {
            # the keyword normalizer lower-cases: buckets are keyed 44…x, so is ``include``
            "terms": {"field": Envelope.PERSONS, "include": [p.lower() for p in persons],
                      "size": len(persons)},
            "aggs": {SOURCES_AGG: {
                "terms": {"field": Envelope.SOURCE, "size": len(Source)},
                "aggs": {RECORDS_AGG: {"top_hits": {
                    "size": EVIDENCE_PER_SOURCE,
                    "sort": newest_first(),
                    "_source": [ColumnField.ID_NUMBER, ColumnField.NAME],
                }}},
            }},
        }},
    }  # fmt: skip


def candidates_search(scope: Scope, names: list[str]) -> dict[str, Any]:
    """The roster and register records in scope of persons with these normalised names."""
    return {
        "size": CANDIDATE_HITS,
        "track_total_hits": True,
        "_source": CANDIDATE_FIELDS,
        "sort": [{Envelope.RECORD_KEY: "asc"}],
        "query": {"bool": {"filter": [{"terms": {Envelope.NAMES_NODOT: names}},
                                      *scope_filters(scope)]}},
    }  # fmt: skip


def search_line(index: str) -> dict[str, Any]:
    """The header line of one multi-search body."""
    return {"index": index, "ignore_unavailable": True}
