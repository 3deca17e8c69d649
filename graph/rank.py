"""Rank the persons and companies of a neighbourhood and explain each with readable paths.

networkx works on the pulled neighbourhood only. A path's strength is the product of its edges'
strengths (graph.model: 配偶 0.95, 法定代表人 0.9, a shareholding 0.3-1.0 by percentage, a shared
employer 0.25...), so closeness, edge kinds and shareholding strength all enter it: every extra
hop multiplies by less than one. An entity's score combines its strongest paths as independent
evidence (noisy-or): two strong chains to a company rank it above one.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from graph.model import EdgeKind, NodeKind, node_kind
from graph.neighbourhood import LinkEdge, Neighbourhood

PATHS_PER_ENTITY = 3
RANKED_KINDS = (NodeKind.PERSON, NodeKind.COMPANY)
_PARALLEL = 3  # record edges considered between one pair of nodes when spelling out paths
# Edge steps one ranking may walk: a 3-hop neighbourhood behind a capped hub stays far below it.
MAX_WALK_STEPS = 200_000


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


def best_paths(graph: nx.Graph, start: str, max_hops: int, per_node: int) -> dict[str, list[Path]]:
    """For every node, its ``per_node`` strongest simple paths of at most ``max_hops`` edges.

    One depth-first walk from ``start`` (hops are capped at 3, so it stays short); parallel
    edges between two nodes are distinct paths (a spouse who is both legal representative and
    shareholder of a company gives two chains). ``MAX_WALK_STEPS`` bounds the walk on a dense
    neighbourhood; neighbours are taken strongest first, so what a cut drops is the weakest.
    """
    best: dict[str, list[tuple[float, str, int, tuple[Step, ...]]]] = {}
    remaining = MAX_WALK_STEPS
    order = itertools.count()  # ties on strength and chain: the path found first stays

    def keep(node: str, strength: float, steps: tuple[Step, ...]) -> None:
        entry = (strength, " → ".join(s.label for s in steps), -next(order), steps)
        heap = best.setdefault(node, [])
        if len(heap) < per_node:
            heapq.heappush(heap, entry)
        elif entry[:3] > heap[0][:3]:
            heapq.heapreplace(heap, entry)

    def walk(node: str, visited: frozenset[str], steps: tuple[Step, ...], strength: float) -> None:
        nonlocal remaining
        if len(steps) >= max_hops:
            return
        for neighbour, data in sorted(graph.adj[node].items(), key=lambda x: x[1]["cost"]):
            if neighbour in visited:
                continue
            for edge in data["edges"][:_PARALLEL]:
                remaining -= 1
                if remaining < 0:
                    return
                path = (*steps, Step(edge, node, neighbour, edge.label_from(node)))
                keep(neighbour, strength * edge.strength, path)
                walk(neighbour, visited | {neighbour}, path, strength * edge.strength)

    if start in graph:
        walk(start, frozenset({start}), (), 1.0)
    return {
        node: [
            Path(steps, round(strength, 6))
            for strength, _, _, steps in sorted(heap, key=lambda e: (-e[0], len(e[3]), e[1]))
        ]
        for node, heap in best.items()
    }


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
    paths = best_paths(graph, hood.start, hood.hops, PATHS_PER_ENTITY)
    linked = []
    for node, found in paths.items():
        if node == hood.start or node_kind(node) not in kinds:
            continue
        kinds_seen = sorted({str(s.edge.kind) for p in found for s in p.steps})
        linked.append(
            Linked(
                node,
                node_kind(node),
                hood.names.get(node),
                hood.distance[node],
                _noisy_or(p.strength for p in found),
                tuple(found),
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
    return best_paths(to_graph(hood), a, max_hops, limit).get(b, [])
