"""Planted patterns of the eight comparison models (碰撞比对), and near-misses that must not match.

Each model gets subjects that must be found (``planted``) and look-alikes that must not
(``near_misses``): a pension paid in the death month itself, a cancelled flat, a 吊销 company, a
spouse registered in another household, a sibling's company, benefit drawn before the
appointment, a payment row exported twice with one serial number... Every planted person lives
in a household of their own (``homes``, which get no random property), is written plainly, and
has exactly the records listed here. The plants draw from their own random stream, after the
rest of the world is made, so the random world is the same with or without them; they add
``COMPARISON_PERSONS`` people to the requested size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from common.vocab import Tier
from demo.companies import Company, Market, Share
from demo.lexicon import COUNTIES, VILLAGE_UNIT, County
from demo.livelihood import PERIODS, Grant, Job
from demo.officials import Official, Unit, UnitDirectory, make_official
from demo.people import FEMALE, MALE, Person, Population
from demo.quirks import make_credit_code

COMPARISON_PERSONS: Final = 33
"""People the plants add (checked when they are made)."""

PENSION, RURAL_PENSION = "基本养老金", "城乡居民养老金"
DIBAO, DESTITUTE, UNEMPLOYMENT, RELIEF = "最低生活保障金", "特困供养金", "失业保险金", "临时救助金"
INSURANCE, CIVIL_AFFAIRS = "社会保险事业局", "民政局"
AGENCY = {PENSION: INSURANCE, RURAL_PENSION: INSURANCE, UNEMPLOYMENT: INSURANCE,
          DIBAO: CIVIL_AFFAIRS, DESTITUTE: CIVIL_AFFAIRS, RELIEF: CIVIL_AFFAIRS}  # fmt: skip
HOME, PARKING = "住宅", "车位"
CANCELLED = "注销登记"


def periods_between(first: str, last: str) -> list[str]:
    """The 所属期 of the benefit ledger from ``first`` to ``last`` (YYYYMM, inclusive)."""
    return [p for p in PERIODS if first <= p <= last]


@dataclass(slots=True)
class PlantedUnit:
    """One property unit of a planted household: its owners (with 共有情况 and 权利比例)."""

    owners: list[tuple[Person, str, str]]
    use: str = HOME
    registration: str = "首次登记"


@dataclass(slots=True)
class ComparisonPlants:
    """What was planted, for the tables (``homes``, ``units``) and for ``_truth.json``."""

    homes: set[str] = field(default_factory=set)  # 户号 of the planted households
    units: list[PlantedUnit] = field(default_factory=list)
    planted: dict[str, list[str]] = field(default_factory=dict)  # model -> persons to find
    near_misses: dict[str, list[str]] = field(default_factory=dict)  # model -> never found


class _Planter:
    """Makes the planted people and their records, on the world's lists."""

    def __init__(
        self,
        rng: random.Random,
        population: Population,
        officials: list[Official],
        market: Market,
        jobs: list[Job],
        grants: list[Grant],
    ) -> None:
        self.rng, self.population, self.officials = rng, population, officials
        self.market, self.jobs, self.grants = market, jobs, grants
        self.result = ComparisonPlants()
        self.added = 0
        self._counties = iter(COUNTIES * 20)
        self._units = UnitDirectory(rng)
        self._official_names = {o.person.name for o in officials}

    def county(self) -> County:
        return next(self._counties)

    def home(self, *plan: tuple[str, str, int]) -> list[Person]:
        """A planted household (its members alive and written plainly)."""
        members = self.population.add_household(plan=list(plan), county=self.county())
        for person in members:
            while person.name in self._official_names:  # a namesake would blur other plants
                person.name = self.population.new_name(person.sex, person.name[0])
            person.plain = True
        self.result.homes.add(members[0].household)
        self.added += len(members)
        return members

    def hit(self, model: str, person: Person) -> None:
        self.result.planted.setdefault(model, []).append(person.pid)

    def miss(self, model: str, person: Person) -> None:
        self.result.near_misses.setdefault(model, []).append(person.pid)

    def die(self, person: Person, day: date) -> None:
        person.status, person.died = "死亡", day

    def pay(
        self, person: Person, kind: str, periods: list[str], copies: tuple[str, ...] = ()
    ) -> None:
        """Monthly payments of ``kind``; a period listed twice is paid twice (two serials), a
        period in ``copies`` has its row exported twice (one serial: an exact copy)."""
        amount = {PENSION: 3100.0, RURAL_PENSION: 260.0, UNEMPLOYMENT: 1900.0}.get(kind, 800.0)
        self.grants.append(Grant(person, kind, amount, AGENCY[kind], periods, copies))

    def official(
        self, person: Person, *, funded: bool = True, since: date | None = None
    ) -> Official:
        """A roster entry: a county bureau (财政供养), or a village committee (not funded)."""
        if funded:
            unit = self._units.unit(Tier.COUNTY, person.county)
        else:
            county = person.county
            unit = Unit(VILLAGE_UNIT.format(t=county.towns[0]), Tier.TOWNSHIP,
                        county.town_code(0), make_credit_code("54", county.code, self.rng),
                        county)  # fmt: skip
        official = make_official(self.rng, person, unit, head=False)
        official.funded = funded
        if since is not None:
            official.since = since
        self.officials.append(official)
        return official

    def company(
        self,
        rep: Person,
        status: str,
        holders: list[tuple[Person, float]] | None = None,
        officers: list[tuple[Person, str]] | None = None,
        near: Person | None = None,
    ) -> Company:
        """A company in ``status``: ``rep`` represents it and runs it; ``holders`` (the
        representative alone, wholly, when not given) hold it. It is registered where ``near``
        (else ``rep``) lives: a plant's records stay within one province's reach."""
        county = (near or rep).county
        company = self.market.new_company(self.population, rep, county=county)
        company.status = status
        company.cancelled = date(2023, 6, 30) if status == "注销" else None
        paid = company.founded + timedelta(days=10)
        company.shares = [Share(p, p.name, pct, paid) for p, pct in holders or [(rep, 100.0)]]
        company.officers = [(rep, "执行董事"), *(officers or [])]
        return company

    def job(self, person: Person, employer: Company, start: date, state: str,
            end: date | None = None) -> None:  # fmt: skip
        """Insurance with ``employer`` from ``start`` in ``state`` (停保 on ``end`` if given),
        registered (参保地) where the person lives."""
        code, county = employer.code, person.county.code
        self.jobs.append(Job(person, code, employer.name, county, start, end, state=state))

    def unit(self, *owners: tuple[Person, str, str], use: str = HOME,
             registration: str = "首次登记") -> None:  # fmt: skip
        self.result.units.append(PlantedUnit(list(owners), use, registration))


ALONE = ("单独所有", "100%")


def _alone(person: Person) -> tuple[Person, str, str]:
    return (person, *ALONE)


def _deceased(p: _Planter, employer: Company) -> None:
    """Pensions and insurance after a death, and their near-misses."""
    (rural,) = p.home(("户主", FEMALE, 80))
    p.die(rural, date(2023, 9, 14))
    p.pay(rural, RURAL_PENSION, list(PERIODS))
    p.hit("deceased_pension", rural)

    (month,) = p.home(("户主", FEMALE, 58))
    p.die(month, date(2024, 3, 15))  # paid up to the death month itself, stopped with it
    p.pay(month, PENSION, periods_between(PERIODS[0], "202403"))
    p.job(month, employer, date(2012, 6, 1), "终止参保", end=date(2024, 3, 15))
    p.miss("deceased_pension", month)
    p.miss("deceased_insured_paying", month)

    (paying,) = p.home(("户主", MALE, 55))
    p.die(paying, date(2023, 5, 20))  # still insured and paying; 低保 (not a pension) continues
    p.job(paying, employer, date(2015, 4, 1), "参保缴费")
    p.pay(paying, DIBAO, list(PERIODS))
    p.hit("deceased_insured_paying", paying)
    p.miss("deceased_pension", paying)

    (enrolled,) = p.home(("户主", MALE, 56))
    p.die(enrolled, date(2022, 8, 10))  # enrolled seven months after the death
    p.job(enrolled, employer, date(2023, 3, 1), "参保缴费")
    p.hit("deceased_insured_paying", enrolled)

    (paused,) = p.home(("户主", FEMALE, 49))
    p.die(paused, date(2024, 1, 8))
    p.job(paused, employer, date(2016, 2, 1), "暂停缴费")
    p.miss("deceased_insured_paying", paused)


def _officials(p: _Planter, owner: Person) -> None:
    """Funded officials on 低保 (themselves or a spouse), relatives' companies, unemployment."""
    own, _ = p.home(("户主", MALE, 45), ("配偶", FEMALE, 44))
    p.official(own)
    p.pay(own, DIBAO, list(PERIODS))
    p.hit("funded_on_dibao", own)

    head, wife, daughter = p.home(("户主", MALE, 50), ("配偶", FEMALE, 49), ("女", FEMALE, 27))
    p.official(head)  # the wife draws 特困供养金; the daughter holds a share (not the legal rep)
    p.pay(wife, DESTITUTE, list(PERIODS))
    p.company(owner, "存续", holders=[(owner, 70.0), (daughter, 30.0)], near=daughter)
    p.hit("funded_on_dibao", head)
    p.hit("official_relative_business", head)

    husband, official = p.home(("户主", MALE, 52), ("配偶", FEMALE, 50))
    p.official(official)  # the official is the spouse; the head draws 低保 and runs a company
    p.pay(husband, DIBAO, list(PERIODS))
    p.company(husband, "存续")
    p.hit("funded_on_dibao", official)
    p.hit("official_relative_business", official)
    p.hit("dibao_company", husband)

    cadre, brother = p.home(("户主", MALE, 48), ("兄弟", MALE, 45))
    p.official(cadre, funded=False)  # a village cadre (not 财政供养); the brother's company
    p.pay(cadre, DIBAO, list(PERIODS))
    p.company(brother, "存续")
    p.miss("funded_on_dibao", cadre)
    p.miss("official_relative_business", cadre)

    (apart,) = p.home(("户主", FEMALE, 46))
    p.official(apart)  # a 配偶 of another household: no link through the register
    _, other = p.home(("户主", MALE, 47), ("配偶", FEMALE, 45))
    p.pay(other, DIBAO, list(PERIODS))
    p.company(other, "吊销")
    p.miss("funded_on_dibao", apart)
    p.miss("official_relative_business", apart)
    p.miss("dibao_company", other)

    father, son = p.home(("户主", MALE, 55), ("子", MALE, 28))
    p.official(father)  # the son draws 低保 (not a spouse) and only sits on a board (监事)
    p.pay(son, DIBAO, list(PERIODS))
    p.company(owner, "存续", officers=[(son, "监事")], near=son)
    p.miss("funded_on_dibao", father)
    p.miss("official_relative_business", father)
    p.miss("dibao_company", son)

    (serving,) = p.home(("户主", MALE, 45))
    p.official(serving, since=date(2019, 3, 1))
    p.pay(serving, UNEMPLOYMENT, periods_between("202310", "202312"))
    p.hit("official_unemployment", serving)

    (new,) = p.home(("户主", FEMALE, 38))
    p.official(new, since=date(2024, 5, 20))  # paid for the month of the appointment
    p.pay(new, UNEMPLOYMENT, ["202405"])
    p.hit("official_unemployment", new)

    (before,) = p.home(("户主", MALE, 36))
    p.official(before, since=date(2024, 3, 15))  # paid only before the appointment month
    p.pay(before, UNEMPLOYMENT, periods_between("202311", "202402"))
    p.miss("official_unemployment", before)


def _recipients(p: _Planter, owner: Person) -> None:
    """低保 recipients with several homes or a company, and their near-misses."""
    head, wife = p.home(("户主", MALE, 60), ("配偶", FEMALE, 58))
    p.pay(head, DIBAO, list(PERIODS))
    p.unit(_alone(head))
    p.unit((head, "共同共有", ""), (wife, "共同共有", ""))  # a share of a second flat
    p.hit("dibao_multi_property", head)

    (three,) = p.home(("户主", FEMALE, 62))
    p.pay(three, DIBAO, list(PERIODS))
    p.unit(_alone(three))
    p.unit(_alone(three))
    p.unit(_alone(three), registration=CANCELLED)
    p.hit("dibao_multi_property", three)

    (cancelled,) = p.home(("户主", MALE, 57))
    p.pay(cancelled, DIBAO, list(PERIODS))
    p.unit(_alone(cancelled))
    p.unit(_alone(cancelled), registration=CANCELLED)
    p.company(owner, "注销", holders=[(owner, 60.0), (cancelled, 40.0)], near=cancelled)
    p.miss("dibao_multi_property", cancelled)
    p.miss("dibao_company", cancelled)

    (parking,) = p.home(("户主", FEMALE, 59))
    p.pay(parking, DIBAO, list(PERIODS))
    p.unit(_alone(parking))
    p.unit(_alone(parking), use=PARKING)
    p.company(owner, "在业", holders=[(owner, 70.0), (parking, 30.0)], near=parking)
    p.miss("dibao_multi_property", parking)
    p.hit("dibao_company", parking)

    (relief,) = p.home(("户主", MALE, 61))
    p.pay(relief, PENSION, list(PERIODS))
    p.pay(relief, RELIEF, ["202405"])  # two payments of one period, of two types
    p.unit(_alone(relief))
    p.unit(_alone(relief))
    p.miss("dibao_multi_property", relief)
    p.miss("duplicate_benefit", relief)

    (founder,) = p.home(("户主", MALE, 45))
    p.pay(founder, DIBAO, list(PERIODS))
    p.company(founder, "存续")
    p.hit("dibao_company", founder)


def _duplicates(p: _Planter) -> None:
    """Two payments of one type for one period, and an exported row repeated."""
    (twice,) = p.home(("户主", FEMALE, 66))
    p.pay(twice, DIBAO, [*PERIODS, "202406"])
    p.hit("duplicate_benefit", twice)

    (pensioner,) = p.home(("户主", MALE, 70))
    p.pay(pensioner, PENSION, [*PERIODS, "202311"])
    p.hit("duplicate_benefit", pensioner)

    (copied,) = p.home(("户主", FEMALE, 72))
    p.pay(copied, PENSION, list(PERIODS), copies=("202402",))
    p.miss("duplicate_benefit", copied)


def plant_comparisons(
    seed: int,
    population: Population,
    officials: list[Official],
    market: Market,
    jobs: list[Job],
    grants: list[Grant],
) -> ComparisonPlants:
    """Plant every model's patterns on the world's lists; the population's random stream is
    the plants' own while they are made (the random world is left as it was)."""
    own = random.Random(f"{seed}:comparisons")  # noqa: S311 - synthetic data, not security
    world_rng, population.rng = population.rng, own
    try:
        p = _Planter(own, population, officials, market, jobs, grants)
        (owner,) = p.home(("户主", MALE, 40))  # represents the companies planted persons hold
        employer = p.company(owner, "存续")
        _deceased(p, employer)
        _officials(p, owner)
        _recipients(p, owner)
        _duplicates(p)
    finally:
        population.rng = world_rng
    if p.added != COMPARISON_PERSONS:
        raise ValueError(f"the comparison plants add {p.added} persons, not {COMPARISON_PERSONS}")
    return p.result
