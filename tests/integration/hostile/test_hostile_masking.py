"""Hostile tests of issue 10, items 3 and 4: no masked number can be rebuilt from a response, and
no number reaches the query log, however it is written and whatever surrounds it.

A real drop (the generated demo, plus a planted drop whose prose, unknown columns and raw values
carry numbers written every way: glued to letters and Han characters, full-width, spaced,
hyphenated, legacy 15-digit) is ingested into the real engine, the graph is built, and every
registry-data route is called through the real app. Each response goes through the rebuild
checker (tests/rebuild.py): at least 10,000 valid numbers must fit each masked one. Then a
property test sends valid numbers embedded in arbitrary text through every field a client
controls (purposes, notes, queries, paths, subjects, usernames, case numbers, the application
header) and scans every column of every new log entry, and every response, for any number.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from apiworld import add_accounts, bearer, ingest_demo, isolated_settings, log_entries, log_in
from apiworld import approved_application as approve
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from identifier_strategies import Planted, texts_with_numbers
from rebuild import assert_not_rebuildable, full_numbers, visible_text

from accounts.roles import Role
from analyzers.identifiers import find_identifiers
from analyzers.ids import id_check_char, uscc_check_char
from common.db import create_db_engine
from common.settings import Settings
from common.vocab import Source
from graph.build import run_graph_build
from graph.store import edges_alias
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from query_logs.audit import AuditEntry
from registry.engine import EngineDoor
from search_api.app import create_app
from search_api.handles import handles_for

REGION = "46"
PURPOSE = "核查公职人员及其配偶经商办企业问题线索，"


def _pid(body: str) -> str:
    return body + id_check_char(body)


OFFICIAL = _pid("46010619680315123")  # 南宫望舒, male (sequence 123: odd)
SPOUSE = _pid("46010619701102124")  # 南宫静姝, female
CHILD = _pid("46010619950220135")  # registered with an impossible birth date
OFFICIAL_LEGACY = OFFICIAL[:6] + OFFICIAL[8:17]  # the same number in its 15-digit form
PHONE = "13907551234"
OTHER_PHONE = "13807550000"
CODE = "91460106MA5TPL001" + uscc_check_char("91460106MA5TPL001")
COMPANY = "海口望舒水务工程有限公司"
PLANTED_NUMBERS = (OFFICIAL, SPOUSE, CHILD, PHONE, OTHER_PHONE)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def _spaced(text: str, step: int = 4) -> str:
    return " ".join(text[i : i + step] for i in range(0, len(text), step))


# Prose that carries the planted numbers in every written form the issue names.
HOSTILE_CONTENT = (
    f"反映海口市龙华区水务局局长南宫望舒（身份证{OFFICIAL}，ID{OFFICIAL}abc，旧证{OFFICIAL_LEGACY}）"
    f"利用职权为其妻南宫静姝（{_full_width(SPOUSE)}，{_spaced(SPOUSE)}）经营的{COMPANY}承揽工程，"
    f"联系TEL{PHONE}、手机{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}、{_full_width(OTHER_PHONE)}。"
)
HOSTILE_ADDRESS = f"海口市龙华区滨海大道1号（房东电话{_spaced(OTHER_PHONE, 3)}，身份证{CHILD}x）"


def _household(pid: str, name: str, gender: str, born: str, relation: str) -> dict[str, str]:
    return {
        "公民身份号码": pid, "姓名": name, "性别": gender, "民族": "汉", "出生日期": born,
        "户号": "46010699990001", "与户主关系": relation, "户籍地址": HOSTILE_ADDRESS,
        "户籍地行政区划代码": "460106", "人员状态": "正常", "联系电话": PHONE,
        "登记日期": "2010-05-01",
    }  # fmt: skip


def _petition(number: str, registered: str) -> dict[str, str]:
    return {
        "信访件编号": number, "登记日期": registered, "来源渠道": "网络举报",
        "反映人姓名": "端木秋水", "反映人证件号码": _pid("46010519850505432"),
        "反映人联系电话": "13912340875", "是否匿名": "否", "被反映人姓名": "南宫望舒",
        "被反映人证件号码": OFFICIAL, "被反映人单位": "海口市龙华区水务局", "被反映人职务": "局长",
        "被反映人职级": "县管干部", "问题类别": "违规经商办企业", "问题属地行政区划代码": "460106",
        "承办单位": f"海口市纪委监委信访室（值班电话{OTHER_PHONE}）", "承办层级": "市",
        "办理状态": "办理中", "内容": HOSTILE_CONTENT,
    }  # fmt: skip


PLANTED: dict[str, list[dict[str, str]]] = {
    "household": [
        _household(OFFICIAL, "南宫望舒", "男", "1968-03-15", "户主"),
        _household(SPOUSE, "南宫静姝", "女", "1970-11-02", "配偶"),
        _household(CHILD, "南宫明远", "男", "1995-02-30", "子"),
    ],
    "official": [
        {
            "公民身份号码": OFFICIAL,
            "姓名": "南宫望舒",
            "工作单位": "海口市龙华区水务局",
            "职务": "局长",
            "职级": "县管干部",
            "人员类别": "公务员",
            "是否财政供养": "是",
            "管理权限": "市管",
            "任职日期": "2015-01-01",
            "行政区划代码": "460106",
        }
    ],
    "company": [
        {
            "统一社会信用代码": CODE,
            "企业名称": COMPANY,
            "企业类型": "有限责任公司",
            "法定代表人": "南宫静姝",
            "法定代表人证件号码": SPOUSE,
            "注册资本(万元)": "500",
            "成立日期": "2016-06-01",
            "登记状态": "存续",
            "住所": HOSTILE_ADDRESS,
            "经营范围": f"水务工程施工；实际控制人{_spaced(OFFICIAL)}",
            "登记机关": "海口市市场监督管理局",
            "行政区划代码": "460106",
            "联系电话": "0898-66123456",
            "备注": f"实际控制人身份证{OFFICIAL}，TEL{PHONE}",
            "法人出生日期": "1970-11-02",
        }
    ],
    "shareholder": [
        {
            "统一社会信用代码": CODE,
            "企业名称": COMPANY,
            "股东名称": name,
            "股东类型": "自然人股东",
            "证照类型": "居民身份证",
            "证照号码": pid,
            "认缴出资额(万元)": amount,
            "出资比例(%)": share,
            "出资日期": "2016-06-01",
        }
        for name, pid, amount, share in (
            ("南宫望舒", OFFICIAL, "300", "60"),
            ("南宫静姝", SPOUSE, "200", "40"),
        )
    ],
    "petition": [_petition("XFPLM0000001", "2024-03-15"), _petition("XFPLM0000002", "2024-04-15")],
}


@dataclass
class World:
    client: TestClient
    settings: Settings
    tokens: dict[str, str]
    subjects_app: int  # the planted persons and company as subjects, export allowed
    search_app: int  # no subjects, export allowed
    codes: frozenset[str]  # every company's credit code (shown whole: not a person's number)
    engine_ids: frozenset[str]  # the engine's ids of records keyed on a person, and of edges

    def get(self, url: str, app_id: int, **params: Any) -> Any:
        return self.client.get(url, params=params, headers=bearer(self.tokens, "inv", app_id))


def _write_planted(drop: Path) -> None:
    drop.mkdir()
    for source, rows in PLANTED.items():
        lines = [json.dumps(row, ensure_ascii=False) for row in rows]
        (drop / f"{source}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _engine_facts(door: EngineDoor, local: Settings) -> tuple[frozenset[str], frozenset[str]]:
    """(credit codes of every company, ids the engine derives from keys holding a number)."""
    prefix = local.index_prefix
    codes = {CODE}
    for hit in door.scan(f"{prefix}-*", {"_source": ["companies"]}):
        codes.update(hit["_source"].get("companies", []))
    keyed = (Source.HOUSEHOLD, Source.INSURED, Source.OFFICIAL, Source.COMPANY_OFFICER,
             Source.SHAREHOLDER, Source.PROPERTY)  # fmt: skip
    ids = set()
    for index in [f"{prefix}-{s}" for s in keyed] + [edges_alias(prefix)]:
        ids.update(h["_id"] for h in door.scan(index, {"_source": False}))
    return frozenset(codes), frozenset(ids)


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile-masking")
    local = isolated_settings(settings, root, "mask").model_copy(
        update={"embeddings_enabled": False}
    )
    ingest_demo(local, root, persons=200, seed=3)
    _write_planted(root / "planted")
    with ingest_context(local, root / "rejects-planted") as ctx:
        ingest_drop(root / "planted", ctx)
    add_accounts(
        local,
        {"inv": ([Role.INVESTIGATOR], REGION), "boss": ([Role.APPROVER], REGION),
         "sysadmin": ([Role.SYSTEM_ADMIN], REGION)},
    )  # fmt: skip
    with TestClient(create_app(local)) as client:
        engine = create_db_engine(local.effective_database_url)
        try:
            run_graph_build(local, engine)
        finally:
            engine.dispose()
        tokens = log_in(client, ["inv", "boss", "sysadmin"])
        sources = [str(s) for s in Source]
        body = {"purpose": PURPOSE + "调取相关登记信息", "category": "初核",
                "sources": sources, "regions": [REGION], "export": True}  # fmt: skip
        subjects = [{"kind": "person_id", "value": OFFICIAL},
                    {"kind": "person_id", "value": SPOUSE},
                    {"kind": "credit_code", "value": CODE}]  # fmt: skip
        subjects_app = approve(client, tokens, body | {"subjects": subjects})
        search_app = approve(client, tokens, body)
        codes, ids = _engine_facts(door, local)
        yield World(client, local, tokens, subjects_app, search_app, codes, ids)
    door.drop_index(f"{local.index_prefix}-*")


# --- every registry-data route: the rebuild check ----------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    url: str
    params: dict[str, Any]
    subjects: bool  # under the application naming the planted subjects
    persons: bool  # the response must show at least one masked ID (else the check is vacuous)
    kind: str = "json"  # json, csv, xlsx or graphml


ROUTES = [
    Route("search names", "/search", {"q": "南宫望舒", "page_size": 50}, False, True),
    Route("search prose", "/search", {"q": "身份证", "page_size": 50}, False, True),
    Route("search phone text", "/search", {"q": "联系TEL", "page_size": 50}, False, True),
    Route("clues", "/clues", {"q": "南宫望舒", "page_size": 50}, False, True),
    Route("ledger csv", "/clues/export", {"q": "南宫望舒", "format": "csv"}, False, True, "csv"),
    Route("ledger xlsx", "/clues/export", {"q": "南宫望舒", "format": "xlsx"}, False, True, "xlsx"),
    Route("entities by name", "/entities", {"q": "南宫望舒"}, False, True),
    Route("entities by id", "/entities", {"q": _spaced(OFFICIAL)}, False, True),
    Route("entities by phone", "/entities", {"q": PHONE}, False, True),
    Route("person profile", f"/persons/{OFFICIAL}/profile", {}, True, True),
    Route("spouse profile", f"/persons/{SPOUSE}/profile", {}, True, True),
    Route("person records", f"/persons/{OFFICIAL}/records", {"page_size": 50}, True, True),
    Route("company profile", f"/companies/{CODE}/profile", {}, True, True),
    Route("graph linked", f"/graph/person_id/{OFFICIAL}/linked", {"hops": 2}, True, True),
    Route("graph subgraph", f"/graph/person_id/{OFFICIAL}/subgraph", {"hops": 2}, True, True),
    Route("graph company", f"/graph/credit_code/{CODE}/subgraph", {"hops": 2}, True, True),
    Route("graph path", "/graph/path", {"from_kind": "person_id", "from_value": OFFICIAL,
                                        "to_kind": "credit_code", "to_value": CODE}, True, True),
    Route("graphml", f"/graph/person_id/{OFFICIAL}/graphml", {"hops": 2}, True, True, "graphml"),
    Route("petition search", "/petitions/search", {"q": "南宫望舒"}, False, True),
    Route("similar petitions", "/petitions/XFPLM0000001/similar", {}, False, True),
    Route("petition groups", "/petitions/groups", {"q": "南宫望舒"}, False, False),
]  # fmt: skip


def _text(route: Route, response: Any) -> tuple[Any, str]:
    """(parsed JSON or None, the text the checker reads) of a response."""
    if route.kind == "json":
        body = response.json()
        return body, visible_text(body)
    if route.kind == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        rows = sheet.iter_rows(values_only=True)
        # cells apart as in the sheet (a tab would join two cells' digits into one run)
        return None, "\n".join(" | ".join(str(c or "") for c in row) for row in rows)
    return None, response.content.decode("utf-8")


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_no_masked_number_in_a_response_can_be_rebuilt(world: World, route: Route) -> None:
    app_id = world.subjects_app if route.subjects else world.search_app
    response = world.get(route.url, app_id, **route.params)
    assert response.status_code == 200, response.text
    body, text = _text(route, response)
    checked = assert_not_rebuildable(
        body, text=None if body is not None else text, allowed=world.codes,
        engine_ids=world.engine_ids,
    )  # fmt: skip
    for number in PLANTED_NUMBERS:
        assert number not in text
    if route.persons:
        assert any(e.kind == "id18" for e in checked), text[:500]


def test_planted_numbers_in_prose_are_masked_in_every_written_form(world: World) -> None:
    body = world.get(f"/persons/{OFFICIAL}/records", world.subjects_app, page_size=50).json()
    (petition, *_) = [r["record"] for r in body["records"] if r["source"] == "petition"]
    assert petition["content"].startswith(
        "反映海口市龙华区水务局局长南宫望舒（身份证460106************，"
    )
    assert "ID460106************abc" in petition["content"]
    assert "TEL139****1234" in petition["content"]
    assert find_identifiers(petition["content"]) == []


def test_birth_dates_are_shown_to_the_month_while_numbers_are_masked(world: World) -> None:
    profile = world.get(f"/persons/{OFFICIAL}/profile", world.subjects_app).json()
    assert (profile["id_number"], profile["birth_date"]) == ("460106************", "1968-03")
    (household,) = [g for g in profile["groups"] if g["source"] == "household"]
    assert {r["record"]["birth_date"] for r in household["records"]} == {"1968-03"}
    company = world.get(f"/companies/{CODE}/profile", world.subjects_app).json()
    assert company["registration"]["record"]["extra"]["法人出生日期"] == "1970-11"


def test_response_ids_are_the_servers_pseudonyms_of_the_engines(world: World) -> None:
    search = world.get("/search", world.search_app, q="南宫望舒", page_size=50).json()
    records = world.get(f"/persons/{OFFICIAL}/records", world.subjects_app, page_size=50).json()
    shown = {h["id"] for h in search["hits"]}
    assert shown
    assert not shown & world.engine_ids
    assert {r["id"] for r in records["records"]} & shown  # one record, one id, in both routes


# --- handles -------------------------------------------------------------------------------------


def _card_handle(world: World, name: str) -> str:
    cards = world.get("/entities", world.search_app, q=name).json()["cards"]
    (card,) = [c for c in cards if name in c["names"]]
    return str(card["handle"])


def test_a_handle_names_a_subject_of_an_application_without_the_number(world: World) -> None:
    before = len(log_entries(world.settings))
    handle = _card_handle(world, "南宫静姝")
    body = {"purpose": PURPOSE + "核实配偶身份及任职情况", "category": "初核",
            "sources": ["household", "company"], "regions": [REGION],
            "subjects": [{"kind": "handle", "value": handle}]}  # fmt: skip
    app_id = approve(world.client, world.tokens, body)
    read = world.client.get(f"/applications/{app_id}", headers=bearer(world.tokens, "inv"))
    assert read.json()["subjects"] == [{"kind": "person_id", "value": "460106************"}]
    by_handle = world.get(f"/persons/{handle}/profile", app_id)
    by_number = world.get(f"/persons/{SPOUSE}/profile", app_id)
    assert by_handle.status_code == by_number.status_code == 200, by_handle.text
    assert by_handle.json() == by_number.json()
    assert by_handle.json()["handle"] == handle
    assert handles_for(world.settings.secret_key.get_secret_value()).open(handle) == SPOUSE
    for entry in log_entries(world.settings)[before:]:
        assert SPOUSE not in json.dumps(_scanned(entry), ensure_ascii=False)


def _forged(handle: str) -> str:
    return handle[:-3] + ("aaa" if not handle.endswith("aaa") else "bbb")


@pytest.mark.parametrize("where", ["application", "path"])
def test_a_forged_handle_is_a_clear_422(world: World, where: str) -> None:
    forged = _forged(_card_handle(world, "南宫望舒"))
    if where == "application":
        case = world.client.post(
            "/cases", json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "核查"},
            headers=bearer(world.tokens, "inv"),
        )  # fmt: skip
        response = world.client.post(
            "/applications",
            json={"case_id": case.json()["id"], "purpose": PURPOSE + "核实", "category": "初核",
                  "sources": ["household"], "regions": [REGION],
                  "subjects": [{"kind": "handle", "value": forged}]},
            headers=bearer(world.tokens, "inv"),
        )  # fmt: skip
    else:
        response = world.get(f"/persons/{forged}/profile", world.subjects_app)
    assert response.status_code == 422, response.text
    assert "handle" in json.dumps(response.json(), ensure_ascii=False)


# --- nothing reaches the log ---------------------------------------------------------------------

_DIGEST_WORDS = ("sha256", "digest", "hash", "signature", "fingerprint")


def _without_digests(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_digests(v)
            for k, v in value.items()
            if not any(word in str(k).lower() for word in _DIGEST_WORDS)
        }
    if isinstance(value, list):
        return [_without_digests(v) for v in value]
    return value


def _scanned(entry: AuditEntry) -> dict[str, Any]:
    """What a client's input may reach in an entry: every column but times, hashes, digests."""
    return {
        "actor": entry.actor, "actor_role": entry.actor_role, "route": entry.route,
        "application_id": entry.application_id, "case_id": entry.case_id,
        "purpose": entry.purpose, "outcome": entry.outcome,
        "params": _without_digests(json.loads(entry.params or "null")),
        "scope": _without_digests(json.loads(entry.scope or "null")),
        "detail": _without_digests(json.loads(entry.detail or "null")),
    }  # fmt: skip


def _send_everywhere(world: World, text: str, planted: list[Planted]) -> list[Any]:
    """Send ``text`` through every field a client controls; the responses."""
    inv, boss, admin = (bearer(world.tokens, who) for who in ("inv", "boss", "sysadmin"))
    case = world.client.post("/cases", json={"case_no": f"案-{uuid.uuid4().hex[:8]}",
                                             "title": "核查"}, headers=inv)  # fmt: skip
    responses = [
        world.client.post("/cases", json={"case_no": f"案{text}"[:64], "title": text or "t"},
                          headers=inv),
        filed := world.client.post(
            "/applications",
            json={"case_id": case.json()["id"], "purpose": PURPOSE + text, "category": "初核",
                  "sources": ["petition"], "regions": [REGION],
                  "subjects": [{"kind": "name", "value": (text or "名字")[:30]}]},
            headers=inv,
        ),
        world.client.post("/applications", json={
            "case_id": case.json()["id"], "purpose": PURPOSE + "核实", "category": "初核",
            "sources": ["petition"], "regions": [REGION],
            "subjects": [{"kind": p.written[:64], "value": p.written[:64]} for p in planted]},
            headers=inv),
        world.client.post("/applications", json={
            "case_id": case.json()["id"], "purpose": PURPOSE + "核实", "category": "初核",
            "sources": ["petition"], "regions": [p.written for p in planted]}, headers=inv),
        world.get("/search", world.search_app, q=text or "某"),
        world.get("/entities", world.search_app, q=text[:100] or "某"),
        world.get("/petitions/search", world.search_app, q=text[:200] or "某"),
        world.get(f"/persons/{quote(text, safe='')}/profile", world.subjects_app),
        world.get(f"/petitions/{quote(text, safe='')}/similar", world.search_app),
        world.client.get("/search", params={"q": "某"},
                         headers=inv | {"X-Application-Id": planted[0].number}),
        world.client.post("/auth/token", json={"username": text[:64] or "u", "password": text}),
        world.client.post("/admin/users", json={
            "username": text[:64], "display_name": text[:64], "jurisdiction": REGION,
            "password": "a long enough passphrase 42", "id_number": planted[0].written[:40]},
            headers=admin),
        world.client.post("/admin/users", json={  # a key of the client's choosing: refused
            "username": "zhang.san", "jurisdiction": REGION, "password": "x",
            planted[0].written: text}, headers=admin),
    ]  # fmt: skip
    if filed.status_code == 201:
        responses.append(world.client.post(
            f"/applications/{filed.json()['id']}/decision",
            json={"approve": False, "note": text[:1000]}, headers=boss,
        ))  # fmt: skip
    return responses


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=texts_with_numbers())
def test_numbers_sent_in_any_field_never_reach_the_log_nor_a_response(
    world: World, case: tuple[str, list[Planted]]
) -> None:
    text, planted = case
    before = len(log_entries(world.settings))
    responses = _send_everywhere(world, text, planted)
    entries = log_entries(world.settings)[before:]
    assert len(entries) >= len(responses) // 2  # the requests were logged: the scan is not empty
    for entry in entries:
        logged = json.dumps(_scanned(entry), ensure_ascii=False)
        assert find_identifiers(logged) == [], (entry.kind, logged)
        for p in planted:
            assert p.number not in logged
    for response in responses:
        assert response.status_code < 500, response.text
        assert full_numbers(visible_text(response.json()), world.codes) == [], response.text
