"""Pull a neighbourhood from the edges index hop by hop: never the whole graph.

Each hop asks the engine for the degree of every frontier node (a terms aggregation on ``nodes``),
then fetches all edges of the nodes within the fan-out cap in one query and, for each node above
it, only its ``fan_out`` strongest edges; those nodes are reported as cut, with their degree. A
node budget bounds the whole pull (a 3-hop neighbourhood of a dense node could otherwise reach
most of the graph); reaching it is reported too. Every query carries the scope's filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from common.errors import IndexMissingError
from graph.model import EdgeKind, NodeKind, node_kind
from registry.engine import EngineDoor
from registry.fields import Envelope

MAX_HOPS = 3
DEFAULT_FAN_OUT = 50
MAX_FAN_OUT = 100  # the engine's top-hits window; a hub's strongest 100 links are plenty to read
DEFAULT_MAX_NODES = 2000
# One search returns at most this many edges (the index's max_result_window is 10,000).
_PAGE = 5000
_ORDER = [
    {"strength": "desc"},
    {"start_date": {"order": "desc", "missing": "_last"}},
    {"src": "asc"},
    {"dst": "asc"},
]


# Edges of a mention a match decision names: far more than any mention has.
MAX_MENTION_EDGES = 100


class GraphNotBuiltError(IndexMissingError):
    """The edges index does not exist yet: ``xiansuo graph build`` has not run (503).

    Its ``cause`` is empty: the engine answered correctly (404); what is missing is ours, so the
    query's outcome entry names this class.
    """

    def __init__(self, missing: IndexMissingError) -> None:
        super().__init__(
            "the relationship graph has not been built yet",
            engine_status=missing.engine_status,
            reason=missing.reason,
        )


@dataclass(frozen=True, slots=True)
class EdgeScope:
    """Which edges a request may use: their records' sources and regions, and the edge kinds."""

    sources: tuple[str, ...]
    regions: tuple[str, ...]
    kinds: tuple[EdgeKind, ...] | None = None


def edge_filters(scope: EdgeScope) -> list[dict[str, Any]]:
    """Filter clauses: the proving records' source and region must lie within the scope."""
    filters: list[dict[str, Any]] = [
        {"terms": {Envelope.SOURCE: list(scope.sources)}},
        {"terms": {Envelope.REGION_PREFIXES: list(scope.regions)}},
    ]
    if scope.kinds:
        filters.append({"terms": {"kind": [str(k) for k in scope.kinds]}})
    return filters


def degree_query(nodes: Sequence[str], scope: EdgeScope) -> dict[str, Any]:
    """How many in-scope edges each node has (pure)."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [{"terms": {"nodes": list(nodes)}}, *edge_filters(scope)]}},
        "aggs": {
            "degree": {"terms": {"field": "nodes", "include": list(nodes), "size": len(nodes)}}
        },
    }


def owned_query(companies: Sequence[str], scope: EdgeScope, size: int) -> dict[str, Any]:
    """The in-scope ownership edges out of ``companies`` (what they hold), strongest first."""
    owned = [{"terms": {"src": list(companies)}}, {"term": {"kind": str(EdgeKind.OWNS)}}]
    return {
        "size": size,
        "query": {"bool": {"filter": [*owned, *edge_filters(scope)]}},
        "sort": _ORDER,
    }


def mention_query(mention: str, scope: EdgeScope) -> dict[str, Any]:
    """The ids of a mention's in-scope edges (pure)."""
    return {
        "size": MAX_MENTION_EDGES,
        "_source": False,
        "query": {"bool": {"filter": [{"term": {"mention": mention}}, *edge_filters(scope)]}},
    }


def edges_query(nodes: Sequence[str], scope: EdgeScope, size: int) -> dict[str, Any]:
    """Every in-scope edge touching ``nodes``, strongest first (pure)."""
    return {
        "size": size,
        "query": {"bool": {"filter": [{"terms": {"nodes": list(nodes)}}, *edge_filters(scope)]}},
        "sort": _ORDER,
    }


@dataclass(frozen=True, slots=True)
class LinkEdge:
    """An edge as the index holds it, with its id."""

    id: str
    kind: EdgeKind
    src: str
    dst: str
    label: str
    label_back: str
    strength: float
    source: str
    record_ids: tuple[str, ...]
    src_name: str | None = None
    dst_name: str | None = None
    relation: str | None = None
    percent: float | None = None
    post: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    resolution: dict[str, Any] | None = None

    @classmethod
    def from_hit(cls, hit: dict[str, Any]) -> LinkEdge:
        s = hit["_source"]
        return cls(
            hit["_id"],
            EdgeKind(s["kind"]),
            s["src"],
            s["dst"],
            s["label"],
            s["label_back"],
            float(s["strength"]),
            s[Envelope.SOURCE],
            tuple(s.get("record_ids") or ()),
            s.get("src_name"),
            s.get("dst_name"),
            s.get("relation"),
            s.get("percent"),
            s.get("post"),
            s.get("start_date"),
            s.get("end_date"),
            s.get("resolution"),
        )

    def other(self, node: str) -> str:
        return self.dst if node == self.src else self.src

    def label_from(self, node: str) -> str:
        """The label read from ``node`` to the other end."""
        return self.label if node == self.src else self.label_back


class EdgeSource(Protocol):
    """Where expansion reads edges from (the edges index; an in-memory list in unit tests)."""

    def degrees(self, nodes: Sequence[str]) -> dict[str, int]: ...
    def edges_of(self, nodes: Sequence[str], limit: int) -> list[LinkEdge]: ...
    def strongest(self, node: str, cap: int) -> list[LinkEdge]: ...
    def owned_by(self, companies: Sequence[str], limit: int) -> list[LinkEdge]: ...


class IndexEdges:
    """The edges index under an application's scope, read through the engine door (whose
    errors pass through; a missing index is a ``GraphNotBuiltError``)."""

    def __init__(self, door: EngineDoor, alias: str, scope: EdgeScope) -> None:
        self._door, self._alias, self._scope = door, alias, scope

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._door.search(self._alias, body)
        except IndexMissingError as exc:
            raise GraphNotBuiltError(exc) from exc

    def degrees(self, nodes: Sequence[str]) -> dict[str, int]:
        buckets = self._search(degree_query(nodes, self._scope))["aggregations"]["degree"]
        return {b["key"]: int(b["doc_count"]) for b in buckets["buckets"]}

    def edges_of(self, nodes: Sequence[str], limit: int) -> list[LinkEdge]:
        hits = self._search(edges_query(nodes, self._scope, min(limit, _PAGE)))["hits"]["hits"]
        return [LinkEdge.from_hit(h) for h in hits]

    def strongest(self, node: str, cap: int) -> list[LinkEdge]:
        hits = self._search(edges_query([node], self._scope, cap))["hits"]["hits"]
        return [LinkEdge.from_hit(h) for h in hits]

    def owned_by(self, companies: Sequence[str], limit: int) -> list[LinkEdge]:
        body = owned_query(companies, self._scope, min(limit, _PAGE))
        return [LinkEdge.from_hit(h) for h in self._search(body)["hits"]["hits"]]

    def mention_edges(self, mention: str) -> list[str]:
        """Ids of the in-scope edges of a mention; none when the graph has not been built."""
        try:
            hits = self._search(mention_query(mention, self._scope))["hits"]["hits"]
        except GraphNotBuiltError:
            return []
        return [str(h["_id"]) for h in hits]


@dataclass(frozen=True, slots=True)
class Cut:
    """A node whose edges the fan-out cap cut: ``degree`` in scope, ``kept`` followed."""

    node: str
    hop: int
    degree: int
    kept: int


@dataclass
class Neighbourhood:
    """The nodes within ``hops`` of ``start`` (node -> hop), the edges among them, the cuts."""

    start: str
    hops: int
    fan_out: int
    distance: dict[str, int] = field(default_factory=dict)
    edges: dict[str, LinkEdge] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    cuts: list[Cut] = field(default_factory=list)
    node_budget_reached: bool = False
    queries: int = 0


def _batches(nodes: list[str], degrees: dict[str, int]) -> list[list[str]]:
    """Frontier nodes grouped so that one search returns all of a group's edges."""
    groups: list[list[str]] = [[]]
    total = 0
    for node in nodes:
        degree = degrees.get(node, 0)
        if degree == 0:
            continue
        if total + degree > _PAGE and groups[-1]:
            groups.append([])
            total = 0
        groups[-1].append(node)
        total += degree
    return [g for g in groups if g]


def expand(
    edges: EdgeSource,
    start: str,
    hops: int,
    fan_out: int = DEFAULT_FAN_OUT,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Neighbourhood:
    """Breadth-first, ``hops`` deep, at most ``fan_out`` edges followed out of any node."""
    hood = Neighbourhood(start, hops, fan_out, distance={start: 0})
    frontier = [start]
    for hop in range(1, hops + 1):
        if not frontier:
            break
        degrees = edges.degrees(frontier)
        hood.queries += 1
        fetched: list[LinkEdge] = []
        small = [n for n in frontier if 0 < degrees.get(n, 0) <= fan_out]
        for group in _batches(small, degrees):
            fetched += edges.edges_of(group, sum(degrees[n] for n in group))
            hood.queries += 1
        for node in frontier:
            if degrees.get(node, 0) > fan_out:
                fetched += edges.strongest(node, fan_out)
                hood.cuts.append(Cut(node, hop, degrees[node], fan_out))
                hood.queries += 1
        frontier = _absorb(hood, fetched, hop, max_nodes)
    return hood


def _absorb(hood: Neighbourhood, fetched: list[LinkEdge], hop: int, max_nodes: int) -> list[str]:
    """Add the fetched edges (strongest first) and return the newly reached nodes."""
    new: list[str] = []
    for edge in sorted(fetched, key=lambda e: (-e.strength, e.id)):
        for node, name in ((edge.src, edge.src_name), (edge.dst, edge.dst_name)):
            if name and node not in hood.names:
                hood.names[node] = name
        ends = (edge.src, edge.dst)
        fresh = [n for n in ends if n not in hood.distance]
        if fresh and len(hood.distance) + len(fresh) > max_nodes:
            hood.node_budget_reached = True
            continue
        for node in fresh:
            hood.distance[node] = hop
            new.append(node)
        hood.edges[edge.id] = edge
    return [n for n in new if node_kind(n) is not NodeKind.MENTION]
