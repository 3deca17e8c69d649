"""Rank the persons and companies of a neighbourhood and explain each with readable paths.

networkx works on the pulled neighbourhood only. A path's strength is the product of its edges'
strengths (graph.model: 配偶 0.95, 法定代表人 0.9, a shareholding 0.3-1.0 by percentage, a shared
employer 0.25...), so closeness, edge kinds and shareholding strength all enter it: every extra
hop multiplies by less than one. An entity's score combines its strongest paths as independent
evidence (noisy-or): two strong chains to a company rank it above one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from graph.model import EdgeKind, NodeKind, node_kind
from graph.neighbourhood import LinkEdge, Neighbourhood

PATHS_PER_ENTITY = 3
# Entities whose best path is examined for further paths: a few times the page asked for.
_CANDIDATE_FACTOR = 3
RANKED_KINDS = (NodeKind.PERSON, NodeKind.COMPANY)
_PARALLEL = 3  # record edges considered between one pair of nodes when spelling out paths


@dataclass(frozen=True, slots=True)
class Step:
    edge: LinkEdge
    frm: str
    to: str
    label: str


@dataclass(frozen=True, slots=True)
class Path:
    steps: tuple[Step, ...]
    strength: float

    @property
    def chain(self) -> str:
        """配偶 → 股东(45%) → 法定代表人"""
        return " → ".join(s.label for s in self.steps)


@dataclass(frozen=True, slots=True)
class Linked:
    node: str
    kind: NodeKind
    name: str | None
    hops: int
    score: float
    paths: tuple[Path, ...]
    edge_kinds: tuple[str, ...]


def to_graph(hood: Neighbourhood) -> nx.Graph:
    """An undirected graph of the neighbourhood: one edge per linked pair, holding every record
    edge between them (strongest first); ``cost`` = -log(strength) of the strongest."""
    graph = nx.Graph()
    for node, hop in hood.distance.items():
        graph.add_node(node, hop=hop, kind=str(node_kind(node)), name=hood.names.get(node))
    for edge in sorted(hood.edges.values(), key=lambda e: (-e.strength, e.id)):
        a, b = edge.src, edge.dst
        if a not in hood.distance or b not in hood.distance or a == b:
            continue
        if graph.has_edge(a, b):
            graph.edges[a, b]["edges"].append(edge)
        else:
            graph.add_edge(a, b, cost=-math.log(max(edge.strength, 1e-6)), edges=[edge])
    return graph


def _variants(graph: nx.Graph, nodes: list[str]) -> list[Path]:
    """The paths along ``nodes``, one per choice among parallel edges (a spouse who is both
    legal representative and shareholder of a company gives two chains)."""
    choices = [graph.edges[a, b]["edges"][:_PARALLEL] for a, b in itertools.pairwise(nodes)]
    paths = []
    for picked in itertools.product(*choices):
        steps = tuple(
            Step(edge, frm, to, edge.label_from(frm))
            for edge, (frm, to) in zip(picked, itertools.pairwise(nodes), strict=True)
        )
        paths.append(Path(steps, round(math.prod(e.strength for e in picked), 6)))
    return paths


def paths_to(graph: nx.Graph, start: str, target: str, max_hops: int, limit: int) -> list[Path]:
    """Up to ``limit`` paths of at most ``max_hops`` edges, strongest first."""
    found: list[Path] = []
    generator = nx.shortest_simple_paths(graph, start, target, weight="cost")
    for nodes in itertools.islice(generator, limit * 4):
        if len(nodes) - 1 <= max_hops:
            found += _variants(graph, nodes)
        if len(found) >= limit:
            break
    if not found:  # the breadth-first path is within max_hops by construction
        found = _variants(graph, nx.shortest_path(graph, start, target))
    return sorted(found, key=lambda p: (-p.strength, len(p.steps), p.chain))[:limit]


def _noisy_or(strengths: Iterable[float]) -> float:
    miss = 1.0
    for s in strengths:
        miss *= 1.0 - s
    return round(1.0 - miss, 6)


def rank(
    hood: Neighbourhood, limit: int, kinds: tuple[NodeKind, ...] = RANKED_KINDS
) -> list[Linked]:
    """The ``limit`` best-linked persons and companies, each with its paths, best first."""
    graph = to_graph(hood)
    if hood.start not in graph:
        return []
    costs = nx.single_source_dijkstra_path_length(graph, hood.start, weight="cost")
    pool = sorted(
        (n for n in costs if n != hood.start and node_kind(n) in kinds),
        key=lambda n: (costs[n], n),
    )[: max(limit * _CANDIDATE_FACTOR, limit)]
    linked = []
    for node in pool:
        paths = paths_to(graph, hood.start, node, hood.hops, PATHS_PER_ENTITY)
        kinds_seen = sorted({str(s.edge.kind) for p in paths for s in p.steps})
        linked.append(
            Linked(
                node,
                node_kind(node),
                hood.names.get(node),
                hood.distance[node],
                _noisy_or(p.strength for p in paths),
                tuple(paths),
                tuple(kinds_seen),
            )
        )
    linked.sort(key=lambda x: (-x.score, x.hops, x.node))
    return linked[:limit]


_SHARE_KINDS = (EdgeKind.SHAREHOLDER, EdgeKind.OWNS)


def effective_shares(hood: Neighbourhood, max_depth: int = 4) -> dict[str, dict[str, float]]:
    """holder -> company -> effective fraction owned, through chains of companies.

    Fractions multiply along a chain and add over parallel chains (the holder's 60% of A, which
    owns 100% of B, is 60% of B). Only the holdings inside the neighbourhood are known.
    """
    owners = nx.DiGraph()
    for edge in hood.edges.values():
        if edge.kind in _SHARE_KINDS and edge.percent is not None:
            fraction = min(max(edge.percent / 100.0, 0.0), 1.0)
            previous = owners.get_edge_data(edge.src, edge.dst, {}).get("fraction", 0.0)
            owners.add_edge(edge.src, edge.dst, fraction=min(1.0, previous + fraction))
    result: dict[str, dict[str, float]] = {}
    for holder in owners.nodes:
        shares: dict[str, float] = {}
        stack: list[tuple[str, float, frozenset[str], int]] = [(holder, 1.0, frozenset(), 0)]
        while stack:
            node, fraction, seen, depth = stack.pop()
            if depth >= max_depth:
                continue
            for company in owners.successors(node):
                if company in seen or company == holder:
                    continue
                through = fraction * owners.edges[node, company]["fraction"]
                shares[company] = shares.get(company, 0.0) + through
                stack.append((company, through, seen | {company}, depth + 1))
        if shares:
            result[holder] = {c: round(min(f, 1.0), 6) for c, f in shares.items()}
    return result


def merge(first: Neighbourhood, second: Neighbourhood, hops: int) -> Neighbourhood:
    """One neighbourhood of both (for a path between their starts); distances from ``first``
    are not kept, only which nodes were reached."""
    merged = Neighbourhood(first.start, hops, first.fan_out)
    for hood in (first, second):
        for node, hop in hood.distance.items():
            merged.distance[node] = min(hop, merged.distance.get(node, hop))
        merged.edges.update(hood.edges)
        merged.names.update(hood.names)
        merged.cuts += hood.cuts
        merged.node_budget_reached |= hood.node_budget_reached
        merged.queries += hood.queries
    return merged


def paths_between(hood: Neighbourhood, a: str, b: str, max_hops: int, limit: int) -> list[Path]:
    """The strongest paths of at most ``max_hops`` edges between ``a`` and ``b`` (none: [])."""
    graph = to_graph(hood)
    if a not in graph or b not in graph or not nx.has_path(graph, a, b):
        return []
    if nx.shortest_path_length(graph, a, b) > max_hops:
        return []
    return paths_to(graph, a, b, max_hops, limit)
