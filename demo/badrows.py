"""A known, small number of broken rows per file: rejects, warnings, bad non-key IDs, duplicates.

Rejected rows are extra copies of ordinary rows with one key column damaged, so every entity the
drop describes still has its valid rows. Warnings and bad non-key IDs damage ordinary rows in
place (the row stays valid). Older versions of records are planted by ``versions``; exact
duplicates are copies inserted somewhere after the original.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from analyzers.ids import normalise_credit_code, normalise_person_id
from common.vocab import Source
from demo.quirks import (
    BAD_AMOUNTS,
    BAD_DATE,
    scientific,
    wrong_check,
    wrong_credit_check,
)
from demo.table import Row, Table
from demo.versions import plant_versions

MISSING_KEY = "missing_key"
ID_SCIENTIFIC = "id_scientific_notation"
ID_WRONG_CHECK = "id_wrong_check_char"
CODE_WRONG_CHECK = "credit_code_wrong_check_char"
BAD_DATE_KIND = "unparseable_date"
BAD_AMOUNT_KIND = "unparseable_amount"


@dataclass(frozen=True, slots=True)
class Damage:
    """``count`` rows get ``kind`` in ``column``."""

    kind: str
    column: str
    count: int


REJECTS: dict[Source, tuple[Damage, ...]] = {
    Source.HOUSEHOLD: (
        Damage(MISSING_KEY, "公民身份号码", 2),
        Damage(ID_SCIENTIFIC, "公民身份号码", 1),
        Damage(ID_WRONG_CHECK, "公民身份号码", 2),
    ),
    Source.COMPANY: (
        Damage(MISSING_KEY, "统一社会信用代码", 1),
        Damage(CODE_WRONG_CHECK, "统一社会信用代码", 2),
    ),
    Source.SHAREHOLDER: (
        Damage(MISSING_KEY, "统一社会信用代码", 1),
        Damage(MISSING_KEY, "股东名称", 1),
        Damage(CODE_WRONG_CHECK, "统一社会信用代码", 1),
    ),
    Source.COMPANY_OFFICER: (
        Damage(MISSING_KEY, "姓名", 2),
        Damage(CODE_WRONG_CHECK, "统一社会信用代码", 1),
    ),
    Source.INSURED: (
        Damage(MISSING_KEY, "公民身份号码", 1),
        Damage(MISSING_KEY, "参保日期", 1),
        Damage(ID_SCIENTIFIC, "公民身份号码", 2),
        Damage(ID_WRONG_CHECK, "公民身份号码", 1),
    ),
    Source.BENEFIT: (Damage(MISSING_KEY, "发放流水号", 2),),
    Source.PROPERTY: (Damage(MISSING_KEY, "不动产单元号", 1), Damage(MISSING_KEY, "权利人", 1)),
    Source.PETITION: (Damage(MISSING_KEY, "信访件编号", 1),),
    Source.OFFICIAL: (
        Damage(MISSING_KEY, "公民身份号码", 1),
        Damage(ID_SCIENTIFIC, "公民身份号码", 1),
        Damage(ID_WRONG_CHECK, "公民身份号码", 1),
    ),
}

WARNINGS: dict[Source, tuple[Damage, ...]] = {
    Source.HOUSEHOLD: (Damage(BAD_DATE_KIND, "出生日期", 2),),
    Source.COMPANY: (
        Damage(BAD_DATE_KIND, "成立日期", 1),
        Damage(BAD_AMOUNT_KIND, "注册资本(万元)", 1),
    ),
    Source.SHAREHOLDER: (
        Damage(BAD_DATE_KIND, "出资日期", 1),
        Damage(BAD_AMOUNT_KIND, "认缴出资额(万元)", 1),
    ),
    Source.COMPANY_OFFICER: (),
    Source.INSURED: (Damage(BAD_AMOUNT_KIND, "缴费基数(元)", 2),),
    Source.BENEFIT: (
        Damage(BAD_DATE_KIND, "发放日期", 1),
        Damage(BAD_AMOUNT_KIND, "发放金额(元)", 2),
    ),
    Source.PROPERTY: (
        Damage(BAD_DATE_KIND, "登记日期", 1),
        Damage(BAD_AMOUNT_KIND, "建筑面积(㎡)", 1),
    ),
    Source.PETITION: (Damage(BAD_DATE_KIND, "登记日期", 1),),
    Source.OFFICIAL: (Damage(BAD_DATE_KIND, "任职日期", 1),),
}

# Invalid ID numbers in columns that are not keys: kept as raw text, no identity link.
BAD_NON_KEY_IDS: dict[Source, tuple[Damage, ...]] = {
    Source.COMPANY: (Damage(ID_WRONG_CHECK, "法定代表人证件号码", 1),),
    Source.SHAREHOLDER: (Damage(ID_WRONG_CHECK, "证照号码", 1),),
    Source.BENEFIT: (Damage(ID_SCIENTIFIC, "公民身份号码", 1),),
    Source.PROPERTY: (Damage(ID_WRONG_CHECK, "证件号码", 1),),
}

# Exact copies, in every source.
DUPLICATES: dict[Source, int] = {
    Source.HOUSEHOLD: 3,
    Source.COMPANY: 1,
    Source.SHAREHOLDER: 1,
    Source.COMPANY_OFFICER: 1,
    Source.INSURED: 2,
    Source.BENEFIT: 3,
    Source.PROPERTY: 1,
    Source.PETITION: 2,
    Source.OFFICIAL: 1,
}


def damage_table(rng: random.Random, table: Table) -> None:
    """Plant this source's warnings, bad non-key IDs, rejects, older versions of records and
    exact duplicates, in place."""
    source = table.source
    for damage in WARNINGS[source]:
        for index in range(damage.count):
            row = _pick(rng, table, damage.column)
            row.values[damage.column] = (
                BAD_DATE if damage.kind == BAD_DATE_KIND else BAD_AMOUNTS[index]
            )
            row.warnings.append((damage.column, damage.kind))
    for damage in BAD_NON_KEY_IDS.get(source, ()):
        for _ in range(damage.count):
            row = _pick(rng, table, damage.column, person_id=True)
            row.values[damage.column] = _break(damage.kind, str(row.values[damage.column]))
            row.invalid_ids.append(damage.column)
    for damage in REJECTS[source]:
        for index in range(damage.count):
            original = _pick(
                rng, table, damage.column, person_id=damage.kind in (ID_SCIENTIFIC, ID_WRONG_CHECK)
            )
            values = dict(original.values)
            if damage.kind == MISSING_KEY:
                values[damage.column] = "" if index % 2 == 0 else "NULL"
            else:
                values[damage.column] = _break(damage.kind, str(values[damage.column]))
            table.rows.insert(
                rng.randrange(len(table.rows) + 1), Row(values, reject=(damage.column, damage.kind))
            )
    plant_versions(rng, table)
    for _ in range(DUPLICATES.get(source, 0)):
        original = _pick(rng, table, table.header[0])
        at = table.rows.index(original)
        table.rows.insert(
            rng.randrange(at + 1, len(table.rows) + 1), Row(dict(original.values), duplicate=True)
        )


def _pick(rng: random.Random, table: Table, column: str, *, person_id: bool = False) -> Row:
    """A random ordinary row with ``column`` filled (by a person's ID, no X, if ``person_id``)."""
    for _ in range(100_000):
        row = table.rows[rng.randrange(len(table.rows))]
        value = row.values.get(column)
        if not row.clean or value in (None, ""):
            continue
        if not person_id:
            return row
        document = row.values.get("证照类型", row.values.get("证件种类", "居民身份证"))
        normal = normalise_person_id(str(value)).value
        if document == "居民身份证" and normal and not normal.endswith("X"):
            return row
    raise ValueError(f"no ordinary row left in {table.source} to damage in {column}")


def _break(kind: str, value: str) -> str:
    """The raw value damaged in the way ``kind`` names."""
    if kind == CODE_WRONG_CHECK:
        return wrong_credit_check(_valid(normalise_credit_code(value).value, value))
    pid = _valid(normalise_person_id(value).value, value)
    return scientific(pid) if kind == ID_SCIENTIFIC else wrong_check(pid)


def _valid(normal: str | None, raw: str) -> str:
    if normal is None:
        raise ValueError(f"cannot damage a value that is already invalid: {raw!r}")
    return normal
