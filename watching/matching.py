"""Which of the records an ingest created or changed concern a watched person (in the engine).

The ingest hands over the ids of the records it wrote with new content (per source); one
search per application asks the engine which of exactly those documents link one of the
application's watched persons, inside the application's sources and regions (filters in the
query, as every governed query has them). Unchanged data is never read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.engine import EngineDoor
from registry.fields import Envelope

MATCH_CHUNK = 5_000
"""Changed ids per search: below the engine's terms limit (65,536) and result window (10,000),
so one answer holds every match of its chunk."""


@dataclass(frozen=True, slots=True)
class WatchedRecord:
    """A new or changed record that links watched persons."""

    source: str
    record_id: str  # the engine's id (responses show its pseudonym)
    persons: tuple[str, ...]  # the watched persons it links


def watched_records_query(
    ids: Sequence[str], persons: Sequence[str], sources: Sequence[str], regions: Sequence[str]
) -> dict[str, Any]:
    """The documents among ``ids`` that link one of ``persons``, inside the sources and regions."""
    return {
        "size": len(ids),
        "_source": [Envelope.SOURCE, Envelope.PERSONS],
        "query": {
            "bool": {
                "filter": [
                    {"ids": {"values": list(ids)}},
                    {"terms": {Envelope.PERSONS: sorted(persons)}},
                    {"terms": {Envelope.SOURCE: sorted(sources)}},
                    {"terms": {Envelope.REGION_PREFIXES: sorted(regions)}},
                ]
            }
        },
    }


def find_watched_records(
    door: EngineDoor,
    changed: Mapping[str, Sequence[str]],
    persons: Sequence[str],
    sources: Sequence[str],
    regions: Sequence[str],
) -> list[WatchedRecord]:
    """The changed records of ``sources`` that link one of ``persons`` within ``regions``."""
    wanted = set(persons)
    found: list[WatchedRecord] = []
    for source in sorted(set(sources) & set(changed)):
        ids = list(changed[source])
        index = door.index_name(source)
        for start in range(0, len(ids), MATCH_CHUNK):
            chunk = ids[start : start + MATCH_CHUNK]
            body = watched_records_query(chunk, persons, sources, regions)
            answer = door.search(index, body, ignore_unavailable=True)
            for hit in answer["hits"]["hits"]:
                linked = tuple(p for p in hit["_source"].get(Envelope.PERSONS, []) if p in wanted)
                found.append(WatchedRecord(source, hit["_id"], linked))
    return found
