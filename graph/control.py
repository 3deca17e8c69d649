"""Who controls what in a neighbourhood: close relatives of the subject and the companies that
the subject or a close relative controls (plain data and plain Python; no networkx, no engine).

What an analyst means by "linked to an official" is first of all the family and what the family
controls, however many ownership levels lie in between. A company is **controlled** by the
subject's circle (the subject and its close relatives: spouse, parents, children, siblings, as the
household register states them) when

- a member of the circle is its legal representative (法定代表人), or
- the circle's **effective holding** reaches ``CONTROL_THRESHOLD``: percentages multiply along
  ownership chains and add over parallel chains and over the members of the circle, or
- the circle and the companies it already controls hold together at least ``CONTROL_THRESHOLD``
  of it directly (a company that a controlled company controls is controlled: 60% of a holding
  that owns 51% of a subsidiary is control of both, although 0.6 × 0.51 < 0.5).

Only holdings with a percentage count: a shareholding without one links but proves no control.
One holder's stake in one company is the largest of its rows (a holder registered twice under
two writings of its name is one holder). Chains follow simple paths only, so a cycle of
cross-holdings adds nothing and ends. Each control carries a proof: the chain of edges from the
subject that shows it (配偶 → 法定代表人, 子女 → 股东(60%) → 控股(100%)).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from graph.model import EdgeKind, Relation
from graph.neighbourhood import LinkEdge, Neighbourhood

CONTROL_THRESHOLD = 0.5  # 50%: a majority of the capital (公司法: 控股股东)
# Rounding slack for percentages that should add up (33.33 + 16.67) and float products.
_EPSILON = 1e-6
# Ownership levels one effective-holding walk follows: deeper chains are vanishingly rare and
# contribute fractions of fractions; with a step budget, a dense neighbourhood stays cheap.
MAX_CHAIN_DEPTH = 6
MAX_CHAIN_STEPS = 50_000
# Household relations that make a close relative (近亲属 in the same household).
CLOSE_RELATIONS = frozenset({Relation.SPOUSE, Relation.PARENT, Relation.SIBLING})
_STAKE_KINDS = frozenset({EdgeKind.SHAREHOLDER, EdgeKind.OWNS})


class ControlBasis(StrEnum):
    """Why a company counts as controlled; the value is the label people read."""

    LEGAL_REP = "担任法定代表人"
    HOLDING = "合计持股过半"  # effective holding >= 50% through chains and parallel paths
    CHAIN = "经受控企业控股"  # the circle and its controlled companies hold >= 50% directly


@dataclass(frozen=True, slots=True)
class Stake:
    """One holder's share of one company (``fraction`` 0..1), and the edge that states it."""

    holder: str
    company: str
    fraction: float
    edge: LinkEdge


@dataclass(frozen=True, slots=True)
class Control:
    """A company controlled by the subject's circle: why, how much, and the proving chain."""

    company: str
    bases: tuple[ControlBasis, ...]
    effective: float  # the circle's effective holding (0..1), whatever the basis
    controller: str  # the member of the circle the proof starts from (the subject or a relative)
    proof: tuple[LinkEdge, ...]  # edges from the subject to the company


@dataclass
class Assessment:
    """The subject's close relatives (node -> household edge) and controlled companies."""

    start: str
    relatives: dict[str, LinkEdge] = field(default_factory=dict)
    controlled: dict[str, Control] = field(default_factory=dict)
    held: dict[str, float] = field(default_factory=dict)  # the circle's effective holdings

    @property
    def circle(self) -> set[str]:
        return {self.start, *self.relatives}


def close_relatives(hood: Neighbourhood) -> dict[str, LinkEdge]:
    """Members of the start's household whose relation to it is close (spouse, parent, child,
    sibling), each with the household edge that says so."""
    found: dict[str, LinkEdge] = {}
    for edge in sorted(hood.edges.values(), key=lambda e: (-e.strength, e.id)):
        if edge.kind is not EdgeKind.HOUSEHOLD or hood.start not in (edge.src, edge.dst):
            continue
        if edge.relation in CLOSE_RELATIONS:
            found.setdefault(edge.other(hood.start), edge)
    return found


def stakes_of(edges: Iterable[LinkEdge]) -> dict[tuple[str, str], Stake]:
    """(holder, company) -> the stake, from share edges that state a percentage; the largest of
    one holder's rows in one company, clamped to 0..100%."""
    stakes: dict[tuple[str, str], Stake] = {}
    for edge in edges:
        if edge.kind not in _STAKE_KINDS or edge.percent is None or edge.src == edge.dst:
            continue
        fraction = min(max(edge.percent / 100.0, 0.0), 1.0)
        key = (edge.src, edge.dst)
        if key not in stakes or fraction > stakes[key].fraction:
            stakes[key] = Stake(edge.src, edge.dst, fraction, edge)
    return stakes


def _owned(stakes: Iterable[Stake]) -> dict[str, list[Stake]]:
    """holder -> its stakes, largest first (a deterministic walk)."""
    by_holder: dict[str, list[Stake]] = {}
    for stake in stakes:
        by_holder.setdefault(stake.holder, []).append(stake)
    for held in by_holder.values():
        held.sort(key=lambda s: (-s.fraction, s.company, s.edge.id))
    return by_holder


@dataclass(frozen=True, slots=True)
class Chain:
    fraction: float
    stakes: tuple[Stake, ...]


def effective_holdings(
    stakes: Iterable[Stake], holders: Iterable[str]
) -> tuple[dict[str, float], dict[str, Chain]]:
    """company -> the fraction ``holders`` own together, multiplied along chains and added over
    parallel chains (simple paths, at most MAX_CHAIN_DEPTH levels); and the largest single chain
    to each company (its proof)."""
    owned = _owned(stakes)
    totals: dict[str, float] = {}
    best: dict[str, Chain] = {}
    budget = MAX_CHAIN_STEPS
    for holder in sorted(set(holders)):
        stack: list[tuple[str, float, tuple[Stake, ...], frozenset[str]]] = [
            (holder, 1.0, (), frozenset({holder}))
        ]
        while stack and budget > 0:
            node, fraction, chain, seen = stack.pop()
            if len(chain) >= MAX_CHAIN_DEPTH:
                continue
            for stake in owned.get(node, ()):
                budget -= 1
                if stake.company in seen:
                    continue  # a cycle of cross-holdings: a simple path stops here
                through = fraction * stake.fraction
                path = (*chain, stake)
                totals[stake.company] = totals.get(stake.company, 0.0) + through
                known = best.get(stake.company)
                if known is None or (through, -len(path)) > (known.fraction, -len(known.stakes)):
                    best[stake.company] = Chain(through, path)
                stack.append((stake.company, through, path, seen | {stake.company}))
    return {c: min(f, 1.0) for c, f in totals.items()}, best


# A reason a company is controlled: the basis, the circle member the proof starts from, the proof.
_Offer = tuple[ControlBasis, str, tuple[LinkEdge, ...]]


def _prefix(assessment: Assessment, member: str) -> tuple[LinkEdge, ...]:
    """The edge from the subject to a member of its circle (none for the subject itself)."""
    return () if member == assessment.start else (assessment.relatives[member],)


def assess(hood: Neighbourhood) -> Assessment:
    """The close relatives of the start, the circle's effective holdings and every company of
    ``hood`` the circle controls."""
    assessment = Assessment(hood.start, close_relatives(hood))
    circle = assessment.circle
    stakes = stakes_of(hood.edges.values())
    effective, chains = effective_holdings(stakes.values(), circle)
    assessment.held = {c: round(f, 6) for c, f in effective.items() if c not in circle}
    proofs: dict[str, list[_Offer]] = {}

    def offer(company: str, basis: ControlBasis, member: str, edges: tuple[LinkEdge, ...]) -> None:
        proofs.setdefault(company, []).append(
            (basis, member, (*_prefix(assessment, member), *edges))
        )

    for edge in sorted(hood.edges.values(), key=lambda e: e.id):
        if edge.kind is EdgeKind.LEGAL_REP and edge.src in circle:
            offer(edge.dst, ControlBasis.LEGAL_REP, edge.src, (edge,))
    for company, total in sorted(effective.items()):
        if total + _EPSILON >= CONTROL_THRESHOLD:
            chain = chains[company].stakes
            offer(company, ControlBasis.HOLDING, chain[0].holder, tuple(s.edge for s in chain))

    # Layer by layer: a company whose direct holders from the circle and the companies already
    # controlled reach the threshold is controlled, through the largest such holder.
    holders_of: dict[str, list[Stake]] = {}
    for stake in stakes.values():
        holders_of.setdefault(stake.company, []).append(stake)
    controlled = set(proofs)
    while True:
        layer: dict[str, Stake] = {}
        for company, held in sorted(holders_of.items()):
            if company in controlled or company in circle:
                continue
            counted = [s for s in held if s.holder in circle or s.holder in controlled]
            if counted and sum(s.fraction for s in counted) + _EPSILON >= CONTROL_THRESHOLD:
                layer[company] = max(counted, key=lambda s: (s.fraction, s.edge.id))
        if not layer:
            break
        for company, top in layer.items():
            if top.holder in circle:
                offer(company, ControlBasis.CHAIN, top.holder, (top.edge,))
            else:
                _, member, parent = _best(proofs[top.holder])
                proofs[company] = [(ControlBasis.CHAIN, member, (*parent, top.edge))]
        controlled |= set(layer)

    for company, offered in proofs.items():
        if company in circle:
            continue
        _, member, proof = _best(offered)
        assessment.controlled[company] = Control(
            company, _bases(offered), round(effective.get(company, 0.0), 6), member, proof
        )
    return assessment


def _bases(offered: list[_Offer]) -> tuple[ControlBasis, ...]:
    return tuple(b for b in ControlBasis if any(o[0] is b for o in offered))


def _best(offered: list[_Offer]) -> _Offer:
    """The strongest proof (product of edge strengths), then the shortest, then the first."""
    return max(offered, key=lambda o: (math.prod(e.strength for e in o[2]), -len(o[2])))
