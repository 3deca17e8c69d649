"""Fictitious companies: legal representatives, shareholders, officers and staff."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from demo.lexicon import (
    BRANDS,
    CITY_NAMES,
    COMPANY_FORMS,
    COUNTIES,
    COUNTY_WEIGHTS,
    INDUSTRIES,
    SUBSIDIARY_KIND,
    County,
)
from demo.people import REFERENCE_DAY, Person, Population
from demo.quirks import make_credit_code


@dataclass(slots=True)
class Share:
    """One shareholding: a person or a company (``holder``) owns ``percent`` of a company."""

    holder: Person | Company | None
    name: str
    percent: float
    paid_on: date


@dataclass(slots=True, eq=False)
class Company:
    """One registered company and everything the market and social-insurance registers say of it."""

    code: str
    name: str
    kind: str
    county: County
    industry: str
    scope: str
    founded: date
    capital: float  # 万元
    status: str
    address: str
    legal_rep: Person
    cancelled: date | None = None
    phone: str = ""
    shares: list[Share] = field(default_factory=list)
    officers: list[tuple[Person, str]] = field(default_factory=list)
    staff: list[Person] = field(default_factory=list)
    former_staff: list[Person] = field(default_factory=list)


@dataclass(slots=True)
class Market:
    """All companies, with the credit codes and names already used."""

    companies: list[Company] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def new_company(
        self,
        population: Population,
        legal_rep: Person,
        *,
        industry: int | None = None,
        county: County | None = None,
        kind: str | None = None,
    ) -> Company:
        """A company with a fresh code and name, its legal representative as first shareholder."""
        rng = population.rng
        county = county or rng.choices(COUNTIES, COUNTY_WEIGHTS)[0]
        trade, scope = INDUSTRIES[rng.randrange(len(INDUSTRIES)) if industry is None else industry]
        suffix, default_kind = rng.choice(COMPANY_FORMS)
        city = CITY_NAMES.get(county.city_code, county.name)[:-1]
        name = ""
        while not name or name in self.names:
            name = city + "".join(rng.sample(BRANDS, 2)) + trade + suffix
        code = ""
        while not code or code in self.codes:
            code = make_credit_code("91", county.code, rng)
        self.names.add(name)
        self.codes.add(code)
        founded = date(rng.randint(1998, 2023), 1, 1) + timedelta(days=rng.randrange(365))
        roll = rng.random()
        status = (
            "存续" if roll < 0.5 else "在业" if roll < 0.9 else "吊销" if roll < 0.95 else "注销"
        )
        company = Company(
            code, name, kind or default_kind, county, trade, scope, founded,
            float(rng.choice((50, 100, 200, 500, 1000, 3000))), status,
            f"{county.prefix}{rng.choice(('人民路', '滨海大道', '国贸路'))}{rng.randint(1, 400)}号",
            legal_rep, phone=population.new_phone() if rng.random() < 0.6 else "",
        )  # fmt: skip
        if status == "注销":
            company.cancelled = founded + timedelta(days=rng.randint(400, 3000))
            company.cancelled = min(company.cancelled, REFERENCE_DAY - timedelta(days=30))
        self.companies.append(company)
        return company


def split_percent(rng: random.Random, parts: int) -> list[float]:
    """Percentages for ``parts`` holders that sum to about 100 (equal splits leave 99.99)."""
    if parts == 1:
        return [100.0]
    if rng.random() < 0.2:
        return [round(100 / parts, 2)] * parts
    cuts = sorted(rng.sample(range(5, 96, 5), parts - 1))
    bounds = [0, *cuts, 100]
    return [float(b - a) for a, b in itertools.pairwise(bounds)]


def add_shareholders(rng: random.Random, company: Company, others: list[Person]) -> None:
    """The legal representative plus distinct other persons, percentages summing to ~100."""
    holders = [company.legal_rep]
    for person in others:
        if all(h is not person for h in holders):
            holders.append(person)
    for holder, percent in zip(holders, split_percent(rng, len(holders)), strict=True):
        paid = company.founded + timedelta(days=rng.randrange(60))
        company.shares.append(Share(holder, holder.name, percent, paid))


def add_officers(rng: random.Random, company: Company, candidates: list[Person]) -> None:
    """Board, supervisor and manager posts; the legal representative often holds two of them."""
    rep = company.legal_rep
    large = company.capital >= 1000
    company.officers.append((rep, "董事长" if large else "执行董事"))
    if rng.random() < 0.35:
        company.officers.append((rep, "经理"))
    pool = [p for p in candidates if p is not rep]
    posts = ["监事", *(("董事", "董事", "财务负责人") if large else ())]
    for post, person in zip(posts, pool, strict=False):
        company.officers.append((person, post))


def give_share(
    rng: random.Random, child: Company, percent: float, parent: Company | None, name: str = ""
) -> None:
    """``parent`` (or a holder without ID called ``name``) takes ``percent`` of ``child``.

    The other holders are scaled down so that the percentages still sum to about 100.
    """
    scale = (100 - percent) / 100
    for share in child.shares:
        share.percent = round(share.percent * scale, 2)
    child.shares = [s for s in child.shares if s.percent > 0]
    paid = child.founded + timedelta(days=rng.randrange(60))
    child.shares.insert(0, Share(parent, parent.name if parent else name, percent, paid))
    if percent >= 100:
        child.kind = SUBSIDIARY_KIND
