"""Superseded versions: older rows of a record beside the row that replaces them, in every source.

The row a drop describes stays the winner, unchanged, so every planted pattern and count still
holds; an older version of it, with some values changed, is inserted before or after it:

- sources with a version date (登记日期): an earlier date, before the winner (the engine takes
  the winner after it) or after it (the engine refuses it), and an equal date before the winner
  (on equal dates the later row wins);
- sources without one: before the winner (the later row wins).

Household needs none here: its late death records already supersede the rows written before.
Petition versions change the complainant fields too (an older phone; a version signed by someone
whose later version is anonymous), so the sealed store must keep exactly the winner's fields.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analyzers.dates import parse_date
from analyzers.values import is_empty
from common.vocab import Source
from demo.quirks import format_money
from demo.table import Cell, Row, Table

VERSION_DATE = "登记日期"
COMPLAINANT = ("反映人姓名", "反映人证件号码", "反映人联系电话")
# Older phones start with 14: the population's phones never do (people.Population.new_phone).
OLD_PHONE_PREFIX = "14"


@dataclass(frozen=True, slots=True)
class Plan:
    """One older version: its date (earlier, or equal), where it goes, whom it names."""

    earlier: bool  # an earlier version date (False: the same date, or no version date)
    after: bool  # inserted after the winner (only with an earlier date)
    signed_stale: bool = False  # petitions: the winner is anonymous, the older version signed


_UNVERSIONED = (Plan(earlier=False, after=False), Plan(earlier=False, after=False))
_DATED = (
    Plan(earlier=True, after=False),
    Plan(earlier=True, after=True),
    Plan(earlier=False, after=False),
)
PLANS: dict[Source, tuple[Plan, ...]] = {
    Source.HOUSEHOLD: (),
    Source.COMPANY: _UNVERSIONED,
    Source.SHAREHOLDER: _UNVERSIONED,
    Source.COMPANY_OFFICER: _UNVERSIONED,
    Source.INSURED: _UNVERSIONED,
    Source.BENEFIT: _UNVERSIONED,
    Source.PROPERTY: _DATED,
    Source.PETITION: (*_DATED, Plan(earlier=True, after=False, signed_stale=True)),
    Source.OFFICIAL: _UNVERSIONED,
}

Changer = Callable[[random.Random, dict[str, Cell]], None]


def _money(column: str, *, yuan: bool) -> Changer:
    def change(rng: random.Random, values: dict[str, Cell]) -> None:
        values[column] = format_money(rng, float(rng.randrange(100, 9000)), yuan=yuan)

    return change


def _label(column: str, choices: tuple[str, ...]) -> Changer:
    def change(rng: random.Random, values: dict[str, Cell]) -> None:
        values[column] = rng.choice([c for c in choices if c != values.get(column)])

    return change


def _official(rng: random.Random, values: dict[str, Cell]) -> None:
    values["任职日期"] = (date(2005, 1, 1) + timedelta(days=rng.randrange(3000))).isoformat()


def _officer(rng: random.Random, values: dict[str, Cell]) -> None:
    # The only column outside the key: the company name as an older export spelt it.
    values["企业名称"] = f"{values['企业名称']}（原名称）"


def _property(rng: random.Random, values: dict[str, Cell]) -> None:
    values["登记类型"] = "首次登记"
    values["成交价格(万元)"] = ""


def _petition(rng: random.Random, values: dict[str, Cell]) -> None:
    values["办理状态"] = "待受理"
    if not is_empty(values.get("反映人联系电话")):
        values["反映人联系电话"] = OLD_PHONE_PREFIX + f"{rng.randrange(10**9):09d}"


CHANGES: dict[Source, Changer] = {
    Source.COMPANY: _label("登记状态", ("存续", "在业", "吊销", "迁出")),
    Source.SHAREHOLDER: _money("认缴出资额(万元)", yuan=False),
    Source.COMPANY_OFFICER: _officer,
    Source.INSURED: _money("缴费基数(元)", yuan=True),
    Source.BENEFIT: _money("发放金额(元)", yuan=True),
    Source.PROPERTY: _property,
    Source.PETITION: _petition,
    Source.OFFICIAL: _official,
}


def plant_versions(rng: random.Random, table: Table) -> None:
    """Insert this source's older versions beside randomly chosen ordinary rows, in place."""
    for plan in PLANS[table.source]:
        winner, stale = _older_version(rng, table, plan)
        at = table.rows.index(winner)
        where = rng.randrange(at + 1, len(table.rows) + 1) if plan.after else rng.randrange(at + 1)
        table.rows.insert(where, Row(stale, superseded=True, winner=winner))
        winner.has_versions = True


def _older_version(rng: random.Random, table: Table, plan: Plan) -> tuple[Row, dict[str, Cell]]:
    """A winner and an older version of it that differs from it in at least one value: a
    change that happens to restore the winner's own values would be an exact duplicate."""
    for _ in range(1000):
        winner = _pick(rng, table, plan)
        stale = dict(winner.values)
        CHANGES[table.source](rng, stale)
        if plan.signed_stale:
            signer = _pick(rng, table, Plan(earlier=True, after=False))
            stale.update({column: signer.values[column] for column in COMPLAINANT})
            stale["是否匿名"] = "否"
        if plan.earlier:
            stale[VERSION_DATE] = _earlier(rng, winner.values[VERSION_DATE])
        if stale != winner.values:
            return winner, stale
    raise ValueError(f"no row of {table.source} gives an older version that differs from it")


def _pick(rng: random.Random, table: Table, plan: Plan) -> Row:
    """An ordinary row; for petitions, a signed one (or an anonymous one for ``signed_stale``)."""
    for _ in range(100_000):
        row = table.rows[rng.randrange(len(table.rows))]
        if not row.clean:
            continue
        if table.source is not Source.PETITION:
            return row
        signed = not is_empty(row.values.get("反映人姓名"))
        if signed != plan.signed_stale and _is_date(row.values[VERSION_DATE]):
            return row
    raise ValueError(f"no ordinary row left in {table.source} to plant a version of")


def _is_date(cell: Cell) -> bool:
    return parse_date(cell).value is not None


def _earlier(rng: random.Random, cell: Cell) -> Cell:
    """A version date 20 to 400 days before ``cell``, in the same kind of cell."""
    day = parse_date(cell).value
    if day is None:
        raise ValueError(f"not a date: {cell!r}")
    older = day - timedelta(days=rng.randrange(20, 400))
    if isinstance(cell, datetime):
        return datetime(older.year, older.month, older.day)
    return older.isoformat()
