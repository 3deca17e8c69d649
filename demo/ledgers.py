"""Rows of the insurance, benefit, property and petition registers."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from common.vocab import Source
from demo.comparisons import PlantedUnit
from demo.lexicon import CITY_NAMES, PROVINCE_ABBR
from demo.livelihood import PERIODS, Grant
from demo.people import REFERENCE_DAY, Person
from demo.petitions import Petition
from demo.quirks import (
    format_bool,
    format_date,
    format_money,
    format_name,
    pick_empty,
    to_fullwidth,
)
from demo.registries import write_name, write_pid
from demo.table import HEADERS, Cell, Row, Table
from demo.world import World

PETITION_TITLE = "信访件导出（2024年12月）"
_COMPANY_SCHEMES = (
    ("企业职工基本养老保险", 1.0),
    ("职工基本医疗保险", 0.9),
    ("失业保险", 0.6),
    ("工伤保险", 0.4),
)
_PUBLIC_SCHEMES = (("机关事业单位养老保险", 1.0), ("职工基本医疗保险", 1.0))


def insured_table(rng: random.Random, world: World) -> Table:
    rows = []
    for job in world.jobs:
        person = job.person
        base = float(rng.randrange(3000, 20000))
        for scheme, chance in _PUBLIC_SCHEMES if job.public else _COMPANY_SCHEMES:
            if rng.random() >= chance:
                continue
            state, stop = "参保缴费", ""
            if job.state is not None:  # planted (demo.comparisons): exactly as given
                state, stop = job.state, format_date(rng, job.end) if job.end else ""
            elif job.end is not None:
                state, stop = "终止参保", format_date(rng, job.end)
            elif rng.random() < 0.04:
                state, stop = "暂停缴费", format_date(rng, date(2024, rng.randint(1, 11), 1))
            values: dict[str, Cell] = {
                "公民身份号码": write_pid(rng, person),
                "姓名": write_name(rng, person),
                "单位统一社会信用代码": job.code if rng.random() < 0.96 else "",
                "单位名称": job.employer,
                "险种": scheme,
                "参保状态": state,
                "参保日期": format_date(rng, job.start),
                "停保日期": stop,
                "缴费基数(元)": format_money(rng, base, yuan=True),
                "参保地行政区划代码": job.region,
            }
            rows.append(Row(values, protected=person.plain))
    return Table(Source.INSURED, list(HEADERS[Source.INSURED]), rows)


def benefit_table(rng: random.Random, world: World) -> Table:
    """Monthly payment batches in period order; serial numbers follow the batches."""
    by_period: dict[str, list[Grant]] = defaultdict(list)
    for grant in world.grants:
        for period in grant.periods:
            by_period[period].append(grant)
    rows = []
    serial = 0
    for period in PERIODS:
        paid_on = date(int(period[:4]), int(period[4:]), 20)
        for grant in by_period[period]:
            person = grant.person
            serial += 1
            amount: Cell = grant.amount
            if rng.random() >= 0.1:  # a tenth of the JSON lines carry the amount as a number
                amount = format_money(rng, grant.amount, yuan=True)
            values: dict[str, Cell] = {
                "发放流水号": f"FF{person.county.code}{serial:09d}",
                "公民身份号码": write_pid(rng, person),
                "姓名": write_name(rng, person),
                "待遇类型": grant.kind,
                "所属期": period,
                "发放金额(元)": amount,
                "发放日期": format_date(rng, paid_on),
                "发放机构": f"{person.county.name}{grant.agency}",
                "行政区划代码": person.county.code,
            }
            rows.append(Row(values, protected=person.plain))
            if period in grant.copies:  # the export repeats the row: one serial, one record
                rows.append(Row(dict(values), duplicate=True, protected=True))
    return Table(Source.BENEFIT, list(HEADERS[Source.BENEFIT]), rows)


def property_table(rng: random.Random, world: World) -> Table:
    """One row per owner per unit: couples share units, companies own shops and offices."""
    rows: list[Row] = []
    sequence = 0
    planted = world.comparisons.homes  # their units are exactly the planted ones (below)
    for members in world.population.households.values():
        if members[0].household in planted:
            continue
        head = members[0]
        spouse = next((m for m in members if m.relation == "配偶" and m.age >= 20), None)
        child = next((m for m in members if m.relation in ("子", "女") and m.age >= 18), None)
        for second in (False, True):
            if rng.random() >= (0.2 if second else 0.7):
                continue
            sequence += 1
            owners = _owners(rng, head, spouse, child)
            rows.extend(_unit_rows(rng, head, owners, sequence, second=second))
    for company in world.market.companies:
        if rng.random() < 0.1:
            sequence += 1
            unit = _unit(rng, company.county.code, company.county.city_code, sequence)
            values = dict(unit)
            values.update(
                {
                    "权利人": company.name,
                    "证件种类": "统一社会信用代码",
                    "证件号码": company.code,
                    "共有情况": "单独所有",
                    "权利比例": "100%",
                    "坐落": company.address,
                    "规划用途": rng.choice(("商业", "办公")),
                }
            )
            rows.append(Row(values))
    for planted_unit in world.comparisons.units:
        sequence += 1
        rows.extend(_planted_unit_rows(rng, planted_unit, sequence))
    return Table(Source.PROPERTY, list(HEADERS[Source.PROPERTY]), rows)


def _planted_unit_rows(rng: random.Random, planted: PlantedUnit, sequence: int) -> list[Row]:
    """The rows of a planted unit (demo.comparisons): its use and registration as planted."""
    head = planted.owners[0][0]
    unit = _unit(rng, head.county.code, head.county.city_code, sequence)
    unit.update({"规划用途": planted.use, "登记类型": planted.registration, "成交价格(万元)": ""})
    rows = []
    for owner, sharing, ratio in planted.owners:
        values = dict(unit)
        values.update({"权利人": owner.name, "证件种类": "居民身份证", "证件号码": owner.pid,
                       "共有情况": sharing, "权利比例": ratio, "坐落": head.address})  # fmt: skip
        rows.append(Row(values, protected=True))
    return rows


def _owners(
    rng: random.Random, head: Person, spouse: Person | None, child: Person | None
) -> list[tuple[Person, str, str]]:
    """(owner, 共有情况, 权利比例) for each owner of one unit."""
    roll = rng.random()
    if spouse and roll < 0.55:
        return [(head, "共同共有", ""), (spouse, "共同共有", "")]
    if spouse and child and roll < 0.65:
        return [(head, "按份共有", "40%"), (spouse, "按份共有", "40%"), (child, "按份共有", "20%")]
    if spouse and roll < 0.75:
        return [(head, "按份共有", "50%"), (spouse, "按份共有", "50%")]
    return [(head, "单独所有", "100%")]


def _unit(rng: random.Random, county: str, city_code: str, sequence: int) -> dict[str, Cell]:
    """The columns every owner row of one unit shares."""
    abbr = PROVINCE_ABBR[county[:2]]
    city = CITY_NAMES.get(city_code, "")
    kind = rng.choices(("首次登记", "转移登记", "变更登记", "注销登记"), (45, 40, 13, 2))[0]
    registered = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
    price = format_money(rng, round(rng.uniform(40, 600)), yuan=False)
    return {
        # 宗地 (6) + GB + 定着物 (5) + F + 8 digits, as the sample drop writes it
        "不动产单元号": f"{county}{sequence:06d}GB{rng.randrange(10**5):05d}"
        f"F{rng.randrange(10**8):08d}",
        "不动产权证书号": f"{abbr}({registered.year}){city}不动产权第{rng.randrange(10**7):07d}号",
        "建筑面积(㎡)": _area(rng),
        "规划用途": "住宅",
        "权利性质": rng.choice(("商品房", "房改房", "自建房", "经济适用住房")),
        "登记日期": format_date(rng, min(registered, REFERENCE_DAY)),
        "登记类型": kind,
        "成交价格(万元)": price if kind == "转移登记" else _empty(rng),
        "行政区划代码": county,
    }


def _unit_rows(
    rng: random.Random,
    head: Person,
    owners: list[tuple[Person, str, str]],
    sequence: int,
    *,
    second: bool,
) -> list[Row]:
    unit = _unit(rng, head.county.code, head.county.city_code, sequence)
    address = head.address
    if second:
        flat = f"{rng.randint(1, 40)}号{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
        address = f"{head.county.prefix}滨海花园{flat}"
    roll = rng.random()
    if roll < 0.03:  # a comma inside the field forces RFC 4180 quoting
        address = address.replace("号", "号（原商住楼,A座）", 1)
    elif roll < 0.06:  # an embedded line break inside a quoted field
        address = address.replace(head.county.prefix, head.county.prefix + "\n", 1)
    if second and rng.random() < 0.3:
        unit["规划用途"] = rng.choice(("车位", "商业"))
    rows = []
    for owner, sharing, ratio in owners:
        values = dict(unit)
        values.update(
            {
                "权利人": write_name(rng, owner),
                "证件种类": "居民身份证",
                "证件号码": write_pid(rng, owner),
                "共有情况": sharing,
                "权利比例": ratio or _empty(rng),
                "坐落": address,
            }
        )
        rows.append(Row(values, protected=owner.plain))
    return rows


def _area(rng: random.Random) -> str:
    area = f"{rng.uniform(45, 220):.2f}"
    return to_fullwidth(area) if rng.random() < 0.03 else area


def _empty(rng: random.Random) -> str:
    return "" if rng.random() < 0.6 else pick_empty(rng)


def petition_table(rng: random.Random, world: World) -> Table:
    rows = [_petition_row(rng, p) for p in world.desk.petitions]
    return Table(Source.PETITION, list(HEADERS[Source.PETITION]), rows)


def _petition_row(rng: random.Random, petition: Petition) -> Row:
    plain = petition.plain
    names = [
        o.person.name
        if plain or o.person.plain
        else format_name(rng, o.person.name, traditional=False)
        for o in petition.reported
    ]
    ids = [
        o.person.pid if shown else ""
        for o, shown in zip(petition.reported, petition.with_id, strict=True)
    ]
    who = petition.complainant
    registered: Cell = datetime(
        petition.registered.year, petition.registered.month, petition.registered.day
    )
    if rng.random() < 0.2:
        registered = format_date(rng, petition.registered)
    values: dict[str, Cell] = {
        "信访件编号": petition.number,
        "登记日期": registered,
        "来源渠道": petition.channel,
        "反映人姓名": who.name if who else _sealed_blank(rng),
        "反映人证件号码": who.pid if who else _sealed_blank(rng),
        "反映人联系电话": who.phone if who else _sealed_blank(rng),
        "是否匿名": format_bool(rng, who is None),
        "被反映人姓名": "；".join(names),
        "被反映人证件号码": "；".join(ids) if any(ids) else _sealed_blank(rng),
        "被反映人单位": "；".join(o.unit.name for o in petition.reported),
        "被反映人职务": "；".join(o.post for o in petition.reported),
        "被反映人职级": "；".join(o.rank for o in petition.reported),
        "问题类别": petition.category,
        "问题属地行政区划代码": petition.region,
        "承办单位": petition.handler,
        "承办层级": petition.tier.value,
        "办理状态": petition.state,
        "内容": petition.written,
    }
    return Row(values, protected=plain)


def _sealed_blank(rng: random.Random) -> Cell:
    """An absent value in a spreadsheet: an empty cell or an empty token."""
    return None if rng.random() < 0.6 else pick_empty(rng)
