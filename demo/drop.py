"""Write a whole demo drop (nine files and ``_truth.json``) and describe it."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from common.vocab import Source, Tier
from demo import ledgers, registries
from demo.badrows import damage_table
from demo.chains import chain_truth
from demo.comparison_truth import comparison_truth
from demo.lexicon import PROVINCE_ABBR, RARE_CHARS, THEME_CATEGORY, THEME_KEYWORD
from demo.people import REFERENCE_DAY, Person
from demo.summary import (
    ComparisonPlantTruth,
    Complainant,
    DeceasedStillPaid,
    DemoSummary,
    FileTruth,
    HubCompany,
    NameSamples,
    OfficialChildChain,
    OfficialSpouseCompany,
    Patterns,
    PersonRef,
    SameNameOfficials,
    ThemePetitions,
    file_truth,
)
from demo.table import Table
from demo.world import World, build_world
from demo.writer import FileFormat, write_table

TRUTH_FILE = "_truth.json"
"""Beside the data files; not a registry format's suffix, so an ingest of the folder skips it."""

FORMATS: dict[Source, FileFormat] = {
    Source.HOUSEHOLD: FileFormat(".csv", "gb18030"),
    Source.COMPANY: FileFormat(".csv", "utf-8-sig"),
    Source.SHAREHOLDER: FileFormat(".xlsx", None, None),
    Source.COMPANY_OFFICER: FileFormat(".jsonl"),
    Source.INSURED: FileFormat(".csv", "utf-8", "\r\n"),
    Source.BENEFIT: FileFormat(".jsonl"),
    Source.PROPERTY: FileFormat(".csv"),
    Source.PETITION: FileFormat(".xlsx", None, None, ledgers.PETITION_TITLE),
    Source.OFFICIAL: FileFormat(".csv", "gb18030", "\r\n"),
}
_BUILDERS: dict[Source, Callable[[random.Random, World], Table]] = {
    Source.HOUSEHOLD: registries.household_table,
    Source.COMPANY: registries.company_table,
    Source.SHAREHOLDER: registries.shareholder_table,
    Source.COMPANY_OFFICER: registries.officer_table,
    Source.INSURED: ledgers.insured_table,
    Source.BENEFIT: ledgers.benefit_table,
    Source.PROPERTY: ledgers.property_table,
    Source.PETITION: ledgers.petition_table,
    Source.OFFICIAL: registries.official_table,
}


def write_demo_drop(out: Path, persons: int, seed: int = 7) -> DemoSummary:
    """Write a synthetic drop for ``persons`` fictitious people (and the ``COMPARISON_PERSONS``
    planted for the comparison models) into ``out`` and return its truth.

    The same ``seed`` and ``persons`` give byte-identical files. Each source draws from its own
    random stream, so a change to one source's rows leaves the other files as they were.
    """
    world = build_world(seed, persons)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, FileTruth] = {}
    tables: dict[Source, Table] = {}
    for source, build in _BUILDERS.items():
        rng = random.Random(f"{seed}:{source.value}")  # noqa: S311 - synthetic data, not security
        table = build(rng, world)
        damage_table(rng, table)
        fmt = FORMATS[source]
        lines = write_table(out, table, fmt)
        files[source.value] = file_truth(
            table, fmt.name(source), fmt.encoding, fmt.newline, fmt.title, lines
        )
        tables[source] = table
    summary = DemoSummary(
        seed=seed,
        persons=len(world.population.persons),
        reference_day=REFERENCE_DAY.isoformat(),
        total_rows=sum(f.rows_written for f in files.values()),
        files=files,
        patterns=_patterns(world, tables[Source.BENEFIT]),
        complainants=_complainants(world),
        name_samples=_name_samples(world.population.persons),
        control_chains=[chain_truth(chain) for chain in world.plants.chains],
        comparison_models=comparison_truth(tables),
        comparison_plants=_comparison_plants(world),
        comparison_models_by_province={
            province: comparison_truth(tables, (province,)) for province in PROVINCE_ABBR
        },
    )
    _check_comparison_plants(summary)
    (out / TRUTH_FILE).write_text(summary.to_json(), encoding="utf-8")
    return summary


def _patterns(world: World, benefit: Table) -> Patterns:
    plants = world.plants
    spouse_share = next(s for s in plants.spouse_company.shares if s.holder is plants.spouse)
    child_share = next(s for s in plants.holding.shares if s.holder is plants.child)
    holding_share = next(s for s in plants.subsidiary.shares if s.holder is plants.holding)
    dead = plants.deceased
    died = dead.died.strftime("%Y%m") if dead.died else ""
    late = [
        r.values for r in benefit.rows
        if r.values["公民身份号码"] == dead.pid and str(r.values["所属期"]) > died and not r.reject
    ]  # fmt: skip
    themed = [p for p in world.desk.petitions if p.on_theme]
    first, second = plants.same_name
    official, parent = plants.spouse_official.person, plants.parent_official.person
    return Patterns(
        official_spouse_company=OfficialSpouseCompany(
            official.pid, official.name, official.household, plants.spouse.pid, plants.spouse.name,
            plants.spouse_company.code, plants.spouse_company.name, spouse_share.percent,
        ),
        deceased_still_paid=DeceasedStillPaid(
            dead.pid, dead.name, dead.died.isoformat() if dead.died else "", "基本养老金",
            [str(v["发放流水号"]) for v in late], sorted({str(v["所属期"]) for v in late}),
        ),
        theme_petitions=ThemePetitions(
            THEME_KEYWORD, THEME_CATEGORY,
            {tier.value: [p.number for p in themed if p.tier is tier] for tier in Tier},
            {p.number: p.region for p in themed},
        ),
        official_child_chain=OfficialChildChain(
            parent.pid, parent.name, parent.household, plants.child.pid, plants.child.name,
            plants.child.relation, plants.holding.code, plants.holding.name, child_share.percent,
            plants.subsidiary.code, plants.subsidiary.name, holding_share.percent,
        ),
        same_name_officials=SameNameOfficials(
            plants.same_name_petition.number, first.person.name, first.person.pid, first.unit.name,
            first.post, second.person.pid, second.unit.name, second.post,
        ),
        hub_company=HubCompany(world.hub.code, world.hub.name, len(world.hub.staff)),
    )  # fmt: skip


def _comparison_plants(world: World) -> dict[str, ComparisonPlantTruth]:
    """Per model, the planted subjects (the earlier plants that are also matches included) and
    the near-misses."""
    plants = world.comparisons
    planted = {model: list(persons) for model, persons in plants.planted.items()}
    planted["deceased_pension"].insert(0, world.plants.deceased.pid)
    relatives = planted["official_relative_business"]
    relatives[:0] = [
        world.plants.spouse_official.person.pid,
        world.plants.parent_official.person.pid,
    ]
    models = sorted({*planted, *plants.near_misses})
    return {
        model: ComparisonPlantTruth(
            sorted(planted.get(model, [])), sorted(plants.near_misses.get(model, []))
        )
        for model in models
    }


def _check_comparison_plants(summary: DemoSummary) -> None:
    """The generator's own check: every planted subject is a match, no near-miss is one."""
    for model, plant in summary.comparison_plants.items():
        found = set(summary.comparison_models[model])
        # each plant lies within one province: an application of that province finds it
        provinces = summary.comparison_models_by_province.values()
        found_in_province = {p for truth in provinces for p in truth[model]}
        if missing := set(plant.planted) - (found & found_in_province):
            raise ValueError(f"{model}: planted subjects that do not match: {sorted(missing)}")
        if matched := set(plant.near_misses) & found:
            raise ValueError(f"{model}: near-misses that match: {sorted(matched)}")


def _complainants(world: World) -> list[Complainant]:
    filed: dict[str, list[str]] = {p.pid: [] for p in world.complainants}
    for petition in world.desk.petitions:
        if petition.complainant is not None:
            filed[petition.complainant.pid].append(petition.number)
    return [Complainant(p.name, p.pid, p.phone, filed[p.pid]) for p in world.complainants]


def _name_samples(persons: list[Person], limit: int = 10) -> NameSamples:
    def first(test: Callable[[Person], bool]) -> list[PersonRef]:
        return [PersonRef(p.pid, p.name) for p in persons if test(p)][:limit]

    return NameSamples(
        extension_chars=first(lambda p: any(c in p.name for c in RARE_CHARS)),
        minority_dots=first(lambda p: "·" in p.name),
        traditional_prone=first(lambda p: p.traditional and not p.plain),
    )
