"""Watch lists (布控) on a first load: the watches and a standing run are made before anything
is ingested, then a demo drop is loaded into empty indices and the watch step runs after it, as
``xiansuo ingest`` runs it (the real engine, store and app).

A first load lists no ids (every record is new: ``FileReport.new_source``); the watch step then
matches whole sources, and must notify exactly what matching the full list of ids would (the
ids read back from the indices), inside each application's sources and regions, with the
request entry written before the engine is asked.
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
    isolated_settings,
    log_entries,
    log_in,
)
from fastapi.testclient import TestClient

from accounts.roles import Role
from common.settings import Settings
from common.vocab import Source
from demo import write_demo_drop
from demo.comparison_truth import PENSIONS
from demo.world import build_world
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from indexer.reports import IngestReport, changed_by_source
from query_logs.audit import AuditEntry, AuditKind
from registry.changes import SourceChanges
from registry.engine import EngineDoor
from search_api.app import create_app
from search_api.handles import Handles, handles_for
from watching.after_ingest import WatchReport
from watching.matching import WatchedRecord, find_watched_records
from xiansuo.cli import run_watch_step

PERSONS, SEED = 120, 37
PROVINCE = "46"
CITY = "4601"  # the watched persons' city
OTHER_CITY = "4602"  # inside the investigators' reach, outside the watched persons' city
ALL_SOURCES = [str(s) for s in Source]
PURPOSE = "核查反映问题线索，对相关人员持续布控"
MODEL = "deceased_pension"


@dataclass(frozen=True)
class Watched:
    """An application and what it watches: the persons, inside its sources and regions."""

    persons: tuple[str, ...]
    sources: tuple[str, ...] = tuple(ALL_SOURCES)
    regions: tuple[str, ...] = (PROVINCE,)


@dataclass
class FirstLoad:
    client: TestClient
    settings: Settings
    door: EngineDoor
    handles: Handles
    tokens: dict[str, str]
    watched: dict[str, Watched]
    apps: dict[str, int] = field(default_factory=dict)
    report: IngestReport = field(default_factory=IngestReport)
    watch: WatchReport = field(default_factory=WatchReport)

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    def notifications(self, who: str) -> list[dict[str, Any]]:
        answer = self.client.get("/notifications", params={"limit": 100}, headers=self.headers(who))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["notifications"])

    def every_id(self) -> dict[str, SourceChanges]:
        """The old input of the watch step after a first load: every id each index holds."""
        out: dict[str, SourceChanges] = {}
        for source in ALL_SOURCES:
            alias = self.door.index_name(source)
            if self.door.exists(alias):
                body = {"query": {"match_all": {}}, "_source": False}
                out[source] = SourceChanges.listed([h["_id"] for h in self.door.scan(alias, body)])
        return out

    def shown(self, found: list[WatchedRecord]) -> set[tuple[str, str, str]]:
        """Matched records as a notification shows them: source, pseudonym, subject handle."""
        return {
            (r.source, self.handles.record_id(r.record_id), self.handles.handle(person))
            for r in found
            for person in r.persons
        }


def _watched_persons() -> tuple[str, str]:
    """Two living residents of ``CITY``: one drawing a pension (records in several sources)."""
    world = build_world(SEED, PERSONS)
    pensioners = {g.person.pid for g in world.grants if g.kind in PENSIONS}
    residents = [p.pid for p in world.population.persons
                 if p.region.startswith(CITY) and p.died is None]  # fmt: skip
    pensioner = next(p for p in residents if p in pensioners)
    other = next(p for p in residents if p not in pensioners)
    return pensioner, other


def _application(load: FirstLoad, who: str, watched: Watched, **overrides: Any) -> int:
    subjects = [{"kind": "person_id", "value": p} for p in watched.persons]
    body = {"purpose": PURPOSE, "category": "初核", "sources": list(watched.sources),
            "regions": list(watched.regions), "subjects": subjects} | overrides  # fmt: skip
    return approved_application(load.client, load.tokens, body, applicant=who, approver="boss")


def _prepare(load: FirstLoad) -> None:
    """The watches and a standing run, made through the API while every index is empty."""
    for name, watched in load.watched.items():
        app_id = load.apps[name] = _application(load, "inv", watched)
        for person in watched.persons:
            answer = load.client.post("/watches", json={"subject": load.handles.handle(person)},
                                      headers=load.headers("inv", app_id))  # fmt: skip
            assert answer.status_code == 201, answer.text
    check = Watched((), ("household", "benefit"))
    app_id = load.apps["check"] = _application(load, "task", check, category="专项核查",
                                               models=[MODEL], subjects=[])  # fmt: skip
    run = load.client.post(f"/models/{MODEL}/runs", headers=load.headers("task", app_id))
    assert run.status_code == 201, run.text
    marked = load.client.patch(f"/models/runs/{run.json()['run_id']}", json={"standing": True},
                               headers=load.headers("task", app_id))  # fmt: skip
    assert marked.status_code == 200, marked.text


@pytest.fixture(scope="module")
def load(
    settings: Settings, door: EngineDoor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FirstLoad]:
    root = tmp_path_factory.mktemp("first-load")
    local = isolated_settings(settings, root, "first")
    write_demo_drop(root / "drop", persons=PERSONS, seed=SEED)
    pensioner, other = _watched_persons()
    watched = {
        "main": Watched((pensioner, other)),
        "city": Watched((pensioner,), regions=(OTHER_CITY,)),
        "benefit": Watched((pensioner,), sources=("benefit",)),
    }
    accounts = {"inv": ([Role.INVESTIGATOR], PROVINCE), "task": ([Role.SPECIAL_TASK], PROVINCE),
                "boss": ([Role.APPROVER], PROVINCE)}  # fmt: skip
    add_accounts(local, accounts)
    scoped = EngineDoor.for_api(local)
    with TestClient(create_app(local)) as client:
        handles = handles_for(local.secret_key.get_secret_value())
        load = FirstLoad(client, local, scoped, handles, log_in(client, accounts), watched)
        _prepare(load)
        with ingest_context(local, root / "rejects") as ctx:
            load.report = ingest_drop(root / "drop", ctx)
        assert load.report.ok
        load.watch = run_watch_step(local, load.report.files)
        yield load
    scoped.close()


def test_a_first_load_hands_the_watch_step_every_record_and_no_id(load: FirstLoad) -> None:
    indexed: dict[str, int] = {}
    for report in load.report.files:
        indexed[report.source] = indexed.get(report.source, 0) + report.indexed
    assert all(f.new_source and not f.changed for f in load.report.files)
    assert changed_by_source(load.report.files) == {
        source: SourceChanges.whole_source(count) for source, count in indexed.items()
    }


@pytest.mark.parametrize(("app", "some"), [("main", True), ("city", False), ("benefit", True)])
def test_a_first_load_notifies_what_matching_every_listed_id_would(
    load: FirstLoad, app: str, some: bool
) -> None:
    watched = load.watched[app]
    listed = find_watched_records(
        load.door, load.every_id(), watched.persons, watched.sources, watched.regions
    )
    notified = {
        (n["source"], n["record_id"], n["subject"]["handle"])
        for n in load.notifications("inv")
        if n["application_id"] == load.apps[app]
    }
    assert notified == load.shown(listed)
    assert bool(notified) is some


def test_the_benefit_application_is_notified_of_benefit_records_only(load: FirstLoad) -> None:
    sources = {n["source"] for n in load.notifications("inv")
               if n["application_id"] == load.apps["benefit"]}  # fmt: skip
    assert sources == {"benefit"}


def test_a_whole_source_is_matched_page_after_page(load: FirstLoad) -> None:
    """Pages of one hit give what one page gives (search_after on the natural key)."""
    watched = load.watched["main"]
    every = changed_by_source(load.report.files)
    scope = (watched.persons, watched.sources, watched.regions)
    paged = find_watched_records(load.door, every, *scope, page=1)
    assert len(paged) > 1
    assert sorted(paged, key=str) == sorted(find_watched_records(load.door, every, *scope), key=str)


def _watch_requests(load: FirstLoad) -> list[AuditEntry]:
    return [e for e in log_entries(load.settings) if e.route == "xiansuo ingest"
            and e.actor == "inv" and e.kind == AuditKind.QUERY_REQUEST]  # fmt: skip


def test_the_request_entry_counts_every_record_the_first_load_indexed(load: FirstLoad) -> None:
    in_scope = changed_by_source(load.report.files)
    expected = {"changed_records": sum(c.records for c in in_scope.values()),
                "every_record_of": sorted(in_scope)}  # fmt: skip
    main = [e for e in _watch_requests(load) if e.application_id == str(load.apps["main"])]
    assert [{k: json.loads(e.params or "{}")[k] for k in expected} for e in main] == [expected]


def test_each_whole_source_match_is_logged_before_its_outcome(load: FirstLoad) -> None:
    requests = _watch_requests(load)
    outcomes = {
        json.loads(e.detail or "{}").get("request_seq"): e.seq
        for e in log_entries(load.settings)
        if e.kind == AuditKind.QUERY_OUTCOME
    }
    assert len(requests) == len(load.watched)
    assert all(outcomes[r.seq] > r.seq for r in requests)


def test_a_standing_run_is_rerun_after_a_first_load_of_its_sources(load: FirstLoad) -> None:
    assert (load.watch.reruns, load.watch.errors) == (1, [])
    notices = load.notifications("task")
    assert notices
    assert {(n["kind"], n["source"]) for n in notices} == {("新增线索", MODEL)}
    assert load.watch.clue_notices == len(notices)
