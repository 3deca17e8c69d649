"""The whole fictitious world behind one drop, with the five planted patterns wired into it."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from common.vocab import Tier
from demo.chains import Chain, control_family_plan, plant_control_chains
from demo.companies import (
    Company,
    Market,
    add_officers,
    add_shareholders,
    give_share,
)
from demo.comparisons import ComparisonPlants, plant_comparisons
from demo.lexicon import CITY_NAMES, COUNTY_BY_CODE, THEME_CATEGORY
from demo.livelihood import Grant, Job, employ, grant_benefits
from demo.officials import Official, UnitDirectory, make_official, pick_tier
from demo.people import FEMALE, MALE, Person, Population
from demo.petitions import Petition, PetitionDesk

_GRAIN_COUNTY = "460106"  # 海口市龙华区: the theme's officials sit above and in it
_CONTROL_COUNTY = "460108"  # 海口市美兰区: the household of the planted control chains
# Where planted companies are registered: Hainan, so one provincial application reaches them all;
# the spouse's company lies outside the official's city and the child's subsidiary outside the
# official's county (narrower applications cannot see them).
_PLANTED_PROVINCE = "46"
_PLANTED_COUNTIES = ("460106", "460107", "460108", "460202")
_SUBSIDIARY_COUNTY = "460202"
_SPOUSE_COMPANY_COUNTY = "469002"
_LABOUR_DISPATCH = 4  # index of 劳务派遣 in INDUSTRIES: the hub employer
MIN_PERSONS = 100


@dataclass(slots=True)
class Plants:
    """The objects behind the planted patterns (the summary turns them into IDs and codes)."""

    spouse_official: Official
    spouse: Person
    spouse_company: Company
    parent_official: Official
    child: Person
    holding: Company
    subsidiary: Company
    deceased: Person
    same_name: tuple[Official, Official]
    same_name_petition: Petition
    chains: list[Chain]  # control chains: the two patterns above and the planted control family


@dataclass(slots=True)
class World:
    population: Population
    officials: list[Official]
    market: Market
    hub: Company
    jobs: list[Job]
    grants: list[Grant]
    desk: PetitionDesk
    complainants: list[Person]
    plants: Plants
    late_deaths: list[Person]  # deaths that a later row reports (the earlier row says 正常)
    comparisons: ComparisonPlants  # the comparison models' patterns (demo.comparisons)


def build_world(seed: int, persons: int) -> World:
    """Everything one drop describes, as a pure function of ``seed`` and ``persons``."""
    if persons < MIN_PERSONS:
        raise ValueError(
            f"the demo drop needs at least {MIN_PERSONS} persons to plant its patterns"
        )
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    population = Population(rng)
    homes = _planted_homes(rng, population)
    population.fill(persons)  # the comparison plants come on top, last (demo.comparisons)
    officials, partial = _roster(rng, population, max(24, persons // 50), homes)
    market, hub, companies, chains, drawn = _companies(
        rng, population, officials, partial, max(30, persons // 20)
    )
    jobs = employ(rng, population, officials, market, hub, math.ceil(min(3000, persons / 5)))
    deceased = homes[2][0]
    deceased.status, deceased.died = "死亡", date(2023, 4, 1) + timedelta(days=rng.randrange(60))
    planted = partial.planted | {deceased.pid} | {p.pid for p in drawn}
    late_deaths = _late_deaths(rng, population, max(2, persons // 400), planted)
    grants = grant_benefits(rng, population, jobs, deceased)
    desk, same_name_petition = _petitions(rng, officials, partial, max(40, persons // 40))
    # after the random world (their own random stream), before the corpus the complainants avoid
    comparisons = plant_comparisons(seed, population, officials, market, jobs, grants)
    corpus = _corpus(population, market, officials, desk)
    signed = sum(not p.anonymous for p in desk.petitions)
    complainants = [population.new_outsider(corpus) for _ in range(max(1, signed * 2 // 3))]
    desk.sign(complainants)
    plants = Plants(
        partial.spouse_official, partial.spouse, companies[0], partial.parent_official,
        partial.child, companies[1], companies[2], deceased, partial.same_name,
        same_name_petition, chains,
    )  # fmt: skip
    for person in population.persons:
        person.plain = person.plain or person.pid in planted
    return World(
        population, officials, market, hub, jobs, grants, desk, complainants, plants, late_deaths,
        comparisons,
    )  # fmt: skip


def _petitions(
    rng: random.Random, officials: list[Official], roster: _Roster, count: int
) -> tuple[PetitionDesk, Petition]:
    """The theme at every tier, the same-name petition, then petitions on random officials.

    Each tier's body handles theme petitions about its own level and one about each other
    level's locality (the provincial 信访室 takes a township matter, a township 纪委 a county
    one...): a clue's tier is the handling level, not the tier of its 问题属地.
    """
    desk = PetitionDesk(rng)
    for tier, official in roster.theme.items():
        desk.file([official], category=THEME_CATEGORY, tier=tier, plain=True)
        desk.file([official], category=THEME_CATEGORY, tier=tier, plain=True)
        desk.file([official], category="其他", tier=tier, aside=True, plain=True)
    for handling in Tier:
        for locality, official in roster.theme.items():
            if locality is not handling:
                desk.file(
                    [official], category=THEME_CATEGORY, tier=handling, locality=locality,
                    plain=True,
                )  # fmt: skip
    named = desk.file([roster.same_name[0]], category="滥用职权", with_id=[False], plain=True)
    desk.file(rng.sample(officials, 2), with_id=[True, False])  # aligned lists, one ID known
    while len(desk.petitions) < count:
        desk.file(rng.sample(officials, rng.choices((1, 2, 3), (75, 20, 5))[0]))
    return desk, named


def _late_deaths(
    rng: random.Random, population: Population, count: int, planted: set[str]
) -> list[Person]:
    """Deaths a later export row reports (the first row still says 正常); old people die if
    there are too few deaths to choose from."""

    def eligible(p: Person) -> bool:
        return p.died is not None and (p.died - p.registered).days > 365

    others = [p for p in population.persons if p.pid not in planted]
    chosen = [p for p in others if eligible(p)][:count]
    elderly = [p for p in others if p.age >= 75 and p.status == "正常"]
    for person in elderly[: count - len(chosen)]:
        person.status, person.died = "死亡", date(2020, 1, 1) + timedelta(days=rng.randrange(1700))
        chosen.append(person)
    return chosen


def _corpus(
    population: Population, market: Market, officials: list[Official], desk: PetitionDesk
) -> str:
    """Every name, number and text of the drop, so that no complainant value occurs in it."""
    parts = [
        f"{p.name}\n{p.pid}\n{p.phone}\n{p.address}\n{p.former_name}" for p in population.persons
    ]
    parts += [f"{c.name}\n{c.code}\n{c.phone}\n{c.address}\n{c.scope}" for c in market.companies]
    parts += [o.unit.name for o in officials]
    parts += [p.written for p in desk.petitions]
    return "\n".join(parts)


@dataclass(slots=True)
class _Roster:
    spouse_official: Official
    spouse: Person
    parent_official: Official
    child: Person
    same_name: tuple[Official, Official]
    theme: dict[Tier, Official]
    planted: set[str]
    control_official: Official
    homes: list[list[Person]]  # the planted households (no random company draws from them)


def _planted_homes(rng: random.Random, population: Population) -> list[list[Person]]:
    """A couple, a family with a grown child, a pensioner living alone and the control family
    (graph ranking): where patterns live."""
    sex = rng.choice((MALE, FEMALE))
    other = FEMALE if sex == MALE else MALE
    age = rng.randint(40, 55)
    couple = [("户主", sex, age), ("配偶", other, age + rng.randint(-3, 3))]
    age = rng.randint(50, 58)
    child = rng.choice((("子", MALE), ("女", FEMALE)))
    family = [("户主", other, age), ("配偶", sex, age - 2), (*child, age - rng.randint(24, 28))]
    alone = [("户主", rng.choice((MALE, FEMALE)), rng.randint(70, 85))]
    grain = COUNTY_BY_CODE[_GRAIN_COUNTY]
    return [
        population.add_household(plan=couple, county=grain),
        population.add_household(plan=family, county=grain),
        population.add_household(plan=alone),
        population.add_household(
            plan=control_family_plan(rng), county=COUNTY_BY_CODE[_CONTROL_COUNTY]
        ),
    ]


def _roster(
    rng: random.Random, population: Population, count: int, homes: list[list[Person]]
) -> tuple[list[Official], _Roster]:
    """Officials: the planted ones first, then random adults at random tiers."""
    units = UnitDirectory(rng)
    adults = [p for p in population.persons if 28 <= p.age <= 60 and p.status == "正常"]
    rng.shuffle(adults)
    taken: set[str] = set()
    officials: list[Official] = []

    def appoint(person: Person, tier: Tier, *, grain: bool = False, head: bool = True) -> Official:
        unit = units.unit(tier, person.county, grain=grain, town=0 if grain else _town(rng, person))
        official = make_official(rng, person, unit, head=head)
        officials.append(official)
        taken.add(person.pid)
        return official

    (official, spouse), (parent, _, child), _, control_home = homes
    first = appoint(official, Tier.COUNTY)
    second = appoint(parent, Tier.COUNTY)
    planted = {p.pid for home in homes for p in home}
    # the theme's officials: in 龙华区 where possible, else anywhere with a city above the county
    local = sorted(
        (p for p in adults if p.pid not in planted and p.county.city_code in CITY_NAMES),
        key=lambda p: p.county.code != _GRAIN_COUNTY,
    )
    theme = {tier: appoint(p, tier, grain=True) for tier, p in zip(Tier, local, strict=False)}
    if len(theme) < len(Tier):
        raise ValueError("too few adults to plant the theme at every tier")
    third = appoint(control_home[0], Tier.COUNTY)
    chosen = [first, second, *theme.values(), third]
    for person in adults:
        if len(officials) >= count:
            break
        if person.pid not in taken and person.pid not in planted:
            appoint(person, pick_tier(rng, person.county), head=rng.random() < 0.3)
    plain = {o.person.pid for o in chosen} | {spouse.pid, child.pid}
    plain |= {p.pid for p in control_home}
    names = [o.person.name for o in officials]
    # both namesakes work in Hainan, so one provincial application reaches both
    rest = [o for o in officials[len(chosen) :] if o.unit.region.startswith(_PLANTED_PROVINCE)]
    same_a = next(o for o in rest if names.count(o.person.name) == 1)
    others = [o for o in reversed(rest) if o is not same_a and o.unit != same_a.unit]
    same_b = next((o for o in others if o.person.sex == same_a.person.sex), others[0])
    same_b.person.name = same_a.person.name
    same_b.person.traditional = same_a.person.traditional = False
    plain |= {same_a.person.pid, same_b.person.pid}
    roster = _Roster(first, spouse, second, child, (same_a, same_b), theme, plain, third, homes)
    return officials, roster


def _town(rng: random.Random, person: Person) -> int:
    return int(person.region[6:]) - 100 if len(person.region) == 9 else rng.randrange(2)


def _companies(
    rng: random.Random,
    population: Population,
    officials: list[Official],
    roster: _Roster,
    count: int,
) -> tuple[Market, Company, list[Company], list[Chain], list[Person]]:
    """The hub, the three planted companies, the control chains, then ``count`` random companies
    with some corporate owners. Nobody of a planted household represents, holds or runs a random
    company (what the planted officials' families control is exactly what the truth says);
    returns the chains and the outsiders they drew (to be written plainly)."""
    homes = {p.pid for home in roster.homes for p in home}
    official_ids = {o.person.pid for o in officials} | roster.planted | homes
    pool = [
        p for p in population.persons
        if 25 <= p.age <= 65 and p.status == "正常" and p.pid not in official_ids
    ]  # fmt: skip
    rng.shuffle(pool)
    cursor = iter(range(10**9))

    def anyone() -> Person:
        return pool[next(cursor) % len(pool)]

    market = Market()
    hub = market.new_company(
        population, anyone(), industry=_LABOUR_DISPATCH, county=COUNTY_BY_CODE[_GRAIN_COUNTY]
    )
    grain, elsewhere = COUNTY_BY_CODE[_GRAIN_COUNTY], COUNTY_BY_CODE[_SUBSIDIARY_COUNTY]
    planted = [
        market.new_company(
            population, roster.spouse, county=COUNTY_BY_CODE[_SPOUSE_COMPANY_COUNTY]
        ),
        market.new_company(population, roster.child, county=grain),
        market.new_company(population, anyone(), county=elsewhere),
    ]
    for company in (hub, *planted):
        company.status, company.cancelled = "存续", None
        add_shareholders(rng, company, [anyone()])
        add_officers(rng, company, [anyone(), anyone(), anyone(), anyone()])
    give_share(rng, planted[2], 100.0, planted[1])
    chains = _pattern_chains(roster, planted)
    home = next(h for h in roster.homes if h[0] is roster.control_official.person)
    counties = [COUNTY_BY_CODE[code] for code in _PLANTED_COUNTIES]
    planted_chains, drawn = plant_control_chains(rng, market, population, home, anyone, counties)
    chains += planted_chains
    drawn.append(planted[2].legal_rep)  # written plainly, so the subsidiary's rows stay whole
    drawn += [e for chain in chains for e, _ in chain.decoys if isinstance(e, Person)]
    plain = {p.pid for p in drawn}

    def outsider() -> Person:
        """Anyone not drawn into a planted pattern: those are written plainly (never damaged),
        so a random company they represented would leave a small world no ordinary rows."""
        for _ in range(len(pool)):
            if (person := anyone()).pid not in plain:
                return person
        return anyone()

    randoms: list[Company] = []
    # ``count`` ordinary companies besides the planted ones: a small world still has ordinary
    # rows left for every kind of damage the formats allow.
    while len(randoms) < count:
        rep = rng.choice(randoms).legal_rep if randoms and rng.random() < 0.1 else outsider()
        company = market.new_company(population, rep)
        add_shareholders(rng, company, [anyone() for _ in range(rng.choice((0, 1, 1, 2, 3)))])
        add_officers(rng, company, [anyone(), anyone(), anyone(), anyone()])
        if randoms and rng.random() < 0.1:  # company-to-company ownership, chains included
            parent = rng.choice([hub, *randoms])
            give_share(rng, company, rng.choice((30.0, 51.0, 60.0, 100.0)), parent)
        elif rng.random() < 0.03:  # a holder of type 其他 without a document number
            fund = f"{company.county.name}{rng.choice(('恒信', '启航'))}投资合伙企业（有限合伙）"
            give_share(rng, company, 20.0, None, fund)
        randoms.append(company)
    return market, hub, planted, chains, drawn


def _pattern_chains(roster: _Roster, planted: list[Company]) -> list[Chain]:
    """The spouse's company and the child's holding chain, described as control chains."""
    spouse_company, holding, subsidiary = planted
    couple = next(h for h in roster.homes if h[0] is roster.spouse_official.person)
    family = next(h for h in roster.homes if h[0] is roster.parent_official.person)

    def others(company: Company) -> list[tuple[Person | Company, str]]:
        return [
            (s.holder, "同一公司的其他股东")
            for s in company.shares
            if isinstance(s.holder, Person) and s.holder is not company.legal_rep
        ]

    return [
        Chain(
            couple[0], couple[1:], roster.spouse,
            [(roster.spouse, "配偶"), (spouse_company, "担任法定代表人")],
            others(spouse_company),
        ),
        Chain(
            family[0], family[1:], roster.child,
            [(roster.child, "子女"), (holding, "担任法定代表人"), (subsidiary, "控股公司全资持有")],
            others(holding),
        ),
    ]  # fmt: skip
