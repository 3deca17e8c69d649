"""Comparison models end to end: a generated world, the real engine, the real app and store.

Every model runs under a 专项核查 application of each province (an approver's jurisdiction is
one province: no application spans two) and must find exactly what ``_truth.json`` says a run
of that province must find (precision and recall 1.0), every planted subject and no near-miss.
Runs are refused, and logged, without the right application; a region-bound run cites no record
outside its regions. Subjects are compared by handle and records by pseudonym, so the test needs
no unmasked number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from apiworld import (
    add_accounts,
    approved_application,
    bearer,
    ingest_demo,
    isolated_settings,
    log_entries,
    log_in,
)
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from accounts.roles import Role
from common.db import MAX_ROW_ID, create_db_engine
from common.settings import Settings
from common.vocab import Source
from comparison.definitions import shipped_catalogue
from comparison.runner import ModelRun
from comparison.store import runs
from query_logs.gate import Scope
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope
from search_api.app import create_app
from search_api.handles import Handles, handles_for
from search_api.queries.comparison import run_filters

PURPOSE = "民生领域专项核查：比对死亡人员领取养老金、低保对象经商等问题线索"
CATALOGUE = shipped_catalogue()
MODELS = sorted(CATALOGUE.models)
PROVINCES = ("44", "46")
ALL_SOURCES = sorted({str(s) for m in CATALOGUE.models.values() for s in m.sources})
READ_PAGE = 50  # the application's page-size cap


@dataclass
class World:
    client: TestClient
    settings: Settings
    door: EngineDoor
    truth: dict[str, Any]
    tokens: dict[str, str]
    handles: Handles
    applications: dict[str, int] = field(default_factory=dict)  # province -> application
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # pseudonym -> document
    runs: dict[tuple[int, str], tuple[dict[str, Any], list[dict[str, Any]]]] = field(
        default_factory=dict
    )

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    def run(self, who: str, application_id: int, model: str) -> tuple[dict[str, Any], list[Any]]:
        """A run of ``model`` under the application and all its hits (once per pair)."""
        if (application_id, model) not in self.runs:
            started = self.client.post(
                f"/models/{model}/runs", headers=self.headers(who, application_id)
            )
            assert started.status_code == 201, started.text
            run = started.json()
            self.runs[(application_id, model)] = (run, self.hits(who, application_id, run))
        return self.runs[(application_id, model)]

    def hits(self, who: str, application_id: int, run: dict[str, Any]) -> list[dict[str, Any]]:
        hits: list[dict[str, Any]] = []
        while True:
            page = self.client.get(
                f"/models/runs/{run['run_id']}/hits",
                params={"page_size": READ_PAGE, "offset": len(hits)},
                headers=self.headers(who, application_id),
            )
            assert page.status_code == 200, page.text
            hits += page.json()["hits"]
            if len(hits) >= page.json()["total"]:
                return hits

    def province_run(self, province: str, model: str) -> tuple[dict[str, Any], list[Any]]:
        return self.run(f"task{province}", self.applications[province], model)

    def truth_handles(self, province: str, model: str) -> set[str]:
        persons = self.truth["comparison_models_by_province"][province][model]
        return {self.handles.handle(p) for p in persons}

    def run_count(self) -> int:
        engine = create_db_engine(self.settings.effective_database_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())
        finally:
            engine.dispose()


def _records(door: EngineDoor, handles: Handles) -> dict[str, dict[str, Any]]:
    """Every document of the sources the models read, by the pseudonym responses show."""
    found = {}
    for source in ALL_SOURCES:
        for hit in door.scan(door.index_name(source)):
            found[handles.record_id(hit["_id"])] = hit["_source"]
    return found


@pytest.fixture(scope="module")
def world(
    settings: Settings, door: EngineDoor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("comparison")
    local = isolated_settings(settings, root, "cmp")
    truth = ingest_demo(local, root, persons=300, seed=29)
    accounts = {
        "task46": ([Role.SPECIAL_TASK], "46"),
        "task44": ([Role.SPECIAL_TASK], "44"),
        "other46": ([Role.SPECIAL_TASK], "46"),
        "boss46": ([Role.APPROVER], "46"),
        "boss44": ([Role.APPROVER], "44"),
        "auditor": ([Role.SECURITY_AUDITOR], "46"),
    }
    add_accounts(local, accounts)
    scoped = EngineDoor.for_api(local)
    handles = handles_for(local.secret_key.get_secret_value())
    with TestClient(create_app(local)) as client:
        tokens = log_in(client, accounts)
        world = World(client, local, scoped, truth, tokens, handles)
        for province in PROVINCES:
            world.applications[province] = special_check(world, f"task{province}", [province])
        world.records = _records(scoped, handles)
        yield world
    scoped.close()


def special_check(world: World, who: str, regions: list[str], **overrides: Any) -> int:
    """An approved 专项核查 application of ``who`` naming every model (unless overridden)."""
    body = {
        "purpose": PURPOSE,
        "category": "专项核查",
        "sources": ALL_SOURCES,
        "regions": regions,
        "models": MODELS,
    } | overrides
    approver = f"boss{regions[0][:2]}"
    return approved_application(
        world.client, world.tokens, body, applicant=who, approver=approver, title="民生专项核查"
    )


# --- precision and recall ----------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("province", PROVINCES)
def test_a_run_finds_exactly_what_the_truth_says(world: World, province: str, model: str) -> None:
    run, hits = world.province_run(province, model)
    found = {hit["subject"]["handle"] for hit in hits}
    expected = world.truth_handles(province, model)
    true = len(found & expected)
    precision = true / len(found) if found else 1.0
    recall = true / len(expected) if expected else 1.0
    assert (precision, recall) == (1.0, 1.0), (len(found), len(expected))
    assert run["hit_count"] == len(hits) == len(found)  # one hit per subject


@pytest.mark.parametrize("model", MODELS)
def test_every_planted_subject_is_found_and_no_near_miss(world: World, model: str) -> None:
    found = {h["subject"]["handle"] for p in PROVINCES for h in world.province_run(p, model)[1]}
    plants = world.truth["comparison_plants"][model]
    assert plants["planted"]
    assert {world.handles.handle(p) for p in plants["planted"]} <= found
    assert not {world.handles.handle(p) for p in plants["near_misses"]} & found


def test_the_truth_is_not_empty_in_either_province(world: World) -> None:
    by_province = world.truth["comparison_models_by_province"]
    for province in PROVINCES:
        assert any(by_province[province][m] for m in MODELS), province


# --- evidence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_every_cited_record_is_a_record_of_the_model_s_evidence(world: World, model: str) -> None:
    wanted = {str(s) for s in CATALOGUE.models[model].evidence}
    for province in PROVINCES:
        for hit in world.province_run(province, model)[1]:
            assert hit["evidence"]
            for item in hit["evidence"]:
                document = world.records[item["record_id"]]
                assert document[Envelope.SOURCE] == item["source"] in wanted
                assert item["relation"] in ("本人", "配偶", "子女")


def test_a_deceased_pensioner_is_cited_with_the_death_and_only_later_payments(
    world: World,
) -> None:
    _, hits = world.province_run("46", "deceased_pension")
    assert hits
    for hit in hits:
        cited = [world.records[item["record_id"]] for item in hit["evidence"]]
        (death,) = [d for d in cited if d[Envelope.SOURCE] == str(Source.HOUSEHOLD)]
        month = death[ColumnField.DEATH_DATE][:7]
        payments = [d for d in cited if d[Envelope.SOURCE] == str(Source.BENEFIT)]
        assert payments
        assert all(d[ColumnField.PERIOD] > month for d in payments)
        assert {p for d in cited for p in d[Envelope.PERSONS]} == set(death[Envelope.PERSONS])


def test_a_spouse_or_child_is_cited_with_both_household_records(world: World) -> None:
    _, hits = world.province_run("46", "official_relative_business")
    assert hits
    for hit in hits:
        relations = {item["relation"] for item in hit["evidence"]}
        homes = [item for item in hit["evidence"] if item["source"] == str(Source.HOUSEHOLD)]
        assert relations & {"配偶", "子女"}
        assert {item["relation"] for item in homes} >= {"本人"}
        numbers = {world.records[item["record_id"]][ColumnField.HOUSEHOLD_NO] for item in homes}
        assert len(numbers) == 1  # one household: the subject's


# --- governance -------------------------------------------------------------------------------


def test_a_run_is_written_ahead_and_its_outcome_logged(world: World) -> None:
    app_id = world.applications["46"]
    before = len(log_entries(world.settings))
    response = world.client.post(
        "/models/duplicate_benefit/runs", headers=world.headers("task46", app_id)
    )
    assert response.status_code == 201, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "query_outcome"]
    request, outcome = new
    assert json.loads(request.params or "{}") == {"model": "duplicate_benefit"}
    assert json.loads(request.scope or "{}")["regions"] == ["46"]
    assert (outcome.hit_count, outcome.application_id) == (response.json()["hit_count"],
                                                           str(app_id))  # fmt: skip
    assert outcome.result_digest
    assert json.loads(outcome.detail or "{}")["request_seq"] == request.seq


def test_hits_show_masked_numbers_and_handles(world: World) -> None:
    run, _ = world.province_run("46", "funded_on_dibao")
    page = world.client.get(
        f"/models/runs/{run['run_id']}/hits",
        headers=world.headers("task46", world.applications["46"]),
    )
    assert page.status_code == 200, page.text
    text = page.text
    persons = world.truth["comparison_models_by_province"]["46"]["funded_on_dibao"]
    assert persons
    for person in persons:
        assert person not in text
        assert person[:6] + "*" * 12 in text
    assert all(hit["subject"]["handle"].startswith("h") for hit in page.json()["hits"])


@dataclass(frozen=True)
class Refusal:
    who: str
    status: int
    model: str = "deceased_pension"
    application: str | None = "own"  # own / none / other / campaign / narrow / sources / max


def _application(world: World, kind: str | None) -> int | None:
    if kind is None or kind == "none":
        return None
    if kind == "own":
        return world.applications["46"]
    if kind == "max":
        return MAX_ROW_ID
    if kind == "other":
        return special_check(world, "other46", ["46"])
    if kind == "campaign":  # a 专项整治 application names no model
        return special_check(world, "task46", ["46"], category="专项整治", models=[])
    if kind == "narrow":  # names another model only
        return special_check(world, "task46", ["46"], models=["duplicate_benefit"])
    # names the model but not every registry it reads
    return special_check(world, "task46", ["46"], sources=["benefit"])


REFUSALS = {
    "no application": Refusal("task46", 403, application="none"),
    "an application that does not exist": Refusal("task46", 404, application="max"),
    "another user's application": Refusal("task46", 403, application="other"),
    "an application of another category": Refusal("task46", 403, application="campaign"),
    "an application that does not name the model": Refusal("task46", 403, application="narrow"),
    "an application without the model's sources": Refusal("task46", 403, application="sources"),
    "an unknown model": Refusal("task46", 404, model="no_such_model"),
    "an officer": Refusal("auditor", 403),
}


@pytest.mark.parametrize("label", list(REFUSALS))
def test_a_run_without_the_right_application_is_refused_and_logged(
    world: World, label: str
) -> None:
    refusal = REFUSALS[label]
    application = _application(world, refusal.application)
    runs_before, before = world.run_count(), len(log_entries(world.settings))
    response = world.client.post(
        f"/models/{refusal.model}/runs", headers=world.headers(refusal.who, application)
    )
    assert response.status_code == refusal.status, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.actor, e.outcome) for e in new] == [("denial", refusal.who, "denied")]
    assert world.run_count() == runs_before


@pytest.mark.parametrize("reader", ["another user", "another application of the same user"])
def test_a_run_s_hits_are_read_only_under_its_application(world: World, reader: str) -> None:
    run, _ = world.province_run("46", "dibao_company")
    if reader == "another user":
        who, application = "other46", special_check(world, "other46", ["46"])
    else:
        who, application = "task46", special_check(world, "task46", ["46"])
    before = len(log_entries(world.settings))
    response = world.client.get(
        f"/models/runs/{run['run_id']}/hits", headers=world.headers(who, application)
    )
    assert response.status_code == 404, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "query_outcome", "denial"]
    assert new[1].hit_count == 0
    assert new[2].actor == who


# --- scope inside the queries -----------------------------------------------------------------


@pytest.fixture(scope="module")
def city_application(world: World) -> int:
    return special_check(world, "task46", ["4601"])


@pytest.mark.parametrize("model", MODELS)
def test_a_region_bound_run_cites_nothing_outside_its_regions(
    world: World, city_application: int, model: str
) -> None:
    _, hits = world.run("task46", city_application, model)
    province = {h["subject"]["handle"] for h in world.province_run("46", model)[1]}
    assert {h["subject"]["handle"] for h in hits} <= province
    for hit in hits:
        for item in hit["evidence"]:
            assert "4601" in world.records[item["record_id"]][Envelope.REGION_PREFIXES]


def test_the_city_bound_runs_find_something(world: World, city_application: int) -> None:
    assert any(world.run("task46", city_application, m)[1] for m in MODELS)


# --- streaming ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_small_subject_pages_find_the_same_subjects(world: World, model: str) -> None:
    definition = CATALOGUE.models[model]
    scope = Scope(application_id=1, case_id=1, sources=tuple(definition.sources),
                  regions=("46",), subjects=(), unmask=False, page_size=20, offset=0)  # fmt: skip
    run = ModelRun(world.door, definition, CATALOGUE.relations, run_filters(scope), page_size=4)
    found = {hit.person_id for hit in run.hits()}
    assert found == set(world.truth["comparison_models_by_province"]["46"][model])
    assert run.stats.pages > 1


def test_a_rerun_finds_the_same_hits_and_opens_no_new_clue(world: World) -> None:
    app_id = world.applications["46"]
    first, _ = world.province_run("46", "official_relative_business")
    again = world.client.post(
        "/models/official_relative_business/runs", headers=world.headers("task46", app_id)
    )
    assert again.status_code == 201, again.text
    assert (again.json()["hit_count"], again.json()["new_count"]) == (first["hit_count"], 0)
    assert first["new_count"] == first["hit_count"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_each_province_s_truth_lies_within_the_drop_s(world: World, model: str) -> None:
    whole = set(world.truth["comparison_models"][model])
    for province in PROVINCES:
        assert set(world.truth["comparison_models_by_province"][province][model]) <= whole
