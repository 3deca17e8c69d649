"""Livelihoods: insured jobs at companies and public units, pensions, assistance and relief."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from demo.companies import Company, Market
from demo.officials import Official
from demo.people import MALE, Person, Population

# 所属期 of the benefit ledger: thirty months up to the export.
PERIODS = tuple(
    f"{y}{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13) if y * 100 + m >= 202207
)


_FIRST_DAY = date(int(PERIODS[0][:4]), int(PERIODS[0][4:]), 1)
_LAST_START = date(2024, 6, 30)  # the last day a job in the drop can start


@dataclass(slots=True)
class Job:
    """A spell of insured employment (``end`` set when it is over)."""

    person: Person
    code: str
    employer: str
    region: str
    start: date
    end: date | None = None
    public: bool = False
    state: str | None = None  # a planted 参保状态 (demo.comparisons); else from ``end``


@dataclass(slots=True)
class Grant:
    """Monthly (or one-off) payments of one benefit to one person."""

    person: Person
    kind: str
    amount: float
    agency: str
    periods: list[str]
    copies: tuple[str, ...] = ()  # periods whose row the export repeats exactly (one serial)


def employ(
    rng: random.Random,
    population: Population,
    officials: list[Official],
    market: Market,
    hub: Company,
    hub_size: int,
) -> list[Job]:
    """Insured jobs: every official, the hub's many staff, and a share of the other adults.

    Some staff changed employer (a closed earlier job); a few lost their job and have none now.
    """
    jobs = [
        Job(o.person, o.unit.code, o.unit.name, o.unit.region[:6], o.since, public=True)
        for o in officials
    ]
    public = {o.person.pid for o in officials}
    workers = [
        p for p in population.persons
        if 18 <= p.age <= 59 and p.status == "正常" and p.pid not in public
    ]  # fmt: skip
    rng.shuffle(workers)
    active = [c for c in market.companies if c.status in ("存续", "在业") and c is not hub]
    for index, person in enumerate(workers):
        if index >= hub_size and rng.random() > 0.6:
            continue
        company = hub if index < hub_size else rng.choice(active)
        earliest = max(date(2005, 1, 1), person.born + timedelta(days=365 * 18), company.founded)
        start = earliest + timedelta(days=rng.randrange(max(1, (_LAST_START - earliest).days)))
        before = rng.choice(market.companies)
        changed = rng.random() < 0.15 and before is not company and before is not hub
        if changed and before.founded < start - timedelta(days=400):
            began = max(before.founded + timedelta(days=rng.randrange(200)), earliest)
            end = start - timedelta(days=rng.randint(1, 120))
            if began < end:
                jobs.append(Job(person, before.code, before.name, before.county.code, began, end))
        job = Job(person, company.code, company.name, company.county.code, start)
        if company is not hub and rng.random() < 0.04 and start < date(2022, 1, 1):
            job.end = date(2022, 7, 1) + timedelta(days=rng.randrange(720))  # laid off
        else:
            company.staff.append(person)
        jobs.append(job)
    return jobs


def grant_benefits(
    rng: random.Random, population: Population, jobs: list[Job], deceased: Person
) -> list[Grant]:
    """Pensions for the retired (stopping at death, except the planted one), assistance, relief,
    and unemployment benefit for those who lost their job and have none now."""
    grants: list[Grant] = []

    def pay(person: Person, kind: str, amount: float, agency: str, periods: list[str]) -> None:
        grants.append(Grant(person, kind, round(amount, 2), agency, periods))

    for person in population.persons:
        alive = person.status == "正常"
        retired = person.age >= (60 if person.sex == MALE else 55) and person.status != "迁出"
        if person is deceased or (retired and person.status != "注销" and rng.random() < 0.92):
            paid = [p for p in PERIODS if person is deceased or _before_death(person, p)]
            if person is deceased or rng.random() < 0.65:
                pay(person, "基本养老金", rng.uniform(2000, 5200), "社会保险事业局", paid)
            else:
                pay(person, "城乡居民养老金", rng.uniform(180, 420), "社会保险事业局", paid)
        if alive and person.relation == "户主" and rng.random() < 0.02:
            pay(person, "最低生活保障金", rng.randint(600, 900), "民政局", list(PERIODS))
        alone = len(population.households[person.household]) == 1
        if alive and alone and person.age >= 70 and rng.random() < 0.3:
            pay(person, "特困供养金", rng.randint(900, 1300), "民政局", list(PERIODS))
        if alive and rng.random() < 0.005:
            pay(person, "临时救助金", rng.randint(5, 30) * 100, "民政局", [rng.choice(PERIODS)])
    working = {job.person.pid for job in jobs if job.end is None}
    for job in jobs:
        if job.end is not None and job.end >= _FIRST_DAY and job.person.pid not in working:
            first = PERIODS.index(f"{job.end:%Y%m}") + 1
            periods = list(PERIODS[first : first + rng.randint(3, 12)])
            if periods:
                pay(job.person, "失业保险金", rng.randint(1800, 2300), "社会保险事业局", periods)
    return grants


def _before_death(person: Person, period: str) -> bool:
    """Paid for the months before the month of death; a living person for every month."""
    return person.died is None or period < f"{person.died:%Y%m}"
