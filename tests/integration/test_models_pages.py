"""The comparison models' pages (比对模型, 比对运行, 问题线索台账) over the real engine, store
and app: each page answers with what its JSON route answers (the same function), writes the same log
entries, refuses what the gate refuses (logged, in Chinese), checks the CSRF token of every
change, offers only the ledger's allowed moves, and exports only under the export flag.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from typing import Any

import pytest
from apiworld import (
    PASSWORD,
    add_accounts,
    bearer,
    case_number,
    ingest_demo,
    isolated_settings,
    log_entries,
    log_in,
)
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from accounts.roles import Role
from common.db import create_db_engine
from common.settings import Settings
from comparison.definitions import shipped_catalogue
from comparison.ledger import TRANSITIONS
from comparison.store import ClueStatus, runs
from registry.engine import EngineDoor
from search_api.app import create_app

ORIGIN = "http://testserver"
PROVINCE = "46"
PURPOSE = "民生领域专项核查：比对死亡人员领取养老金、低保对象经商等问题线索"
CATALOGUE = shipped_catalogue()
MODELS = sorted(CATALOGUE.models)
ALL_SOURCES = sorted({str(s) for m in CATALOGUE.models.values() for s in m.sources})
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
CLUE_ROW = re.compile(r'data-clue-id="(\d+)" data-clue-no="([^"]+)"')
HIT_ROW = re.compile(r'class="model-hit" data-clue-no="([^"]+)"')


@dataclass
class World:
    api: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]
    case_id: int = 0
    application_id: int = 0  # 专项核查, every model, export allowed
    model: str = ""  # a model that finds someone in the province

    def headers(self, who: str, application_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens, who, application_id)

    def file(self, who: str, case_id: int, approve: bool = True, **overrides: Any) -> int:
        body = {
            "case_id": case_id,
            "purpose": PURPOSE,
            "category": "专项核查",
            "sources": ALL_SOURCES,
            "regions": [PROVINCE],
            "models": MODELS,
        } | overrides
        filed = self.api.post("/applications", json=body, headers=self.headers(who))
        assert filed.status_code == 201, filed.text
        app_id = int(filed.json()["id"])
        if approve:
            decided = self.api.post(f"/applications/{app_id}/decision",
                                    json={"approve": True, "note": "同意"},
                                    headers=self.headers("boss"))  # fmt: skip
            assert decided.status_code == 200, decided.text
        return app_id

    def open_case(self, who: str) -> int:
        body = {"case_no": case_number(), "title": "民生专项核查"}
        opened = self.api.post("/cases", json=body, headers=self.headers(who))
        assert opened.status_code == 201, opened.text
        return int(opened.json()["id"])

    def page_client(self, who: str, application_id: int | None) -> TestClient:
        """A browser of ``who``: logged in through the login form, the application chosen in
        the header's picker."""
        client = TestClient(self.api.app, base_url=ORIGIN)
        client.get("/ui/login")
        token = client.cookies.get("xs_login_csrf")
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

    def run_count(self) -> int:
        engine = create_db_engine(self.settings.effective_database_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())
        finally:
            engine.dispose()

    def api_clues(self, **params: Any) -> dict[str, Any]:
        answer = self.api.get("/models/clues", params={"page_size": 50, **params},
                              headers=self.headers("task", self.application_id))  # fmt: skip
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def csrf_of(client: TestClient) -> str:
    match = CSRF.search(client.get("/ui/").text)
    assert match
    return match.group(1)


def post(client: TestClient, path: str, data: dict[str, Any], csrf: bool = True) -> Any:
    """A form POST from the page (same origin), with the session's token unless told not to."""
    form = data | ({"csrf_token": csrf_of(client)} if csrf else {})
    return client.post(path, data=form, headers={"origin": ORIGIN}, follow_redirects=False)


def new_entries(world: World, before: int) -> list[tuple[str, str | None]]:
    return [(e.kind, e.outcome) for e in log_entries(world.settings)[before:]
            if e.kind != "checkpoint"]  # fmt: skip


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("models-pages")
    local = isolated_settings(settings, root, "mdlpages").model_copy(
        update={"embeddings_enabled": False}
    )
    truth = ingest_demo(local, root, persons=300, seed=29)
    accounts = {
        "task": ([Role.SPECIAL_TASK], PROVINCE),
        "other": ([Role.SPECIAL_TASK], PROVINCE),
        "inv": ([Role.INVESTIGATOR], PROVINCE),
        "boss": ([Role.APPROVER], PROVINCE),
    }
    add_accounts(local, accounts)
    with TestClient(create_app(local), base_url=ORIGIN) as api:
        world = World(api, local, truth, log_in(api, accounts))
        world.case_id = world.open_case("task")
        world.application_id = world.file("task", world.case_id, export=True)
        found = truth["comparison_models_by_province"][PROVINCE]
        world.model = max(MODELS, key=lambda m: len(found[m]))
        assert len(found[world.model]) >= 2
        yield world
    door.drop_index(f"{local.index_prefix}-*")


@pytest.fixture(scope="module")
def ran(world: World) -> dict[str, Any]:
    """The model run once through the page: the run's id, the entries it wrote."""
    page = world.page_client("task", world.application_id)
    before = len(log_entries(world.settings))
    started = post(page, f"/ui/models/{world.model}/runs", {})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert re.fullmatch(r"/ui/models/runs/\d+", location)
    return {"run_id": int(location.rsplit("/", 1)[1]), "entries": new_entries(world, before)}


# --- 比对模型 ------------------------------------------------------------------------------------


def test_the_models_page_shows_the_catalogue_with_labelled_levels(world: World) -> None:
    page = world.page_client("task", world.application_id)
    shown = page.get("/ui/models")
    assert shown.status_code == 200
    text = unescape(shown.text)
    for model in CATALOGUE.models.values():
        assert f'data-model-id="{model.id}"' in text
        assert model.name in text
        assert model.description in text
        label = CATALOGUE.levels[model.level].label
        assert f'<span class="level level-{model.level}">{label}</span>' in text


def test_the_models_page_offers_a_run_only_for_the_models_the_application_names(
    world: World,
) -> None:
    named = [MODELS[0], MODELS[1]]
    app_id = world.file("task", world.case_id, models=named)
    shown = world.page_client("task", app_id).get("/ui/models").text
    offered = set(re.findall(r'action="/ui/models/([a-z_0-9]+)/runs"', shown))
    assert offered == set(named)


def test_the_models_page_without_a_special_check_application_offers_no_run(world: World) -> None:
    shown = world.page_client("task", None).get("/ui/models")
    assert shown.status_code == 200
    assert "run-form" not in shown.text
    assert "专项核查" in unescape(shown.text)


def test_the_models_page_is_refused_to_a_user_who_files_no_applications(world: World) -> None:
    page = world.page_client("boss", None)
    before = len(log_entries(world.settings))
    refused = page.get("/ui/models")
    assert refused.status_code == 403
    assert "只有可提交查询申请的用户" in refused.text
    assert new_entries(world, before) == [("denial", "denied")]


# --- a run from the page ------------------------------------------------------------------------


def test_a_page_run_writes_the_request_ahead_and_the_outcome(ran: dict[str, Any]) -> None:
    assert ran["entries"] == [("query_request", None), ("query_outcome", "ok")]


def test_a_page_run_s_hits_are_the_json_route_s(world: World, ran: dict[str, Any]) -> None:
    page = world.page_client("task", world.application_id)
    shown = page.get(f"/ui/models/runs/{ran['run_id']}", params={"page_size": 50})
    assert shown.status_code == 200
    api = world.api.get(f"/models/runs/{ran['run_id']}/hits", params={"page_size": 50},
                        headers=world.headers("task", world.application_id))  # fmt: skip
    assert api.status_code == 200
    expected = [h["clue_no"] for h in api.json()["hits"]]
    assert HIT_ROW.findall(shown.text) == expected
    assert len(expected) == len(world.truth["comparison_models_by_province"][PROVINCE][world.model])


def test_a_run_s_hits_are_masked_and_link_to_the_profile_by_handle(
    world: World, ran: dict[str, Any]
) -> None:
    shown = world.page_client("task", world.application_id).get(f"/ui/models/runs/{ran['run_id']}")
    assert not FULL_ID.search(shown.text)
    persons = world.truth["comparison_models_by_province"][PROVINCE][world.model]
    assert not any(p in shown.text for p in persons)
    assert re.search(r'href="/ui/persons/h[^"/]+/profile"', shown.text)


def test_the_runs_page_lists_the_user_s_own_runs_only(world: World, ran: dict[str, Any]) -> None:
    mine = world.page_client("task", None).get("/ui/models/runs")
    assert mine.status_code == 200
    assert f'data-run-id="{ran["run_id"]}"' in mine.text
    theirs = world.page_client("other", None).get("/ui/models/runs")
    assert f'data-run-id="{ran["run_id"]}"' not in theirs.text


def test_another_user_s_run_is_not_found_and_logged(world: World, ran: dict[str, Any]) -> None:
    case = world.open_case("other")
    app_id = world.file("other", case)
    page = world.page_client("other", app_id)
    before = len(log_entries(world.settings))
    refused = page.get(f"/ui/models/runs/{ran['run_id']}")
    assert refused.status_code == 404
    assert "此申请下没有该次运行" in refused.text
    assert new_entries(world, before) == [("query_request", None), ("query_outcome", "ok"),
                                          ("denial", "denied")]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("no csrf", 403, "页面已过期"),
        ("no application", 403, "请先在页面顶部选择一份已批准的查询申请"),
        ("another category", 403, "比对模型只能在已批准的“专项核查”申请下运行"),
        ("model not named", 403, "当前申请未列明此比对模型"),
        ("source missing", 403, "所需的数据来源不在当前申请范围内"),
        ("unknown model", 404, "没有此编号的比对模型"),
    ],
)
def test_a_refused_page_run_is_logged_shown_in_chinese_and_stores_no_run(
    world: World, case: str, status: int, message: str
) -> None:
    model, app_id = world.model, world.application_id
    if case == "no application":
        app_id = 0
    elif case == "another category":
        app_id = world.file("task", world.case_id, category="初核", models=[])
    elif case == "model not named":
        app_id = world.file("task", world.case_id, models=[m for m in MODELS if m != model])
    elif case == "source missing":
        needed = sorted(str(s) for s in CATALOGUE.models[model].sources)
        app_id = world.file("task", world.case_id,
                            sources=[s for s in ALL_SOURCES if s != needed[0]])  # fmt: skip
    elif case == "unknown model":
        model = "no_such_model"
    page = world.page_client("task", app_id or None)
    runs_before, before = world.run_count(), len(log_entries(world.settings))
    refused = post(page, f"/ui/models/{model}/runs", {}, csrf=case != "no csrf")
    assert refused.status_code == status
    assert message in unescape(refused.text)
    assert "Traceback" not in refused.text
    assert new_entries(world, before) == [("denial", "denied")]
    assert world.run_count() == runs_before


# --- 问题线索台账 ------------------------------------------------------------------------------


def ledger_rows(html: str) -> list[tuple[int, str]]:
    return [(int(i), n) for i, n in CLUE_ROW.findall(html)]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "待处置"},
        {"level": "red"},
        {"flag": "临期"},
        {"new": "true"},
        {"status": ["核查中", "已办结"], "level": ["yellow", "blue"]},
    ],
    ids=["all", "pending", "red", "due-soon", "new", "several"],
)
def test_the_ledger_page_shows_what_the_json_route_answers(
    world: World, ran: dict[str, Any], params: dict[str, Any]
) -> None:
    del ran  # the ledger holds the run's clues
    page = world.page_client("task", world.application_id)
    shown = page.get("/ui/models/clues", params={"page_size": 50, **params})
    assert shown.status_code == 200
    expected = world.api_clues(**params)
    assert [n for _, n in ledger_rows(shown.text)] == [c["clue_no"] for c in expected["clues"]]
    assert not FULL_ID.search(shown.text)


def test_the_ledger_s_new_filter_keeps_only_clues_of_the_latest_run(
    world: World, ran: dict[str, Any]
) -> None:
    del ran
    everything = world.api_clues()["clues"]
    new = world.api_clues(new="true")["clues"]
    assert new  # the run opened them
    assert {c["clue_no"] for c in new} == {c["clue_no"] for c in everything if c["new"]}


def test_the_ledger_s_empty_flag_choice_means_every_clue(world: World, ran: dict[str, Any]) -> None:
    del ran
    page = world.page_client("task", world.application_id)
    shown = page.get("/ui/models/clues", params={"page_size": 50, "flag": ""})
    assert shown.status_code == 200
    assert len(ledger_rows(shown.text)) == world.api_clues()["total"]


def test_each_clue_offers_only_the_ledger_s_allowed_moves(
    world: World, ran: dict[str, Any]
) -> None:
    del ran
    page = world.page_client("task", world.application_id)
    shown = page.get("/ui/models/clues", params={"page_size": 50}).text
    (clue_id, _), *_ = ledger_rows(shown)
    form = shown[shown.index(f'action="/ui/models/clues/{clue_id}"') :]
    select = form[form.index('name="status"') : form.index("</select>")]
    offered = set(re.findall(r'<option value="([^"]+)">', select))
    assert offered == {str(s) for s in TRANSITIONS[ClueStatus.PENDING]}


def test_a_clue_change_from_the_page_is_the_patch_s(world: World, ran: dict[str, Any]) -> None:
    del ran
    page = world.page_client("task", world.application_id)
    clue = world.api_clues(status="待处置")["clues"][0]
    due = (date.today() + timedelta(days=20)).isoformat()
    before = len(log_entries(world.settings))
    changed = post(page, f"/ui/models/clues/{clue['id']}",
                   {"status": "核查中", "assignee": "task", "due_on": due, "notes": "",
                    "back": "?status=待处置"})  # fmt: skip
    assert changed.status_code == 303, changed.text
    assert changed.headers["location"].startswith("/ui/models/clues?status=")
    kinds = new_entries(world, before)
    assert kinds == [("query_request", None), ("case_change", "ok"), ("query_outcome", "ok")]
    after = next(c for c in world.api_clues()["clues"] if c["id"] == clue["id"])
    assert (after["status"], after["assignee"], after["due_on"]) == ("核查中", "task", due)
    assert after["notes"] == clue["notes"]  # an empty field leaves it as it was
    shown = page.get(changed.headers["location"].partition("#")[0]).text
    assert f"线索 {clue['clue_no']} 已更新" in shown


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"status": "已办结"}, 409, "线索状态不能这样变更"),
        ({"assignee": "other"}, 422, "承办人须为案件承办人或案件成员"),
        ({"due_on": "2000-01-01"}, 422, "办结期限须在今日起一年内"),
        ({"due_on": "not a date"}, 422, "输入不符合要求"),
    ],
    ids=["move-not-allowed", "assignee-outside-case", "due-in-the-past", "due-not-a-date"],
)
def test_a_refused_clue_change_is_shown_in_chinese_and_changes_nothing(
    world: World, ran: dict[str, Any], change: dict[str, str], status: int, message: str
) -> None:
    del ran
    page = world.page_client("task", world.application_id)
    clue = world.api_clues(status="待处置")["clues"][0]
    refused = post(page, f"/ui/models/clues/{clue['id']}", change)
    assert refused.status_code == status, refused.text
    assert message in unescape(refused.text)
    after = next(c for c in world.api_clues()["clues"] if c["id"] == clue["id"])
    assert after == clue


def test_a_clue_change_without_the_csrf_token_is_refused_and_logged(
    world: World, ran: dict[str, Any]
) -> None:
    del ran
    page = world.page_client("task", world.application_id)
    clue = world.api_clues(status="待处置")["clues"][0]
    before = len(log_entries(world.settings))
    refused = post(page, f"/ui/models/clues/{clue['id']}", {"status": "核查中"}, csrf=False)
    assert refused.status_code == 403
    assert new_entries(world, before) == [("denial", "denied")]
    assert next(c for c in world.api_clues()["clues"] if c["id"] == clue["id"]) == clue


def test_the_ledger_exports_from_the_page_as_a_logged_xlsx(
    world: World, ran: dict[str, Any]
) -> None:
    del ran
    page = world.page_client("task", world.application_id)
    shown = page.get("/ui/models/clues").text
    link = re.search(r'id="ledger-export" href="([^"]+)"', shown)
    assert link
    before = len(log_entries(world.settings))
    exported = page.get(unescape(link.group(1)))
    assert exported.status_code == 200
    assert new_entries(world, before) == [("query_request", None), ("export", "ok"),
                                          ("query_outcome", "ok")]  # fmt: skip
    book = load_workbook(io.BytesIO(exported.content))
    assert book.active is not None
    assert book.active.max_row == world.api_clues()["total"] + 1  # the header row


def test_the_ledger_export_without_the_flag_is_not_offered_and_refused(
    world: World, ran: dict[str, Any]
) -> None:
    del ran
    app_id = world.file("task", world.case_id)  # no export flag
    page = world.page_client("task", app_id)
    assert 'id="ledger-export"' not in page.get("/ui/models/clues").text
    before = len(log_entries(world.settings))
    refused = page.get("/ui/models/clues/export")
    assert refused.status_code == 403
    assert "当前申请未批准导出" in refused.text
    assert new_entries(world, before) == [("denial", "denied")]


def test_the_ledger_page_without_an_application_is_refused_and_logged(world: World) -> None:
    page = world.page_client("task", None)
    before = len(log_entries(world.settings))
    refused = page.get("/ui/models/clues")
    assert refused.status_code == 403
    assert new_entries(world, before) == [("denial", "denied")]


# --- navigation and the approver's queue ---------------------------------------------------------


@pytest.mark.parametrize(("who", "shown"), [("task", True), ("inv", True), ("boss", False)])
def test_the_nav_offers_the_models_pages_to_the_roles_that_may_run_them(
    world: World, who: str, shown: bool
) -> None:
    home = world.page_client(who, None).get("/ui/").text
    assert ('href="/ui/models/clues"' in home) is shown


def test_the_approver_sees_the_models_a_special_check_application_names(world: World) -> None:
    named = [MODELS[2], MODELS[3]]
    app_id = world.file("task", world.case_id, approve=False, models=named)
    queue = world.page_client("boss", None).get("/ui/approvals").text
    row = queue[queue.index(f'data-application-id="{app_id}"') :]
    row = row[: row.index("</tr>")]
    for model in named:
        assert CATALOGUE.models[model].name in unescape(row)
