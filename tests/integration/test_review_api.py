"""The auditors' review through the real app: seeded misuse is flagged, a clean user is not.

Real OpenSearch (a generated drop is ingested: the household rule reads its household index),
real SQLite store, real FastAPI app. The log stamps entries with the real time, so working hours
are configured as "none": every query of this test is after hours, and only a burst is flagged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apiworld import (
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
from fastapi.testclient import TestClient

from accounts.roles import Role
from common.settings import Settings
from query_logs.audit import AuditEntry, load_json
from query_logs.review import CSV_HEADER
from registry.engine import EngineDoor
from search_api.access import Access
from search_api.app import create_app, route_inventory

FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
BURST = 5  # the after_hours_burst threshold of the shipped rule table
REVIEW_ROUTES = ["/audit/review", "/audit/review.csv", "/audit/users/clean/timeline"]


@dataclass
class World:
    client: TestClient
    settings: Settings
    official_id: str
    spouse_id: str
    tokens: dict[str, str]

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    def entries(self) -> list[AuditEntry]:
        return log_entries(self.settings)

    def review(self, **params: str) -> dict[str, Any]:
        response = self.client.get("/audit/review", headers=self.headers("auditor"), params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _stranger_in_another_household(settings: Settings, official_id: str) -> str:
    """The ID of someone registered in a household other than the official's."""
    with EngineDoor.for_api(settings) as door:
        index = door.index_name("household")
        own = door.search(index, {"query": {"term": {"id_number": official_id}}})
        household = own["hits"]["hits"][0]["_source"]["household_no"]
        other = door.search(index, {
            "size": 1, "sort": [{"id_number": "asc"}],
            "query": {"bool": {"must_not": [{"term": {"household_no": household}}]}},
        })  # fmt: skip
        return str(other["hits"]["hits"][0]["_source"]["id_number"])


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("review")
    local = isolated_settings(settings, root, "rev").model_copy(
        update={"review_working_hours": "none"}
    )
    truth = ingest_demo(local, root, persons=300, seed=5)
    pattern = truth["patterns"]["official_spouse_company"]
    official_id, spouse_id = pattern["official_id"], pattern["spouse_id"]
    region = official_id[:4]
    # who: roles, own ID number
    users: dict[str, tuple[list[Role], str | None]] = {
        "selfie": ([Role.INVESTIGATOR], official_id),  # will look up their own ID
        "kin": ([Role.INVESTIGATOR], spouse_id),  # will look up their spouse
        "night": ([Role.INVESTIGATOR], None),  # will send a burst of queries
        "clean": ([Role.INVESTIGATOR], _stranger_in_another_household(local, official_id)),
        "nosy": ([Role.INVESTIGATOR], None),  # asks for the review (refused: its denials)
        "boss": ([Role.APPROVER], None),
        "auditor": ([Role.SECURITY_AUDITOR], None),
    }
    add_accounts(
        local,
        {
            name: (roles, region if name != "auditor" else "46", own_id)
            for name, (roles, own_id) in users.items()
        },
    )
    with TestClient(create_app(local)) as client:
        world = World(client, local, official_id, spouse_id, log_in(client, users))
        for who, queries in (("selfie", 1), ("kin", 1), ("night", BURST), ("clean", BURST - 1)):
            app_id = _approved_application(world, who, region)
            for _ in range(queries):
                response = client.get(
                    f"/persons/{official_id}/records", headers=world.headers(who, app_id)
                )
                assert response.status_code == 200, response.text
        yield world


def _approved_application(world: World, who: str, region: str) -> int:
    body = {
        # Each user's own words: the same purpose in several cases would be flagged as copied.
        "purpose": f"核查举报反映的公职人员配偶经商办企业问题线索（{who} 承办）",
        "category": "初核",
        "sources": ["household", "official", "company", "shareholder"],
        "regions": [region],
        "subjects": [{"kind": "person_id", "value": world.official_id}],
    }
    return approve(world.client, world.tokens, body, applicant=who)


def _findings(body: dict[str, Any], actor: str) -> set[str]:
    return {f["rule"] for f in body["findings"] if f["actor"] == actor}


@pytest.mark.parametrize(
    ("who", "rules"),
    [
        ("selfie", {"self_lookup"}),
        ("kin", {"household_lookup"}),
        ("night", {"after_hours_burst"}),
        ("clean", set()),
    ],
)
def test_seeded_misuse_is_flagged_and_the_clean_user_is_not(
    world: World, who: str, rules: set[str]
) -> None:
    assert _findings(world.review(), who) == rules


def test_every_check_ran_for_the_clean_user(world: World) -> None:
    body = world.review()
    assert not [g for g in body["gaps"] if "clean" in g["actors"]]
    (timeline,) = [t for t in body["timelines"] if t["actor"] == "clean"]
    assert timeline["governed_queries"] == BURST - 1
    assert timeline["after_hours_queries"] == BURST - 1  # all, with working hours "none"


def test_the_review_names_pseudonyms_never_an_id_number(world: World) -> None:
    response = world.client.get("/audit/review", headers=world.headers("auditor"))
    assert not FULL_ID.search(response.text)
    (kin,) = [f for f in response.json()["findings"] if f["rule"] == "household_lookup"]
    (subject,) = kin["subjects"]
    assert subject.startswith(world.official_id[:6] + "*" * 12 + "~")


def test_the_review_and_the_household_lookup_are_logged_as_audit_reads(world: World) -> None:
    before = len(world.entries())
    world.review(actor="kin")
    reads = [e for e in world.entries()[before:] if e.kind == "audit_read"]
    details = [load_json(e.detail) for e in reads]
    assert details == [{"review": {"actor": "kin"}},
                       {"household_lookup": {"index": "household", "users": ["kin"]}}]  # fmt: skip
    assert all(e.actor == "auditor" and e.route == "GET /audit/review" for e in reads)


def test_actor_filter_returns_that_users_findings_and_timeline(world: World) -> None:
    body = world.review(actor="selfie")
    assert {f["actor"] for f in body["findings"]} == {"selfie"}
    assert [t["actor"] for t in body["timelines"]] == ["selfie"]


def test_csv_export_is_excel_readable_one_row_per_finding_and_logged(world: World) -> None:
    before = len(world.entries())
    response = world.client.get("/audit/review.csv", headers=world.headers("auditor"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER
    findings = {(r[1], r[3]) for r in rows[1:] if r[0] != "未检查 not checked"}
    assert {("self_lookup", "selfie"), ("household_lookup", "kin")} <= findings
    assert not any(actor == "clean" for _rule, actor in findings)
    assert not FULL_ID.search(response.content.decode("utf-8-sig"))
    kinds = [(e.kind, e.route) for e in world.entries()[before:]]
    assert ("audit_read", "GET /audit/review.csv") in kinds


def test_user_timeline_lists_events_with_their_flags(world: World) -> None:
    response = world.client.get("/audit/users/selfie/timeline", headers=world.headers("auditor"))
    assert response.status_code == 200, response.text
    body = response.json()
    requests = [e for e in body["events"] if e["kind"] == "query_request"]
    assert len(requests) == 1
    assert requests[0]["flags"] == ["self_lookup"]
    assert body["summary"]["governed_queries"] == 1
    assert {f["rule"] for f in body["findings"]} == {"self_lookup"}
    assert not FULL_ID.search(response.text)


def test_timeline_of_an_unknown_user_is_404(world: World) -> None:
    response = world.client.get("/audit/users/nobody/timeline", headers=world.headers("auditor"))
    assert response.status_code == 404


@pytest.mark.parametrize("route", REVIEW_ROUTES)
@pytest.mark.parametrize("who", ["nosy", "boss"])
def test_non_auditors_get_403_and_the_refusal_is_logged(world: World, who: str, route: str) -> None:
    before = len(world.entries())
    response = world.client.get(route, headers=world.headers(who))
    assert response.status_code == 403
    new = [e for e in world.entries()[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.actor, e.outcome) for e in new] == [("denial", who, "denied")]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2024-05-01T00:00:00"},  # no time zone
        {"since": "2024-05-02T00:00:00+08:00", "until": "2024-05-01T00:00:00+08:00"},
        {"actor": "not a username!"},
    ],
)
def test_bad_review_parameters_are_422(world: World, params: dict[str, str]) -> None:
    response = world.client.get("/audit/review", headers=world.headers("auditor"), params=params)
    assert response.status_code == 422


def test_household_index_unreachable_is_a_gap_and_the_other_rules_still_run(world: World) -> None:
    app = world.client.app
    working = app.state.provider  # type: ignore[attr-defined]
    dead = EngineDoor.connect(  # nothing listens on port 9 of the loopback
        "http://127.0.0.1:9", world.settings.index_prefix, timeout_s=2, max_retries=0
    )
    app.state.provider = dead  # type: ignore[attr-defined]
    try:
        body = world.review()
    finally:
        app.state.provider = working  # type: ignore[attr-defined]
        dead.close()
    seeded = {"selfie", "kin", "night", "clean"}
    rules = {f["rule"] for f in body["findings"] if f["actor"] in seeded}
    assert rules == {"self_lookup", "after_hours_burst"}
    (gap,) = [g for g in body["gaps"] if g["rule"] == "household_lookup"]
    assert gap["actors"] == ["clean", "kin", "selfie"]
    assert "could not be searched" in gap["reason_en"]


def test_a_period_without_the_misuse_has_no_findings(world: World) -> None:
    body = world.review(until="2000-01-01T00:00:00+08:00")
    assert (body["entries_reviewed"], body["findings"]) == (0, [])


def test_the_review_routes_are_classified_as_audit() -> None:
    inventory = route_inventory()
    for route in ("/audit/review", "/audit/review.csv", "/audit/users/{username}/timeline"):
        assert inventory[f"GET {route}"] is Access.AUDIT
