"""Fictitious persons grouped in households, with valid ID numbers built from real region codes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from demo.lexicon import (
    COMPOUND_SURNAMES,
    COUNTIES,
    COUNTY_WEIGHTS,
    FEMALE_CHARS,
    MALE_CHARS,
    MINORITY_ETHNICITIES,
    MINORITY_PARTS,
    RARE_CHARS,
    STREETS,
    SURNAMES,
    TRADITIONAL,
    County,
)
from demo.quirks import make_person_id

REFERENCE_DAY = date(2024, 12, 31)
"""The export date of the synthetic drop: ages and periods are counted up to it."""

MALE, FEMALE = "男", "女"
# Relations that carry the head's surname (the rest married in or are unrelated).
_SAME_SURNAME = frozenset({"子", "女", "父亲", "兄弟", "姐妹", "孙子", "孙女"})
_HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
_SIZE_WEIGHTS = (15, 25, 28, 18, 9, 5)

Plan = list[tuple[str, str, int]]
"""(与户主关系, 性别, age) for each member of a household, the head first."""


@dataclass(slots=True, eq=False)
class Person:
    """One fictitious resident; ``pid`` is the canonical 18-character 公民身份号码."""

    pid: str
    name: str
    sex: str
    ethnicity: str
    born: date
    county: County
    region: str
    household: str
    relation: str
    address: str
    phone: str
    registered: date
    status: str = "正常"
    died: date | None = None
    former_name: str = ""
    traditional: bool = False
    plain: bool = False  # planted persons are written without quirks, so tests can find them

    @property
    def age(self) -> int:
        return REFERENCE_DAY.year - self.born.year


@dataclass(slots=True)
class Population:
    """Everyone in the drop, plus the allocators that keep IDs, phones and names unique."""

    rng: random.Random
    persons: list[Person] = field(default_factory=list)
    households: dict[str, list[Person]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    _household_seq: dict[str, int] = field(default_factory=dict)
    _rare_due: int = 0  # names still owed a CJK Extension A/B character
    _traditional_due: int = 0  # persons still owed traditional writing

    def new_id(self, county: str, born: date, sex: str) -> str:
        """A fresh valid ID; the sequence's parity follows the sex as GB 11643 requires."""
        while True:
            sequence = self.rng.randrange(0, 999, 2) + (1 if sex == MALE else 0)
            pid = make_person_id(county, born, sequence)
            if pid not in self.ids:
                self.ids.add(pid)
                return pid

    def new_phone(self) -> str:
        while True:
            phone = (
                self.rng.choice(("13", "15", "17", "18", "19")) + f"{self.rng.randrange(10**9):09d}"
            )
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def new_name(self, sex: str, surname: str | None = None) -> str:
        rng = self.rng
        if surname is None:
            surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(SURNAMES)
        chars = MALE_CHARS if sex == MALE else FEMALE_CHARS
        given = "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))
        if self._rare_due or rng.random() < 0.005:
            self._rare_due = max(0, self._rare_due - 1)
            given = given[:-1] + RARE_CHARS[self._rare_due]
        return surname + given

    def new_outsider(self, corpus: str) -> Person:
        """A person (a complainant) whose name, ID and phone occur nowhere in ``corpus``."""
        rng = self.rng
        sex = rng.choice((MALE, FEMALE))
        chars = MALE_CHARS if sex == MALE else FEMALE_CHARS
        name = ""
        while not name or name in self.names or name in corpus:
            name = rng.choice(SURNAMES) + rng.choice(chars) + rng.choice(chars)
        county = rng.choices(COUNTIES, COUNTY_WEIGHTS)[0]
        born = _birthday(rng, rng.randint(22, 70))
        pid, phone = self.new_id(county.code, born, sex), self.new_phone()
        while pid in corpus:
            pid = self.new_id(county.code, born, sex)
        while phone in corpus:
            phone = self.new_phone()
        self.names.add(name)
        return Person(
            pid, name, sex, "汉族", born, county, county.code, "", "",
            _address(rng, county, None), phone, born, plain=True,
        )  # fmt: skip

    def fill(self, persons: int) -> None:
        """Add households until there are exactly ``persons`` people (the last may be cut short).

        However small the drop, it shows every writing that analysis must handle: the first
        household is a minority family, the first names carry each CJK Extension A/B character,
        the first three persons with convertible names are written in traditional characters.
        """
        self._rare_due, self._traditional_due = len(RARE_CHARS), 3
        if len(self.persons) + 4 <= persons:
            age = self.rng.randint(40, 50)
            family = [("户主", MALE, age), ("配偶", FEMALE, age - 2), ("子", MALE, age - 24)]
            self.add_household(plan=[*family, ("女", FEMALE, age - 27)], minority=True)
        while len(self.persons) < persons:
            self.add_household(persons - len(self.persons))

    def add_household(
        self,
        most: int = 6,
        *,
        plan: Plan | None = None,
        county: County | None = None,
        minority: bool = False,
    ) -> list[Person]:
        """One household of 1–6 (at most ``most``) members, typed by relation to the head.

        A given ``plan`` (relation, sex, age per member) makes a planted household: all members
        alive and registered as 正常, Han unless ``minority``.
        """
        rng = self.rng
        county = county or rng.choices(COUNTIES, COUNTY_WEIGHTS)[0]
        seq = self._household_seq.get(county.code, 0) + 1
        self._household_seq[county.code] = seq
        number = f"{county.code}{seq:08d}"
        town = rng.randrange(len(county.towns)) if rng.random() < 0.6 else None
        region = county.code if town is None else county.town_code(town)
        address = _address(rng, county, town)
        minority = minority or (plan is None and rng.random() < 0.015)
        ethnicity = rng.choice(MINORITY_ETHNICITIES) if minority else "汉族"
        if not minority and county.code.startswith("46") and rng.random() < 0.1:
            ethnicity = "黎族"
        planted = plan is not None
        if plan is None:
            plan = _plan_members(rng, rng.choices(_HOUSEHOLD_SIZES, _SIZE_WEIGHTS)[0])[:most]
        head_surname = rng.choice(SURNAMES)
        head_first = rng.choice(MINORITY_PARTS)
        members = []
        for relation, sex, age in plan:
            if minority:
                own = head_first if relation == "户主" else rng.choice(MINORITY_PARTS)
                name = own + "·" + rng.choice(MINORITY_PARTS)
            else:
                same = relation == "户主" or relation in _SAME_SURNAME
                name = self.new_name(sex, head_surname if same else None)
            born = _birthday(rng, age)
            registered = (
                born + timedelta(days=30) if born.year >= 2000 else _between(rng, 2000, 2016)
            )
            person = Person(
                self.new_id(county.code, born, sex), name, sex, ethnicity, born, county, region,
                number, relation, address, self.new_phone(), registered,
            )  # fmt: skip
            if not planted:
                _age_and_fate(rng, person)
                convertible = person.name.translate(TRADITIONAL) != person.name
                if self._traditional_due and convertible and not person.traditional:
                    person.traditional = True
                    self._traditional_due -= 1
            members.append(person)
        self.households[number] = members
        self.persons.extend(members)
        self.names.update(p.name for p in members)
        return members


def _plan_members(rng: random.Random, size: int) -> Plan:
    """(relation, sex, age) for each member; the head comes first."""
    head_age = rng.randint(25, 85)
    head_sex = MALE if rng.random() < 0.7 else FEMALE
    other = FEMALE if head_sex == MALE else MALE
    plan = [("户主", head_sex, head_age)]
    if size >= 2 and rng.random() < 0.85:
        plan.append(("配偶", other, max(20, head_age + rng.randint(-5, 5))))
    children: list[int] = []
    while len(plan) < size:
        roll = rng.random()
        if roll < 0.62 or not children:
            age = rng.randint(max(0, head_age - 42), head_age - 20)
            children.append(age)
            plan.append(rng.choice((("子", MALE, age), ("女", FEMALE, age))))
        elif roll < 0.74 and head_age <= 60:
            age = min(95, head_age + rng.randint(22, 35))
            plan.append(rng.choice((("父亲", MALE, age), ("母亲", FEMALE, age))))
        elif roll < 0.84 and max(children) >= 22:
            age = rng.randint(0, max(children) - 20)
            plan.append(rng.choice((("孙子", MALE, age), ("孙女", FEMALE, age))))
        elif roll < 0.90 and max(children) >= 20:
            age = max(children) + rng.randint(-3, 3)
            plan.append(rng.choice((("儿媳", FEMALE, age), ("女婿", MALE, age))))
        elif roll < 0.96:
            age = max(1, head_age + rng.randint(-8, 8))
            plan.append(rng.choice((("兄弟", MALE, age), ("姐妹", FEMALE, age))))
        else:
            plan.append(("其他", rng.choice((MALE, FEMALE)), rng.randint(18, 70)))
    return plan


def _age_and_fate(rng: random.Random, person: Person) -> None:
    """Status, death date, former name and name-writing habits of one person."""
    chance = 0.12 if person.age >= 75 else 0.04 if person.age >= 60 else 0.003
    roll = rng.random()
    if roll < chance:
        person.status = "死亡"
        start = max(person.born + timedelta(days=1), date(2012, 1, 1))
        person.died = start + timedelta(
            days=rng.randrange(max(1, (date(2024, 11, 30) - start).days))
        )
    elif roll < chance + 0.01:
        person.status = "迁出"
    elif roll < chance + 0.012:
        person.status = "注销"
    if rng.random() < 0.03:
        person.former_name = person.name[0] + rng.choice(MALE_CHARS + FEMALE_CHARS)
    person.traditional = rng.random() < 0.04 and person.name.translate(TRADITIONAL) != person.name


def _birthday(rng: random.Random, age: int) -> date:
    day = date(REFERENCE_DAY.year - age, 1, 1) + timedelta(days=rng.randrange(365))
    return min(day, REFERENCE_DAY - timedelta(days=1))


def _between(rng: random.Random, first_year: int, last_year: int) -> date:
    start = date(first_year, 1, 1)
    return start + timedelta(days=rng.randrange((date(last_year, 12, 31) - start).days))


def _address(rng: random.Random, county: County, town: int | None) -> str:
    place = county.prefix + ("" if town is None else county.towns[town])
    return (
        f"{place}{rng.choice(STREETS)}{rng.randint(1, 300)}号{rng.randint(1, 30)}栋"
        f"{rng.randint(1, 6)}单元{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
    )
