"""Petitions (信访件): reported officials, a sealed complainant, free text with hostile pieces."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from common.vocab import Tier
from demo.lexicon import (
    CATEGORIES,
    CHANNELS,
    CITY_NAMES,
    CLOSINGS,
    CONTENT_TEMPLATES,
    HOSTILE_FRAGMENTS,
    PETITION_STATES,
    THEME_ASIDE,
    THEME_CATEGORY,
    THEME_KEYWORD,
    TRADITIONAL,
)
from demo.officials import Official
from demo.people import Person


@dataclass(slots=True)
class Petition:
    """One petition; ``content`` is canonical text, ``written`` the text as the export holds it."""

    number: str
    registered: date
    channel: str
    anonymous: bool
    reported: list[Official]
    with_id: list[bool]
    category: str
    region: str  # 问题属地行政区划代码: the locality, at the granularity of its own tier
    tier: Tier  # 承办层级: the level of the handling body (it may differ from the locality's)
    state: str
    content: str
    written: str
    plain: bool = False  # planted: written without quirks and never damaged
    handler: str = field(default="")
    complainant: Person | None = None  # assigned once every text of the drop is known

    @property
    def on_theme(self) -> bool:
        return self.category == THEME_CATEGORY or THEME_KEYWORD in self.content


class PetitionDesk:
    """Numbers petitions and writes their text; the caller decides whom each one names."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seq = 0
        self._disguised = 0
        self.petitions: list[Petition] = []

    def sign(self, complainants: list[Person]) -> None:
        """Give every non-anonymous petition its complainant; each one files at least once."""
        signed = [p for p in self.petitions if not p.anonymous]
        for index, petition in enumerate(signed):
            petition.complainant = (
                complainants[index] if index < len(complainants) else self._rng.choice(complainants)
            )

    def file(
        self,
        reported: list[Official],
        *,
        category: str | None = None,
        tier: Tier | None = None,
        locality: Tier | None = None,
        aside: bool = False,
        with_id: list[bool] | None = None,
        plain: bool = False,
    ) -> Petition:
        """Register one petition naming ``reported``, handled at ``tier`` (default: the first
        one's unit tier), about a locality at ``locality`` (default: the handling tier)."""
        rng = self._rng
        first = reported[0]
        tier = tier or first.unit.tier
        locality = locality or tier
        category = category or rng.choice((*CATEGORIES, THEME_CATEGORY))
        anonymous = rng.random() < 0.3
        registered = date(2023, 1, 1) + timedelta(days=rng.randrange(730))
        self._seq += 1
        content = _content(rng, reported, category, aside=aside)
        written = content if plain else _disguise(rng, content, self._disguised)
        self._disguised += 0 if plain else 1
        petition = Petition(
            f"XF{first.unit.region[:2]}{registered.year}{self._seq:07d}", registered,
            rng.choice(CHANNELS), anonymous, reported,
            with_id or [rng.random() < 0.25 for _ in reported], category,
            _region_at(first, locality), tier, rng.choice(PETITION_STATES), content, written, plain,
        )  # fmt: skip
        petition.handler = _handler(first, tier)
        self.petitions.append(petition)
        return petition


def _region_at(official: Official, tier: Tier) -> str:
    """The 问题属地行政区划代码 at the tier's granularity (province and city padded to 6 digits)."""
    unit = official.unit
    if tier is Tier.PROVINCE:
        return unit.county.province_code
    if tier is Tier.CITY:
        return unit.county.city_code
    if tier is Tier.COUNTY:
        return unit.county.code
    return unit.region if len(unit.region) == 9 else unit.county.town_code(0)


def _handler(official: Official, tier: Tier) -> str:
    """The discipline body that handles the petition at ``tier``."""
    county = official.unit.county
    if tier is Tier.PROVINCE:
        return f"{county.province}纪委监委信访室"
    if tier is Tier.CITY:
        return f"{CITY_NAMES.get(county.city_code, county.name)}纪委监委信访室"
    if tier is Tier.COUNTY:
        return f"{county.name}纪委监委信访室"
    town = int(_region_at(official, tier)[6:]) - 100
    return f"{county.towns[town]}纪委"


def _content(rng: random.Random, reported: list[Official], category: str, *, aside: bool) -> str:
    first = reported[0]
    template = rng.choice(CONTENT_TEMPLATES[category])
    paragraphs = [template.format(unit=first.unit.name, post=first.post, name=first.person.name)]
    for other in reported[1:]:
        paragraphs.append(f"同时反映{other.unit.name}{other.post}{other.person.name}参与其中。")
    if aside:
        paragraphs.append(THEME_ASIDE.format(name=first.person.name))
    if rng.random() < 0.6:
        paragraphs.append(rng.choice(CLOSINGS).format(amount=rng.randint(5, 500)))
    return "\n".join(paragraphs)


def _disguise(rng: random.Random, content: str, ordinal: int) -> str:
    """Traditional characters in some texts, markup or SQL in others, as real forms arrive.

    The first text of a drop always gets markup and the second traditional characters, so that
    even the smallest drop has both.
    """
    paragraphs = content.split("\n")
    if ordinal == 1:
        paragraphs = [p.translate(TRADITIONAL) for p in paragraphs]
    elif rng.random() < 0.08:
        index = rng.randrange(len(paragraphs))
        paragraphs[index] = paragraphs[index].translate(TRADITIONAL)
    if ordinal == 0:  # a script tag: the fragment every escaping test looks for
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), HOSTILE_FRAGMENTS[0])
    elif rng.random() < 0.08:
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), rng.choice(HOSTILE_FRAGMENTS))
    return ("\n\n" if rng.random() < 0.2 else "\n").join(paragraphs)
