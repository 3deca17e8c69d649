"""Cross-tier clue search (专班) and the ledger export, end to end.

Real OpenSearch (a generated drop with theme petitions at every tier), real SQLite store, real
app; the cross-tier grant is proposed by the security administrator and approved by an approver.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apiworld import add_accounts, bearer, ingest_demo, isolated_settings, log_entries, log_in
from apiworld import approved_application as approve
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from accounts.roles import Role
from analyzers.regions import parse_region
from common.settings import Settings
from search_api.app import create_app
from search_api.models.ledger import EXPORT_ROW_CAP, HEADER

PURPOSE = "粮食购销领域腐败问题专项整治：汇总各层级信访线索"
TIERS = ["省", "市", "县", "乡"]
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


@dataclass
class World:
    client: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]
    province: str
    county: str

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    @property
    def theme(self) -> dict[str, Any]:
        theme: dict[str, Any] = self.truth["patterns"]["theme_petitions"]
        return theme

    def theme_within(self, prefix: str) -> set[str]:
        return {n for n, region in self.theme["regions"].items() if region.startswith(prefix)}


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("clues")
    local = isolated_settings(settings, root, "clues")
    truth = ingest_demo(local, root, persons=300, seed=41)
    regions: dict[str, str] = truth["patterns"]["theme_petitions"]["regions"]
    province = Counter(r[:2] for r in regions.values()).most_common(1)[0][0]
    county = sorted(r[:6] for r in regions.values() if r.startswith(province) and r[4:6] != "00")
    accounts = {
        "task": ([Role.SPECIAL_TASK], county[0]),
        "task2": ([Role.SPECIAL_TASK], county[0]),
        "boss": ([Role.APPROVER], province),
        "secadm": ([Role.SECURITY_ADMIN], province),
    }
    add_accounts(local, accounts)
    with TestClient(create_app(local)) as client:
        tokens = log_in(client, accounts)
        world = World(client, local, truth, tokens, province, county[0])
        proposed = client.post(
            "/admin/grants",
            json={"username": "task", "regions": [province], "valid_days": 7},
            headers=world.headers("secadm"),
        )
        assert proposed.status_code == 201, proposed.text
        approved = client.post(
            f"/grants/{proposed.json()['id']}/approve", headers=world.headers("boss")
        )
        assert approved.status_code == 200, approved.text
        yield world


def approved_application(world: World, who: str, regions: list[str], **overrides: Any) -> int:
    body = {
        "purpose": PURPOSE,
        "category": "专项整治",
        "sources": ["petition", "official", "company", "household"],
        "regions": regions,
    } | overrides
    return approve(world.client, world.tokens, body, applicant=who, title="粮食购销专项")


def all_hits(world: World, who: str, app_id: int, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every hit of a clue search, page by page (the result stays inside the window)."""
    hits: list[dict[str, Any]] = []
    while True:
        response = world.client.get(
            "/clues",
            params=params | {"page_size": 50, "offset": len(hits)},
            headers=world.headers(who, app_id),
        )
        assert response.status_code == 200, response.text
        page = response.json()["hits"]
        hits += page
        if len(page) < 50:
            return hits


def test_theme_petitions_of_every_tier_are_found_under_the_grant(world: World) -> None:
    app_id = approved_application(world, "task", [world.province])
    expected = world.theme_within(world.province)
    tiers = {t for t, numbers in world.theme["by_tier"].items() if set(numbers) & expected}
    assert tiers == set(TIERS)  # the theme really spans the handling levels
    hits = all_hits(world, "task", app_id, {"q": world.theme["keyword"], "sources": "petition"})
    found = {h["record"].get("petition_no") for h in hits}
    assert expected <= found
    assert {h["record"]["handling_tier"] for h in hits} >= tiers


def _locality(world: World, number: str) -> str:
    region = parse_region(world.theme["regions"][number]).value
    assert region is not None
    return region.tier


@pytest.mark.parametrize("tier", TIERS)
def test_the_tier_filter_is_the_handling_level_whatever_the_locality(
    world: World, tier: str
) -> None:
    app_id = approved_application(world, "task", [world.province], sources=["petition"])
    params = {"q": world.theme["keyword"], "tier": tier}
    hits = all_hits(world, "task", app_id, params)
    theme = world.theme_within(world.province)
    found = {h["record"]["petition_no"] for h in hits} & theme
    assert found == set(world.theme["by_tier"][tier]) & theme
    assert {h["record"]["handling_tier"] for h in hits} == {tier}
    localities = {_locality(world, n) for n in found}
    assert localities - {tier}  # handled here, about localities at other levels too


def test_groups_are_handling_levels_with_their_units_and_localities(world: World) -> None:
    app_id = approved_application(world, "task", [world.province])
    params = {"q": world.theme["keyword"]}
    first = world.client.get("/clues", params=params, headers=world.headers("task", app_id)).json()
    hits = all_hits(world, "task", app_id, params)
    assert len(hits) == first["total"] > 0

    def level(hit: dict[str, Any]) -> str:
        return str(hit["record"].get("handling_tier", "（无承办层级）"))

    def locality(hit: dict[str, Any]) -> str:
        return str(hit["record"].get("tier", "（无层级）"))

    assert {g["tier"] for g in first["groups"]} >= set(TIERS)
    assert {g["tier"]: g["count"] for g in first["groups"]} == dict(Counter(map(level, hits)))
    for group in first["groups"]:
        members = [h for h in hits if level(h) == group["tier"]]
        units = Counter(h["record"].get("handling_unit", "（未注明承办单位）") for h in members)
        listed = {u["unit"]: u["count"] for u in group["units"]}
        assert sum(listed.values()) + group["other_units_count"] == group["count"]
        assert all(units[unit] == count for unit, count in listed.items())
        by_locality = {c["tier"]: c["count"] for c in group["localities"]}
        assert by_locality == dict(Counter(map(locality, members)))
    overall = {c["tier"]: c["count"] for c in first["locality_tiers"]}
    assert overall == dict(Counter(map(locality, hits)))
    order = [g["tier"] for g in first["groups"]]
    assert order == sorted(order, key=[*TIERS, "（无承办层级）"].index)


def test_hits_come_by_handling_level_province_first(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], sources=["petition"])
    hits = all_hits(world, "task", app_id, {"q": world.theme["keyword"]})
    levels = [TIERS.index(h["record"]["handling_tier"]) for h in hits]
    assert levels == sorted(levels)
    assert len(set(levels)) == len(TIERS)


@pytest.mark.parametrize("tier", TIERS)
def test_the_locality_filter_is_the_tier_of_the_problems_region(world: World, tier: str) -> None:
    app_id = approved_application(world, "task", [world.province], sources=["petition"])
    params = {"q": world.theme["keyword"], "locality_tier": tier}
    hits = all_hits(world, "task", app_id, params)
    theme = world.theme_within(world.province)
    found = {h["record"]["petition_no"] for h in hits} & theme
    assert found == {n for n in theme if _locality(world, n) == tier}
    assert {h["record"]["tier"] for h in hits} == {tier}
    assert len({h["record"]["handling_tier"] for h in hits}) > 1


def test_without_the_grant_only_the_own_jurisdiction_is_reached(world: World) -> None:
    case = world.client.post(
        "/cases",
        json={"case_no": f"Z-{uuid.uuid4().hex[:8]}", "title": "越权"},
        headers=world.headers("task2"),
    )
    body = {
        "case_id": case.json()["id"],
        "purpose": PURPOSE,
        "category": "专项整治",
        "sources": ["petition"],
        "regions": [world.province],
    }
    assert (
        world.client.post("/applications", json=body, headers=world.headers("task2")).status_code
        == 403
    )
    app_id = approved_application(world, "task2", [world.county], sources=["petition"])
    hits = all_hits(world, "task2", app_id, {"q": world.theme["keyword"]})
    found = {h["record"]["petition_no"] for h in hits}
    assert found >= world.theme_within(world.county)
    assert found & set(world.theme["regions"]) <= world.theme_within(world.county)
    assert all(h["record"]["region_code"].startswith(world.county) for h in hits)
    outside = world.client.get(
        "/clues",
        params={"q": world.theme["keyword"], "region": world.province},
        headers=world.headers("task2", app_id),
    )
    assert outside.status_code == 403


# --- export -------------------------------------------------------------------------------------


def _new_entries(world: World, before: int) -> list[Any]:
    return [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]


def test_export_without_the_export_flag_is_refused_and_logged(world: World) -> None:
    app_id = approved_application(world, "task", [world.province])
    before = len(log_entries(world.settings))
    response = world.client.get(
        "/clues/export", params={"q": world.theme["keyword"]}, headers=world.headers("task", app_id)
    )
    assert response.status_code == 403
    assert "export" in response.json()["detail"]
    new = _new_entries(world, before)
    assert [e.kind for e in new] == ["denial"]


def _csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_export_is_logged_masked_and_parses_back(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], export=True)
    before = len(log_entries(world.settings))
    response = world.client.get(
        "/clues/export",
        params={"q": world.theme["keyword"], "format": "csv"},
        headers=world.headers("task", app_id),
    )
    assert response.status_code == 200, response.text
    rows = _csv_rows(response.content)
    assert rows[0] == list(HEADER)
    assert len(rows) - 1 == int(response.headers["x-ledger-rows"]) > 0
    numbers = {r[HEADER.index("信访件编号")] for r in rows[1:]}
    assert world.theme_within(world.province) <= numbers
    tiers = {
        r[HEADER.index("信访件编号")]: (r[HEADER.index("承办层级")], r[HEADER.index("属地层级")])
        for r in rows[1:]
    }
    for tier, listed in world.theme["by_tier"].items():
        for number in set(listed) & world.theme_within(world.province):
            assert tiers[number] == (tier, _locality(world, number))
    assert not FULL_ID.search(response.content.decode("utf-8"))
    masked = [r[HEADER.index("证件号码")] for r in rows[1:] if r[HEADER.index("证件号码")]]
    assert masked
    assert all("********" in cell for cell in masked)
    new = _new_entries(world, before)
    assert [e.kind for e in new] == ["query_request", "export", "query_outcome"]
    export = new[1]
    assert export.hit_count == len(rows) - 1
    detail = json.loads(export.detail or "{}")
    assert detail["rows"] == len(rows) - 1
    assert detail["format"] == "csv"
    assert detail["request_seq"] == new[0].seq


def test_xlsx_export_parses_back(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], export=True)
    response = world.client.get(
        "/clues/export",
        params={"q": world.theme["keyword"], "format": "xlsx"},
        headers=world.headers("task", app_id),
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = [[c or "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert tuple(rows[0]) == HEADER
    assert len(rows) - 1 == int(response.headers["x-ledger-rows"])
    assert not any(FULL_ID.search(str(cell)) for row in rows for cell in row)


@pytest.mark.parametrize(("limit", "expected"), [(7, 7), (None, EXPORT_ROW_CAP)])
def test_export_honours_the_row_cap(world: World, limit: int | None, expected: int) -> None:
    everything = ["household", "company", "shareholder", "company_officer", "insured",
                  "benefit", "property", "petition", "official"]  # fmt: skip
    app_id = approved_application(world, "task", [world.province], export=True, sources=everything)
    params: dict[str, Any] = {"q": "养老金 OR 公司", "format": "csv"}
    if limit is not None:
        params["limit"] = limit
    response = world.client.get(
        "/clues/export", params=params, headers=world.headers("task", app_id)
    )
    assert response.status_code == 200, response.text
    assert int(response.headers["x-ledger-total"]) > expected
    assert len(_csv_rows(response.content)) - 1 == expected


def test_a_limit_above_the_cap_is_refused(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], export=True)
    response = world.client.get(
        "/clues/export",
        params={"q": "公司", "limit": EXPORT_ROW_CAP + 1},
        headers=world.headers("task", app_id),
    )
    assert response.status_code == 422


def test_unmasking_shows_whole_id_numbers_only_when_granted(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], export=True, unmask=True)
    response = world.client.get(
        "/clues/export", params={"q": world.theme["keyword"]}, headers=world.headers("task", app_id)
    )
    assert response.status_code == 200
    assert FULL_ID.search(response.content.decode("utf-8"))


def test_complainants_never_appear_in_clues_or_exports(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], export=True, unmask=True)
    complainants = world.truth["complainants"]
    assert complainants
    values = [v for p in complainants for v in (p["name"], p["id_number"], p["phone"])]
    for value in values[:12]:
        for url in ("/clues", "/clues/export"):
            response = world.client.get(
                url, params={"q": value}, headers=world.headers("task", app_id)
            )
            assert response.status_code == 200, response.text
            text = response.content.decode("utf-8")
            assert not any(v in text for v in values)
    ledger = world.client.get(
        "/clues/export", params={"q": world.theme["keyword"]}, headers=world.headers("task", app_id)
    ).content.decode("utf-8")
    assert not any(v in ledger for v in values)


def test_a_malformed_clue_query_is_a_logged_400(world: World) -> None:
    app_id = approved_application(world, "task", [world.province], export=True)
    for url in ("/clues", "/clues/export"):
        before = len(log_entries(world.settings))
        response = world.client.get(
            url, params={"q": "粮食*"}, headers=world.headers("task", app_id)
        )
        assert response.status_code == 400
        assert [e.kind for e in _new_entries(world, before)] == ["denial"]
