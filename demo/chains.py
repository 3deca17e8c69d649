"""Planted control chains: an official's close relatives controlling companies, with decoys.

The graph must rank what the family controls above everything else that is merely linked
(graph.control, docs/graph.md). One household is planted for that: the official, a spouse, an
adult child and a sibling, and

- the child holds 60% of a holding (not its legal representative), which owns a subsidiary
  outright, which holds 51% of a further company (4 hops from the official);
- the spouse represents a company in which two outsiders hold 40% each and sit as officers:
  3-hop co-shareholders with many parallel paths who control nothing (decoys), and holds 15%
  of another company (a minority decoy);
- the sibling holds 35% of a company directly and 40% of a company that owns 50% of it: no
  single holding is a majority, the parallel paths together are (55%).

Each chain is described for ``_truth.json`` (``control_chains``): the planted entities in order
from the relative, why each one is controlled, and the decoys.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from demo.companies import Company, Market, Share
from demo.lexicon import SUBSIDIARY_KIND, County
from demo.people import FEMALE, MALE, Person, Plan, Population

Entity = Person | Company


@dataclass(slots=True)
class Chain:
    """What one relative of ``official`` controls (``entities``, the relative first, each with
    why) and what merely looks close (``decoys``)."""

    official: Person
    household: list[Person]  # the official's household, the official excluded
    relative: Person
    entities: list[tuple[Entity, str]]
    decoys: list[tuple[Entity, str]] = field(default_factory=list)


def control_family_plan(rng: random.Random) -> Plan:
    """The planted household: the official (head), a spouse, an adult child and a sibling."""
    sex = rng.choice((MALE, FEMALE))
    other = FEMALE if sex == MALE else MALE
    age = rng.randint(50, 56)
    child = rng.choice((("子", MALE), ("女", FEMALE)))
    sibling = rng.choice((("兄弟", MALE), ("姐妹", FEMALE)))
    return [
        ("户主", sex, age),
        ("配偶", other, age + rng.randint(-3, 3)),
        (*child, age - rng.randint(24, 28)),
        (*sibling, age + rng.randint(-6, 6)),
    ]


class _Planter:
    """Creates the planted companies with exactly the holdings and officers a chain needs."""

    def __init__(
        self,
        rng: random.Random,
        market: Market,
        population: Population,
        anyone: Callable[[], Person],
        counties: list[County],
    ) -> None:
        self.rng, self.market, self.population = rng, market, population
        self.anyone, self.counties = anyone, counties
        self.outsiders: list[Person] = []

    def outsider(self) -> Person:
        person = self.anyone()
        self.outsiders.append(person)
        return person

    def company(self, rep: Person, holders: list[tuple[Person | Company, float]]) -> Company:
        """A live company in one of the planted counties, represented by ``rep``."""
        company = self.market.new_company(
            self.population, rep, county=self.rng.choice(self.counties)
        )
        company.status, company.cancelled = "存续", None
        for holder, percent in holders:
            paid = company.founded + timedelta(days=self.rng.randrange(60))
            company.shares.append(Share(holder, holder.name, percent, paid))
        if len(holders) == 1 and holders[0][1] >= 100 and isinstance(holders[0][0], Company):
            company.kind = SUBSIDIARY_KIND
        company.officers.append((rep, "执行董事"))
        company.officers.append((self.outsider(), "监事"))
        return company


def plant_control_chains(
    rng: random.Random,
    market: Market,
    population: Population,
    home: list[Person],
    anyone: Callable[[], Person],
    counties: list[County],
) -> tuple[list[Chain], list[Person]]:
    """The three chains of the planted household ``home`` (head, spouse, child, sibling), and
    every outsider the chains drew (they must be written plainly, as planted persons are)."""
    official, spouse, child, sibling = home
    household = [spouse, child, sibling]
    plant = _Planter(rng, market, population, anyone, counties)

    manager = plant.outsider()
    holding = plant.company(manager, [(child, 60.0), (manager, 40.0)])
    subsidiary = plant.company(plant.outsider(), [(holding, 100.0)])
    other = plant.outsider()
    further = plant.company(plant.outsider(), [(subsidiary, 51.0), (other, 49.0)])
    child_chain = Chain(
        official, household, child,
        [(child, "子女"), (holding, "持股60%"), (subsidiary, "控股公司全资持有"),
         (further, "受控企业持股51%")],
        [(manager, "控股公司的法定代表人及40%股东（3跳，不控制任何企业）"),
         (other, "受控企业的少数股东")],
    )  # fmt: skip

    partners = [plant.outsider(), plant.outsider()]
    firm = plant.company(spouse, [(spouse, 20.0), (partners[0], 40.0), (partners[1], 40.0)])
    firm.officers.append((partners[0], "经理"))
    firm.officers.append((partners[1], "董事"))
    majority = plant.outsider()
    minority = plant.company(majority, [(majority, 85.0), (spouse, 15.0)])
    minority.officers.append((spouse, "董事"))
    spouse_chain = Chain(
        official, household, spouse,
        [(spouse, "配偶"), (firm, "担任法定代表人")],
        [*((p, "配偶公司的40%股东及高管（3跳，不控制任何企业）") for p in partners),
         (minority, "配偶参股15%")],
    )  # fmt: skip

    owner_r, owner_q = plant.outsider(), plant.outsider()
    partner_company = plant.company(owner_r, [(owner_r, 60.0), (sibling, 40.0)])
    joint = plant.company(owner_q, [(sibling, 35.0), (partner_company, 50.0), (owner_q, 15.0)])
    sibling_chain = Chain(
        official, household, sibling,
        [(sibling, "兄弟姐妹"), (joint, "直接35%与间接20%合计55%")],
        [(partner_company, "兄弟姐妹参股40%")],
    )  # fmt: skip
    return [child_chain, spouse_chain, sibling_chain], plant.outsiders


@dataclass(frozen=True, slots=True)
class PlantedEntity:
    """A person (by 公民身份号码) or a company (by 统一社会信用代码) of a chain, and why."""

    kind: str  # "person" or "company"
    key: str
    name: str
    why: str


@dataclass(frozen=True, slots=True)
class ControlChainTruth:
    """A planted chain as ``_truth.json`` holds it: from the official, through the relative, to
    the companies the relative controls; the decoys must rank below every planted entity."""

    official_id: str
    official_name: str
    household_ids: list[str]  # the official's household members (the official excluded)
    relative_id: str
    relative_name: str
    entities: list[PlantedEntity]  # the relative first
    decoys: list[PlantedEntity]


def _entity(entity: Entity, why: str) -> PlantedEntity:
    if isinstance(entity, Person):
        return PlantedEntity("person", entity.pid, entity.name, why)
    return PlantedEntity("company", entity.code, entity.name, why)


def chain_truth(chain: Chain) -> ControlChainTruth:
    return ControlChainTruth(
        chain.official.pid,
        chain.official.name,
        [p.pid for p in chain.household],
        chain.relative.pid,
        chain.relative.name,
        [_entity(e, why) for e, why in chain.entities],
        [_entity(e, why) for e, why in chain.decoys],
    )
