"""Which of the records an ingest created or changed concern a watched person (in the engine).

The ingest hands over, per source, the ids of the records it wrote with new content, or, for a
source loaded for the first time, "every record of the source" (``registry.changes``: the index
held none of them before, so each record it holds is new). One search per application (paged)
asks the engine which of exactly those documents link one of the application's watched persons,
inside the application's sources and regions (filters in the query, as every governed query has
them); for a first load the same query without the id filter. Unchanged data is never read again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.changes import SourceChanges
from registry.engine import EngineDoor
from registry.fields import Envelope

MATCH_CHUNK = 5_000
"""Changed ids per search: below the engine's terms limit (65,536) and result window (10,000),
so one answer holds every match of its chunk; also the page of a first load's whole-source
match (paged by search_after on the natural key, below the result window)."""


@dataclass(frozen=True, slots=True)
class WatchedRecord:
    """A new or changed record that links watched persons."""

    source: str
    record_id: str  # the engine's id (responses show its pseudonym)
    persons: tuple[str, ...]  # the watched persons it links


def watched_records_query(
    ids: Sequence[str] | None,
    persons: Sequence[str],
    sources: Sequence[str],
    regions: Sequence[str],
    *,
    page: int = MATCH_CHUNK,
    after: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The documents among ``ids`` that link one of ``persons``, inside the sources and regions.

    ``ids`` None: every document of the source (a first load's), a ``page`` of them sorted on
    the natural key (unique in a source); ``after``: the previous page's last sort values.
    """
    scope: list[dict[str, Any]] = [
        {"terms": {Envelope.PERSONS: sorted(persons)}},
        {"terms": {Envelope.SOURCE: sorted(sources)}},
        {"terms": {Envelope.REGION_PREFIXES: sorted(regions)}},
    ]
    body: dict[str, Any] = {"_source": [Envelope.SOURCE, Envelope.PERSONS]}
    if ids is not None:
        body["size"] = len(ids)
        body["query"] = {"bool": {"filter": [{"ids": {"values": list(ids)}}, *scope]}}
        return body
    body["size"] = page
    body["query"] = {"bool": {"filter": scope}}
    body["sort"] = [{Envelope.RECORD_KEY: "asc"}]
    if after is not None:
        body["search_after"] = list(after)
    return body


def find_watched_records(
    door: EngineDoor,
    changed: Mapping[str, SourceChanges],
    persons: Sequence[str],
    sources: Sequence[str],
    regions: Sequence[str],
    *,
    page: int = MATCH_CHUNK,
) -> list[WatchedRecord]:
    """The changed records of ``sources`` that link one of ``persons`` within ``regions``
    (``page``: ids per search, and hits per page of a whole source)."""
    wanted = set(persons)
    found: list[WatchedRecord] = []
    for source in sorted(set(sources) & set(changed)):
        index = door.index_name(source)
        hits = _matching_hits(door, index, changed[source], (persons, sources, regions), page)
        for hit in hits:
            linked = tuple(p for p in hit["_source"].get(Envelope.PERSONS, []) if p in wanted)
            found.append(WatchedRecord(source, hit["_id"], linked))
    return found


def _matching_hits(
    door: EngineDoor,
    index: str,
    changes: SourceChanges,
    scope: tuple[Sequence[str], Sequence[str], Sequence[str]],
    page: int,
) -> Iterator[dict[str, Any]]:
    """The hits of one source's changed records: its ids in chunks, or its whole index in
    pages (every record of a first load); ``scope``: the persons, sources and regions."""
    if not changes.every_record:
        ids = changes.ids
        for start in range(0, len(ids), page):
            body = watched_records_query(ids[start : start + page], *scope)
            yield from door.search(index, body, ignore_unavailable=True)["hits"]["hits"]
        return
    after: list[Any] | None = None
    while True:
        body = watched_records_query(None, *scope, page=page, after=after)
        answer = door.search(index, body, ignore_unavailable=True)
        hits: list[dict[str, Any]] = answer["hits"]["hits"]
        yield from hits
        if len(hits) < page:
            return
        after = hits[-1]["sort"]
