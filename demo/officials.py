"""The roster of officials (监察对象): units at four tiers, posts, ranks, management authority."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from common.vocab import Tier
from demo.lexicon import (
    CITY_NAMES,
    CITY_UNITS,
    COUNTY_UNITS,
    GRAIN_WORD,
    HEAD_POSTS,
    PROVINCE_UNITS,
    STAFF_POSTS,
    TOWN_UNITS,
    VILLAGE_UNIT,
    County,
)
from demo.people import REFERENCE_DAY, Person
from demo.quirks import make_credit_code

_RANK_OF_HEAD = {
    Tier.PROVINCE: ("省管干部", "省管"),
    Tier.CITY: ("市管干部", "市管"),
    Tier.COUNTY: ("县管干部", "县管"),
    Tier.TOWNSHIP: ("县管干部", "县管"),  # a town's head is managed by the county
}
_RANK_OF_STAFF = ("乡科级及以下", "乡管")


@dataclass(frozen=True, slots=True)
class Unit:
    """A public body; ``region`` is its 行政区划代码 at the granularity of its tier."""

    name: str
    tier: Tier
    region: str
    code: str  # the unit's own credit code (11… for organs of state), used by social insurance
    county: County  # where the unit's official was drawn from (its seat for county and town units)


@dataclass(slots=True, eq=False)
class Official:
    """One roster entry: the person, the unit and the post."""

    person: Person
    unit: Unit
    post: str
    rank: str
    authority: str
    category: str
    funded: bool
    since: date


class UnitDirectory:
    """Creates each unit once, so two officials of one unit share its name and code."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._units: dict[str, Unit] = {}

    def unit(self, tier: Tier, county: County, *, grain: bool = False, town: int = 0) -> Unit:
        """A unit of ``tier`` above or in ``county``; ``grain`` asks for the grain-reserve body."""
        rng = self._rng
        if tier is Tier.TOWNSHIP:
            template = TOWN_UNITS[1] if grain else rng.choice((*TOWN_UNITS, VILLAGE_UNIT))
            name, region = template.format(t=county.towns[town]), county.town_code(town)
        elif tier is Tier.PROVINCE:
            template = PROVINCE_UNITS[0] if grain else rng.choice(PROVINCE_UNITS)
            name, region = template.format(p=county.province), county.province_code
        elif tier is Tier.CITY:
            template = CITY_UNITS[0] if grain else rng.choice(CITY_UNITS)
            name, region = template.format(c=CITY_NAMES[county.city_code]), county.city_code
        else:
            template = COUNTY_UNITS[0] if grain else rng.choice(COUNTY_UNITS)
            name, region = template.format(x=county.name), county.code
        if name not in self._units:
            self._units[name] = Unit(
                name, tier, region, make_credit_code("11", region[:6], rng), county
            )
        return self._units[name]


def make_official(rng: random.Random, person: Person, unit: Unit, *, head: bool) -> Official:
    """Post, rank, authority and category that fit the unit's tier and kind."""
    village = unit.name.endswith("村民委员会")
    if unit.tier is Tier.TOWNSHIP:
        post = "所长" if unit.name.endswith("管理所") else "主任" if village else "副镇长"
        head = post == "副镇长"
    elif unit.name.endswith("厅"):
        post = rng.choice(("厅长", "副厅长")) if head else rng.choice(STAFF_POSTS)
    else:
        post = rng.choice(HEAD_POSTS) if head else rng.choice(STAFF_POSTS)
    rank, authority = _RANK_OF_HEAD[unit.tier] if head else _RANK_OF_STAFF
    if village:
        category, funded = "村（社区）干部", False
    elif unit.name.endswith("管理所"):
        category, funded = "事业单位", True
    else:
        category = "参照公务员法管理" if rng.random() < 0.1 else "公务员"
        funded = True
    earliest = max(date(2005, 1, 1), person.born + timedelta(days=365 * 24))
    since = earliest + timedelta(days=rng.randrange(max(1, (REFERENCE_DAY - earliest).days - 30)))
    return Official(person, unit, post, rank, authority, category, funded, since)


def pick_tier(rng: random.Random, county: County) -> Tier:
    """Most officials work at county level; county-level cities have no city tier above them."""
    roll = rng.random()
    if roll < 0.08:
        return Tier.PROVINCE
    if roll < 0.25 and county.city_code in CITY_NAMES:
        return Tier.CITY
    return Tier.TOWNSHIP if roll > 0.8 else Tier.COUNTY


def is_grain_unit(unit: Unit) -> bool:
    return GRAIN_WORD in unit.name
