"""Which persons each comparison model must find in a drop: the rules of issue 14, evaluated in
plain Python over the rows the index will hold.

This is the test's oracle, written apart from the service's models (comparison/): the rules'
words and values are spelt out here again, and the rows are read as the ingest reads them
(rejected rows, exact copies and superseded versions left out; ID numbers, dates, periods and
booleans through the same value parsers; a row without a readable region is out of every
scope). It holds every match of the drop: the planted ones and any the random world happens to
make, so a run must find exactly these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from analyzers.dates import parse_date, parse_period
from analyzers.ids import normalise_credit_code, normalise_person_id
from analyzers.regions import parse_region, region_prefixes
from analyzers.values import clean_text, is_empty, parse_bool, to_text
from common.vocab import Source
from demo.table import Cell, Row, Table

PENSIONS = frozenset({"基本养老金", "城乡居民养老金"})
DIBAO = frozenset({"最低生活保障金"})
DIBAO_OR_DESTITUTE = frozenset({"最低生活保障金", "特困供养金"})
LIVE_COMPANY = frozenset({"存续", "在业"})
SPOUSE = frozenset({("户主", "配偶"), ("配偶", "户主")})
CHILD = frozenset({("户主", "子"), ("户主", "女"), ("配偶", "子"), ("配偶", "女")})
COLLECTIVE = 30  # a household with more members links no relatives
REGION_COLUMN = {
    Source.HOUSEHOLD: "户籍地行政区划代码",
    Source.COMPANY: "行政区划代码",
    Source.INSURED: "参保地行政区划代码",
    Source.BENEFIT: "行政区划代码",
    Source.PROPERTY: "行政区划代码",
    Source.OFFICIAL: "行政区划代码",
}


def _person(cell: Cell) -> str | None:
    return None if is_empty(cell) else normalise_person_id(to_text(cell)).value


def _day(cell: Cell) -> date | None:
    return None if is_empty(cell) else parse_date(cell).value


def _label(cell: Cell) -> str:
    return "" if is_empty(cell) else clean_text(cell) or ""


def _region(source: Source, values: dict[str, Cell]) -> str | None:
    """The record's region code (a shareholder's: the registering authority's, from its credit
    code), or None: no scope reaches a record without one."""
    if source is Source.SHAREHOLDER:
        code = normalise_credit_code(to_text(values["统一社会信用代码"])).value
        raw = code[2:8] if code else None
    else:
        cell = values.get(REGION_COLUMN[source])
        raw = None if is_empty(cell) else to_text(cell)
    region = parse_region(raw).value if raw else None
    return region.code if region else None


def _kept(table: Table, regions: tuple[str, ...] | None) -> Iterator[dict[str, Cell]]:
    """The rows whose record the index holds, inside ``regions`` (any region when None)."""
    for row in table.rows:
        if not _indexed(row):
            continue
        code = _region(table.source, row.values)
        if code and (regions is None or set(region_prefixes(code)) & set(regions)):
            yield row.values


def _indexed(row: Row) -> bool:
    return not (row.reject or row.duplicate or row.superseded)


@dataclass(frozen=True, slots=True)
class _Payment:
    person: str
    kind: str
    period: str
    serial: str


class _Drop:
    """The records the rules read, parsed once."""

    def __init__(self, tables: dict[Source, Table], regions: tuple[str, ...] | None) -> None:
        self.households: dict[str, tuple[str, str]] = {}  # person -> (户号, 与户主关系)
        self.members: dict[str, list[tuple[str, str]]] = defaultdict(list)  # 户号 -> members
        self.deaths: dict[str, date] = {}
        for v in _kept(tables[Source.HOUSEHOLD], regions):
            if (pid := _person(v["公民身份号码"])) is None:
                continue
            number, relation = _label(v["户号"]), _label(v["与户主关系"])
            if number and relation:
                self.households[pid] = (number, relation)
                self.members[number].append((pid, relation))
            if _label(v["人员状态"]) == "死亡" and (died := _day(v["死亡日期"])) is not None:
                self.deaths[pid] = died
        self.officials: dict[str, tuple[bool | None, date | None]] = {}  # funded, appointed
        for v in _kept(tables[Source.OFFICIAL], regions):
            if (pid := _person(v["公民身份号码"])) is not None:
                self.officials[pid] = (parse_bool(v["是否财政供养"]).value, _day(v["任职日期"]))
        self.payments = [
            _Payment(pid, _label(v["待遇类型"]), parse_period(v["所属期"]).value or "",
                     _label(v["发放流水号"]))
            for v in _kept(tables[Source.BENEFIT], regions)
            if (pid := _person(v["公民身份号码"])) is not None
        ]  # fmt: skip
        self.insured = [
            (pid, _label(v["参保状态"]), _day(v["参保日期"]), _day(v["停保日期"]))
            for v in _kept(tables[Source.INSURED], regions)
            if (pid := _person(v["公民身份号码"])) is not None
        ]
        self.units = [
            (pid, _label(v["不动产单元号"]), _label(v["规划用途"]), _label(v["登记类型"]))
            for v in _kept(tables[Source.PROPERTY], regions)
            if (pid := _person(v["证件号码"])) is not None
        ]
        self.companies: dict[str, str] = {}  # credit code -> 登记状态
        self.represents: dict[str, set[str]] = defaultdict(set)  # person -> credit codes
        for v in _kept(tables[Source.COMPANY], regions):
            code = normalise_credit_code(to_text(v["统一社会信用代码"])).value or ""
            self.companies[code] = _label(v["登记状态"])
            if (pid := _person(v["法定代表人证件号码"])) is not None:
                self.represents[pid].add(code)
        self.holds: dict[str, set[str]] = defaultdict(set)
        for v in _kept(tables[Source.SHAREHOLDER], regions):
            if (pid := _person(v["证照号码"])) is not None:
                code = normalise_credit_code(to_text(v["统一社会信用代码"])).value or ""
                self.holds[pid].add(code)

    def paid(self, kinds: frozenset[str]) -> set[str]:
        return {p.person for p in self.payments if p.kind in kinds}

    def relatives(self, person: str, pairs: frozenset[tuple[str, str]]) -> set[str]:
        """The persons whose (own relation, their relation) in the same household is a pair."""
        if person not in self.households:
            return set()
        number, own = self.households[person]
        members = self.members[number]
        if len(members) > COLLECTIVE:
            return set()
        return {p for p, r in members if p != person and (own, r) in pairs}


def _month(day: date) -> str:
    """A date's month as a parsed 所属期 (``2024-05``)."""
    return f"{day.year:04d}-{day.month:02d}"


def comparison_truth(
    tables: dict[Source, Table], regions: tuple[str, ...] | None = None
) -> dict[str, list[str]]:
    """Model id -> the ID numbers of every subject the model must find, sorted: over the whole
    drop, or as a run under an application of ``regions`` must (only records inside them)."""
    drop = _Drop(tables, regions)
    dibao, dibao_or_destitute = drop.paid(DIBAO), drop.paid(DIBAO_OR_DESTITUTE)
    by_slot: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for payment in drop.payments:
        by_slot[(payment.person, payment.kind, payment.period)].add(payment.serial)

    def homes(person: str) -> set[str]:
        return {
            unit for owner, unit, use, registration in drop.units
            if owner == person and use == "住宅" and registration != "注销登记"
        }  # fmt: skip

    def runs_company(person: str, statuses: frozenset[str] | None) -> bool:
        codes = drop.represents.get(person, set()) | drop.holds.get(person, set())
        if statuses is None:
            return bool(codes)
        return any(drop.companies.get(code) in statuses for code in codes)

    found = {
        "deceased_pension": {
            p.person for p in drop.payments
            if p.kind in PENSIONS and p.person in drop.deaths
            and p.period > _month(drop.deaths[p.person])
        },
        "funded_on_dibao": {
            official for official, (funded, _) in drop.officials.items()
            if funded and ({official} | drop.relatives(official, SPOUSE)) & dibao_or_destitute
        },
        "dibao_multi_property": {p for p in dibao if len(homes(p)) >= 2},
        "dibao_company": {p for p in dibao if runs_company(p, LIVE_COMPANY)},
        "official_relative_business": {
            official for official in drop.officials
            if any(runs_company(r, None) for r in drop.relatives(official, SPOUSE | CHILD))
        },
        "deceased_insured_paying": {
            pid for pid, status, since, stopped in drop.insured
            if status == "参保缴费" and pid in drop.deaths
            and (
                (since is not None and since > drop.deaths[pid])
                or stopped is None or stopped > drop.deaths[pid]
            )
        },
        "duplicate_benefit": {person for (person, _, _), serials in by_slot.items()
                              if len(serials) >= 2},
        "official_unemployment": {
            p.person for p in drop.payments
            if p.kind == "失业保险金" and p.person in drop.officials
            and (appointed := drop.officials[p.person][1]) is not None
            and p.period >= _month(appointed)
        },
    }  # fmt: skip
    return {model: sorted(persons) for model, persons in found.items()}
