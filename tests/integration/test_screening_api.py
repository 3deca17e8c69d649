"""List screening (名单筛查) end to end: a generated world, the real engine, app and store.

The persons a list names are picked from the indexed documents themselves (an official by name
and unit, a registered resident by name, birth date and region, anyone by ID number), so every
expectation is a person the engine holds; matches are compared by handle and evidence by the
record pseudonyms, so the test needs no unmasked number from the API.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections import Counter, defaultdict
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
from openpyxl import Workbook, load_workbook
from sqlalchemy import MetaData, String, Text, select

from accounts.roles import Role
from common.db import create_db_engine
from common.settings import Settings
from common.vocab import Source
from graph.build import name_normaliser
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope
from search_api.app import create_app
from search_api.handles import Handles, handles_for
from search_api.models.screening import ScreeningStatus

PURPOSE = "民生领域专项核查：名单筛查比对低保对象与公职人员"
ALL_SOURCES = sorted(str(s) for s in Source)
PROVINCE = "46"


def _plain(text: str) -> str:
    return text


NORMALISE = name_normaliser(_plain)


@dataclass
class Person:
    id_number: str
    name: str
    unit: str | None = None
    region: str | None = None


@dataclass
class World:
    client: TestClient
    settings: Settings
    tokens: dict[str, str]
    handles: Handles
    applications: dict[str, int] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # pseudonym -> document
    regions_of: dict[str, set[str]] = field(default_factory=dict)  # person -> region prefixes
    officials: list[Person] = field(default_factory=list)  # unique (name, unit) in the province
    residents: list[Person] = field(default_factory=list)  # unique (name, birth, region)
    names: Counter[str] = field(default_factory=Counter)  # persons per normalised name

    def screen(
        self, content: bytes, application: str | None = "province", who: str = "task46",
        filename: str = "名单.csv", **params: str,
    ) -> Any:  # fmt: skip
        app_id = self.applications[application] if application else None
        return self.client.post(
            "/screenings",
            files={"upload": (filename, content, "application/octet-stream")},
            headers=bearer(self.tokens, who, app_id),
            params=params,
        )

    def results(self, content: bytes, application: str = "province") -> list[dict[str, Any]]:
        answer = self.screen(content, application)
        assert answer.status_code == 200, answer.text
        results: list[dict[str, Any]] = answer.json()["results"]
        return results


def _scan_world(world: World, door: EngineDoor) -> None:
    """Records by pseudonym, each person's regions, and the officials and residents a list can
    name unambiguously (as the graph's resolution would need them to be)."""
    roster: dict[str, Person] = {}
    register: dict[str, Person] = {}
    for source in ALL_SOURCES:
        for hit in door.scan(door.index_name(source)):
            doc = hit["_source"]
            world.records[world.handles.record_id(hit["_id"])] = doc
            for person in doc.get(Envelope.PERSONS, []):
                world.regions_of.setdefault(person, set()).update(doc[Envelope.REGION_PREFIXES])
            number, name = doc.get(ColumnField.ID_NUMBER), doc.get(ColumnField.NAME)
            if not number or not name:
                continue
            if source == Source.OFFICIAL:
                roster[number] = Person(number, name, unit=doc.get(ColumnField.UNIT),
                                        region=doc.get(ColumnField.REGION_CODE))  # fmt: skip
            elif source == Source.HOUSEHOLD:
                register[number] = Person(number, name, region=doc.get(ColumnField.REGION_CODE))
    by_name: dict[str, set[str]] = defaultdict(set)
    for person in [*roster.values(), *register.values()]:
        by_name[NORMALISE(person.name)].add(person.id_number)
    world.names = Counter({name: len(ids) for name, ids in by_name.items()})
    units = Counter((NORMALISE(p.name), p.unit) for p in roster.values())
    world.officials = [p for p in roster.values()
                       if p.unit and units[(NORMALISE(p.name), p.unit)] == 1]  # fmt: skip
    keys = Counter((NORMALISE(p.name), p.id_number[6:14], (p.region or "")[:6])
                   for p in register.values())  # fmt: skip
    world.residents = [
        p for p in register.values()
        if p.region and keys[(NORMALISE(p.name), p.id_number[6:14], p.region[:6])] == 1
    ]  # fmt: skip


@pytest.fixture(scope="module")
def world(
    settings: Settings, door: EngineDoor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("screening")
    local = isolated_settings(settings, root, "scr")
    ingest_demo(local, root, persons=300, seed=41)
    accounts = {
        "task46": ([Role.SPECIAL_TASK], PROVINCE),
        "boss46": ([Role.APPROVER], PROVINCE),
    }
    add_accounts(local, accounts)
    scoped = EngineDoor.for_api(local)
    handles = handles_for(local.secret_key.get_secret_value())
    with TestClient(create_app(local)) as client:
        tokens = log_in(client, accounts)
        world = World(client, local, tokens, handles)
        _scan_world(world, scoped)
        world.applications["province"] = _application(world, [PROVINCE])
        world.applications["export"] = _application(world, [PROVINCE], export=True)
        world.applications["unmasked"] = _application(world, [PROVINCE], unmask=True)
        world.applications["preliminary"] = _application(world, [PROVINCE], category="初核")
        yield world
    scoped.close()


def _application(world: World, regions: list[str], **overrides: Any) -> int:
    body = {"purpose": PURPOSE, "category": "专项核查", "sources": ALL_SOURCES,
            "regions": regions} | overrides  # fmt: skip
    return approved_application(world.client, world.tokens, body, applicant="task46",
                                approver="boss46", title="名单筛查")  # fmt: skip


def csv_list(rows: list[list[str]], header: list[str] | None = None, *, encoding: str = "utf-8",
             bom: bool = False) -> bytes:  # fmt: skip
    out = io.StringIO()
    for line in [header or ["姓名", "身份证号", "工作单位", "出生日期", "行政区划代码"], *rows]:
        out.write(",".join(line) + "\r\n")
    data = out.getvalue().encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def _province_persons(world: World, count: int) -> list[str]:
    """Persons with records in the province, in a stable order."""
    inside = [p for p, regions in world.regions_of.items() if PROVINCE in regions]
    assert len(inside) >= count
    return sorted(inside)[:count]


def _matched_handles(result: dict[str, Any]) -> list[str]:
    return [m["handle"] for m in result["matches"]]


# --- ID rows -------------------------------------------------------------------------------------


def test_id_rows_match_exactly_their_persons(world: World) -> None:
    persons = _province_persons(world, 40)
    rows = [["某人", p, "", "", ""] for p in persons]
    results = world.results(csv_list(rows))
    assert [r["row"] for r in results] == list(range(2, 2 + len(persons)))
    assert {r["status"] for r in results} == {ScreeningStatus.MATCHED}
    assert [_matched_handles(r) for r in results] == [[world.handles.handle(p)] for p in persons]


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(lambda n: n[:6] + n[8:17], id="15-digit legacy"),
        pytest.param(lambda n: n.lower(), id="lower-case"),
        pytest.param(lambda n: " ".join([n[:6], n[6:14], n[14:]]), id="spaced"),
        pytest.param(lambda n: "".join(chr(ord(c) + 0xFEE0) for c in n), id="full-width"),
    ],
)
def test_an_id_written_another_way_matches_the_same_person(world: World, written: Any) -> None:
    person = next(p for p in _province_persons(world, 200) if p[6:8] == "19")
    (result,) = world.results(csv_list([["某人", written(person), "", "", ""]]))
    assert result["status"] == ScreeningStatus.MATCHED
    assert _matched_handles(result) == [world.handles.handle(person)]


def test_a_match_cites_records_of_the_person_per_source(world: World) -> None:
    persons = _province_persons(world, 10)
    results = world.results(csv_list([["某人", p, "", "", ""] for p in persons]))
    for person, result in zip(persons, results, strict=True):
        (match,) = result["matches"]
        assert match["sources"]
        for source in match["sources"]:
            assert 1 <= len(source["record_ids"]) <= source["count"]
            for record in source["record_ids"]:
                doc = world.records[record]
                assert doc[Envelope.SOURCE] == source["source"]
                assert person in doc[Envelope.PERSONS]
                assert PROVINCE in doc[Envelope.REGION_PREFIXES]


def test_a_match_shows_the_number_masked_unless_the_application_unmasks(world: World) -> None:
    person = _province_persons(world, 1)[0]
    content = csv_list([["某人", person, "", "", ""]])
    (masked,) = world.results(content)
    (shown,) = world.results(content, "unmasked")
    assert masked["matches"][0]["person_id"] != person
    assert "*" in masked["matches"][0]["person_id"]
    assert shown["matches"][0]["person_id"] == person


# --- name + unit, name + birth date --------------------------------------------------------------


def test_name_and_unit_rows_match_their_officials(world: World) -> None:
    officials = [p for p in world.officials if p.region and p.region.startswith(PROVINCE)][:15]
    assert officials
    results = world.results(csv_list([[p.name, "", p.unit or "", "", ""] for p in officials]))
    for person, result in zip(officials, results, strict=True):
        assert result["status"] == ScreeningStatus.MATCHED, result
        assert _matched_handles(result) == [world.handles.handle(person.id_number)]
        assert any(basis.startswith("工作单位一致") for basis in result["matches"][0]["basis"])


def test_name_birth_date_and_region_rows_match_their_residents(world: World) -> None:
    residents = [p for p in world.residents if p.region and p.region.startswith(PROVINCE)][:15]
    assert residents
    rows = [[p.name, "", "", f"{p.id_number[6:10]}-{p.id_number[10:12]}-{p.id_number[12:14]}",
             (p.region or "")[:6]] for p in residents]  # fmt: skip
    results = world.results(csv_list(rows))
    for person, result in zip(residents, results, strict=True):
        assert result["status"] == ScreeningStatus.MATCHED, result
        assert _matched_handles(result) == [world.handles.handle(person.id_number)]


def test_a_common_name_with_a_unit_that_is_not_its_is_not_matched(world: World) -> None:
    official = next(p for p in world.officials if p.region and p.region.startswith(PROVINCE))
    (result,) = world.results(csv_list([[official.name, "", "不存在的单位甲乙丙", "", ""]]))
    assert result["status"] == ScreeningStatus.UNMATCHED
    assert result["matches"] == []


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(lambda p: [p.name, "", "", "", ""], id="name only"),
        pytest.param(lambda p: [p.name, "", "", p.id_number[6:14], ""], id="name and birth date"),
        pytest.param(lambda p: [p.name, "", "", "", (p.region or "")[:6]], id="name and region"),
    ],
)
def test_rows_without_enough_identifiers_are_not_matched(world: World, row: Any) -> None:
    resident = next(p for p in world.residents if world.names[NORMALISE(p.name)] == 1)
    (result,) = world.results(csv_list([row(resident)]))
    assert result["status"] == ScreeningStatus.INSUFFICIENT
    assert result["matches"] == []


def test_a_list_with_only_a_name_column_screens_nobody(world: World) -> None:
    names = [[p.name] for p in world.residents[:5]]
    results = world.results(csv_list(names, header=["姓名", "备注"]))
    assert {r["status"] for r in results} == {ScreeningStatus.INSUFFICIENT}


# --- bad rows ------------------------------------------------------------------------------------


def _bad_check(number: str) -> str:
    wrong = "0" if number[17] != "0" else "1"
    return number[:17] + wrong


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param(
            lambda p: ["某人", _bad_check(p), "", "", ""], "身份证号无效", id="check digit"
        ),
        pytest.param(lambda p: ["某人", p[:10], "", "", ""], "身份证号无效", id="too short"),
        pytest.param(lambda p: ["", p, "", "", ""], "姓名为空", id="empty name"),
        pytest.param(lambda p: ["某人", "", "某单位", "2019-02-30", ""], "出生日期", id="bad date"),
        pytest.param(lambda p: ["某人", "", "", "1980-01-01", "46ab"], "行政区划", id="bad region"),
    ],
)
def test_an_unreadable_row_is_reported_and_the_others_answered(
    world: World, bad: Any, reason: str
) -> None:
    good, other = _province_persons(world, 2)
    results = world.results(csv_list([["某人", good, "", "", ""], bad(good),
                                      ["某人", other, "", "", ""]]))  # fmt: skip
    assert [r["status"] for r in results] == [ScreeningStatus.MATCHED, ScreeningStatus.UNREADABLE,
                                              ScreeningStatus.MATCHED]  # fmt: skip
    assert results[1]["row"] == 3
    assert reason in results[1]["reason"]
    assert _matched_handles(results[2]) == [world.handles.handle(other)]


# --- formats -------------------------------------------------------------------------------------


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["名单筛查（示例）"])
    sheet.append(["序号", "姓名", "公民身份号码", "单位"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_list_with_a_title_row_is_read(world: World) -> None:
    person = _province_persons(world, 1)[0]
    official = next(p for p in world.officials if p.region and p.region.startswith(PROVINCE))
    answer = world.screen(_workbook([[1, "某人", person, None], [2, official.name, None,
                                                                    official.unit]]),
                          filename="名单.xlsx")  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["format"] == "xlsx"
    assert [r["row"] for r in body["results"]] == [3, 4]
    assert [_matched_handles(r) for r in body["results"]] == [
        [world.handles.handle(person)], [world.handles.handle(official.id_number)]]  # fmt: skip


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", True), ("utf-8", False),
                                               ("gb18030", False)])  # fmt: skip
def test_csv_lists_in_each_encoding_are_read(world: World, encoding: str, bom: bool) -> None:
    official = next(p for p in world.officials if p.region and p.region.startswith(PROVINCE))
    content = csv_list([[official.name, "", official.unit or "", "", ""]], encoding=encoding,
                       bom=bom)  # fmt: skip
    (result,) = world.results(content)
    assert _matched_handles(result) == [world.handles.handle(official.id_number)]


# --- scope ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def city(world: World) -> str:
    """A city of the province with persons inside it and persons of the province outside it;
    its 专项核查 application is registered as "city"."""
    cities = Counter(r for regions in world.regions_of.values() for r in regions
                     if len(r) == 4 and r.startswith(PROVINCE))  # fmt: skip
    chosen = cities.most_common(1)[0][0]
    world.applications["city"] = _application(world, [chosen])
    return chosen


def test_persons_outside_a_region_bound_application_are_not_matched(
    world: World, city: str
) -> None:
    outside = sorted(p for p, regions in world.regions_of.items()
                     if PROVINCE in regions and city not in regions)[:10]  # fmt: skip
    inside = sorted(p for p, regions in world.regions_of.items() if city in regions)[:10]
    assert outside
    assert inside
    results = world.results(csv_list([["某人", p, "", "", ""] for p in outside + inside]), "city")
    assert [r["status"] for r in results] == (
        [ScreeningStatus.UNMATCHED] * len(outside) + [ScreeningStatus.MATCHED] * len(inside)
    )
    cited = [record for r in results for m in r["matches"] for s in m["sources"]
             for record in s["record_ids"]]  # fmt: skip
    assert cited
    assert all(city in world.records[record][Envelope.REGION_PREFIXES] for record in cited)


def test_officials_outside_a_region_bound_application_are_not_matched(
    world: World, city: str
) -> None:
    outside = [p for p in world.officials if p.region and p.region.startswith(PROVINCE)
               and not p.region.startswith(city)][:5]  # fmt: skip
    assert outside
    results = world.results(csv_list([[p.name, "", p.unit or "", "", ""] for p in outside]), "city")
    assert {r["status"] for r in results} == {ScreeningStatus.UNMATCHED}


# --- governance ----------------------------------------------------------------------------------


def _entries_after(world: World, seq: int) -> list[Any]:
    return [e for e in log_entries(world.settings) if e.seq > seq and e.kind != "checkpoint"]


def _last_seq(world: World) -> int:
    return log_entries(world.settings)[-1].seq


def test_a_screening_is_written_ahead_and_its_outcome_logged(world: World) -> None:
    persons = _province_persons(world, 3)
    before = _last_seq(world)
    rows = [["某人", p, "", "", ""] for p in persons] + [["某人", "", "", "", ""]]
    assert world.screen(csv_list(rows)).status_code == 200
    entries = _entries_after(world, before)
    assert [e.kind for e in entries] == ["query_request", "query_outcome"]
    request, outcome = entries
    params = json.loads(request.params or "{}")
    assert (params["rows"], params["kinds"]) == (4, {"id_number": 3, "name_only": 1})
    assert re.fullmatch(r"[a-z2-7]{52}", params["list_sha256_hmac"])
    assert outcome.hit_count == 3
    assert outcome.result_digest
    assert json.loads(outcome.detail or "{}")["request_seq"] == request.seq


def test_no_number_of_the_list_reaches_the_log_store_or_state_dir(world: World) -> None:
    persons = _province_persons(world, 5)
    resident = world.residents[0]
    rows = [["某人", p, "", "", ""] for p in persons]
    birth, region = resident.id_number[6:14], (resident.region or "")[:6]
    rows += [["某人", _bad_check(persons[0]), "", "", ""], [resident.name, "", "", birth, region]]
    files_before = set(Path(world.settings.state_dir).rglob("*"))
    assert world.screen(csv_list(rows)).status_code == 200
    secrets = {*persons, _bad_check(persons[0]), resident.name}
    engine = create_db_engine(world.settings.effective_database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                texts = [c for c in table.columns if isinstance(c.type, String | Text)]
                for row in conn.execute(select(*texts)) if texts else []:
                    blob = " ".join(str(v) for v in row)
                    assert not any(s in blob for s in secrets), table.name
        for entry in log_entries(world.settings):
            dumped = repr(entry)
            assert not any(s in dumped for s in persons), entry.seq
    finally:
        engine.dispose()
    new_files = set(Path(world.settings.state_dir).rglob("*")) - files_before
    for path in new_files:
        if path.is_file() and path.suffix not in {".db", ".db-journal", ".db-wal"}:
            content = path.read_bytes()
            assert not any(s.encode() in content for s in secrets), path


@pytest.mark.parametrize(
    ("application", "who"),
    [
        pytest.param(None, "task46", id="no application"),
        pytest.param("preliminary", "task46", id="not a 专项核查 application"),
    ],
)
def test_a_screening_without_the_right_application_is_refused_and_logged(
    world: World, application: str | None, who: str
) -> None:
    before = _last_seq(world)
    person = _province_persons(world, 1)[0]
    answer = world.screen(csv_list([["某人", person, "", "", ""]]), application, who)
    assert answer.status_code == 403
    entries = _entries_after(world, before)
    assert [str(e.kind) for e in entries] == ["denial"]
    assert person not in repr(entries[0])


def test_a_list_over_the_row_cap_is_refused_and_logged(world: World) -> None:
    cap = world.settings.screening_max_rows
    before = _last_seq(world)
    answer = world.screen(csv_list([["某人", "", "", "", ""]] * (cap + 1)))
    assert answer.status_code == 413
    assert str(cap) in answer.json()["detail"]
    entries = _entries_after(world, before)
    assert [str(e.kind) for e in entries] == ["denial"]


def test_an_upload_over_the_byte_cap_is_refused_and_logged(world: World) -> None:
    before = _last_seq(world)
    answer = world.screen(b"x" * (world.settings.screening_max_bytes + 1))
    assert answer.status_code == 413
    assert [str(e.kind) for e in _entries_after(world, before)] == ["denial"]


def test_an_anonymous_upload_is_refused_as_anonymous_whatever_its_size(world: World) -> None:
    before = _last_seq(world)
    answer = world.client.post(
        "/screenings",
        files={"upload": ("名单.csv", b"x" * (world.settings.screening_max_bytes + 1), "text/csv")},
        headers={"X-Application-Id": str(world.applications["province"])},
    )
    assert answer.status_code == 401
    entries = _entries_after(world, before)
    assert [(e.kind, e.actor) for e in entries] == [("denial", None)]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param("编号,备注\r\n1,2\r\n".encode(), id="no name column"),
        pytest.param(b"PK\x03\x04not a workbook", id="broken xlsx"),
        pytest.param(b"\xff\xfe\x00\xd8", id="not text"),
    ],
)
def test_an_unreadable_list_is_refused_and_logged(world: World, content: bytes) -> None:
    before = _last_seq(world)
    answer = world.screen(content)
    assert answer.status_code == 422, answer.text
    assert [str(e.kind) for e in _entries_after(world, before)] == ["denial"]


def test_the_xlsx_result_needs_the_export_flag(world: World) -> None:
    person = _province_persons(world, 1)[0]
    before = _last_seq(world)
    refused = world.screen(csv_list([["某人", person, "", "", ""]]), format="xlsx")
    assert refused.status_code == 403
    assert [str(e.kind) for e in _entries_after(world, before)] == ["denial"]


def test_the_xlsx_result_is_logged_as_an_export(world: World) -> None:
    person = _province_persons(world, 1)[0]
    before = _last_seq(world)
    answer = world.screen(csv_list([["某人", person, "", "", ""], ["某人", "", "", "", ""]]),
                          "export", format="xlsx")  # fmt: skip
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    lines = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert lines[0][0] == "行号"
    assert [line[1] for line in lines[1:]] == [
        ScreeningStatus.MATCHED,
        ScreeningStatus.INSUFFICIENT,
    ]
    assert lines[1][4] == world.handles.handle(person)
    assert person not in [str(c) for line in lines for c in line]
    kinds = [e.kind for e in _entries_after(world, before)]
    assert kinds == ["query_request", "export", "query_outcome"]


def test_name_rows_without_roster_or_register_in_scope_say_so(world: World) -> None:
    world.applications.setdefault(
        "benefits", _application(world, [PROVINCE], sources=["benefit", "insured"])
    )
    official = next(p for p in world.officials if p.region and p.region.startswith(PROVINCE))
    (result,) = world.results(csv_list([[official.name, "", official.unit or "", "", ""]]),
                              "benefits")  # fmt: skip
    assert result["status"] == ScreeningStatus.UNMATCHED
    assert "数据来源" in result["reason"]
