"""Expansion, fan-out cap, ranking, paths and effective shareholding over an in-memory edge list.

The edge source here is a list in memory (the unit under test is the algorithm, not the engine);
the integration tests run the same functions against the edges index.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import networkx as nx

from graph.export import graphml, subgraph
from graph.model import EdgeKind, Relation
from graph.neighbourhood import LinkEdge, expand
from graph.operations import linked_entities, path_between
from graph.rank import effective_shares

LABELS = {
    EdgeKind.HOUSEHOLD: ("配偶", "配偶"),
    EdgeKind.LEGAL_REP: ("法定代表人", "法定代表人"),
    EdgeKind.EMPLOYEE: ("参保单位职工", "参保单位职工"),
}
STRENGTH = {EdgeKind.HOUSEHOLD: 0.95, EdgeKind.LEGAL_REP: 0.9, EdgeKind.EMPLOYEE: 0.25}


def link(
    n: int,
    kind: EdgeKind,
    src: str,
    dst: str,
    percent: float | None = None,
    relation: Relation = Relation.SPOUSE,
) -> LinkEdge:
    if percent is not None:
        label = f"股东({percent:g}%)" if kind is EdgeKind.SHAREHOLDER else f"控股({percent:g}%)"
        labels, strength = (label, label), 0.3 + 0.7 * percent / 100
    else:
        labels, strength = LABELS[kind], STRENGTH[kind]
    return LinkEdge(
        f"e{n}",
        kind,
        src,
        dst,
        *labels,
        strength,
        "src",
        (f"r{n}",),
        src.upper(),
        dst.upper(),
        relation=str(relation) if kind is EdgeKind.HOUSEHOLD else None,
        percent=percent,
    )


class MemoryEdges:
    def __init__(self, edges: list[LinkEdge]) -> None:
        self.edges = edges

    def _of(self, node: str) -> list[LinkEdge]:
        return sorted(
            (e for e in self.edges if node in (e.src, e.dst)), key=lambda e: (-e.strength, e.id)
        )

    def degrees(self, nodes: Sequence[str]) -> dict[str, int]:
        return {n: len(self._of(n)) for n in nodes if self._of(n)}

    def edges_of(self, nodes: Sequence[str], limit: int) -> list[LinkEdge]:
        return [e for e in self.edges if e.src in nodes or e.dst in nodes][:limit]

    def strongest(self, node: str, cap: int) -> list[LinkEdge]:
        return self._of(node)[:cap]

    def owned_by(self, companies: Sequence[str], limit: int) -> list[LinkEdge]:
        owned = [e for e in self.edges if e.kind is EdgeKind.OWNS and e.src in companies]
        return sorted(owned, key=lambda e: (-e.strength, e.id))[:limit]


HUB = "c:hub"
WORLD = [
    link(1, EdgeKind.HOUSEHOLD, "p:official", "p:spouse"),
    link(2, EdgeKind.LEGAL_REP, "p:spouse", "c:firm"),
    link(3, EdgeKind.SHAREHOLDER, "p:spouse", "c:firm", 45.0),
    link(4, EdgeKind.SHAREHOLDER, "p:partner", "c:firm", 55.0),
    link(5, EdgeKind.OWNS, "c:firm", "c:sub", 60.0),
    link(6, EdgeKind.EMPLOYEE, "p:official", HUB),
    *(link(100 + i, EdgeKind.EMPLOYEE, f"p:worker{i}", HUB) for i in range(30)),
]


def test_the_fan_out_cap_cuts_a_hub_and_says_so() -> None:
    hood = expand(MemoryEdges(WORLD), "p:official", 2, fan_out=10)
    (cut,) = hood.cuts
    assert (cut.node, cut.hop, cut.degree, cut.kept) == (HUB, 2, 31, 10)
    workers = {n for n in hood.distance if n.startswith("p:worker")}
    assert workers == {f"p:worker{i}" for i in range(10)}  # the hub's ten strongest (ties: by id)


def test_hops_bound_the_neighbourhood() -> None:
    one = expand(MemoryEdges(WORLD), "p:official", 1, fan_out=50)
    assert set(one.distance) == {"p:official", "p:spouse", HUB}
    three = expand(MemoryEdges(WORLD), "p:official", 3, fan_out=50)
    assert three.distance["c:sub"] == 3


def test_the_node_budget_stops_the_pull_and_is_reported() -> None:
    hood = expand(MemoryEdges(WORLD), "p:official", 2, fan_out=50, max_nodes=8)
    assert len(hood.distance) <= 8
    assert hood.node_budget_reached


def test_linked_entities_rank_family_ties_above_a_shared_employer_with_readable_chains() -> None:
    result = linked_entities(MemoryEdges(WORLD), "p:official", 3, 50, 5)
    order = [e.node for e in result.linked]
    assert order[:3] == ["p:spouse", "c:firm", "c:sub"]
    firm = result.linked[1]
    assert [p.chain for p in firm.paths] == ["配偶 → 法定代表人", "配偶 → 股东(45%)"]
    assert firm.score > firm.paths[0].strength  # two chains are stronger evidence than one
    assert result.linked[2].paths[0].chain == "配偶 → 法定代表人 → 控股(60%)"
    assert order.index(HUB) > order.index("c:sub")


def test_effective_shareholding_multiplies_along_the_chain() -> None:
    hood = expand(MemoryEdges(WORLD), "p:official", 3, fan_out=50)
    shares = effective_shares(hood)
    assert shares["p:spouse"] == {"c:firm": 0.45, "c:sub": 0.27}
    assert shares["p:partner"]["c:sub"] == 0.33


def test_path_between_two_subjects_meets_in_the_middle() -> None:
    _, paths = path_between(MemoryEdges(WORLD), "p:official", "p:partner", 3, 50, 3)
    assert [p.chain for p in paths] == [
        "配偶 → 法定代表人 → 股东(55%)",
        "配偶 → 股东(45%) → 股东(55%)",
    ]
    _, none = path_between(MemoryEdges(WORLD), "p:official", "c:sub", 2, 50, 3)
    assert none == []


def test_graphml_reads_back_with_keys_shown_through_the_callers_function() -> None:
    hood = expand(MemoryEdges(WORLD[:5]), "p:official", 3, fan_out=50)
    shown = graphml(hood, lambda node: node.upper())
    graph = nx.read_graphml(io.BytesIO(shown.encode()))
    assert set(graph.nodes) == {n.upper() for n in hood.distance}
    assert graph.number_of_edges() == 5
    assert graph.nodes["P:SPOUSE"]["hop"] == 1
    data = subgraph(hood, lambda node: node.upper())
    assert data["nodes"][0]["key"] == "P:OFFICIAL"  # the start first (hop 0)
    assert {e["record_ids"][0] for e in data["edges"]} == {"r1", "r2", "r3", "r4", "r5"}
