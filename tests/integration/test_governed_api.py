"""The governed API end to end: routes, the gate, the write-ahead log, masking, fail-closed.

Real OpenSearch (a generated drop is ingested), real SQLite store, real FastAPI app.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apiworld import (
    PASSWORD,
    add_accounts,
    bearer,
    ingest_demo,
    isolated_settings,
    log_entries,
    log_in,
)
from apiworld import (
    approved_application as approve,
)
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text, update

from accounts.roles import Role
from common.db import create_db_engine
from common.settings import Settings
from query_logs.applications import applications
from query_logs.audit import AuditLog
from registry.engine import EngineDoor
from search_api.access import Access
from search_api.app import ROUTERS, create_app, page_inventory, route_inventory
from search_api.deps import get_gate, get_provider
from search_api.web.routers import WEB_ROUTERS
from search_api.web.sessions import get_page_gate, read_page_session

PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


@dataclass
class World:
    client: TestClient
    settings: Settings
    official_id: str
    official_region: str
    other_id: str
    tokens: dict[str, str]

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    def entries(self) -> list[Any]:
        return list(log_entries(self.settings))


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("api")
    local = isolated_settings(settings, root, "api")
    truth = ingest_demo(local, root, persons=300, seed=5)
    official_id = truth["patterns"]["official_spouse_company"]["official_id"]
    region = official_id[:4]
    officers = {
        "auditor": Role.SECURITY_AUDITOR,
        "sysadm": Role.SYSTEM_ADMIN,
        "secadm": Role.SECURITY_ADMIN,
    }
    accounts = {
        "inv": ([Role.INVESTIGATOR], region),
        "inv2": ([Role.INVESTIGATOR], region),
        "boss": ([Role.APPROVER], region),
    } | {name: ([role], "46") for name, role in officers.items()}
    add_accounts(local, accounts)
    with TestClient(create_app(local)) as client:
        other = truth["complainants"][0]["id_number"]  # someone not in the application
        yield World(client, local, official_id, region, other, log_in(client, accounts))


def approved_application(world: World, **overrides: Any) -> int:
    body = {
        "purpose": PURPOSE,
        "category": "初核",
        "sources": ["household", "official", "company", "shareholder"],
        "regions": [world.official_region],
        "subjects": [{"kind": "person_id", "value": world.official_id}],
    } | overrides
    return approve(world.client, world.tokens, body)


def records_url(id_number: str) -> str:
    return f"/persons/{id_number}/records"


# Routes that use the engine but return no registry record: health reads the cluster's state; the
# review's own-household rule reads 户号 on the auditor's behalf and reports only pseudonyms.
ENGINE_WITHOUT_GATE = {"GET /healthz", "GET /audit/review", "GET /audit/review.csv",
                       "GET /audit/users/{username}/timeline",
                       # the same review on the 日志审查 pages (search_api.log_review)
                       "GET /ui/audit/review", "GET /ui/audit/review.csv",
                       "GET /ui/audit/users/{username}"}  # fmt: skip


def _calls(dependant: Dependant) -> set[Any]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def test_every_route_is_classified_and_only_governed_routes_reach_registry_data(
    world: World,
) -> None:
    inventory = route_inventory()
    governed = {r for r, kind in inventory.items() if kind is Access.GOVERNED}
    assert "GET /persons/{id_number}/records" in governed
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            label = f"{sorted(route.methods)[0]} {route.path}"
            calls = _calls(route.dependant)
            if label in governed:  # the gate is the only door: every governed route passes it
                assert get_gate in calls, label
            elif label not in ENGINE_WITHOUT_GATE:
                assert get_provider not in calls, f"{label} reaches the engine without the gate"
    pages = page_inventory()  # the web UI: the same rule, through the page's gate
    assert pages["GET /ui/search/results"] is Access.GOVERNED
    assert pages["GET /ui/login"] is Access.PUBLIC
    # the comparison models' pages: registry data (a run, its hits, the ledger) only through
    # the gate; the catalogue and the list of one's own runs hold none
    for label in ("POST /ui/models/{model_id}/runs", "GET /ui/models/runs/{run_id}",
                  "GET /ui/models/clues", "POST /ui/models/clues/{clue_id}",
                  "GET /ui/models/clues/export"):  # fmt: skip
        assert pages[label] is Access.GOVERNED, label
    assert pages["GET /ui/models"] is pages["GET /ui/models/runs"] is Access.AUTH
    for router in WEB_ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            label = f"{sorted(route.methods)[0]} {route.path}"
            calls = _calls(route.dependant)
            if pages[label] is Access.GOVERNED:
                assert get_page_gate in calls, label
            elif label not in ENGINE_WITHOUT_GATE:
                assert get_provider not in calls, f"{label} reaches the engine without the gate"
            if pages[label] is not Access.PUBLIC:
                assert read_page_session in calls, f"{label} shows a page without a session"
    openapi_paths = {
        f"{method.upper()} {path}"
        for path, item in world.client.get("/openapi.json").json()["paths"].items()
        for method in item
    }
    assert openapi_paths == set(inventory)


def test_approved_subject_records_come_back_masked_and_logged(world: World) -> None:
    app_id = approved_application(world)
    before = len(world.entries())
    response = world.client.get(
        records_url(world.official_id), headers=world.headers("inv", app_id)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= 2  # household and official roster at least
    assert {r["source"] for r in body["records"]} >= {"household", "official"}
    assert world.official_id not in response.text
    assert world.official_id[:6] + "*" * 12 in response.text
    new = world.entries()[before:]
    assert [e.kind for e in new if e.kind != "checkpoint"] == ["query_request", "query_outcome"]
    request, outcome = (e for e in new if e.kind != "checkpoint")
    assert request.application_id == outcome.application_id == str(app_id)
    assert request.purpose == PURPOSE
    assert outcome.hit_count == body["total"]
    assert outcome.result_digest


@pytest.mark.parametrize(
    "case",
    ["no header", "garbage header", "foreign", "pending", "rejected", "revoked", "expired",
     "subject outside", "source outside", "page too big", "page far too big", "no token"],
)  # fmt: skip
def test_governed_route_refuses_with_4xx_no_data_and_logs_the_denial(
    world: World, case: str
) -> None:
    client = world.client
    app_id = approved_application(world)
    url, who, headers_app = records_url(world.official_id), "inv", app_id
    params: dict[str, Any] = {}
    if case == "no header" or case == "garbage header":
        headers_app = None
    elif case == "foreign":
        who = "inv2"
    elif case in ("pending", "rejected"):
        headers_app = _filed_only(world, decide=case == "rejected")
    elif case == "revoked":
        assert (
            client.post(f"/applications/{app_id}/revoke", headers=world.headers("inv")).status_code
            == 200
        )
    elif case == "expired":
        _expire(world, app_id)
    elif case == "subject outside":
        url = records_url(world.other_id)
    elif case == "source outside":
        params = {"sources": "petition"}
    elif case == "page too big":
        params = {"page_size": 100}
    elif case == "page far too big":  # refused by parameter validation, before the gate
        params = {"page_size": 100_000}
    headers = world.headers(who, headers_app)
    if case == "garbage header":
        headers["X-Application-Id"] = "1 OR 1=1"
    if case == "no token":
        headers = {"X-Application-Id": str(app_id)}
    before = len(world.entries())
    response = client.get(url, headers=headers, params=params)
    assert 400 <= response.status_code < 500, response.text
    assert "records" not in response.json()
    denials = [e for e in world.entries()[before:] if e.kind == "denial"]
    assert len(denials) == 1
    assert denials[0].outcome == "denied"


def _filed_only(world: World, *, decide: bool) -> int:
    case = world.client.post(
        "/cases",
        json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "待批"},
        headers=world.headers("inv"),
    )
    body = {
        "case_id": case.json()["id"],
        "purpose": PURPOSE,
        "category": "初核",
        "sources": ["household"],
        "regions": [world.official_region],
        "subjects": [{"kind": "person_id", "value": world.official_id}],
    }
    filed = world.client.post("/applications", json=body, headers=world.headers("inv"))
    app_id = int(filed.json()["id"])
    if decide:
        world.client.post(
            f"/applications/{app_id}/decision",
            json={"approve": False},
            headers=world.headers("boss"),
        )
    return app_id


def _expire(world: World, app_id: int) -> None:
    engine = create_db_engine(world.settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(
            update(applications)
            .where(applications.c.id == app_id)
            .values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    engine.dispose()


def _set_quota(world: World, app_id: int, quota: int) -> None:
    engine = create_db_engine(world.settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(
            update(applications).where(applications.c.id == app_id).values(query_quota=quota)
        )
    engine.dispose()


def _queries_used(world: World, app_id: int) -> int:
    engine = create_db_engine(world.settings.effective_database_url)
    with engine.connect() as conn:
        used = conn.execute(
            select(applications.c.queries_used).where(applications.c.id == app_id)
        ).scalar_one()
    engine.dispose()
    return int(used)


def test_the_quota_counts_logged_queries_and_a_spent_one_is_a_logged_429(world: World) -> None:
    app_id = approved_application(world)
    _set_quota(world, app_id, 2)
    url, headers = records_url(world.official_id), world.headers("inv", app_id)
    assert [world.client.get(url, headers=headers).status_code for _ in range(2)] == [200, 200]
    before = len(world.entries())
    spent = world.client.get(url, headers=headers)
    assert spent.status_code == 429, spent.text
    assert "quota" in spent.json()["detail"]
    assert "records" not in spent.json()
    new = [e for e in world.entries()[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]
    assert _queries_used(world, app_id) == 2


def test_a_query_whose_entry_cannot_be_written_is_not_counted(world: World, tmp_path: Path) -> None:
    app_id = approved_application(world)
    engine = create_db_engine(world.settings.effective_database_url)
    with engine.begin() as conn:  # the log store refuses new entries; the rest works
        conn.execute(
            text(
                "CREATE TRIGGER log_full BEFORE INSERT ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'log full'); END"
            )
        )
    try:
        response = world.client.get(
            records_url(world.official_id), headers=world.headers("inv", app_id)
        )
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER log_full"))
        engine.dispose()
    assert response.status_code == 503, response.text
    assert world.official_id[-4:] not in response.text
    assert _queries_used(world, app_id) == 0


def test_the_log_holds_no_full_id_number(world: World) -> None:
    app_id = approved_application(world)
    world.client.get(records_url(world.official_id), headers=world.headers("inv", app_id))
    world.client.get(records_url(world.other_id), headers=world.headers("inv", app_id))
    for entry in world.entries():
        text = json.dumps(
            [entry.params, entry.scope, entry.detail, entry.purpose], ensure_ascii=False
        )
        assert not FULL_ID.search(text), entry.seq


@pytest.mark.parametrize("failure", ["read-only", "unreachable"])
def test_log_unavailable_means_503_and_no_data(world: World, tmp_path: Path, failure: str) -> None:
    app_id = approved_application(world)
    app = world.client.app
    working = app.state.audit_log  # type: ignore[attr-defined]
    if failure == "read-only":
        copy = tmp_path / "readonly.db"
        copy.write_bytes(Path(world.settings.state_dir / "api.db").read_bytes())
        readonly = create_db_engine(f"sqlite:///file:{copy}?mode=ro&uri=true")
    else:  # a store that cannot be opened at all (a path below a regular file)
        (tmp_path / "file").write_text("x")
        readonly = create_engine(f"sqlite:///{tmp_path / 'file' / 'audit.db'}")
    app.state.audit_log = AuditLog(readonly)  # type: ignore[attr-defined]
    try:
        response = world.client.get(
            records_url(world.official_id), headers=world.headers("inv", app_id)
        )
    finally:
        app.state.audit_log = working  # type: ignore[attr-defined]
        readonly.dispose()
    assert response.status_code == 503
    assert "records" not in response.json()
    assert world.official_id[-4:] not in response.text


def test_auditor_reads_and_verifies_the_log_and_that_reading_is_logged(world: World) -> None:
    entries = world.client.get(
        "/audit/entries", headers=world.headers("auditor"), params={"limit": 50}
    )
    assert entries.status_code == 200
    assert entries.json()[0]["kind"] == "audit_read"  # newest first: this very read
    verified = world.client.get("/audit/verify", headers=world.headers("auditor"))
    assert verified.status_code == 200
    assert verified.json()["ok"] is True
    assert verified.json()["entries_checked"] > 10


@pytest.mark.parametrize("who", ["inv", "boss"])
def test_data_roles_cannot_read_the_log(world: World, who: str) -> None:
    assert world.client.get("/audit/entries", headers=world.headers(who)).status_code == 403


def test_the_auditor_cannot_file_applications(world: World) -> None:
    response = world.client.post(
        "/cases", json={"case_no": "x", "title": "y"}, headers=world.headers("auditor")
    )
    assert response.status_code == 403


def test_failed_login_is_logged_without_the_typed_secret(world: World) -> None:
    before = len(world.entries())
    response = world.client.post(
        "/auth/token", json={"username": "inv", "password": "wrong password"}
    )
    assert response.status_code == 401
    (failed,) = [e for e in world.entries()[before:] if e.kind == "login_failed"]
    assert "wrong password" not in json.dumps([failed.params, failed.detail])


def test_invalid_login_body_is_not_echoed_back(world: World) -> None:
    response = world.client.post("/auth/token", json={"username": "", "password": "s3cret-typed"})
    assert response.status_code == 422
    assert "s3cret-typed" not in response.text


def test_parallel_governed_queries_give_exactly_one_pair_each_and_a_valid_chain(
    world: World,
) -> None:
    app_id = approved_application(world)
    before = world.entries()[-1].seq
    headers = world.headers("inv", app_id)

    def query(_: int) -> int:
        return world.client.get(records_url(world.official_id), headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(query, range(40)))
    assert statuses == [200] * 40
    new = [e for e in world.entries() if e.seq > before]
    requests = {e.seq for e in new if e.kind == "query_request"}
    outcomes = [json.loads(e.detail)["request_seq"] for e in new if e.kind == "query_outcome"]
    assert len(requests) == 40
    assert sorted(outcomes) == sorted(requests)  # every request has exactly one outcome
    verified = world.client.get("/audit/verify", headers=world.headers("auditor")).json()
    assert verified["ok"] is True


@pytest.mark.parametrize("officer", ["auditor", "sysadm", "secadm"])
def test_officers_get_403_on_the_data_route(world: World, officer: str) -> None:
    app_id = approved_application(world)
    response = world.client.get(
        records_url(world.official_id), headers=world.headers(officer, app_id)
    )
    assert response.status_code == 403
    assert "records" not in response.json()


@pytest.mark.parametrize("admin", ["sysadm", "secadm"])
@pytest.mark.parametrize("route", ["/audit/entries", "/audit/verify", "/audit/review"])
def test_administrators_cannot_read_the_log(world: World, admin: str, route: str) -> None:
    assert world.client.get(route, headers=world.headers(admin)).status_code == 403


def test_the_auditor_cannot_change_users(world: World) -> None:
    body = {"username": "new.one", "jurisdiction": "46", "password": PASSWORD}
    assert (
        world.client.post("/admin/users", json=body, headers=world.headers("auditor")).status_code
        == 403
    )
    assert (
        world.client.post("/admin/users/inv/disable", headers=world.headers("auditor")).status_code
        == 403
    )


def test_unparseable_body_on_an_admin_route_is_refused_and_logged(world: World) -> None:
    before = world.entries()[-1].seq
    response = world.client.post(
        "/admin/users", content=b"\x83", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    denials = [e for e in world.entries() if e.seq > before and e.kind == "denial"]
    assert [json.loads(e.detail)["reason"] for e in denials] == ["unparseable request body"]


def test_an_unreachable_engine_is_a_503_logged_as_the_query_outcome(world: World) -> None:
    app_id = approved_application(world)
    app = world.client.app
    working = app.state.provider  # type: ignore[attr-defined]
    dead = EngineDoor.connect(  # nothing listens on port 9 of the loopback
        "http://127.0.0.1:9", world.settings.index_prefix, timeout_s=2, max_retries=0
    )
    app.state.provider = dead  # type: ignore[attr-defined]
    try:
        response = world.client.get(
            records_url(world.official_id), headers=world.headers("inv", app_id)
        )
    finally:
        app.state.provider = working  # type: ignore[attr-defined]
        dead.close()
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "the search engine did not answer"},
    )
    last = [e for e in world.entries() if e.kind == "query_outcome"][-1]
    assert (last.outcome, json.loads(last.detail)["error"]) == ("error", "ConnectionError")
