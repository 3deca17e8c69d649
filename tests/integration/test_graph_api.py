"""The relationship graph end to end: a generated drop with planted relations, ingested, the graph
pass run, and the governed graph routes over the real engine, SQLite store and FastAPI app.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apiworld import add_accounts, bearer, ingest_demo, isolated_settings, log_entries, log_in
from fastapi.testclient import TestClient

from accounts.roles import Role
from common.db import create_db_engine
from common.settings import Settings
from graph.build import BuildReport, run_graph_build
from graph.store import edges_alias
from query_logs.audit import load_json
from registry.engine import EngineDoor
from search_api.app import create_app

PURPOSE = "核查公职人员配偶子女经商办企业及关联关系问题线索"
SOURCES = [
    "household",
    "company",
    "shareholder",
    "company_officer",
    "insured",
    "property",
    "petition",
    "official",
]
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
COMPANY_KEY = re.compile(r"c:[0-9A-Z]{18}")  # credit codes are shown whole (some are all digits)


def has_full_id(text: str) -> bool:
    return bool(FULL_ID.search(COMPANY_KEY.sub("", text)))


@dataclass
class GraphWorld:
    client: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]
    build: BuildReport
    root: Path

    @property
    def patterns(self) -> dict[str, Any]:
        return dict(self.truth["patterns"])

    def application(self, subjects: list[tuple[str, str]], **overrides: Any) -> int:
        case = self.client.post(
            "/cases",
            json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "关联关系核查"},
            headers=bearer(self.tokens, "ana"),
        )
        assert case.status_code == 201, case.text
        body = {
            "case_id": case.json()["id"],
            "purpose": PURPOSE,
            "category": "初核",
            "sources": SOURCES,
            "regions": ["46"],
            "subjects": [{"kind": k, "value": v} for k, v in subjects],
        } | overrides
        filed = self.client.post("/applications", json=body, headers=bearer(self.tokens, "ana"))
        assert filed.status_code == 201, filed.text
        app_id = int(filed.json()["id"])
        decided = self.client.post(
            f"/applications/{app_id}/decision",
            json={"approve": True, "note": "同意"},
            headers=bearer(self.tokens, "boss"),
        )
        assert decided.status_code == 200, decided.text
        return app_id

    def get(self, url: str, app_id: int, **params: Any) -> Any:
        return self.client.get(url, params=params, headers=bearer(self.tokens, "ana", app_id))

    def rebuild(self) -> BuildReport:
        engine = create_db_engine(self.settings.effective_database_url)
        try:
            return run_graph_build(self.settings, engine)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[GraphWorld]:
    root = tmp_path_factory.mktemp("graph")
    local = isolated_settings(settings, root, "graph").model_copy(
        update={"embeddings_enabled": False}
    )
    # seed 1: the planted companies are registered in Hainan (the application's province) and the
    # two same-name officials are never reported in one petition
    truth = ingest_demo(local, root, persons=600, seed=1)
    accounts = {"ana": ([Role.ANALYST], "46"), "boss": ([Role.APPROVER], "46")}
    add_accounts(local, accounts)
    with TestClient(create_app(local)) as client:  # the app creates the SQL store first
        engine = create_db_engine(local.effective_database_url)
        try:
            build = run_graph_build(local, engine)
        finally:
            engine.dispose()
        yield GraphWorld(client, local, truth, log_in(client, accounts), build, root)
    # this module's indices go even when a filtered run never asks for the session's cleanup
    door.drop_index(f"{local.index_prefix}-*")


def linked(world: GraphWorld, kind: str, value: str, app_id: int, **params: Any) -> Any:
    response = world.get(f"/graph/{kind}/{value}/linked", app_id, **params)
    assert response.status_code == 200, response.text
    return response.json()


def entity(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in body["entities"] if e["name"] == name), None)


def chains(found: dict[str, Any] | None) -> list[str]:
    assert found is not None
    return [p["chain"] for p in found["paths"]]


def test_the_graph_pass_writes_every_edge_kind_and_resolves_mentions(world: GraphWorld) -> None:
    report = world.build.to_json()
    assert report["failed"] == 0
    assert set(report["by_kind"]) == {
        "household",
        "legal_rep",
        "shareholder",
        "owns",
        "officer",
        "employee",
        "co_owner",
        "reported",
    }
    assert report["mentions"].get("resolved", 0) > 0


def test_the_spouse_and_the_spouse_company_are_linked_with_their_chains(world: GraphWorld) -> None:
    p = world.patterns["official_spouse_company"]
    app_id = world.application([("person_id", p["official_id"])])
    body = linked(world, "person_id", p["official_id"], app_id, hops=2)
    assert chains(entity(body, p["spouse_name"]))[0] == "配偶"
    company = entity(body, p["company_name"])
    share = f"股东({p['spouse_percent']:g}%)"
    assert set(chains(company)) >= {"配偶 → 法定代表人", f"配偶 → {share}"}
    assert company is not None
    step = company["paths"][0]["steps"][1]
    assert step["source"] in ("company", "shareholder")
    assert step["record_ids"]
    holders = {h["name"]: h["effective_percent"] for h in company["holders"]}
    assert holders[p["spouse_name"]] == pytest.approx(p["spouse_percent"])


def test_the_child_chain_reaches_the_subsidiary_with_effective_shareholding(
    world: GraphWorld,
) -> None:
    p = world.patterns["official_child_chain"]
    app_id = world.application([("person_id", p["official_id"])])
    body = linked(world, "person_id", p["official_id"], app_id, hops=3)
    assert "子女" in chains(entity(body, p["child_name"]))
    holding_chains = chains(entity(body, p["holding_name"]))
    assert any(c.startswith("子女 → ") for c in holding_chains)
    subsidiary = entity(body, p["subsidiary_name"])
    control = f"控股({p['holding_percent']:g}%)"
    assert any(c.startswith("子女 → ") and c.endswith(control) for c in chains(subsidiary))
    assert subsidiary is not None
    holders = {h["name"]: h["effective_percent"] for h in subsidiary["holders"]}
    expected = p["child_percent"] * p["holding_percent"] / 100
    assert holders[p["child_name"]] == pytest.approx(expected)


def _key(entity: dict[str, Any]) -> str:
    return f"{'p' if entity['kind'] == 'person' else 'c'}:{entity['key']}"


@pytest.mark.parametrize("hops", [2, 3])
def test_every_planted_chain_ranks_within_the_top_k(world: GraphWorld, hops: int) -> None:
    """k = the official's planted entities and household members; decoys rank below them all."""
    by_official: dict[str, list[dict[str, Any]]] = {}
    for chain in world.truth["control_chains"]:
        by_official.setdefault(chain["official_id"], []).append(chain)
    app_id = world.application([("person_id", o) for o in by_official], unmask=True)
    ranks: dict[str, dict[str, Any]] = {}
    for official, chains in by_official.items():
        planted = {_key(e) for c in chains for e in c["entities"]}
        household = {f"p:{i}" for c in chains for i in c["household_ids"]}
        k = len(planted | household)
        body = linked(world, "person_id", official, app_id, hops=hops, page_size=50)
        keys = [e["key"] for e in body["entities"]]
        positions = {key: keys.index(key) + 1 for key in planted if key in keys}
        ranks[official] = {"k": k, "planted": sorted(positions.values())}
        assert set(positions) == planted, planted - set(positions)
        assert max(positions.values()) <= k, positions
        decoys = [_key(e) for c in chains for e in c["decoys"]]
        assert all(keys.index(d) + 1 > k for d in decoys if d in keys)
    (world.root / f"graph_topk_{hops}.json").write_text(json.dumps(ranks))
    print(f"planted chains within top k at {hops} hops: {ranks}")


def test_a_controlled_company_states_why_with_its_proof_first(world: GraphWorld) -> None:
    child = next(
        c for c in world.truth["control_chains"] if c["relative_id"] and len(c["entities"]) == 4
    )
    app_id = world.application([("person_id", child["official_id"])], unmask=True)
    body = linked(world, "person_id", child["official_id"], app_id, hops=2, page_size=50)
    further = _key(child["entities"][-1])
    (found,) = [e for e in body["entities"] if e["key"] == further]
    assert found["standing"] == "controlled"
    assert found["standing_label"] == "受控企业"
    assert found["hops"] == 4  # past the requested hops: control is followed to its end
    assert found["control"]["bases"] == ["经受控企业控股"]
    assert found["control"]["controller"] == f"p:{child['relative_id']}"
    assert found["paths"][0]["chain"] == "子女 → 股东(60%) → 控股(100%) → 控股(51%)"
    relative = next(e for e in body["entities"] if e["key"] == f"p:{child['relative_id']}")
    assert relative["standing"] == "close_relative"


def test_the_same_name_official_is_not_linked(world: GraphWorld) -> None:
    p = world.patterns["same_name_officials"]
    app_id = world.application(
        [("person_id", p["official_id"]), ("person_id", p["other_official_id"])]
    )
    named = world.get(f"/graph/person_id/{p['official_id']}/subgraph", app_id, hops=1).json()
    other = world.get(f"/graph/person_id/{p['other_official_id']}/subgraph", app_id, hops=1).json()
    petition = f"x:{p['petition_number']}"
    assert petition in {n["key"] for n in named["nodes"]}
    assert petition not in {n["key"] for n in other["nodes"]}
    (edge,) = [e for e in named["edges"] if e["src"] == petition]
    assert edge["resolution"]["status"] == "resolved"
    assert f"工作单位一致：{p['unit']}" in edge["resolution"]["evidence"]
    body = linked(world, "person_id", p["official_id"], app_id, hops=3, page_size=50)
    other_key = next(n["key"] for n in other["nodes"] if n["hop"] == 0)
    assert other_key not in {e["key"] for e in body["entities"]}


def test_a_subject_outside_the_application_is_refused_and_logged(world: GraphWorld) -> None:
    p = world.patterns["official_spouse_company"]
    app_id = world.application([("person_id", p["official_id"])])
    before = len(log_entries(world.settings))
    response = world.get(f"/graph/person_id/{p['spouse_id']}/linked", app_id)
    assert response.status_code == 403, response.text
    assert "entities" not in response.json()
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/graph/person_id/{id}/linked", {"hops": 4}),
        ("/graph/person_id/{id}/linked", {"fan_out": 0}),
        ("/graph/name/方红莉/linked", {}),
        ("/graph/person_id/123/linked", {}),
        ("/graph/person_id/{id}/subgraph", {"kinds": "complainant"}),
    ],
)
def test_bad_parameters_are_4xx(world: GraphWorld, url: str, params: dict[str, Any]) -> None:
    official = world.patterns["official_spouse_company"]["official_id"]
    app_id = world.application([("person_id", official)])
    response = world.get(url.format(id=official), app_id, **params)
    assert 400 <= response.status_code < 500, response.text


def test_the_fan_out_cap_holds_on_the_hub_company(world: GraphWorld) -> None:
    hub = world.patterns["hub_company"]
    app_id = world.application([("credit_code", hub["code"])])
    body = linked(world, "credit_code", hub["code"], app_id, hops=2, fan_out=25)
    (cut,) = [c for c in body["cuts"] if c["key"] == f"c:{hub['code']}"]
    assert cut["degree"] >= hub["insured_persons"] > 25
    assert cut["kept"] == 25
    subgraph = world.get(
        f"/graph/credit_code/{hub['code']}/subgraph", app_id, hops=1, fan_out=25
    ).json()
    assert len(subgraph["nodes"]) <= 26
    assert len([e for e in subgraph["edges"] if f"c:{hub['code']}" in (e["src"], e["dst"])]) == 25


def test_the_path_between_an_official_and_the_spouse_company(world: GraphWorld) -> None:
    p = world.patterns["official_spouse_company"]
    app_id = world.application(
        [("person_id", p["official_id"]), ("credit_code", p["company_code"])]
    )
    response = world.client.get(
        "/graph/path",
        headers=bearer(world.tokens, "ana", app_id),
        params={
            "from_kind": "person_id",
            "from_value": p["official_id"],
            "to_kind": "credit_code",
            "to_value": p["company_code"],
            "hops": 2,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["found"]
    assert body["paths"][0]["chain"] == "配偶 → 法定代表人"
    assert body["paths"][0]["steps"][0]["dst_name"] == p["spouse_name"]


def test_responses_mask_person_numbers_unless_the_application_unmasks(world: GraphWorld) -> None:
    p = world.patterns["official_spouse_company"]
    masked_app = world.application([("person_id", p["official_id"])])
    response = world.get(f"/graph/person_id/{p['official_id']}/subgraph", masked_app, hops=2)
    assert response.status_code == 200
    assert not has_full_id(response.text)
    unmasked_app = world.application([("person_id", p["official_id"])], unmask=True)
    response = world.get(f"/graph/person_id/{p['official_id']}/subgraph", unmasked_app, hops=2)
    assert p["spouse_id"] in response.text


def test_the_regions_of_the_application_bound_the_edges(world: GraphWorld) -> None:
    p = world.patterns["official_child_chain"]
    county = p["official_id"][:6]
    app_id = world.application([("person_id", p["official_id"])], regions=[county])
    body = linked(world, "person_id", p["official_id"], app_id, hops=3)
    assert entity(body, p["child_name"]) is not None
    for code, name in (
        (p["holding_code"], p["holding_name"]),
        (p["subsidiary_code"], p["subsidiary_name"]),
    ):
        inside = code[2:8].startswith(county)  # the records of a company carry its region
        assert (entity(body, name) is not None) == inside, name
    assert not p["subsidiary_code"][2:8].startswith(county)  # the drop puts it elsewhere


def test_graphml_is_an_export_that_needs_the_flag_and_is_logged(world: GraphWorld) -> None:
    p = world.patterns["official_spouse_company"]
    url = f"/graph/person_id/{p['official_id']}/graphml"
    plain = world.application([("person_id", p["official_id"])])
    assert world.get(url, plain).status_code == 403
    allowed = world.application([("person_id", p["official_id"])], export=True)
    before = len(log_entries(world.settings))
    response = world.get(url, allowed, hops=2)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/graphml+xml")
    assert "<graphml" in response.text
    assert p["company_name"] in response.text
    assert not has_full_id(response.text)
    kinds = [e.kind for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert kinds == ["query_request", "query_outcome", "export"]


def test_no_edge_reaches_a_complainant(world: GraphWorld, door: EngineDoor) -> None:
    ids = [f"p:{c['id_number']}" for c in world.truth["complainants"]]
    alias = edges_alias(world.settings.index_prefix)
    assert door.count(alias, {"query": {"terms": {"nodes": ids}}}) == 0
    assert door.count(alias, {"query": {"term": {"kind": "reported"}}}) > 0


def test_an_analysts_rejection_and_confirmation_are_respected_by_the_next_build(
    world: GraphWorld,
) -> None:
    p = world.patterns["same_name_officials"]
    app_id = world.application([("person_id", p["official_id"])])
    url = f"/graph/person_id/{p['official_id']}/subgraph"
    petition = f"x:{p['petition_number']}"
    (edge,) = [e for e in world.get(url, app_id, hops=1).json()["edges"] if e["src"] == petition]
    mention = edge["resolution"]["mention"]

    def decide(decision: str) -> Any:
        return world.client.post(
            f"/graph/mentions/{mention}/decision",
            json={"candidate_id_number": p["official_id"], "decision": decision, "note": "核对"},
            headers=bearer(world.tokens, "ana", app_id),
        )

    before = len(log_entries(world.settings))
    rejected = decide("reject")
    assert rejected.status_code == 200, rejected.text
    logged = [e for e in log_entries(world.settings)[before:] if e.kind == "admin_action"]
    assert len(logged) == 1
    assert p["official_id"] not in json.dumps([logged[0].params, logged[0].detail])
    world.rebuild()
    keys = {n["key"] for n in world.get(url, app_id, hops=1).json()["nodes"]}
    assert petition not in keys  # the rejected match is not made again
    assert decide("confirm").status_code == 200
    world.rebuild()
    edges = world.get(url, app_id, hops=1).json()["edges"]
    (edge,) = [e for e in edges if e["src"] == petition]
    assert edge["resolution"]["status"] == "confirmed"


def test_a_decision_on_an_unknown_mention_is_404(world: GraphWorld) -> None:
    p = world.patterns["same_name_officials"]
    app_id = world.application([("person_id", p["official_id"])])
    response = world.client.post(
        "/graph/mentions/0123456789abcdef/decision",
        json={"candidate_id_number": p["official_id"], "decision": "confirm"},
        headers=bearer(world.tokens, "ana", app_id),
    )
    assert response.status_code == 404, response.text


def test_the_log_of_graph_requests_holds_no_full_id_number(world: GraphWorld) -> None:
    p = world.patterns["official_spouse_company"]
    app_id = world.application(
        [("person_id", p["official_id"]), ("credit_code", p["company_code"])]
    )
    world.get(f"/graph/person_id/{p['official_id']}/linked", app_id)
    world.get(f"/graph/person_id/{p['spouse_id']}/linked", app_id)  # refused: logged as a denial
    world.client.get(
        "/graph/path",
        headers=bearer(world.tokens, "ana", app_id),
        params={
            "from_kind": "person_id",
            "from_value": p["official_id"],
            "to_kind": "credit_code",
            "to_value": p["company_code"],
        },
    )
    for entry in log_entries(world.settings):
        text = json.dumps(
            [entry.params, entry.scope, entry.detail, entry.purpose], ensure_ascii=False
        )
        assert p["official_id"] not in text, entry.seq
        assert p["spouse_id"] not in text, entry.seq


def test_a_malformed_start_number_is_a_logged_refusal(world: GraphWorld) -> None:
    official = world.patterns["official_spouse_company"]["official_id"]
    app_id = world.application([("person_id", official)])
    before = len(log_entries(world.settings))
    response = world.get(f"/graph/person_id/{official[:-1]}/linked", app_id)
    assert response.status_code == 422, response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]
    assert official[:-1] not in json.dumps([new[0].params, new[0].detail], ensure_ascii=False)


@contextmanager
def engine_door(world: GraphWorld, door: EngineDoor) -> Iterator[None]:
    """The app answers through ``door`` for the block (then its own again)."""
    app = world.client.app
    working = app.state.provider  # type: ignore[attr-defined]
    app.state.provider = door  # type: ignore[attr-defined]
    try:
        yield
    finally:
        app.state.provider = working  # type: ignore[attr-defined]
        door.close()


GRAPH_ROUTES = ["linked", "subgraph", "path"]


def _graph_request(world: GraphWorld, route: str, app_id: int) -> Any:
    p = world.patterns["official_spouse_company"]
    if route == "path":
        return world.get(
            "/graph/path",
            app_id,
            from_kind="person_id",
            from_value=p["official_id"],
            to_kind="credit_code",
            to_value=p["company_code"],
        )
    return world.get(f"/graph/person_id/{p['official_id']}/{route}", app_id)


def _outcome_of_last_request(world: GraphWorld) -> tuple[str, Any]:
    last = [e for e in log_entries(world.settings) if e.kind == "query_outcome"][-1]
    return last.outcome, (load_json(last.detail) or {}).get("error")


@pytest.mark.parametrize("route", GRAPH_ROUTES)
def test_an_unreachable_engine_is_a_logged_503(world: GraphWorld, route: str) -> None:
    p = world.patterns["official_spouse_company"]
    app_id = world.application(
        [("person_id", p["official_id"]), ("credit_code", p["company_code"])]
    )
    dead = EngineDoor.connect(  # nothing listens on port 9 of the loopback
        "http://127.0.0.1:9", world.settings.index_prefix, timeout_s=2, max_retries=0
    )
    with engine_door(world, dead):
        response = _graph_request(world, route, app_id)
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "the search engine did not answer"},
    )
    assert _outcome_of_last_request(world) == ("error", "ConnectionError")


@pytest.mark.parametrize("route", GRAPH_ROUTES)
def test_a_graph_not_built_is_a_logged_503(world: GraphWorld, route: str) -> None:
    p = world.patterns["official_spouse_company"]
    app_id = world.application(
        [("person_id", p["official_id"]), ("credit_code", p["company_code"])]
    )
    unbuilt = EngineDoor.for_api(  # a prefix no graph was built under
        world.settings.model_copy(update={"index_prefix": f"unbuilt-{uuid.uuid4().hex[:8]}"})
    )
    with engine_door(world, unbuilt):
        response = _graph_request(world, route, app_id)
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "the relationship graph has not been built yet"},
    )
    assert _outcome_of_last_request(world) == ("error", "GraphNotBuiltError")
