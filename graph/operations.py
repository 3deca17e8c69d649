"""The graph operations the API offers, over an edge source: linked entities and paths."""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.control import assess
from graph.neighbourhood import DEFAULT_MAX_NODES, EdgeSource, Neighbourhood, expand
from graph.rank import Linked, Path, effective_shares, merge, paths_between, rank

# Ownership levels followed past the requested hops out of the companies the subject's circle
# holds: control does not stop at a hop count (what the child's holding company owns, and what
# that owns, is the family's too); three levels cover the chains registries show, and each
# costs one query.
OWNERSHIP_LEVELS = 3


@dataclass
class LinkedResult:
    hood: Neighbourhood
    linked: list[Linked]
    # holder -> company -> effective fraction, for the holders and companies of the neighbourhood
    shares: dict[str, dict[str, float]] = field(default_factory=dict)

    def holders_of(self, company: str, limit: int = 3) -> list[tuple[str, float]]:
        """The largest effective holders of ``company`` within the neighbourhood."""
        holders = [(h, s[company]) for h, s in self.shares.items() if company in s]
        return sorted(holders, key=lambda x: (-x[1], x[0]))[:limit]

    def holdings_of(self, holder: str, limit: int = 5) -> list[tuple[str, float]]:
        held = self.shares.get(holder, {})
        return sorted(held.items(), key=lambda x: (-x[1], x[0]))[:limit]


def follow_ownership(
    edges: EdgeSource, hood: Neighbourhood, max_nodes: int, levels: int = OWNERSHIP_LEVELS
) -> int:
    """Pull what the companies the subject's circle holds or controls own, where the hops
    stopped, level by level (at most ``hood.fan_out`` holdings each, within the node budget);
    returns the nodes added.

    So a chain of control is followed to its end, and a majority reached through parallel
    chains is seen even when the hop limit falls between them (the sibling's 40% of a company
    that owns half of another the sibling holds directly). Only ownership edges out of held
    companies are followed, so the hop limit still bounds everything else; the scope's filters
    apply as to every pull. A company reached this way ranks only if it is controlled.
    """
    cut = {c.node for c in hood.cuts}
    pulled = {n for n, hop in hood.distance.items() if hop < hood.hops and n not in cut}
    added = 0
    for _ in range(levels):
        assessment = assess(hood)
        held = set(assessment.held) | set(assessment.controlled)
        frontier = sorted(c for c in held if c not in pulled)
        if not frontier:
            break
        pulled.update(frontier)
        hood.queries += 1
        kept: dict[str, int] = {}
        for edge in edges.owned_by(frontier, hood.fan_out * len(frontier)):
            if edge.src not in frontier or kept.get(edge.src, 0) >= hood.fan_out:
                continue
            if edge.dst not in hood.distance:
                if len(hood.distance) >= max_nodes:
                    hood.node_budget_reached = True
                    continue
                hood.distance[edge.dst] = hood.distance[edge.src] + 1
                added += 1
            kept[edge.src] = kept.get(edge.src, 0) + 1
            for node, name in ((edge.src, edge.src_name), (edge.dst, edge.dst_name)):
                if name and node not in hood.names:
                    hood.names[node] = name
            hood.edges[edge.id] = edge
    return added


def linked_entities(
    edges: EdgeSource,
    start: str,
    hops: int,
    fan_out: int,
    limit: int,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> LinkedResult:
    """Expand ``start``, follow what its circle holds past the hops, and rank the persons and
    companies reached, with their paths."""
    hood = expand(edges, start, hops, fan_out, max_nodes)
    follow_ownership(edges, hood, max_nodes)
    return LinkedResult(hood, rank(hood, limit), effective_shares(hood))


def path_between(
    edges: EdgeSource,
    a: str,
    b: str,
    hops: int,
    fan_out: int,
    limit: int,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> tuple[Neighbourhood, list[Path]]:
    """Paths of at most ``hops`` edges from ``a`` to ``b``: both sides expand half the way."""
    near_a = expand(edges, a, (hops + 1) // 2, fan_out, max_nodes)
    near_b = expand(edges, b, hops // 2, fan_out, max_nodes)
    hood = merge(near_a, near_b, hops)
    return hood, paths_between(hood, a, b, hops, limit)
