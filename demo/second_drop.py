"""A second demo drop that changes a few records of the first, deterministically (watch lists).

``write_second_drop(out, persons, seed, changes, deaths)`` rebuilds the household register
exactly as ``write_demo_drop`` wrote it for the same ``persons`` and ``seed`` (same rows, same
damage, same file), changes the 户籍地址 of ``changes`` ordinary residents and records the
death (before any payment) of ``deaths`` living pensioners (each the first by ID number, of a
region prefix when given), and writes the file with ``_second_truth.json``: the persons whose
record changed, and the new hits of the ``deceased_pension`` model (死亡人员领取养老金).
Ingested after the first drop, exactly those persons' household records are new content; every
other row is rewritten unchanged. Ingesting the first drop's household file again restores them.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from common.vocab import Source
from demo.badrows import damage_table
from demo.drop import FORMATS
from demo.registries import household_table
from demo.world import build_world
from demo.writer import write_table

SECOND_TRUTH_FILE = "_second_truth.json"
"""Beside the data file; not a registry format's suffix, so an ingest of the folder skips it."""
ADDRESS_COLUMN = "户籍地址"
MOVED_SUFFIX = "（迁入新址）"  # appended to the changed addresses
ID_COLUMN = "公民身份号码"
PENSIONS = frozenset({"基本养老金", "城乡居民养老金"})
DEATH_DATE = "2000-01-15"  # before every payment period of the demo


@dataclass(frozen=True, slots=True)
class ChangedPerson:
    person_id: str  # the canonical 18-character number
    region: str  # 行政区划代码 of the household record


@dataclass(frozen=True, slots=True)
class SecondDropTruth:
    source: str
    file: str
    changed: list[ChangedPerson]  # every person whose household record changed
    new_deceased_pension: list[str]  # persons the deceased_pension model finds only now

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def write_second_drop(
    out: Path, persons: int, seed: int, changes: int = 3, deaths: int = 0,
    region_prefix: str = "",
) -> SecondDropTruth:  # fmt: skip
    """Write the household file of the drop ``write_demo_drop(…, persons, seed)`` with the
    addresses of ``changes`` residents changed and ``deaths`` pensioners dead, and its truth."""
    world = build_world(seed, persons)
    rng = random.Random(f"{seed}:{Source.HOUSEHOLD.value}")  # noqa: S311 - synthetic data
    table = household_table(rng, world)
    damage_table(rng, table)
    written = Counter(str(row.values.get(ID_COLUMN)) for row in table.rows)
    pensioners = {g.person.pid for g in world.grants if g.kind in PENSIONS}
    # the first rows are the residents in order (later versions and damage come after them)
    candidates = sorted(
        (
            (person, row)
            for person, row in zip(world.population.persons, table.rows, strict=False)
            if row.clean
            and row.values.get(ID_COLUMN) == person.pid
            and written[person.pid] == 1
            and person.region.startswith(region_prefix)
        ),
        key=lambda pair: pair[0].pid,
    )
    dying = [(p, r) for p, r in candidates if p.pid in pensioners and p.died is None][:deaths]
    moving = [(p, r) for p, r in candidates if p.pid not in pensioners][:changes]
    if len(dying) < deaths or len(moving) < changes:
        raise ValueError(f"too few residents to change: {len(moving)} and {len(dying)} found")
    for _person, row in moving:
        row.values[ADDRESS_COLUMN] = f"{row.values[ADDRESS_COLUMN]}{MOVED_SUFFIX}"
    for _person, row in dying:
        row.values.update({"人员状态": "死亡", "死亡日期": DEATH_DATE})
    out.mkdir(parents=True, exist_ok=True)
    fmt = FORMATS[Source.HOUSEHOLD]
    write_table(out, table, fmt)
    truth = SecondDropTruth(
        source=Source.HOUSEHOLD.value,
        file=fmt.name(Source.HOUSEHOLD),
        changed=[ChangedPerson(p.pid, p.region) for p, _row in moving + dying],
        new_deceased_pension=sorted(p.pid for p, _row in dying),
    )
    (out / SECOND_TRUTH_FILE).write_text(
        json.dumps(truth.to_json(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return truth
