"""Rows of the people and market registers: household, official, company, shareholder, officer."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from common.vocab import Source
from demo.companies import Company
from demo.lexicon import CITY_NAMES, DOTS
from demo.people import REFERENCE_DAY, Person
from demo.quirks import (
    ID_FORMS,
    excel_or_text,
    format_bool,
    format_date,
    format_money,
    format_name,
    format_person_id,
    id_forms,
    pick_empty,
)
from demo.table import HEADERS, Cell, Row, Table
from demo.world import World

EXTRA_COLUMN = "备注"
"""The one column not in the contract, written into company.csv (it must land under ``extra``)."""
_REMARKS = ("年报已公示", "列入经营异常名录", "住所变更", "")
# shareholder.xlsx lists its columns in another order than the contract (order is not fixed).
SHAREHOLDER_ORDER = (
    "股东名称", "股东类型", "证照类型", "证照号码", "统一社会信用代码", "企业名称",
    "认缴出资额(万元)", "出资比例(%)", "出资日期",
)  # fmt: skip


def write_pid(
    rng: random.Random, person: Person, *, legacy_ok: bool = False, form: str | None = None
) -> str:
    if person.plain:
        return person.pid
    return format_person_id(rng, person.pid, legacy_ok=legacy_ok, form=form)


def write_name(rng: random.Random, person: Person, dot: str | None = None) -> str:
    if person.plain:
        return person.name
    return format_name(rng, person.name, traditional=person.traditional, dot=dot)


def household_table(rng: random.Random, world: World) -> Table:
    """Every resident once; a few deaths arrive as a later row that supersedes the first."""
    rows: list[Row] = []
    updates: list[Row] = []
    late = {p.pid for p in world.late_deaths}
    dots = itertools.cycle(DOTS)  # minority names take each dot form in turn
    forms_due = list(ID_FORMS)  # the first IDs that allow it show each writing once
    for person in world.population.persons:
        dot = next(dots) if "·" in person.name else None
        allowed = id_forms(person.pid, legacy_ok=True) if forms_due else ()
        form = next((f for f in forms_due if f in allowed), None)
        if form and not person.plain:
            forms_due.remove(form)
        row = Row(_household_values(rng, person, dot, form), protected=person.plain)
        rows.append(row)
        if person.died is not None and person.pid in late:
            # the export first held the living person; a later update records the death
            later = dict(row.values)
            reported = min(person.died + timedelta(days=rng.randint(3, 60)), REFERENCE_DAY)
            later["登记日期"] = format_date(rng, reported)
            row.values.update({"人员状态": "正常", "死亡日期": pick_empty(rng)})
            update = Row(later, protected=True)
            row.superseded, row.winner = True, update
            updates.append(update)
    return Table(Source.HOUSEHOLD, list(HEADERS[Source.HOUSEHOLD]), rows + updates)


def _household_values(
    rng: random.Random, person: Person, dot: str | None, form: str | None
) -> dict[str, Cell]:
    return {
        "公民身份号码": write_pid(rng, person, legacy_ok=True, form=form),
        "姓名": write_name(rng, person, dot),
        "曾用名": person.former_name or pick_empty(rng),
        "性别": person.sex,
        "民族": person.ethnicity,
        "出生日期": format_date(rng, person.born),
        "户号": person.household,
        "与户主关系": person.relation,
        "户籍地址": person.address,
        "户籍地行政区划代码": person.region,
        "人员状态": person.status,
        "死亡日期": format_date(rng, person.died) if person.died else _blank(rng),
        "联系电话": person.phone if person.age >= 16 else _blank(rng),
        "登记日期": format_date(rng, person.registered),
    }


def official_table(rng: random.Random, world: World) -> Table:
    rows = [
        Row(
            {
                "公民身份号码": write_pid(rng, o.person),
                "姓名": write_name(rng, o.person),
                "工作单位": o.unit.name,
                "职务": o.post,
                "职级": o.rank,
                "人员类别": o.category,
                "是否财政供养": format_bool(rng, o.funded),
                "管理权限": o.authority,
                "任职日期": format_date(rng, o.since),
                "行政区划代码": o.unit.region,
            },
            protected=o.person.plain,
        )
        for o in world.officials
    ]
    return Table(Source.OFFICIAL, list(HEADERS[Source.OFFICIAL]), rows)


def company_table(rng: random.Random, world: World) -> Table:
    rows = []
    for company in world.market.companies:
        rep = company.legal_rep
        values: dict[str, Cell] = {
            "统一社会信用代码": company.code,
            "企业名称": company.name,
            "企业类型": company.kind,
            "法定代表人": write_name(rng, rep),
            "法定代表人证件号码": write_pid(rng, rep),
            "注册资本(万元)": format_money(rng, company.capital, yuan=False),
            "成立日期": format_date(rng, company.founded),
            "登记状态": company.status,
            "住所": company.address,
            "经营范围": company.scope,
            "登记机关": f"{_registrar(company)}市场监督管理局",
            "行政区划代码": company.county.code,
            "联系电话": company.phone or _blank(rng),
            "注销日期": format_date(rng, company.cancelled) if company.cancelled else _blank(rng),
            EXTRA_COLUMN: rng.choice(_REMARKS) if rng.random() < 0.3 else "",
        }
        rows.append(Row(values, protected=rep.plain))
    return Table(Source.COMPANY, [*HEADERS[Source.COMPANY], EXTRA_COLUMN], rows)


def shareholder_table(rng: random.Random, world: World) -> Table:
    """Persons (by ID) and companies (by credit code) holding shares; numbers as Excel numbers."""
    rows = []
    for company in world.market.companies:
        for share in company.shares:
            holder = share.holder
            if isinstance(holder, Person):
                kinds = (
                    "自然人股东",
                    "居民身份证",
                    write_pid(rng, holder),
                    write_name(rng, holder),
                )
            elif isinstance(holder, Company):
                kinds = ("企业法人", "统一社会信用代码", holder.code, holder.name)
            else:
                kinds = ("其他", "其他", pick_empty(rng), share.name)
            amount = round(company.capital * share.percent / 100, 2)
            values: dict[str, Cell] = {
                "统一社会信用代码": company.code,
                "企业名称": company.name,
                "股东名称": kinds[3],
                "股东类型": kinds[0],
                "证照类型": kinds[1],
                "证照号码": kinds[2],
                "认缴出资额(万元)": amount
                if rng.random() < 0.5
                else format_money(rng, amount, yuan=False),
                "出资比例(%)": share.percent if rng.random() < 0.5 else f"{share.percent:g}",
                "出资日期": excel_or_text(rng, share.paid_on),
            }
            # planted chains stay whole: a holder or a representative at either end is planted
            planted = company.legal_rep.plain or (
                holder is not None
                and (holder.plain if isinstance(holder, Person) else holder.legal_rep.plain)
            )
            rows.append(Row(values, protected=planted))
    return Table(Source.SHAREHOLDER, list(SHAREHOLDER_ORDER), rows)


def officer_table(rng: random.Random, world: World) -> Table:
    rows = []
    for company in world.market.companies:
        for person, post in company.officers:
            missing = not person.plain and rng.random() < 0.03
            values: dict[str, Cell] = {
                "统一社会信用代码": company.code,
                "企业名称": company.name,
                "姓名": write_name(rng, person),
                "证件号码": None if missing else write_pid(rng, person),
                "职务": post,
            }
            rows.append(Row(values, protected=person.plain))
    return Table(Source.COMPANY_OFFICER, list(HEADERS[Source.COMPANY_OFFICER]), rows)


def _registrar(company: Company) -> str:
    return CITY_NAMES.get(company.county.city_code, company.county.name)


def _blank(rng: random.Random) -> str:
    """Mostly a truly empty field, sometimes one of the empty tokens."""
    return "" if rng.random() < 0.7 else pick_empty(rng)
