"""The graph operations the API offers, over an edge source: linked entities and paths."""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.neighbourhood import DEFAULT_MAX_NODES, EdgeSource, Neighbourhood, expand
from graph.rank import Linked, Path, effective_shares, merge, paths_between, rank


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


def linked_entities(
    edges: EdgeSource,
    start: str,
    hops: int,
    fan_out: int,
    limit: int,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> LinkedResult:
    """Expand ``start`` and rank the persons and companies reached, with their paths."""
    hood = expand(edges, start, hops, fan_out, max_nodes)
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
