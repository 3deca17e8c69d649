"""The edges index: mapping, documents, a rebuild's writer, and reading source indices.

Edges live in ``<prefix>-edges`` (an alias over ``<prefix>-edges-<stamp>``): a rebuild writes a new
index and swaps the alias in one step (the engine door's alias lifecycle), so expansion never sees
a half-built graph. Endpoints are keyword fields; ``nodes`` holds both, so one ``terms`` query
pulls every edge of a frontier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from analyzers.index_settings import index_settings, keyword_field
from graph.model import Edge, node_kind
from registry.bulk import Action
from registry.engine import EngineDoor
from registry.fields import Envelope

EDGES_SUFFIX = "edges"
# Source documents read per request while building; ~2-4 MB of JSON per page.
READ_PAGE = 2000

_DATE = {"type": "date", "format": "strict_date"}
# Node ids are stored exactly (no lower-casing normalizer): the degree aggregation's ``include``
# compares the stored terms with the frontier's ids, X and letters of credit codes included.
_ID = {"type": "keyword"}
_OPAQUE = {"type": "object", "enabled": False}
EDGE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "kind": keyword_field(),
        "relation": keyword_field(),
        "src": _ID,
        "dst": _ID,
        "nodes": _ID,
        "src_kind": keyword_field(),
        "dst_kind": keyword_field(),
        "src_name": keyword_field(),
        "dst_name": keyword_field(),
        "label": keyword_field(),
        "label_back": keyword_field(),
        "strength": {"type": "float"},
        "percent": {"type": "double"},
        "post": keyword_field(),
        Envelope.SOURCE: keyword_field(),
        "record_ids": _ID,
        "start_date": _DATE,
        "end_date": _DATE,
        Envelope.REGION_PREFIXES: keyword_field(),
        "mention": _ID,  # the mention key of a resolved or unresolved party
        "resolution_status": keyword_field(),
        "attributes": _OPAQUE,
        "resolution": _OPAQUE,
    },
}


def edges_alias(index_prefix: str) -> str:
    return f"{index_prefix}-{EDGES_SUFFIX}"


def edge_id(edge: Edge) -> str:
    """Deterministic: the same records give the same edge id in every build."""
    key = "|".join((edge.kind, edge.src, edge.dst, edge.source, *sorted(edge.record_ids)))
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def _date(value: str | None) -> str | None:
    return value[:10] if value and len(value) >= 10 else None


def edge_document(edge: Edge) -> dict[str, Any]:
    forward, backward = edge.labels
    doc: dict[str, Any] = {
        "kind": str(edge.kind),
        "relation": str(edge.relation) if edge.relation else None,
        "src": edge.src,
        "dst": edge.dst,
        "nodes": [edge.src, edge.dst],
        "src_kind": str(node_kind(edge.src)),
        "dst_kind": str(node_kind(edge.dst)),
        "src_name": edge.src_name,
        "dst_name": edge.dst_name,
        "label": forward,
        "label_back": backward,
        "strength": edge.strength,
        "percent": edge.percent,
        "post": edge.post,
        Envelope.SOURCE: str(edge.source),
        "record_ids": list(edge.record_ids),
        "start_date": _date(edge.start_date),
        "end_date": _date(edge.end_date),
        Envelope.REGION_PREFIXES: list(edge.region_prefixes),
        "attributes": {k: v for k, v in edge.attributes.items() if v is not None},
    }
    if edge.resolution is not None:
        doc["mention"] = edge.resolution.mention
        doc["resolution_status"] = edge.resolution.status
        doc["resolution"] = edge.resolution.to_doc()
    return {k: v for k, v in doc.items() if v is not None}


class EdgeWriter:
    """Writes one build into a fresh index; ``publish`` swaps the alias and drops the old ones."""

    def __init__(self, door: EngineDoor) -> None:
        self._door = door
        self.alias = edges_alias(door.index_prefix)
        self.index = ""  # named when created
        self.written = 0
        self.failed = 0

    def create(self) -> None:
        """The new index, in bulk mode (no refreshes during the load)."""
        settings = index_settings(refresh_interval="-1")
        self.index = self._door.create_index(self.alias, settings, EDGE_MAPPING)

    def write(self, edges: Iterable[Edge]) -> None:
        """Bulk-write the edges; a document the engine refuses is counted as failed."""
        actions: Iterator[Action] = ((edge_id(e), edge_document(e), None) for e in edges)
        for outcome in self._door.write(self.index, actions):
            if outcome.ok:
                self.written += 1
            else:
                self.failed += 1

    def publish(self) -> None:
        """Refreshes back on, then the alias swap (the previous builds are dropped)."""
        self._door.set_bulk_mode(self.index, False)
        self._door.refresh(self.index)
        self._door.swap_alias(self.alias, self.index)

    def discard(self) -> None:
        """Drop the index of a build that failed (the alias keeps the previous one)."""
        if self.index:
            self._door.drop_index(self.index)


def read_source(
    door: EngineDoor, alias: str, sort_field: str | None = None, fields: list[str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every document of a source index as (id, source), sorted by ``sort_field`` then key.

    search_after on a sort that ends in the unique natural key: no scroll context is held open,
    and documents with the same ``sort_field`` (one household, one property unit) come together.
    """
    if not door.exists(alias):
        return
    sort: list[dict[str, Any]] = [{Envelope.RECORD_KEY: "asc"}]
    if sort_field:
        sort.insert(0, {sort_field: {"order": "asc", "missing": "_last"}})
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": READ_PAGE, "sort": sort, "query": {"match_all": {}}}
        if fields:
            body["_source"] = fields
        if after is not None:
            body["search_after"] = after
        hits = door.search(alias, body)["hits"]["hits"]
        for hit in hits:
            yield hit["_id"], hit["_source"]
        if len(hits) < READ_PAGE:
            return
        after = hits[-1]["sort"]
