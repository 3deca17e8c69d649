"""Person (一人一档) and company profiles end to end, through the gate, over an ingested drop.

Real OpenSearch, real SQLite store, real app. What a profile must hold is read from the drop's
ground truth (the planted patterns) and from the indexed documents, never written by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apiworld import add_accounts, bearer, ingest_demo, isolated_settings, log_entries, log_in
from apiworld import approved_application as approve
from fastapi.testclient import TestClient

from accounts.roles import Role
from analyzers.ids import normalise_person_id
from common.settings import Settings
from registry.engine import EngineDoor
from search_api.app import create_app
from search_api.masking import mask_id

PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
ALL_SOURCES = ["household", "company", "shareholder", "company_officer", "insured", "benefit",
               "property", "petition", "official"]  # fmt: skip
REGION = "46"
COMPLAINANT_KEYS = ("complainant", "反映人")


@dataclass
class World:
    client: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]
    engine: EngineDoor

    @property
    def patterns(self) -> dict[str, Any]:
        return dict(self.truth["patterns"])

    def application(self, subjects: list[tuple[str, str]], **overrides: Any) -> int:
        body = {"purpose": PURPOSE, "category": "初核", "sources": ALL_SOURCES,
                "regions": [REGION],
                "subjects": [{"kind": k, "value": v} for k, v in subjects]} | overrides  # fmt: skip
        return approve(self.client, self.tokens, body, title="一人一档")

    def person(self, id_number: str, app_id: int | None = None) -> Any:
        app_id = app_id or self.application([("person_id", id_number)])
        return self.client.get(
            f"/persons/{id_number}/profile", headers=bearer(self.tokens, "inv", app_id)
        )

    def company(self, code: str, app_id: int | None = None) -> Any:
        app_id = app_id or self.application([("credit_code", code)])
        return self.client.get(
            f"/companies/{code}/profile", headers=bearer(self.tokens, "inv", app_id)
        )

    def docs(self, **term: str) -> list[dict[str, Any]]:
        """Indexed documents (every source) with this term, within the province."""
        body = {"size": 1000, "query": {"bool": {"filter": [
            {"term": term}, {"term": {"region_prefixes": REGION}}]}}}  # fmt: skip
        hits = self.engine.search(f"{self.settings.index_prefix}-*", body)
        return [h["_source"] for h in hits["hits"]["hits"]]


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("profiles")
    local = isolated_settings(settings, root, "prof")
    truth = ingest_demo(local, root, persons=300, seed=5)
    add_accounts(local, {"inv": ([Role.INVESTIGATOR], REGION), "boss": ([Role.APPROVER], REGION)})
    with TestClient(create_app(local)) as client:
        yield World(client, local, truth, log_in(client, ["inv", "boss"]), door)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def expected_members(world: World, household_no: str, self_id: str) -> set[tuple[str, str, str]]:
    return {(d["name"], d["relation"], mask_id(d["id_number"]))
            for d in world.docs(household_no=household_no)
            if d["source"] == "household" and d["id_number"] != self_id}  # fmt: skip


def test_the_officials_profile_holds_the_spouse_as_a_household_member(world: World) -> None:
    plant = world.patterns["official_spouse_company"]
    profile = ok(world.person(plant["official_id"]))
    (household,) = profile["household"]
    assert household["household_no"] == plant["household"]
    members = {(m["name"], m["relation"], m["id_number"]) for m in household["members"]}
    assert members == expected_members(world, plant["household"], plant["official_id"])
    spouse = {(m["name"], m["relation"]) for m in household["members"]}
    assert (plant["spouse_name"], "配偶") in spouse
    assert profile["id_number"] == mask_id(plant["official_id"])
    assert plant["official_name"] in profile["names"]


def test_the_spouses_profile_holds_the_company_as_legal_rep_and_shareholder(world: World) -> None:
    plant = world.patterns["official_spouse_company"]
    profile = ok(world.person(plant["spouse_id"]))
    roles = {(c["credit_code"], c["role"], c["share_percent"]) for c in profile["companies"]}
    assert (plant["company_code"], "法定代表人", None) in roles
    assert (plant["company_code"], "股东", plant["spouse_percent"]) in roles


def test_the_childs_profile_holds_the_holding_company_and_the_parent(world: World) -> None:
    plant = world.patterns["official_child_chain"]
    profile = ok(world.person(plant["child_id"]))
    roles = {(c["credit_code"], c["role"], c["share_percent"]) for c in profile["companies"]}
    assert (plant["holding_code"], "股东", plant["child_percent"]) in roles
    (household,) = profile["household"]
    assert plant["official_name"] in {m["name"] for m in household["members"]}


def test_every_group_counts_the_persons_records_in_scope(world: World) -> None:
    pid = world.patterns["official_spouse_company"]["official_id"]
    profile = ok(world.person(pid))
    in_scope = world.docs(persons=pid)
    counts = {g["source"]: g["total"] for g in profile["groups"]}
    assert counts == {
        s: sum(d["source"] == s for d in in_scope) for s in {d["source"] for d in in_scope}
    }
    employers = {e["employer_code"] for e in profile["employers"]}
    assert employers == {d["employer_code"] for d in in_scope if d["source"] == "insured"}


def test_a_deceased_pensioner_shows_the_death_and_the_payments_after_it(world: World) -> None:
    plant = world.patterns["deceased_still_paid"]
    profile = ok(world.person(plant["person_id"]))
    assert profile["status"] == "死亡"
    assert profile["death_date"] == plant["died"]
    (pension,) = [b for b in profile["benefits"] if b["benefit_type"] == plant["benefit_kind"]]
    assert pension["last_paid_on"] > plant["died"]
    paid = [d for d in world.docs(persons=plant["person_id"]) if d["source"] == "benefit"
            and d["benefit_type"] == plant["benefit_kind"]]  # fmt: skip
    assert pension["payments"] == len(paid)


def test_petitions_appear_where_the_person_is_reported_never_the_complainant(world: World) -> None:
    reported = next(d for d in world.docs(source="petition") if d.get("persons"))
    pid = reported["persons"][0]
    profile = ok(world.person(pid))
    (petitions,) = [g for g in profile["groups"] if g["source"] == "petition"]
    numbers = {r["record"]["petition_no"] for r in petitions["records"]}
    expected = {d["petition_no"] for d in world.docs(persons=pid) if d["source"] == "petition"}
    assert numbers == expected
    text = json.dumps(profile, ensure_ascii=False)
    assert not any(key in text for key in COMPLAINANT_KEYS)
    for complainant in world.truth["complainants"]:
        for value in (complainant["name"], complainant["id_number"], complainant["phone"]):
            assert value not in text


def test_a_petition_naming_an_official_without_id_is_a_mention_of_that_official_only(
    world: World,
) -> None:
    same = world.patterns["same_name_officials"]
    (petition,) = [d for d in world.docs(source="petition")
                   if d["petition_no"] == same["petition_number"]]  # fmt: skip
    named = [r for r in petition["reported"] if r.get("name") == same["name"]]
    assert named
    assert not any(r.get("id_number") for r in named)  # known by name, unit and post only
    mentioned = ok(world.person(same["official_id"]))
    assert same["petition_number"] in {m["petition_no"] for m in mentioned["mentions"]}
    assert {m["link"] for m in mentioned["mentions"]} == {"姓名及单位相符"}
    assert "content" not in json.dumps(mentioned["mentions"])
    other = ok(world.person(same["other_official_id"]))
    assert same["petition_number"] not in {m["petition_no"] for m in other["mentions"]}


def test_a_complainant_named_as_a_subject_has_an_empty_profile(world: World) -> None:
    for complainant in world.truth["complainants"]:
        response = world.person(complainant["id_number"])
        profile = ok(response)
        assert (profile["names"], profile["groups"], profile["household"]) == ([], [], [])
        for value in (complainant["name"], complainant["id_number"], complainant["phone"]):
            assert value not in response.text


def test_a_profile_is_masked_unless_the_application_unmasks_and_members_always_are(
    world: World,
) -> None:
    plant = world.patterns["official_spouse_company"]
    masked = world.person(plant["official_id"])
    assert not FULL_ID.search(masked.text)
    unmasking = world.application([("person_id", plant["official_id"])], unmask=True)
    profile = ok(world.person(plant["official_id"], unmasking))
    assert profile["id_number"] == plant["official_id"]
    spouse = next(m for h in profile["household"] for m in h["members"] if m["relation"] == "配偶")
    assert spouse["id_number"] == mask_id(plant["spouse_id"])


def test_a_subject_outside_the_application_is_a_logged_403_without_data(world: World) -> None:
    plant = world.patterns["official_spouse_company"]
    other = world.truth["complainants"][0]["id_number"]
    app_id = world.application([("person_id", plant["official_id"])])
    before = len(log_entries(world.settings))
    for url in (f"/persons/{plant['spouse_id']}/profile", f"/persons/{other}/profile",
                f"/companies/{plant['company_code']}/profile"):  # fmt: skip
        response = world.client.get(url, headers=bearer(world.tokens, "inv", app_id))
        assert response.status_code == 403, response.text
        assert "groups" not in response.json()
        assert other not in response.text
        assert other[-4:] not in response.text
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")] * 3


def test_a_profile_is_logged_with_its_outcome(world: World) -> None:
    pid = world.patterns["official_spouse_company"]["official_id"]
    app_id = world.application([("person_id", pid)])
    before = len(log_entries(world.settings))
    profile = ok(world.person(pid, app_id))
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "query_outcome"]
    assert (
        new[1].hit_count == sum(g["total"] for g in profile["groups"]) + profile["mentions_total"]
    )
    assert new[1].result_digest
    for entry in new:
        assert not FULL_ID.search(json.dumps([entry.params, entry.detail], ensure_ascii=False))


@pytest.mark.parametrize(
    "value",
    [
        "460106197307197808",
        "4601",
        "x" * 10_240,
        "王伟",
        "46010619730719780%00",
        "%0A%0D",
        "4.60102E+17",
        "'; DROP TABLE x; --",
    ],
)
def test_a_malformed_id_is_a_logged_422_with_a_message(world: World, value: str) -> None:
    app_id = world.application(
        [("person_id", world.patterns["official_spouse_company"]["official_id"])]
    )
    before = len(log_entries(world.settings))
    response = world.client.get(
        f"/persons/{value}/profile", headers=bearer(world.tokens, "inv", app_id)
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]
    assert "groups" not in response.json()
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]


def test_the_spouse_company_profile_holds_registration_shareholders_officers_staff(
    world: World,
) -> None:
    plant = world.patterns["official_spouse_company"]
    code = plant["company_code"]
    profile = ok(world.company(code))
    assert profile["registration"]["record"]["credit_code"] == code
    assert plant["company_name"] in profile["names"]
    holders = {
        (h["holder_name"], h["holder_id"], h["share_percent"]) for h in profile["shareholders"]
    }
    assert (plant["spouse_name"], mask_id(plant["spouse_id"]), plant["spouse_percent"]) in holders
    expected_holders = [d for d in world.docs(credit_code=code) if d["source"] == "shareholder"]
    assert len(profile["shareholders"]) == len(expected_holders)
    officers = {(o["name"], o["id_number"]) for o in profile["officers"]}
    assert officers == {(d["name"], mask_id(d["id_number"])) for d in world.docs(credit_code=code)
                        if d["source"] == "company_officer"}  # fmt: skip
    staff = {d["id_number"] for d in world.docs(employer_code=code)}
    assert profile["employees"]["count"] == len(staff)
    assert {e["id_number"] for e in profile["employees"]["listed"]} == {mask_id(s) for s in staff}
    # credit codes are shown whole and may be all digits: only a valid ID number is a leak
    leaked = [m for m in FULL_ID.findall(json.dumps(profile)) if normalise_person_id(m).value]
    assert not leaked


def test_a_holding_company_shows_its_subsidiary_and_the_subsidiary_its_holder(
    world: World,
) -> None:
    plant = world.patterns["official_child_chain"]
    holding = ok(world.company(plant["holding_code"]))
    investments = {(i["credit_code"], i["share_percent"]) for i in holding["investments"]}
    assert (plant["subsidiary_code"], plant["holding_percent"]) in investments
    owners = {(h["holder_id"], h["share_percent"]) for h in holding["shareholders"]}
    assert (mask_id(plant["child_id"]), plant["child_percent"]) in owners
    subsidiary = ok(world.company(plant["subsidiary_code"]))
    holders = {(h["holder_id"], h["share_percent"]) for h in subsidiary["shareholders"]}
    assert (plant["holding_code"], plant["holding_percent"]) in holders  # a code is not masked


def test_the_hub_companys_staff_are_counted_and_the_list_is_capped(world: World) -> None:
    hub = world.patterns["hub_company"]
    profile = ok(world.company(hub["code"]))
    staff = {d["id_number"] for d in world.docs(employer_code=hub["code"])}
    employees = profile["employees"]
    assert employees["count"] == len(staff)
    assert len(employees["listed"]) == min(len(staff), 50)
    assert employees["truncated"] is (len(staff) > 50)


def test_a_unit_profile_lists_the_petitions_that_name_it_as_references_only(
    world: World,
) -> None:
    official = world.patterns["official_spouse_company"]["official_id"]
    (employer,) = {(d["employer_code"], d["employer_name"]) for d in world.docs(persons=official)
                   if d["source"] == "insured"}  # fmt: skip
    code, name = employer
    profile = ok(world.company(code))

    def names_unit(petition: dict[str, Any]) -> bool:
        return any(r.get("unit") == name for r in petition.get("reported", []))

    petitions = [d for d in world.docs(source="petition")
                 if name in d.get("content", "") or names_unit(d)]  # fmt: skip
    assert petitions, "the drop names the official's unit in petitions"
    assert profile["petitions_total"] == len(petitions)
    assert {p["petition_no"] for p in profile["petitions"]} == {d["petition_no"] for d in petitions}
    named = {d["petition_no"] for d in petitions if names_unit(d)}
    assert {p["petition_no"] for p in profile["petitions"] if p["link"] == "被反映人单位"} == named
    text = json.dumps(profile["petitions"], ensure_ascii=False)
    assert "content" not in text
    for petition in petitions:
        for reported in petition.get("reported", []):
            assert reported.get("name", "\x00") not in text


@pytest.mark.parametrize(
    "value", ["9146900209366291R", "x" * 10_240, "琼海天成宏远物流有限责任公司", "%00"]
)
def test_a_malformed_credit_code_is_a_logged_422(world: World, value: str) -> None:
    code = world.patterns["official_spouse_company"]["company_code"]
    app_id = world.application([("credit_code", code)])
    before = len(log_entries(world.settings))
    response = world.client.get(
        f"/companies/{value}/profile", headers=bearer(world.tokens, "inv", app_id)
    )
    assert 400 <= response.status_code < 500, response.text
    assert "shareholders" not in response.json()
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]
