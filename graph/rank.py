"""Rank the persons and companies of a neighbourhood and explain each with readable paths.

networkx works on the pulled neighbourhood only. Entities come in three standings, in this order
(graph.control decides the first two): the subject's **close relatives** (spouse, parents,
children, siblings in its household), the **companies controlled** by the subject or a close
relative (legal representative, effective holding of 50% or more through chains, or held in
majority by a controlled company), then every other **linked** entity. Within a standing, the
score orders: a path's strength is the product of its edges' strengths (graph.model: 配偶 0.95,
法定代表人 0.9, a shareholding 0.3-1.0 by percentage, a shared employer 0.25...), so every extra
hop multiplies by less than one, and an entity's score combines its strongest paths as
independent evidence (noisy-or): two strong chains to a company rank it above one. A minority
stake or a 3-hop co-shareholder, however many parallel paths it has, never outranks control.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import networkx as nx

from graph.control import Control, assess, effective_holdings, stakes_of
from graph.model import NodeKind, node_kind
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


class Standing(StrEnum):
    """Why an entity ranks where it does; the three bands of the ranking, strongest first."""

    CLOSE_RELATIVE = "close_relative"
    CONTROLLED = "controlled"
    LINKED = "linked"


STANDING_LABELS = {
    Standing.CLOSE_RELATIVE: "近亲属",
    Standing.CONTROLLED: "受控企业",
    Standing.LINKED: "其他关联",
}
_STANDING_ORDER = {standing: i for i, standing in enumerate(Standing)}


@dataclass(frozen=True, slots=True)
class Linked:
    node: str
    kind: NodeKind
    name: str | None
    hops: int
    score: float
    paths: tuple[Path, ...]
    edge_kinds: tuple[str, ...]
    standing: Standing = Standing.LINKED
    control: Control | None = None


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


def proof_path(start: str, edges: Sequence[LinkEdge]) -> Path:
    """The path that walks ``edges`` from ``start`` (a control's proof)."""
    steps: list[Step] = []
    node = start
    for edge in edges:
        other = edge.other(node)
        steps.append(Step(edge, node, other, edge.label_from(node)))
        node = other
    return Path(tuple(steps), round(math.prod(e.strength for e in edges), 6))


def _with_proof(proof: Path, found: Iterable[Path]) -> tuple[Path, ...]:
    """The proof first, then the strongest other paths (the proof itself not twice)."""
    route = [s.edge.id for s in proof.steps]
    others = [p for p in found if [s.edge.id for s in p.steps] != route]
    return (proof, *others)[:PATHS_PER_ENTITY]


def rank(
    hood: Neighbourhood, limit: int, kinds: tuple[NodeKind, ...] = RANKED_KINDS
) -> list[Linked]:
    """The ``limit`` best-linked persons and companies, each with its paths, best first: close
    relatives, then controlled companies, then the rest (each band by score)."""
    graph = to_graph(hood)
    found = best_paths(graph, hood.start, hood.hops, PATHS_PER_ENTITY)
    assessment = assess(hood)
    linked = []
    for node in sorted(set(found) | set(assessment.controlled)):
        if node == hood.start or node_kind(node) not in kinds:
            continue
        control = assessment.controlled.get(node)
        paths = tuple(found.get(node, ()))
        if control is not None:
            paths = _with_proof(proof_path(hood.start, control.proof), paths)
        standing = (
            Standing.CLOSE_RELATIVE
            if node in assessment.relatives
            else Standing.CONTROLLED
            if control is not None
            else Standing.LINKED
        )
        kinds_seen = sorted({str(s.edge.kind) for p in paths for s in p.steps})
        linked.append(
            Linked(
                node,
                node_kind(node),
                hood.names.get(node),
                hood.distance[node],
                _noisy_or(p.strength for p in paths),
                paths,
                tuple(kinds_seen),
                standing,
                control,
            )
        )
    linked.sort(key=lambda x: (_STANDING_ORDER[x.standing], -x.score, x.hops, x.node))
    return linked[:limit]


def effective_shares(hood: Neighbourhood) -> dict[str, dict[str, float]]:
    """holder -> company -> effective fraction owned, through chains of companies.

    Fractions multiply along a chain and add over parallel chains (the holder's 60% of A, which
    owns 100% of B, is 60% of B), as graph.control computes them for control. Only the holdings
    inside the neighbourhood are known.
    """
    stakes = list(stakes_of(hood.edges.values()).values())
    result: dict[str, dict[str, float]] = {}
    for holder in sorted({s.holder for s in stakes}):
        totals, _ = effective_holdings(stakes, (holder,))
        result[holder] = {c: round(f, 6) for c, f in totals.items()}
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
