"""Control in a neighbourhood (graph.control) and the ranking bands built on it (graph.rank).

Edges are built as the graph pass builds them (graph.model.Edge through the index document), so
labels and strengths are the real ones; the neighbourhood is assembled in memory. The engine
path is covered by tests/integration/test_graph_api.py on the demo's planted chains.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from common.vocab import Source
from graph.control import (
    ControlBasis,
    assess,
    close_relatives,
    effective_holdings,
    stakes_of,
)
from graph.model import Edge, EdgeKind, Relation
from graph.neighbourhood import LinkEdge, Neighbourhood, expand
from graph.operations import follow_ownership, linked_entities
from graph.rank import Standing, best_paths, rank, to_graph
from graph.store import edge_document, edge_id

OFFICIAL = "p:official"


def edge(
    kind: EdgeKind,
    src: str,
    dst: str,
    *,
    percent: float | None = None,
    relation: Relation | None = None,
    post: str | None = None,
    record: str = "r",
) -> LinkEdge:
    """An edge as the graph pass stores it (labels and strength from graph.model)."""
    model = Edge(
        kind,
        src,
        dst,
        Source.SHAREHOLDER,
        (f"{record}-{src}-{dst}",),
        src_name=src[2:],
        dst_name=dst[2:],
        relation=relation,
        percent=percent,
        post=post,
    )
    return LinkEdge.from_hit({"_id": edge_id(model), "_source": edge_document(model)})


def family(relation: Relation, relative: str) -> LinkEdge:
    return edge(EdgeKind.HOUSEHOLD, OFFICIAL, relative, relation=relation)


def share(holder: str, company: str, percent: float | None, record: str = "r") -> LinkEdge:
    kind = EdgeKind.OWNS if holder.startswith("c:") else EdgeKind.SHAREHOLDER
    return edge(kind, holder, company, percent=percent, record=record)


def rep(person: str, company: str) -> LinkEdge:
    return edge(EdgeKind.LEGAL_REP, person, company)


def hood_of(edges: Sequence[LinkEdge], start: str = OFFICIAL, hops: int = 3) -> Neighbourhood:
    """Every edge given, as if the expansion had pulled it."""
    hood = Neighbourhood(start, hops, 50, distance={start: 0})
    for e in edges:
        hood.edges[e.id] = e
        for node in (e.src, e.dst):
            hood.distance.setdefault(node, 1)
    return hood


class MemoryEdges:
    """An edge source over a list (the algorithm is the unit here, not the engine)."""

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


# --- stakes and effective holdings -------------------------------------------------------------


def test_a_stake_without_a_percentage_proves_nothing_and_duplicates_keep_the_largest() -> None:
    stakes = stakes_of(
        [
            share("p:a", "c:x", None),
            share("p:a", "c:y", 30.0, record="r1"),
            share("p:a", "c:y", 45.0, record="r2"),  # the holder twice, two writings of its name
            share("p:a", "c:z", 130.0),  # a typo above 100% is full ownership, not more
        ]
    )
    assert {k: s.fraction for k, s in stakes.items()} == {("p:a", "c:y"): 0.45, ("p:a", "c:z"): 1.0}


@pytest.mark.parametrize(
    ("edges", "holders", "expected"),
    [
        pytest.param(
            [share("p:a", "c:h", 60.0), share("c:h", "c:s", 100.0), share("c:s", "c:t", 51.0)],
            ["p:a"],
            {"c:h": 0.6, "c:s": 0.6, "c:t": 0.306},
            id="chain multiplies",
        ),
        pytest.param(
            [share("p:a", "c:q", 30.0), share("p:a", "c:r", 40.0), share("c:r", "c:q", 50.0)],
            ["p:a"],
            {"c:q": 0.5, "c:r": 0.4},
            id="parallel paths add",
        ),
        pytest.param(
            [share("p:a", "c:x", 30.0), share("p:b", "c:x", 25.0)],
            ["p:a", "p:b"],
            {"c:x": 0.55},
            id="the circle's members add",
        ),
        pytest.param(
            [share("p:a", "c:a", 60.0), share("c:a", "c:b", 60.0), share("c:b", "c:a", 30.0)],
            ["p:a"],
            {"c:a": 0.6, "c:b": 0.36},
            id="a cycle of cross-holdings adds nothing and ends",
        ),
        pytest.param(
            [share("p:a", "c:x", 80.0), share("c:x", "c:y", 80.0), share("p:a", "c:y", 60.0)],
            ["p:a"],
            {"c:x": 0.8, "c:y": 1.0},
            id="more than all of it is all of it",
        ),
    ],
)
def test_effective_holdings(
    edges: list[LinkEdge], holders: list[str], expected: dict[str, float]
) -> None:
    totals, _ = effective_holdings(stakes_of(edges).values(), holders)
    assert {c: round(f, 6) for c, f in totals.items()} == expected


# --- the circle and control ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relation", "close"),
    [
        (Relation.SPOUSE, True),
        (Relation.PARENT, True),
        (Relation.SIBLING, True),
        (Relation.GRANDPARENT, False),
        (Relation.IN_LAW, False),
        (Relation.MEMBER, False),
    ],
)
def test_close_relatives_are_spouse_parents_children_and_siblings(
    relation: Relation, close: bool
) -> None:
    hood = hood_of([family(relation, "p:rel")])
    assert ("p:rel" in close_relatives(hood)) is close


def test_a_child_of_the_subject_is_close_whichever_way_the_edge_reads() -> None:
    hood = hood_of([edge(EdgeKind.HOUSEHOLD, "p:child", OFFICIAL, relation=Relation.PARENT)])
    assert set(close_relatives(hood)) == {"p:child"}


def test_a_relative_of_a_relative_is_not_in_the_circle() -> None:
    hood = hood_of(
        [
            family(Relation.SPOUSE, "p:spouse"),
            edge(EdgeKind.HOUSEHOLD, "p:spouse", "p:brother_in_law", relation=Relation.SIBLING),
            rep("p:brother_in_law", "c:x"),
        ]
    )
    assert assess(hood).controlled == {}


CHILD_CHAIN = [
    family(Relation.PARENT, "p:child"),
    share("p:child", "c:holding", 60.0),
    share("p:manager", "c:holding", 40.0),
    rep("p:manager", "c:holding"),
    share("c:holding", "c:sub", 100.0),
    share("c:sub", "c:subsub", 51.0),
    share("p:other", "c:subsub", 49.0),
]


@pytest.mark.parametrize(
    ("company", "bases", "effective", "chain"),
    [
        ("c:holding", (ControlBasis.HOLDING,), 0.6, "子女 → 股东(60%)"),
        ("c:sub", (ControlBasis.HOLDING,), 0.6, "子女 → 股东(60%) → 控股(100%)"),
        ("c:subsub", (ControlBasis.CHAIN,), 0.306, "子女 → 股东(60%) → 控股(100%) → 控股(51%)"),
    ],
)
def test_control_follows_the_chain_from_a_relative(
    company: str, bases: tuple[ControlBasis, ...], effective: float, chain: str
) -> None:
    control = assess(hood_of(CHILD_CHAIN)).controlled[company]
    assert control.bases == bases
    assert control.effective == effective
    assert control.controller == "p:child"
    labels = []
    node = OFFICIAL
    for e in control.proof:
        labels.append(e.label_from(node))
        node = e.other(node)
    assert " → ".join(labels) == chain
    assert node == company


@pytest.mark.parametrize(
    ("edges", "controlled"),
    [
        pytest.param([share("p:rel", "c:x", 49.0)], set(), id="a minority stake"),
        pytest.param([share("p:rel", "c:x", 50.0)], {"c:x"}, id="exactly half"),
        pytest.param([share("p:rel", "c:x", None)], set(), id="a missing percentage"),
        pytest.param(
            [share("p:rel", "c:x", None), rep("p:rel", "c:x")], {"c:x"}, id="legal representative"
        ),
        pytest.param(
            [share("p:rel", "c:q", 30.0), share("p:rel", "c:r", 40.0), share("c:r", "c:q", 50.0)],
            {"c:q"},
            id="parallel paths reach half",
        ),
        pytest.param(
            [share("p:rel", "c:a", 60.0), share("c:a", "c:b", 60.0), share("c:b", "c:a", 30.0)],
            {"c:a", "c:b"},
            id="cross-holdings",
        ),
        pytest.param(
            [share("p:rel", "c:a", 30.0), share("c:a", "c:b", 100.0)],
            set(),
            id="nothing through an uncontrolled company",
        ),
        pytest.param(
            [
                share("p:rel", "c:a", 60.0),
                share("c:a", "c:b", 30.0),
                share("p:rel", "c:b", 25.0),
            ],
            {"c:a", "c:b"},
            id="a controlled company and the relative together",
        ),
    ],
)
def test_which_companies_a_sibling_controls(edges: list[LinkEdge], controlled: set[str]) -> None:
    hood = hood_of([family(Relation.SIBLING, "p:rel"), *edges])
    assert set(assess(hood).controlled) == controlled


def test_the_subject_itself_controls_too() -> None:
    hood = hood_of([rep(OFFICIAL, "c:own"), share(OFFICIAL, "c:held", 70.0)])
    assert set(assess(hood).controlled) == {"c:own", "c:held"}


def test_a_company_subject_controls_its_subsidiaries_not_itself() -> None:
    hood = hood_of(
        [share("c:start", "c:sub", 100.0), share("c:sub", "c:start", 10.0)], start="c:start"
    )
    assert set(assess(hood).controlled) == {"c:sub"}


def test_a_controlled_company_counts_once_under_its_strongest_proof() -> None:
    hood = hood_of(
        [
            family(Relation.SPOUSE, "p:spouse"),
            family(Relation.SIBLING, "p:brother"),
            rep("p:spouse", "c:x"),
            share("p:brother", "c:x", 55.0),
        ]
    )
    control = assess(hood).controlled["c:x"]
    assert control.bases == (ControlBasis.LEGAL_REP, ControlBasis.HOLDING)
    assert control.controller == "p:spouse"  # 配偶 0.95 × 法定代表人 0.9 beats 0.7 × 0.685


# --- the ranking bands ---------------------------------------------------------------------------

# The issue's case: the spouse's company has co-shareholders who are also its officers (many
# parallel 3-hop paths each) and control nothing; the child controls a holding at 60% that owns a
# subsidiary outright.
ISSUE_CASE = [
    family(Relation.SPOUSE, "p:spouse"),
    rep("p:spouse", "c:spouse_co"),
    share("p:spouse", "c:spouse_co", 20.0),
    *(
        e
        for partner in ("p:partner1", "p:partner2")
        for e in (
            share(partner, "c:spouse_co", 40.0),
            edge(EdgeKind.OFFICER, partner, "c:spouse_co", post="董事"),
        )
    ),
    edge(EdgeKind.OFFICER, "p:partner1", "c:spouse_co", post="经理", record="r2"),
    share("p:spouse", "c:minority", 15.0),
    edge(EdgeKind.OFFICER, "p:spouse", "c:minority", post="监事"),
    family(Relation.PARENT, "p:child"),
    share("p:child", "c:holding", 60.0),
    share("c:holding", "c:sub", 100.0),
]


def test_without_control_a_co_shareholder_would_outrank_the_controlled_subsidiary() -> None:
    """The defect the bands fix: by path evidence alone the decoy scores higher."""
    paths = best_paths(to_graph(hood_of(ISSUE_CASE)), OFFICIAL, 3, 3)

    def noisy_or(node: str) -> float:
        miss = 1.0
        for p in paths[node]:
            miss *= 1 - p.strength
        return 1 - miss

    assert noisy_or("p:partner1") > noisy_or("c:sub")


def test_relatives_then_controlled_companies_then_the_rest() -> None:
    ranked = rank(hood_of(ISSUE_CASE), 20)
    order = [e.node for e in ranked]
    standings = [e.standing for e in ranked]
    assert standings == sorted(standings, key=list(Standing).index)
    assert set(order[:2]) == {"p:spouse", "p:child"}
    assert set(order[2:5]) == {"c:spouse_co", "c:holding", "c:sub"}
    assert {"p:partner1", "p:partner2", "c:minority"} <= set(order[5:])


def test_a_controlled_company_leads_with_its_proof() -> None:
    sub = next(e for e in rank(hood_of(ISSUE_CASE), 20) if e.node == "c:sub")
    assert sub.standing is Standing.CONTROLLED
    assert sub.paths[0].chain == "子女 → 股东(60%) → 控股(100%)"
    assert sub.control is not None
    assert sub.control.effective == 0.6


# --- following control past the hops --------------------------------------------------------------

CHAIN_WORLD = [
    *CHILD_CHAIN,
    share("p:child", "c:minority", 20.0),
    share("c:minority", "c:beyond", 100.0),  # held by the circle at 20%: followed, not ranked
    edge(EdgeKind.OFFICER, "p:child", "c:employer", post="监事"),
    share("c:employer", "c:deep", 100.0),  # the circle holds nothing of c:employer
]


def test_ownership_is_followed_past_the_hops_out_of_held_companies_only() -> None:
    source = MemoryEdges(CHAIN_WORLD)
    hood = expand(source, OFFICIAL, 2, fan_out=50)
    assert "c:sub" not in hood.distance
    added = follow_ownership(source, hood, max_nodes=100)
    assert added == 3
    assert (hood.distance["c:sub"], hood.distance["c:subsub"], hood.distance["c:beyond"]) == (
        3,
        4,
        3,
    )
    assert "c:deep" not in hood.distance
    assert "p:other" not in hood.distance  # only ownership edges, nothing else of a company


def test_parallel_chains_split_by_the_hop_limit_still_add_up() -> None:
    world = [
        family(Relation.SIBLING, "p:sibling"),
        share("p:sibling", "c:joint", 35.0),
        share("p:sibling", "c:partner", 40.0),
        share("c:partner", "c:joint", 50.0),  # between two nodes of the last hop
    ]
    source = MemoryEdges(world)
    hood = expand(source, OFFICIAL, 2, fan_out=50)
    assert "c:joint" not in assess(hood).controlled
    follow_ownership(source, hood, max_nodes=100)
    assert assess(hood).controlled["c:joint"].effective == 0.55


def test_following_control_respects_the_node_budget() -> None:
    source = MemoryEdges(CHAIN_WORLD)
    hood = expand(source, OFFICIAL, 2, fan_out=50)
    follow_ownership(source, hood, max_nodes=len(hood.distance))
    assert "c:sub" not in hood.distance
    assert hood.node_budget_reached


def test_linked_entities_rank_the_whole_controlled_chain_within_the_family_band() -> None:
    result = linked_entities(MemoryEdges(CHAIN_WORLD), OFFICIAL, 2, 50, 10)
    top = [e.node for e in result.linked[:4]]
    assert top == ["p:child", "c:holding", "c:sub", "c:subsub"]
    assert result.linked[3].hops == 4
    assert "c:beyond" not in {e.node for e in result.linked}  # reached, but not controlled
