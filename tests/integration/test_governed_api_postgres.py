"""The governed API end to end on PostgreSQL: the store production runs.

The same app as test_governed_api, with its users, applications and query log in a throw-away
PostgreSQL schema (XIANSUO_TEST_POSTGRES_URL, started by deploy/test.sh): a governed query and its
log pair, parallel queries on one valid chain, the quota counted in the entry's transaction, and
the store refusing to rewrite the log.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from apiworld import add_accounts, bearer, ingest_demo, log_entries, log_in
from apiworld import approved_application as approve
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError

from accounts.roles import Role
from common.settings import Settings
from query_logs.applications import applications
from search_api.app import create_app

PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"


@dataclass
class World:
    client: TestClient
    settings: Settings
    store: Engine
    official_id: str
    region: str
    tokens: dict[str, str]

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = os.environ.get("XIANSUO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("XIANSUO_TEST_POSTGRES_URL is not set; deploy/test.sh sets it")
        pytest.skip("XIANSUO_TEST_POSTGRES_URL is not set (deploy/test.sh sets it)")
    schema = f"api_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    scoped = f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"
    root: Path = tmp_path_factory.mktemp("api-pg")
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-pg{uuid.uuid4().hex[:4]}",
            "state_dir": root,
            "database_url": scoped,
        }
    )
    truth = ingest_demo(local, root, persons=150, seed=11)
    official_id = truth["patterns"]["official_spouse_company"]["official_id"]
    region = official_id[:4]
    add_accounts(
        local,
        {
            "inv": ([Role.INVESTIGATOR], region),
            "boss": ([Role.APPROVER], region),
            "auditor": ([Role.SECURITY_AUDITOR], "46"),
        },
    )
    store = create_engine(scoped)
    try:
        with TestClient(create_app(local)) as client:
            tokens = log_in(client, ["inv", "boss", "auditor"])
            yield World(client, local, store, official_id, region, tokens)
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def approved_application(world: World, **overrides: Any) -> int:
    body = {
        "purpose": PURPOSE,
        "category": "初核",
        "sources": ["household", "official", "company", "shareholder"],
        "regions": [world.region],
        "subjects": [{"kind": "person_id", "value": world.official_id}],
    } | overrides
    return approve(world.client, world.tokens, body)


def records(world: World, app_id: int) -> Any:
    return world.client.get(
        f"/persons/{world.official_id}/records", headers=world.headers("inv", app_id)
    )


def queries_used(world: World, app_id: int) -> int:
    with world.store.connect() as conn:
        query = select(applications.c.queries_used).where(applications.c.id == app_id)
        return int(conn.execute(query).scalar_one())


def test_the_store_is_postgresql(world: World) -> None:
    health = world.client.get("/healthz").json()
    assert health["database"] == {"reachable": True, "dialect": "postgresql"}


def test_a_governed_query_returns_masked_records_and_logs_its_pair(world: World) -> None:
    app_id = approved_application(world)
    before = log_entries(world.settings)[-1].seq
    response = records(world, app_id)
    assert response.status_code == 200, response.text
    assert response.json()["total"] >= 2
    assert world.official_id not in response.text
    new = [e for e in log_entries(world.settings) if e.seq > before and e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "query_outcome"]
    assert json.loads(new[1].detail or "{}")["request_seq"] == new[0].seq
    assert queries_used(world, app_id) == 1


def test_parallel_queries_give_one_pair_each_on_one_valid_chain(world: World) -> None:
    app_id = approved_application(world)
    before = log_entries(world.settings)[-1].seq

    def query(_: int) -> int:
        return int(records(world, app_id).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(query, range(32)))
    assert statuses == [200] * 32
    new = [e for e in log_entries(world.settings) if e.seq > before]
    requests = {e.seq for e in new if e.kind == "query_request"}
    outcomes = [
        json.loads(e.detail or "{}")["request_seq"] for e in new if e.kind == "query_outcome"
    ]
    assert len(requests) == 32
    assert sorted(outcomes) == sorted(requests)
    assert queries_used(world, app_id) == 32
    verified = world.client.get("/audit/verify", headers=world.headers("auditor")).json()
    assert verified["ok"] is True, verified


def test_a_spent_quota_is_a_logged_429_and_counts_nothing_more(world: World) -> None:
    app_id = approved_application(world)
    with world.store.begin() as conn:
        conn.execute(update(applications).where(applications.c.id == app_id).values(query_quota=1))
    assert records(world, app_id).status_code == 200
    before = log_entries(world.settings)[-1].seq
    spent = records(world, app_id)
    assert spent.status_code == 429, spent.text
    new = [e for e in log_entries(world.settings) if e.seq > before and e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]
    assert queries_used(world, app_id) == 1


def test_a_query_whose_entry_cannot_be_written_is_refused_and_not_counted(world: World) -> None:
    app_id = approved_application(world)
    with world.store.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION log_full() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'log full'; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER log_full BEFORE INSERT ON audit_entry "
                "FOR EACH ROW EXECUTE FUNCTION log_full()"
            )
        )
    try:
        response = records(world, app_id)
    finally:
        with world.store.begin() as conn:
            conn.execute(text("DROP TRIGGER log_full ON audit_entry"))
            conn.execute(text("DROP FUNCTION log_full()"))
    assert response.status_code == 503, response.text
    assert world.official_id[-4:] not in response.text
    assert queries_used(world, app_id) == 0


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET actor = 'someone else'", "DELETE FROM audit_entry"],
    ids=["update", "delete"],
)
def test_the_live_store_refuses_to_rewrite_the_log(world: World, statement: str) -> None:
    with pytest.raises(DBAPIError), world.store.begin() as conn:
        conn.execute(text(statement))
    verified = world.client.get("/audit/verify", headers=world.headers("auditor")).json()
    assert verified["ok"] is True
