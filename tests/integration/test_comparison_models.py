"""Comparison models end to end: a generated world, the real engine, the real app and store.

Every model runs under a 专项核查 application of each province (an approver's jurisdiction is
one province: no application spans two) and must find exactly what ``_truth.json`` says a run
of that province must find (precision and recall 1.0), every planted subject and no near-miss.
Runs are refused, and logged, without the right application; a region-bound run cites no record
outside its regions. Subjects are compared by handle and records by pseudonym, so the test needs
no unmasked number.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from apiworld import (
    add_accounts,
    approved_application,
    bearer,
    case_number,
    ingest_demo,
    isolated_settings,
    log_entries,
    log_in,
)
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from accounts.roles import Role
from common.db import MAX_ROW_ID, create_db_engine
from common.settings import Settings
from common.vocab import Source
from comparison import queries as q
from comparison.definitions import shipped_catalogue
from comparison.runner import ModelRun
from comparison.store import clues, runs
from query_logs.gate import Scope
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope
from search_api.app import create_app
from search_api.handles import Handles, handles_for
from search_api.model_runs import ledger_today
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
    cases: dict[str, int] = field(default_factory=dict)  # province -> its case
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
            who = f"task{province}"
            world.cases[province] = open_case(world, who)
            world.applications[province] = special_check(
                world, who, [province], case_id=world.cases[province]
            )
        world.records = _records(scoped, handles)
        yield world
    scoped.close()


def open_case(world: World, who: str) -> int:
    body = {"case_no": case_number(), "title": "民生专项核查"}
    opened = world.client.post("/cases", json=body, headers=world.headers(who))
    assert opened.status_code == 201, opened.text
    return int(opened.json()["id"])


def special_check(
    world: World, who: str, regions: list[str], case_id: int | None = None, **overrides: Any
) -> int:
    """An approved 专项核查 application of ``who`` naming every model (unless overridden),
    under ``case_id`` or a case of its own."""
    body = {
        "purpose": PURPOSE,
        "category": "专项核查",
        "sources": ALL_SOURCES,
        "regions": regions,
        "models": MODELS,
    } | overrides
    approver = f"boss{regions[0][:2]}"
    if case_id is None:
        return approved_application(
            world.client, world.tokens, body, applicant=who, approver=approver, title="民生专项核查"
        )
    filed = world.client.post(
        "/applications", json={"case_id": case_id, **body}, headers=world.headers(who)
    )
    assert filed.status_code == 201, filed.text
    app_id = int(filed.json()["id"])
    decided = world.client.post(
        f"/applications/{app_id}/decision",
        json={"approve": True, "note": "同意"},
        headers=world.headers(approver),
    )
    assert decided.status_code == 200, decided.text
    return app_id


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


def test_an_engine_that_fails_the_run_fails_it_and_logs_the_error(world: World) -> None:
    app = world.client.app
    working = app.state.provider  # type: ignore[attr-defined]
    closed = EngineDoor.connect(
        "http://127.0.0.1:9", world.settings.index_prefix, timeout_s=1.0, max_retries=0
    )
    app.state.provider = closed  # type: ignore[attr-defined]
    before = len(log_entries(world.settings))
    try:
        response = world.client.post(
            "/models/dibao_company/runs", headers=world.headers("task46", world.applications["46"])
        )
    finally:
        app.state.provider = working  # type: ignore[attr-defined]
        closed.close()
    assert response.status_code == 503, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [
        ("query_request", None),
        ("query_outcome", "error"),
    ]
    engine = create_db_engine(world.settings.effective_database_url)
    try:
        with engine.connect() as conn:
            state = conn.execute(select(runs.c.state).order_by(runs.c.id.desc())).scalars().first()
    finally:
        engine.dispose()
    assert state == "failed"


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


def _indexed_persons(world: World, source: Source) -> list[str]:
    """Persons that records of ``source`` link (a filter on an unknown number is rewritten
    away by the engine: only indexed ones make a query as large as a real page's)."""
    body = {"size": 0, "aggs": {"p": {"terms": {"field": Envelope.PERSONS, "size": 5000}}}}
    answer = world.door.search(world.door.index_name(str(source)), body)
    return [str(b["key"]).upper() for b in answer["aggregations"]["p"]["buckets"]]


@pytest.mark.parametrize("kind", ["benefit after death", "insured after death"])
@pytest.mark.parametrize("per_date", [1, 16])
def test_the_largest_date_grouped_bodies_are_within_the_engine_s_clause_limit(
    world: World, kind: str, per_date: int
) -> None:
    """Indexed persons, each date (or month) shared by ``per_date`` of them: the builders split
    the groups so that the engine accepts every body (it refuses more than 1,024 clauses after
    rewriting; 150 groups a body, as first built, failed a 20,000-person run)."""
    models, start = CATALOGUE.models, date(2023, 8, 1)
    if kind == "insured after death":
        source, persons = Source.INSURED, _indexed_persons(world, Source.INSURED)
        dates = {p: start + timedelta(days=i // per_date) for i, p in enumerate(persons)}
        condition = models["deceased_insured_paying"].conditions[0]
        bodies = q.insured_after_death_queries(condition, dates, ())  # type: ignore[arg-type]
    else:  # the last months: a range over 所属期 that the engine expands term by term
        source, persons = Source.BENEFIT, _indexed_persons(world, Source.BENEFIT)
        months = [start + timedelta(days=31 * m) for m in range(16)]
        dates = {p: months[(i // per_date) % 16] for i, p in enumerate(persons)}
        condition = models["deceased_pension"].conditions[0]
        bodies = q.benefit_paid_queries(condition, persons, dates, ())  # type: ignore[arg-type]
    assert len(persons) > 80
    index = world.door.index_name(str(source))
    answers = world.door.msearch([line for b in bodies for line in ({"index": index}, b)])
    assert len(answers) == len(bodies)
    assert not [answer["error"] for answer in answers if "error" in answer]


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


# --- the clue ledger (问题线索台账) -------------------------------------------------------------


def ledger(world: World, who: str, app_id: int, **params: Any) -> list[dict[str, Any]]:
    """Every clue the application shows, page by page."""
    found: list[dict[str, Any]] = []
    while True:
        page = world.client.get(
            "/models/clues",
            params={"page_size": READ_PAGE, "offset": len(found)} | params,
            headers=world.headers(who, app_id),
        )
        assert page.status_code == 200, page.text
        found += page.json()["clues"]
        if len(found) >= page.json()["total"]:
            return found


@pytest.fixture(scope="module")
def ledger_case(world: World) -> dict[str, int]:
    """One case, its ledger first filled by a city-bound run, then by a province-wide one."""
    case_id = open_case(world, "task46")
    city = special_check(world, "task46", ["4601"], case_id=case_id)
    province = special_check(world, "task46", ["46"], case_id=case_id)
    export = special_check(world, "task46", ["46"], case_id=case_id, export=True)
    for model in MODELS:
        world.run("task46", city, model)
        world.run("task46", province, model)
    return {"case": case_id, "city": city, "province": province, "export": export}


def test_every_hit_is_one_clue_of_the_case(world: World, ledger_case: dict[str, int]) -> None:
    shown = ledger(world, "task46", ledger_case["province"])
    hits = [h for m in MODELS for h in world.run("task46", ledger_case["province"], m)[1]]
    assert sorted(c["clue_no"] for c in shown) == sorted(h["clue_no"] for h in hits)
    assert len({(c["model_id"], c["subject"]["handle"]) for c in shown}) == len(shown)


def test_a_wider_rerun_marks_only_its_new_hits_new(
    world: World, ledger_case: dict[str, int]
) -> None:
    for model in MODELS:
        city = {h["clue_no"] for h in world.run("task46", ledger_case["city"], model)[1]}
        province = world.run("task46", ledger_case["province"], model)[1]
        assert {h["clue_no"] for h in province} >= city  # the same clues, not new ones
        assert {h["clue_no"] for h in province if h["new"]} == {
            h["clue_no"] for h in province
        } - city


def test_a_narrower_application_sees_only_the_clues_found_within_its_regions(
    world: World, ledger_case: dict[str, int]
) -> None:
    city = ledger(world, "task46", ledger_case["city"])
    province = ledger(world, "task46", ledger_case["province"])
    city_hits = {
        h["clue_no"] for m in MODELS for h in world.run("task46", ledger_case["city"], m)[1]
    }
    assert {c["clue_no"] for c in city} == city_hits
    assert len(province) > len(city) > 0


def _patch(world: World, app_id: int, clue_id: int, **body: Any) -> Any:
    return world.client.patch(
        f"/models/clues/{clue_id}", json=body, headers=world.headers("task46", app_id)
    )


def test_a_clue_moves_through_the_ledger_and_each_change_is_logged(
    world: World, ledger_case: dict[str, int]
) -> None:
    app_id = ledger_case["province"]
    clue = ledger(world, "task46", app_id)[0]
    assert (clue["status"], clue["assignee"]) == ("待处置", None)
    before = len(log_entries(world.settings))
    moved = _patch(
        world, app_id, clue["id"], status="核查中", assignee="task46", notes="已调取发放凭证"
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["assignee"]) == ("核查中", "task46")
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "case_change", "query_outcome"]
    assert json.loads(new[1].detail or "{}")["changed"]["status"] == {
        "before": "待处置", "after": "核查中"}  # fmt: skip
    done = _patch(world, app_id, clue["id"], status="已办结")
    assert done.json()["status"] == "已办结"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "待处置"}, 409),  # 已办结 does not go back to 待处置
        ({"status": "处理完"}, 422),  # not a status
        ({"assignee": "auditor"}, 422),  # not of the case
        ({"due_on": "2000-01-01"}, 422),  # a due date in the past
    ],
    ids=["backwards", "unknown status", "outsider assignee", "past due date"],
)
def test_a_change_the_ledger_does_not_allow_is_refused_and_logged(
    world: World, ledger_case: dict[str, int], body: dict[str, Any], status: int
) -> None:
    app_id = ledger_case["province"]
    clue = ledger(world, "task46", app_id)[-1]
    for step in ("核查中", "已办结"):
        _patch(world, app_id, clue["id"], status=step)
    before = len(log_entries(world.settings))
    response = _patch(world, app_id, clue["id"], **body)
    assert response.status_code == status, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new][-1] == "denial"
    assert "case_change" not in [e.kind for e in new]


def test_overdue_and_due_soon_clues_are_flagged(world: World, ledger_case: dict[str, int]) -> None:
    app_id = ledger_case["province"]
    first, second = ledger(world, "task46", app_id)[1:3]
    today = ledger_today(world.settings)  # the ledger's local day, not the host's UTC date
    assert _patch(world, app_id, second["id"], due_on=today.isoformat()).status_code == 200
    engine = create_db_engine(world.settings.effective_database_url)
    try:
        with engine.begin() as conn:  # time passes: the first clue's due date is behind us
            conn.execute(update(clues).where(clues.c.id == first["id"])
                         .values(due_on=today - timedelta(days=3)))  # fmt: skip
    finally:
        engine.dispose()
    overdue = ledger(world, "task46", app_id, flag="逾期")
    soon = ledger(world, "task46", app_id, flag="临期")
    assert first["id"] in {c["id"] for c in overdue}
    assert second["id"] in {c["id"] for c in soon}
    assert all(c["flag"] == "逾期" for c in overdue)
    assert all(c["flag"] == "临期" for c in soon)


def test_the_ledger_exports_to_xlsx_masked_and_logged(
    world: World, ledger_case: dict[str, int]
) -> None:
    app_id = ledger_case["export"]
    shown = ledger(world, "task46", app_id)
    before = len(log_entries(world.settings))
    response = world.client.get(
        "/models/clues/export", params={"format": "xlsx"}, headers=world.headers("task46", app_id)
    )
    assert response.status_code == 200, response.text
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("序号", "线索编号", "比对模型")
    assert sorted(r[1] for r in rows[1:]) == sorted(c["clue_no"] for c in shown)
    assert all(str(r[8]).endswith("*" * 12) for r in rows[1:])
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "export", "query_outcome"]
    assert json.loads(new[1].detail or "{}")["rows"] == len(shown)


def test_an_export_without_the_export_flag_is_refused_and_logged(
    world: World, ledger_case: dict[str, int]
) -> None:
    before = len(log_entries(world.settings))
    response = world.client.get(
        "/models/clues/export", headers=world.headers("task46", ledger_case["province"])
    )
    assert response.status_code == 403, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.actor) for e in new] == [("denial", "task46")]
