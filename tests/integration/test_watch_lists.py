"""Watch lists (布控) end to end: the real engine, store and app, a demo drop and a second drop
that changes a few household records (demo.second_drop, with its truth).

An investigator watches subjects of approved applications; after the second drop's ingest the
watch step (the one ``xiansuo ingest`` runs) notifies exactly the new or changed records of the
watched persons inside each application's sources and regions: none for an unchanged re-ingest,
an unwatched person, another scope, or a revoked application. A standing comparison run is
re-run and notifies only the clues it newly opens. Every refusal and notification is logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
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

from accounts.roles import Role
from common.settings import Settings
from demo.second_drop import SecondDropTruth, write_second_drop
from demo.world import build_world
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from indexer.reports import IngestReport, changed_by_source
from query_logs.audit import AuditEntry, AuditKind, AuditOutcome
from registry.engine import EngineDoor
from registry.fields import Envelope
from search_api.app import create_app
from search_api.handles import Handles, handles_for
from watching.after_ingest import WatchReport
from xiansuo.cli import run_watch_step

PERSONS, SEED = 120, 31
PROVINCE = "46"
OTHER_CITY = "4602"  # inside the investigators' reach, outside the changed persons' city (4601)
ALL_SOURCES = ["household", "company", "shareholder", "company_officer", "insured", "benefit",
               "property", "petition", "official"]  # fmt: skip
PURPOSE = "核查反映问题线索，对相关人员持续布控"
MODEL = "deceased_pension"


@dataclass
class World:
    client: TestClient
    settings: Settings
    root: Path
    door: EngineDoor
    handles: Handles
    tokens: dict[str, str]
    second: SecondDropTruth
    quiet: str  # a resident of the province whose records the second drop leaves alone
    apps: dict[str, int] = field(default_factory=dict)
    watches: dict[str, int] = field(default_factory=dict)
    reports: dict[str, WatchReport] = field(default_factory=dict)

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    def watch(self, who: str, application_id: int, person: str) -> Any:
        return self.client.post(
            "/watches",
            json={"subject": self.handles.handle(person)},
            headers=self.headers(who, application_id),
        )

    def notifications(self, who: str) -> list[dict[str, Any]]:
        answer = self.client.get("/notifications", params={"limit": 100}, headers=self.headers(who))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["notifications"])

    def ingest(self, drop: Path) -> tuple[IngestReport, WatchReport]:
        """An ingest of ``drop`` followed by the watch step, as ``xiansuo ingest`` runs them."""
        with ingest_context(self.settings, self.root / "rejects") as ctx:
            report = ingest_drop(drop, ctx)
        assert report.ok
        return report, run_watch_step(self.settings, report.files)

    def record_of(self, source: str, person: str) -> str:
        """The pseudonym of the person's (only) record of ``source``."""
        body = {"query": {"term": {Envelope.PERSONS: person}}, "size": 5}
        hits = self.door.search(self.door.index_name(source), body)["hits"]["hits"]
        assert len(hits) == 1, hits
        return self.handles.record_id(hits[0]["_id"])


def _application(world: World, who: str, **overrides: Any) -> int:
    body = {"purpose": PURPOSE, "category": "初核", "sources": ALL_SOURCES,
            "regions": [PROVINCE]} | overrides  # fmt: skip
    return approved_application(world.client, world.tokens, body, applicant=who, approver="boss")


def _detail(entry: AuditEntry) -> dict[str, Any]:
    return dict(json.loads(entry.detail or "{}"))


def _subjects(*persons: str) -> list[dict[str, str]]:
    return [{"kind": "person_id", "value": p} for p in persons]


@pytest.fixture(scope="module")
def world(
    settings: Settings, door: EngineDoor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("watch")
    local = isolated_settings(settings, root, "watch")
    ingest_demo(local, root, persons=PERSONS, seed=SEED)
    second = write_second_drop(root / "drop2", persons=PERSONS, seed=SEED, changes=2, deaths=1,
                               region_prefix=PROVINCE)  # fmt: skip
    changed = {c.person_id for c in second.changed}
    quiet = next(
        p.pid for p in build_world(SEED, PERSONS).population.persons
        if p.region.startswith("4601") and p.pid not in changed and p.died is None
    )  # fmt: skip
    accounts = {
        "inv": ([Role.INVESTIGATOR], PROVINCE),
        "inv2": ([Role.INVESTIGATOR], PROVINCE),
        "task": ([Role.SPECIAL_TASK], PROVINCE),
        "boss": ([Role.APPROVER], PROVINCE),
    }
    add_accounts(local, accounts)
    scoped = EngineDoor.for_api(local)
    with TestClient(create_app(local)) as client:
        handles = handles_for(local.secret_key.get_secret_value())
        world = World(client, local, root, scoped, handles, log_in(client, accounts), second, quiet)
        _prepare(world)
        world.reports["second"] = world.ingest(root / "drop2")[1]
        world.reports["again"] = world.ingest(root / "drop2")[1]
        yield world
    scoped.close()


def _prepare(world: World) -> None:
    """The watches and the standing run, made through the API before the second drop."""
    moved, other_moved, _dead = (c.person_id for c in world.second.changed)
    apps = world.apps
    apps["main"] = _application(world, "inv", subjects=_subjects(moved, other_moved, world.quiet))
    apps["city"] = _application(world, "inv", regions=[OTHER_CITY], subjects=_subjects(moved))
    apps["benefit"] = _application(world, "inv", sources=["benefit"], subjects=_subjects(moved))
    apps["revoked"] = _application(world, "inv", subjects=_subjects(moved))
    for name, person in (("main", moved), ("quiet", world.quiet), ("city", moved),
                         ("benefit", moved), ("revoked", moved)):  # fmt: skip
        app_id = apps["main" if name == "quiet" else name]
        answer = world.watch("inv", app_id, person)
        assert answer.status_code == 201, answer.text
        world.watches[name] = int(answer.json()["id"])
    revoked = world.client.post(
        f"/applications/{apps['revoked']}/revoke", headers=world.headers("inv")
    )
    assert revoked.status_code == 200, revoked.text
    apps["check"] = _application(
        world, "task", category="专项核查", models=[MODEL], sources=["household", "benefit"]
    )
    run = world.client.post(f"/models/{MODEL}/runs", headers=world.headers("task", apps["check"]))
    assert run.status_code == 201, run.text
    apps["run"] = int(run.json()["run_id"])
    marked = world.client.patch(
        f"/models/runs/{apps['run']}",
        json={"standing": True},
        headers=world.headers("task", apps["check"]),
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["standing"] is True


# --- records -----------------------------------------------------------------------------------


def test_the_changed_record_of_a_watched_person_is_notified_once(world: World) -> None:
    moved = world.second.changed[0].person_id
    record = [(n["kind"], n["source"], n["record_id"], n["subject"]["handle"], n["application_id"])
              for n in world.notifications("inv")]  # fmt: skip
    expected = ("记录变更", "household", world.record_of("household", moved),
                world.handles.handle(moved), world.apps["main"])  # fmt: skip
    assert record == [expected]


def test_the_watch_step_reports_what_it_notified(world: World) -> None:
    report = world.reports["second"]
    assert (report.record_notices, report.clue_notices, report.reruns) == (1, 1, 1)
    assert report.ended_watches == 1  # the revoked application's
    assert report.errors == []


def test_an_identical_reingest_changes_nothing_and_notifies_nobody(world: World) -> None:
    report = world.reports["again"]
    assert (report.record_notices, report.clue_notices, report.reruns) == (0, 0, 0)


def test_only_the_changed_records_are_handed_to_the_watch_step(world: World) -> None:
    with ingest_context(world.settings, world.root / "rejects") as ctx:
        report = ingest_drop(world.root / "drop2", ctx)
    assert changed_by_source(report.files) == {}
    assert sum(f.indexed for f in report.files) > len(world.second.changed)


def test_the_notification_names_no_number_and_masks_the_person(world: World) -> None:
    (notice,) = [n for n in world.notifications("inv") if n["kind"] == "记录变更"]
    moved = world.second.changed[0].person_id
    assert notice["subject"]["person_id"] == moved[:6] + "*" * 12
    assert moved not in str(notice)


def test_a_revoked_applications_watch_is_ended(world: World) -> None:
    watches = world.client.get("/watches", headers=world.headers("inv", world.apps["main"]))
    assert watches.status_code == 200
    assert {w["id"] for w in watches.json()} == {world.watches["main"], world.watches["quiet"]}
    listed = world.client.get("/watches", headers=world.headers("inv", world.apps["revoked"]))
    assert listed.status_code == 403  # the revoked application admits nothing, logged


def test_the_end_of_a_revoked_watch_is_a_logged_denial(world: World) -> None:
    denials = [
        e for e in log_entries(world.settings)
        if e.kind == AuditKind.DENIAL and e.route == "xiansuo ingest"
        and e.application_id == str(world.apps["revoked"])
    ]  # fmt: skip
    assert len(denials) == 1
    assert "revoked" in str(denials[0].detail)


def test_every_notification_is_logged_with_its_id(world: World) -> None:
    ids = {n["id"] for who in ("inv", "task") for n in world.notifications(who)}
    logged = [e for e in log_entries(world.settings) if e.kind == AuditKind.NOTIFICATION]
    named = {i for e in logged for i in _detail(e).get("notifications", [])}
    assert ids
    assert named == ids
    assert all(e.outcome == AuditOutcome.OK and e.actor in ("inv", "task") for e in logged)


def test_the_watch_match_writes_its_request_before_its_outcome(world: World) -> None:
    entries = [e for e in log_entries(world.settings) if e.route == "xiansuo ingest"]
    requests = [e for e in entries if e.kind == AuditKind.QUERY_REQUEST]
    outcomes = {_detail(e).get("request_seq"): e for e in entries
                if e.kind == AuditKind.QUERY_OUTCOME}  # fmt: skip
    assert requests
    for request in requests:
        assert outcomes[request.seq].seq > request.seq


def test_the_log_holds_no_watched_persons_number(world: World) -> None:
    text = " ".join(str(e) for e in log_entries(world.settings))
    for person in [c.person_id for c in world.second.changed] + [world.quiet]:
        assert person not in text


# --- standing runs -----------------------------------------------------------------------------


def test_a_standing_run_notifies_only_the_clue_it_newly_opened(world: World) -> None:
    notices = world.notifications("task")
    dead = world.second.new_deceased_pension
    assert [(n["kind"], n["source"], n["subject"]["handle"]) for n in notices] == [
        ("新增线索", MODEL, world.handles.handle(person)) for person in dead
    ]
    assert notices[0]["clue_id"] is not None


def test_a_standing_rerun_is_counted_and_logged_as_a_run(world: World) -> None:
    entries = [e for e in log_entries(world.settings) if e.route == "xiansuo ingest"
               and e.actor == "task"]  # fmt: skip
    kinds = [e.kind for e in entries]
    assert kinds == [AuditKind.QUERY_REQUEST, AuditKind.QUERY_OUTCOME, AuditKind.NOTIFICATION]


# --- the API's refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status"),
    [("foreign application", 403), ("not a subject", 403), ("no application", 403),
     ("bad handle", 422)],
)  # fmt: skip
def test_a_refused_watch_is_a_logged_denial(world: World, case: str, status: int) -> None:
    who, app_id = "inv", world.apps["main"]
    subject = world.handles.handle(world.second.changed[0].person_id)
    if case == "foreign application":
        who = "inv2"
    elif case == "not a subject":
        subject = world.handles.handle(world.second.changed[2].person_id)
    elif case == "bad handle":
        subject = "h" + "a" * 30
    headers = world.headers(who, None if case == "no application" else app_id)
    before = len(log_entries(world.settings))
    answer = world.client.post("/watches", json={"subject": subject}, headers=headers)
    assert answer.status_code == status, answer.text
    new = log_entries(world.settings)[before:]
    assert [e.kind for e in new] == [AuditKind.DENIAL]


def test_notifications_are_the_owners_own(world: World) -> None:
    (notice,) = world.notifications("inv")
    assert world.notifications("inv2") == []
    foreign = world.client.post(
        f"/notifications/{notice['id']}/read", headers=world.headers("inv2")
    )
    assert foreign.status_code == 404
    assert world.notifications("inv")[0]["read"] is False


def test_a_notification_is_marked_read_by_its_owner(world: World) -> None:
    (notice,) = world.notifications("task")
    marked = world.client.post(f"/notifications/{notice['id']}/read", headers=world.headers("task"))
    assert marked.status_code == 200
    assert marked.json()["read"] is True
    unread = world.client.get("/notifications", headers=world.headers("task")).json()["unread"]
    assert unread == 0


def test_an_ended_watch_is_no_longer_listed(world: World) -> None:
    app_id = world.apps["main"]
    answer = world.watch("inv", app_id, world.second.changed[1].person_id)
    assert answer.status_code == 201
    ended = world.client.delete(f"/watches/{answer.json()['id']}",
                                headers=world.headers("inv", app_id))  # fmt: skip
    assert ended.status_code == 204
    listed = world.client.get("/watches", headers=world.headers("inv", app_id)).json()
    assert answer.json()["id"] not in {w["id"] for w in listed}


def test_a_run_of_another_application_cannot_be_made_standing(world: World) -> None:
    other = _application(world, "task", category="专项核查", models=[MODEL],
                         sources=["household", "benefit"])  # fmt: skip
    answer = world.client.patch(f"/models/runs/{world.apps['run']}", json={"standing": False},
                                headers=world.headers("task", other))  # fmt: skip
    assert answer.status_code == 404
