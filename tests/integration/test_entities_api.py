"""Entity search end to end: GET /entities over an ingested demo drop, through the gate.

Real OpenSearch, real SQLite store, real app. Expected cards are derived from the drop's ground
truth and from the indexed documents themselves, never written down by hand.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apiworld import add_accounts, bearer, ingest_demo, isolated_settings, log_entries, log_in
from apiworld import approved_application as approve
from fastapi.testclient import TestClient

from accounts.roles import Role
from common.settings import Settings
from registry.engine import EngineDoor
from search_api.app import create_app
from search_api.masking import mask_id

PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
ALL_SOURCES = ["household", "company", "shareholder", "company_officer", "insured", "benefit",
               "property", "petition", "official"]  # fmt: skip
REGION = "46"


@dataclass
class World:
    client: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]
    engine: EngineDoor
    broad: int  # an application over every source of the province, no subjects

    def get(self, app_id: int | None = None, **params: Any) -> Any:
        return self.client.get(
            "/entities", params=params, headers=bearer(self.tokens, "inv", app_id or self.broad)
        )

    def cards(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get(**params)
        assert response.status_code == 200, response.text
        cards: list[dict[str, Any]] = response.json()["cards"]
        return cards

    def docs(self, **term: str) -> list[dict[str, Any]]:
        """Indexed documents (every source) with this term, within the province."""
        body = {"size": 500, "query": {"bool": {"filter": [
            {"term": term}, {"term": {"region_prefixes": REGION}}]}}}  # fmt: skip
        hits = self.engine.search(f"{self.settings.index_prefix}-*", body)
        return [h["_source"] for h in hits["hits"]["hits"]]


def file_application(client: TestClient, tokens: dict[str, str], **overrides: Any) -> int:
    body = {"purpose": PURPOSE, "category": "初核", "sources": ALL_SOURCES,
            "regions": [REGION]} | overrides  # fmt: skip
    return approve(client, tokens, body, title="实体检索")


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("entities")
    local = isolated_settings(settings, root, "ent")
    truth = ingest_demo(local, root, persons=300, seed=5)
    add_accounts(local, {"inv": ([Role.INVESTIGATOR], REGION), "boss": ([Role.APPROVER], REGION)})
    with TestClient(create_app(local)) as client:
        tokens = log_in(client, ["inv", "boss"])
        broad = file_application(client, tokens)
        yield World(client, local, truth, tokens, door, broad)


def person_card(cards: list[dict[str, Any]], id_number: str) -> dict[str, Any] | None:
    masked = mask_id(id_number)
    return next((c for c in cards if c["kind"] == "person" and c["id_number"] == masked), None)


def with_written_name(world: World, group: str, test: Any) -> tuple[str, str, str]:
    """(ID, canonical name, a name as some record in the province writes it) of a sample."""
    for sample in world.truth["name_samples"][group]:
        for doc in world.docs(persons=sample["id_number"]):
            written = doc.get("name") or doc.get("owner_name") or ""
            if test(sample["name"], written):
                return sample["id_number"], sample["name"], written
    pytest.fail(f"the drop has no {group} sample written that way in region {REGION}")


def test_a_name_recorded_in_traditional_characters_is_found_in_either_script(
    world: World,
) -> None:
    pid, simple, written = with_written_name(
        world, "traditional_prone", lambda canonical, w: w and w != canonical
    )
    for typed in (simple, written):
        card = person_card(world.cards(q=typed), pid)
        assert card is not None, typed
        assert simple in card["names"]


@pytest.mark.parametrize("dot", ["·", "•", "・", ".", " . ", ""])
def test_a_minority_name_is_found_with_any_middle_dot_or_none(world: World, dot: str) -> None:
    pid, name, _ = with_written_name(world, "minority_dots", lambda _c, w: "·" in w)
    card = person_card(world.cards(q=name.replace("·", dot)), pid)
    assert card is not None
    assert name in card["names"]
    assert card["match"] == ("姓名（不计间隔号）" if dot == "" else "姓名")


@pytest.mark.parametrize("form", ["full", "spaced", "capitals", "tones", "initials"])
def test_a_name_typed_in_pinyin_finds_the_person(world: World, form: str) -> None:
    official = world.truth["patterns"]["official_spouse_company"]
    pid = official["official_id"]
    (household,) = [d for d in world.docs(persons=pid) if d["source"] == "household"]
    pinyin, initials = household["names_pinyin"][0], household["names_initials"][0]
    typed = {"full": pinyin, "spaced": " ".join(pinyin), "capitals": pinyin.upper(),
             "tones": pinyin.replace("i", "ī", 1), "initials": initials}[form]  # fmt: skip
    response = world.get(q=typed, kind="person", limit=50)
    assert response.json()["query_type"] == "pinyin"
    card = person_card(response.json()["cards"], pid)
    assert card is not None
    assert card["match"] == ("拼音首字母" if form == "initials" else "全拼")


def _fifteen(id18: str) -> str:
    return id18[:6] + id18[8:17]


@pytest.mark.parametrize(
    "typed",
    [lambda i: i, _fifteen, lambda i: i.lower(), lambda i: " ".join([i[:6], i[6:14], i[14:]]),
     lambda i: i.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})],
    ids=["18", "15", "lower-x", "spaces", "full-width"],
)  # fmt: skip
def test_an_id_number_in_any_accepted_format_finds_the_18_digit_record(
    world: World, typed: Any
) -> None:
    pid = world.truth["patterns"]["official_child_chain"]["official_id"]  # born 19xx
    response = world.get(q=typed(pid))
    assert response.status_code == 200, response.text
    assert response.json()["query_type"] == "person_id"
    (card,) = response.json()["cards"]
    assert card["id_number"] == mask_id(pid)
    assert card["total"] == len(world.docs(persons=pid))
    assert card["match"] == "公民身份号码"


def test_an_id_typed_as_15_digits_finds_an_x_checked_record(world: World) -> None:
    with_x = next(
        d["id_number"] for d in world.docs(source="household")
        if d["id_number"].endswith("X") and d["id_number"][6:8] == "19"
    )  # fmt: skip
    (card,) = world.cards(q=_fifteen(with_x))
    assert card["id_number"] == mask_id(with_x)


def test_same_name_persons_are_separate_cards_with_their_own_counts(world: World) -> None:
    same = world.truth["patterns"]["same_name_officials"]
    cards = world.cards(q=same["name"], kind="person")
    for pid in (same["official_id"], same["other_official_id"]):
        card = person_card(cards, pid)
        assert card is not None, pid
        in_scope = world.docs(persons=pid)
        assert card["total"] == len(in_scope)
        assert {c["source"]: c["count"] for c in card["counts"]} == {
            s: sum(d["source"] == s for d in in_scope) for s in {d["source"] for d in in_scope}
        }
    units = {person_card(cards, same["official_id"])["unit"],  # type: ignore[index]
             person_card(cards, same["other_official_id"])["unit"]}  # type: ignore[index]  # fmt: skip
    assert units == {same["unit"], same["other_unit"]}


def test_part_of_a_name_finds_only_persons_whose_name_holds_it(world: World) -> None:
    same = world.truth["patterns"]["same_name_officials"]
    given = same["name"][1:]
    cards = world.cards(q=given, kind="person", limit=50)
    assert person_card(cards, same["official_id"]) is not None
    assert person_card(cards, same["other_official_id"]) is not None
    for card in cards:
        assert any(given in name for name in card["names"]), card["names"]


@pytest.mark.parametrize("typed", ["name", "part", "code", "lower-code"])
def test_a_company_is_found_by_name_part_of_its_name_or_its_code(world: World, typed: str) -> None:
    plant = world.truth["patterns"]["official_spouse_company"]
    code, name = plant["company_code"], plant["company_name"]
    q = {"name": name, "part": name[2:6], "code": code, "lower-code": code.lower()}[typed]
    cards = world.cards(q=q, kind="company")
    card = next((c for c in cards if c["credit_code"] == code), None)
    assert card is not None
    assert name in card["names"]
    docs = world.docs(companies=code)
    assert card["total"] == len(docs)
    by_source = Counter(str(d["source"]) for d in docs)
    assert {c["source"]: c["count"] for c in card["counts"]} == by_source
    assert {"company", "company_officer"} <= set(by_source)


def test_a_phone_number_finds_its_person_and_is_never_shown(world: World) -> None:
    pid = world.truth["patterns"]["official_spouse_company"]["official_id"]
    (household,) = [d for d in world.docs(persons=pid) if d["source"] == "household"]
    phone = household["phone"]
    response = world.get(q=f"{phone[:3]}-{phone[3:7]} {phone[7:]}")
    assert response.status_code == 200, response.text
    assert person_card(response.json()["cards"], pid) is not None
    assert phone not in response.text


def test_cards_are_masked_and_the_log_holds_entity_keys_not_numbers(world: World) -> None:
    before = len(log_entries(world.settings))
    pid = world.truth["patterns"]["official_spouse_company"]["official_id"]
    response = world.get(q=pid)
    assert response.status_code == 200
    assert not FULL_ID.search(response.text)
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "query_outcome"]
    assert new[1].hit_count == len(response.json()["cards"]) == 1
    for entry in new:
        assert not FULL_ID.search(json.dumps([entry.params, entry.detail], ensure_ascii=False))


def test_cards_come_only_from_the_applications_regions(world: World) -> None:
    plant = world.truth["patterns"]["official_spouse_company"]  # the company is in 469002
    narrow = file_application(world.client, world.tokens, regions=[plant["official_id"][:4]])
    found = world.get(narrow, q=plant["company_name"], kind="company")
    assert found.status_code == 200
    assert plant["company_code"] not in found.text
    broad = world.cards(q=plant["company_name"], kind="company")
    assert any(c["credit_code"] == plant["company_code"] for c in broad)


@pytest.mark.parametrize("field", ["name", "id_number", "phone"])
def test_a_complainant_is_never_found_nor_echoed(world: World, field: str) -> None:
    for complainant in world.truth["complainants"]:
        value = complainant[field]
        for kind in ("auto", "person"):
            response = world.get(q=value, kind=kind)
            assert response.status_code == 200, response.text
            assert response.json()["cards"] == []
            for part in (value, value[-6:], complainant["name"]):
                assert part not in response.text


@pytest.mark.parametrize(
    "params",
    [{"q": ""}, {"q": "   "}, {"q": "王" * 3_414}, {"q": "x" * 10_240}, {"q": "王伟\x00"},
     {"q": "王\n伟"}, {"q": "460106197307197808", "kind": "person"}, {"q": "4601061973071978"},
     {"q": "@@@@"},
     {"q": "'; DROP TABLE person; --"}, {"q": "<script>alert(1)</script>"}, {"q": "王"},
     {"q": "9146900209366291RX", "kind": "company"}, {"q": "王伟", "kind": "everyone"},
     {"q": "zhangwei", "kind": "company"}, {"q": "王伟", "limit": 0}, {"q": "王伟", "limit": 10**9},
     {"q": "1" * 30}],
    ids=lambda p: repr(p)[:40],
)  # fmt: skip
def test_malformed_input_is_a_4xx_with_a_message_and_a_logged_refusal(
    world: World, params: dict[str, Any]
) -> None:
    before = len(log_entries(world.settings))
    response = world.get(**params)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]
    assert "cards" not in response.json()
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]


def test_under_a_subject_bound_application_cards_count_only_records_of_the_subjects(
    world: World,
) -> None:
    plant = world.truth["patterns"]["official_spouse_company"]
    code = plant["company_code"]
    bound = file_application(
        world.client, world.tokens, subjects=[{"kind": "credit_code", "value": code}]
    )
    official = world.get(bound, q=plant["official_name"], kind="person")
    assert official.status_code == 200
    assert person_card(official.json()["cards"], plant["official_id"]) is None
    spouse = person_card(
        world.get(bound, q=plant["spouse_name"]).json()["cards"], plant["spouse_id"]
    )
    assert spouse is not None
    linked = [d for d in world.docs(persons=plant["spouse_id"]) if code in d.get("companies", [])]
    assert spouse["total"] == len(linked) < len(world.docs(persons=plant["spouse_id"]))
