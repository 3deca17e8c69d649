"""The special-task and analyst pages (线索汇总, 关系图谱) over the real engine, store and app: each
page answers with what its JSON route answers (the same function), writes the same log entries,
refuses what the gate refuses (logged), and its exports need the export flag and are logged.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
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
from apiworld import approved_application as approve
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from accounts.roles import Role
from common.db import create_db_engine
from common.settings import Settings
from graph.build import run_graph_build
from registry.engine import EngineDoor
from search_api.app import create_app

ORIGIN = "http://testserver"
PURPOSE = "粮食购销领域腐败问题专项整治：汇总各层级线索及关联关系"
SOURCES = ["household", "company", "shareholder", "company_officer", "insured", "property",
           "petition", "official"]  # fmt: skip
TIERS = ["省", "市", "县", "乡"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


@dataclass
class World:
    api: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]

    def application(self, who: str, subjects: list[tuple[str, str]], **more: Any) -> int:
        body = {"purpose": PURPOSE, "category": "专项整治", "sources": SOURCES, "regions": ["46"],
                "subjects": [{"kind": k, "value": v} for k, v in subjects]} | more  # fmt: skip
        return int(approve(self.api, self.tokens, body, applicant=who, title="专项核查"))

    def page_client(self, who: str, application_id: int | None) -> TestClient:
        """A browser of ``who``: logged in through the login form, the application chosen in
        the header's picker."""
        client = TestClient(self.api.app, base_url=ORIGIN)
        form = client.get("/ui/login")
        token = client.cookies.get("xs_login_csrf")
        assert form.status_code == 200
        assert token
        signed = client.post("/ui/login", data={"username": who, "password": PASSWORD,
                             "csrf_token": token}, headers={"origin": ORIGIN},
                             follow_redirects=False)  # fmt: skip
        assert signed.status_code == 303, signed.text
        if application_id is not None:
            chosen = client.post("/ui/application", data={"application_id": str(application_id),
                                 "csrf_token": csrf_of(client)}, headers={"origin": ORIGIN},
                                 follow_redirects=False)  # fmt: skip
            assert chosen.status_code == 303, chosen.text
        return client

    @property
    def keyword(self) -> str:
        return str(self.truth["patterns"]["theme_petitions"]["keyword"])

    def chain(self) -> dict[str, Any]:
        chains: list[dict[str, Any]] = self.truth["control_chains"]
        return next(c for c in chains if c["relative_id"] and len(c["entities"]) >= 2)


def csrf_of(client: TestClient) -> str:
    match = CSRF.search(client.get("/ui/").text)
    assert match
    return match.group(1)


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("ops-pages")
    local = isolated_settings(settings, root, "opspages").model_copy(
        update={"embeddings_enabled": False}
    )
    truth = ingest_demo(local, root, persons=400, seed=1)
    accounts = {"task": ([Role.SPECIAL_TASK], "46"), "ana": ([Role.ANALYST], "46"),
                "boss": ([Role.APPROVER], "46")}  # fmt: skip
    add_accounts(local, accounts)
    with TestClient(create_app(local), base_url=ORIGIN) as api:
        engine = create_db_engine(local.effective_database_url)
        try:
            run_graph_build(local, engine)
        finally:
            engine.dispose()
        tokens = log_in(api, accounts)
        yield World(api, local, truth, tokens)
    door.drop_index(f"{local.index_prefix}-*")


def new_entries(world: World, before: int) -> list[tuple[str, str | None]]:
    return [(e.kind, e.outcome) for e in log_entries(world.settings)[before:]
            if e.kind != "checkpoint"]  # fmt: skip


def chart_of(html: str) -> Any:
    match = re.search(r"data-chart='([^']*)'", html)
    assert match
    return json.loads(unescape(match.group(1)))


def json_element(html: str, element_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html,
                      re.S)  # fmt: skip
    assert match, element_id
    return json.loads(unescape(match.group(1)))


# --- 线索汇总 ---------------------------------------------------------------------------------


def test_the_clue_page_counts_by_tier_as_the_clue_route_does(world: World) -> None:
    app_id = world.application("task", [])
    params = {"q": world.keyword, "sources": "petition"}
    api = world.api.get("/clues", params=params, headers=bearer(world.tokens, "task", app_id))
    assert api.status_code == 200, api.text
    page = world.page_client("task", app_id)
    before = len(log_entries(world.settings))
    shown = page.get("/ui/clues/results", params=params)
    assert shown.status_code == 200, shown.text
    assert new_entries(world, before) == [("query_request", None), ("query_outcome", "ok")]
    chart = chart_of(shown.text)
    groups = api.json()["groups"]
    assert chart["tiers"] == [g["tier"] for g in groups]
    assert chart["counts"] == [g["count"] for g in groups]
    assert set(TIERS) <= set(chart["tiers"])
    for group in groups:
        assert f'data-tier="{group["tier"]}"' in shown.text
        for unit in group["units"]:
            assert unit["unit"] in unescape(shown.text)
    assert not FULL_ID.search(shown.text)


def test_a_clue_fragment_replaces_only_the_results(world: World) -> None:
    app_id = world.application("task", [])
    page = world.page_client("task", app_id)
    shown = page.get("/ui/clues/results", params={"q": world.keyword, "tier": "县"},
                     headers={"hx-request": "true"})  # fmt: skip
    assert shown.status_code == 200
    assert "<html" not in shown.text
    assert chart_of(shown.text)["tiers"] == ["县"]


def test_the_clue_ledger_is_an_xlsx_export_logged_as_the_route_logs_it(world: World) -> None:
    app_id = world.application("task", [], export=True)
    page = world.page_client("task", app_id)
    before = len(log_entries(world.settings))
    ledger = page.get("/ui/clues/export", params={"q": world.keyword, "format": "xlsx"})
    assert ledger.status_code == 200, ledger.text
    assert ledger.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(ledger.content)).active.iter_rows(values_only=True))
    assert len(rows) - 1 == int(ledger.headers["x-ledger-rows"]) > 0
    assert new_entries(world, before) == [
        ("query_request", None), ("export", "ok"), ("query_outcome", "ok")
    ]  # fmt: skip


def test_the_clue_ledger_without_the_export_flag_is_refused_and_logged(world: World) -> None:
    app_id = world.application("task", [])
    page = world.page_client("task", app_id)
    shown = page.get("/ui/clues/results", params={"q": world.keyword})
    assert "/ui/clues/export" not in shown.text  # not offered
    before = len(log_entries(world.settings))
    refused = page.get("/ui/clues/export", params={"q": world.keyword, "format": "xlsx"})
    assert refused.status_code == 403
    assert "<html" in refused.text
    assert "Traceback" not in refused.text
    assert new_entries(world, before) == [("denial", "denied")]


def test_a_data_page_without_an_application_is_refused_and_logged(world: World) -> None:
    page = world.page_client("task", None)
    before = len(log_entries(world.settings))
    refused = page.get("/ui/clues/results", params={"q": world.keyword})
    assert refused.status_code in (400, 403)
    assert new_entries(world, before) == [("denial", "denied")]


# --- 关系图谱 ---------------------------------------------------------------------------------


def graph_application(world: World, **more: Any) -> tuple[int, dict[str, Any]]:
    chain = world.chain()
    company = chain["entities"][1]
    subjects = [("person_id", chain["official_id"]), ("credit_code", company["key"])]
    return world.application("ana", subjects, **more), chain


def test_the_graph_page_draws_what_the_subgraph_route_returns(world: World) -> None:
    app_id, chain = graph_application(world)
    official = chain["official_id"]
    api = world.api.get(f"/graph/person_id/{official}/subgraph", params={"hops": 1},
                        headers=bearer(world.tokens, "ana", app_id))  # fmt: skip
    page = world.page_client("ana", app_id)
    before = len(log_entries(world.settings))
    shown = page.get("/ui/graph/view", params={"kind": "person_id", "value": official})
    assert shown.status_code == 200, shown.text
    assert new_entries(world, before) == [("query_request", None), ("query_outcome", "ok")]
    payload = json_element(shown.text, "graph-data")
    assert {n["key"] for n in payload["graph"]["nodes"]} == {n["key"] for n in api.json()["nodes"]}
    assert payload["request"]["value"].startswith("h")  # the person as a handle, never the number
    assert official not in shown.text


def test_expanding_a_node_returns_its_edges_one_hop_further(world: World) -> None:
    app_id, chain = graph_application(world)
    page = world.page_client("ana", app_id)
    first = json_element(page.get("/ui/graph/view", params={"kind": "person_id",
                         "value": chain["official_id"]}).text, "graph-data")  # fmt: skip
    handle = first["request"]["value"]
    shown = {n["key"] for n in first["graph"]["nodes"]}
    ring = [n for n in first["graph"]["nodes"] if n["hop"] == 1]
    grown = False
    for node in ring:
        before = len(log_entries(world.settings))
        expanded = page.get("/ui/graph/expand", params={"kind": "person_id", "value": handle,
                            "hops": 2, "focus": node["key"]})  # fmt: skip
        assert expanded.status_code == 200, expanded.text
        assert new_entries(world, before) == [("query_request", None), ("query_outcome", "ok")]
        body = expanded.json()
        assert all(node["key"] in (e["src"], e["dst"]) for e in body["edges"])
        grown = grown or bool({n["key"] for n in body["nodes"]} - shown)
    assert grown  # some node of the first ring leads further


def test_expanding_a_node_outside_the_neighbourhood_is_refused_and_logged(world: World) -> None:
    app_id, chain = graph_application(world)
    page = world.page_client("ana", app_id)
    handle = json_element(
        page.get(
            "/ui/graph/view", params={"kind": "person_id", "value": chain["official_id"]}
        ).text,
        "graph-data",
    )["request"]["value"]
    before = len(log_entries(world.settings))
    refused = page.get(
        "/ui/graph/expand",
        params={"kind": "person_id", "value": handle, "hops": 1, "focus": "c:000000000000000000"},
        headers={"hx-request": "true"},
    )
    assert refused.status_code == 422
    assert "<html" not in refused.text  # the fragment graph.js shows
    assert new_entries(world, before)[-1] == ("denial", "denied")


def test_a_subject_outside_the_application_is_refused_on_the_page(world: World) -> None:
    app_id, chain = graph_application(world)
    page = world.page_client("ana", app_id)
    before = len(log_entries(world.settings))
    refused = page.get(
        "/ui/graph/view", params={"kind": "person_id", "value": chain["relative_id"]}
    )
    assert refused.status_code == 403
    assert "graph-data" not in refused.text
    assert new_entries(world, before) == [("denial", "denied")]


def test_the_path_fragment_shows_the_chain_between_two_subjects(world: World) -> None:
    app_id, chain = graph_application(world)
    company = chain["entities"][1]
    page = world.page_client("ana", app_id)
    api = world.api.get("/graph/path", params={"from_kind": "person_id",
                        "from_value": chain["official_id"], "to_kind": "credit_code",
                        "to_value": company["key"], "limit": 3},
                        headers=bearer(world.tokens, "ana", app_id))  # fmt: skip
    assert api.json()["found"]
    shown = page.get("/ui/graph/path", params={"from_kind": "person_id",
                     "from_value": chain["official_id"], "to_kind": "credit_code",
                     "to_value": company["key"]}, headers={"hx-request": "true"})  # fmt: skip
    assert shown.status_code == 200, shown.text
    for path in api.json()["paths"]:
        assert path["chain"] in unescape(shown.text)
    found = re.search(r"data-path-nodes='([^']*)'", shown.text)
    assert found
    nodes = json.loads(unescape(found.group(1)))
    assert f"c:{company['key']}" in nodes


def test_the_graphml_export_of_the_page_needs_the_flag_and_is_logged(world: World) -> None:
    chain = world.chain()
    for export, status, entries in [
        (True, 200, [("query_request", None), ("query_outcome", "ok"), ("export", "ok")]),
        (False, 403, [("denial", "denied")]),
    ]:
        app_id = world.application("ana", [("person_id", chain["official_id"])], export=export)
        page = world.page_client("ana", app_id)
        before = len(log_entries(world.settings))
        got = page.get("/ui/graph/graphml", params={"kind": "person_id",
                       "value": chain["official_id"]})  # fmt: skip
        assert got.status_code == status
        assert new_entries(world, before) == entries
        if export:
            assert "<graphml" in got.text
            assert not FULL_ID.search(got.text)


@pytest.mark.parametrize(
    ("export", "with_token", "status", "entries"),
    [
        (True, True, 204, [("query_request", None), ("query_outcome", "ok"), ("export", "ok")]),
        (False, True, 403, [("denial", "denied")]),
        (True, False, 403, [("denial", "denied")]),
    ],
)
def test_the_picture_export_is_logged_first_and_needs_the_flag_and_token(
    world: World, export: bool, with_token: bool, status: int, entries: list[tuple[str, str | None]]
) -> None:
    chain = world.chain()
    app_id = world.application("ana", [("person_id", chain["official_id"])], export=export)
    page = world.page_client("ana", app_id)
    form = {"kind": "person_id", "value": chain["official_id"], "nodes": "7", "edges": "6"}
    if with_token:
        form["csrf_token"] = csrf_of(page)
    before = len(log_entries(world.settings))
    got = page.post("/ui/graph/picture", data=form, headers={"origin": ORIGIN})
    assert got.status_code == status, got.text
    assert new_entries(world, before) == entries
