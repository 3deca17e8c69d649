"""The 待审批, 日志审查 and 账户管理 pages through the real app: the same desks and reads as the
JSON routes, so the same log entries; CSRF and role refusals logged; bad form input answered
with the API's message in a Chinese page, never a stack trace.

Real FastAPI app (TestClient), real SQLite store, the real OpenSearch node behind the provider
(no registry data is needed: the review's household look-up finds no index and says so).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.users import add_user, get_user
from analyzers.ids import id_check_char
from common.db import create_db_engine
from common.settings import Settings
from migrations.store import upgrade_store
from query_logs.applications import get_application
from query_logs.audit import AuditEntry, iter_entries, read_head
from search_api.app import create_app

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious test accounts
ORIGIN = "http://testserver"
CHEAP_HASHER = make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)
SUBJECT_BODY = "46010619700101001"
SUBJECT = SUBJECT_BODY + id_check_char(SUBJECT_BODY)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ACCOUNTS: dict[str, tuple[tuple[Role, ...], str]] = {
    "sysadmin": ((Role.SYSTEM_ADMIN,), "46"),
    "secadmin": ((Role.SECURITY_ADMIN,), "46"),
    "auditor": ((Role.SECURITY_AUDITOR,), "46"),
    "inv": ((Role.INVESTIGATOR,), "4601"),
    "boss": ((Role.APPROVER,), "46"),
}


@dataclass
class World:
    app_client: TestClient
    settings: Settings
    engine: Engine
    pages: dict[str, TestClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def page(self, who: str) -> TestClient:
        """A browser-like client signed in as ``who`` through the login form."""
        if who not in self.pages:
            client = TestClient(self.app_client.app)
            form = client.get("/ui/login")
            token = CSRF.search(form.text)
            assert token is not None
            done = client.post(
                "/ui/login",
                data={"username": who, "password": PASSWORD, "csrf_token": token.group(1)},
                headers={"Origin": ORIGIN},
                follow_redirects=False,
            )
            assert done.status_code == 303, done.text
            self.pages[who] = client
        return self.pages[who]

    def csrf(self, who: str) -> str:
        found = CSRF.search(self.page(who).get("/ui/").text)
        assert found is not None
        return found.group(1)

    def post(self, who: str, url: str, data: Mapping[str, object]) -> Any:
        return self.page(who).post(
            url, data={**data, "csrf_token": self.csrf(who)}, headers={"Origin": ORIGIN},
            follow_redirects=False,
        )  # fmt: skip

    def bearer(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            answer = self.app_client.post(
                "/auth/token", json={"username": who, "password": PASSWORD}
            )
            self.tokens[who] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def mark(self) -> int:
        with self.engine.connect() as conn:
            return read_head(conn)[0]

    def entries_since(self, mark: int) -> list[AuditEntry]:
        found = iter_entries(self.engine, after_seq=mark, limit=10_000)
        return [e for e in found if e.kind != "checkpoint"]

    def file_application(self) -> int:
        case = self.app_client.post(
            "/cases", json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "线索核查"},
            headers=self.bearer("inv"),
        )  # fmt: skip
        assert case.status_code == 201, case.text
        body = {
            "case_id": case.json()["id"], "purpose": "核查举报反映的公职人员配偶经商办企业问题线索",
            "category": "初核", "sources": ["household"], "regions": ["4601"],
            "subjects": [{"kind": "person_id", "value": SUBJECT}],
        }  # fmt: skip
        filed = self.app_client.post("/applications", json=body, headers=self.bearer("inv"))
        assert filed.status_code == 201, filed.text
        return int(filed.json()["id"])


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("adminpages")
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-adpg{uuid.uuid4().hex[:4]}",
            "state_dir": root,
            "database_url": f"sqlite:///{root / 'pages.db'}",
        }
    )
    engine = create_db_engine(local.effective_database_url)
    upgrade_store(engine)
    for name, (roles, jurisdiction) in ACCOUNTS.items():
        add_user(engine, name, roles, jurisdiction, PASSWORD, hasher=CHEAP_HASHER)
    try:
        with TestClient(create_app(local)) as client:
            yield World(client, local, engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/ui/approvals", "boss", "inv"),
        ("/ui/audit", "auditor", "boss"),
        ("/ui/audit/review", "auditor", "sysadmin"),
        ("/ui/audit/chain", "auditor", "inv"),
        ("/ui/audit/users/inv", "auditor", "secadmin"),
        ("/ui/admin", "sysadmin", "auditor"),
        ("/ui/admin", "secadmin", "inv"),
    ],
)
def test_a_page_is_shown_to_its_role_and_refused_with_a_logged_denial_to_another(
    world: World, path: str, allowed: str, refused: str
) -> None:
    shown = world.page(allowed).get(path)
    assert shown.status_code == 200, shown.text
    assert "<h1>" in shown.text or "tabs" in shown.text
    mark = world.mark()
    answer = world.page(refused).get(path)
    assert answer.status_code == 403
    assert "无权执行此操作" in answer.text
    assert "Traceback" not in answer.text
    denials = [e for e in world.entries_since(mark) if e.kind == "denial"]
    assert [e.actor for e in denials] == [refused]


def test_the_approver_decides_in_the_page_with_the_entries_the_api_writes(world: World) -> None:
    app_id = world.file_application()
    queue = world.page("boss").get("/ui/approvals")
    assert f'data-application-id="{app_id}"' in queue.text
    assert SUBJECT not in queue.text  # the subject is masked as the API masks it
    mark = world.mark()
    answer = world.post("boss", f"/ui/approvals/applications/{app_id}",
                        {"approve": "true", "note": "同意"})  # fmt: skip
    assert answer.status_code == 303
    assert get_application(world.engine, app_id).state == "approved"
    new = world.entries_since(mark)
    assert [e.kind for e in new] == ["admin_action", "application_decision"]
    after = world.page("boss").get("/ui/approvals")
    assert f'data-application-id="{app_id}"' not in after.text


def test_a_form_without_the_csrf_token_is_refused_logged_and_changes_nothing(
    world: World,
) -> None:
    app_id = world.file_application()
    mark = world.mark()
    answer = world.page("boss").post(
        f"/ui/approvals/applications/{app_id}", data={"approve": "true"},
        headers={"Origin": ORIGIN}, follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 403
    assert get_application(world.engine, app_id).state == "pending"
    assert [e.kind for e in world.entries_since(mark)] == ["denial"]


def test_an_account_added_through_the_form_exists_and_is_logged_as_the_api_logs_it(
    world: World,
) -> None:
    name = f"new-{uuid.uuid4().hex[:6]}"
    mark = world.mark()
    form = {"username": name, "jurisdiction": "4601", "password": PASSWORD}
    answer = world.post("sysadmin", "/ui/admin/users", form)
    assert answer.status_code == 303
    assert get_user(world.engine, name).roles == frozenset()
    kinds = [e.kind for e in world.entries_since(mark)]
    assert kinds == ["admin_action", "user_change"]
    shown = world.page("sysadmin").get("/ui/admin?done=created:" + name)
    assert f'data-username="{name}"' in shown.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "x1", "jurisdiction": "abc", "password": PASSWORD}, "jurisdiction"),
        ({"username": "x2", "jurisdiction": "4601", "password": "short 9"}, "password"),
        ({"username": "x3", "jurisdiction": "4601"}, "password"),
    ],
)
def test_bad_account_input_shows_the_api_message_without_a_stack_trace(
    world: World, form: dict[str, str], message: str
) -> None:
    mark = world.mark()
    answer = world.post("sysadmin", "/ui/admin/users", form)
    assert answer.status_code == 422, answer.text
    text = answer.text
    assert "输入不符合要求" in text
    assert message in text.lower()
    assert "Traceback" not in text
    assert PASSWORD not in text
    assert "denial" in [e.kind for e in world.entries_since(mark)]


def test_the_security_admin_sets_roles_through_the_form(world: World) -> None:
    name = f"r-{uuid.uuid4().hex[:6]}"
    add_user(world.engine, name, (), "4601", PASSWORD, hasher=CHEAP_HASHER)
    answer = world.post("secadmin", f"/ui/admin/users/{name}/roles", {"roles": ["investigator"]})
    assert answer.status_code == 303
    assert get_user(world.engine, name).roles == frozenset({Role.INVESTIGATOR})


def test_reading_the_log_in_the_page_is_logged_with_its_filters(world: World) -> None:
    mark = world.mark()
    shown = world.page("auditor").get("/ui/audit?outcome=denied&kind=denial")
    assert shown.status_code == 200
    rows = re.findall(r'data-outcome="([^"]*)"', shown.text)
    assert rows
    assert set(rows) == {"denied"}
    reads = [e for e in world.entries_since(mark) if e.kind == "audit_read"]
    assert len(reads) == 1
    assert "denied" in (reads[0].detail or "")


@pytest.mark.parametrize(
    ("query", "field"), [("kind=nonsense", "kind"), ("since=yesterday", "since")]
)
def test_a_bad_log_filter_is_refused_with_a_clear_message(
    world: World, query: str, field: str
) -> None:
    answer = world.page("auditor").get(f"/ui/audit?{query}")
    assert answer.status_code == 422
    assert field in answer.text
    assert "Traceback" not in answer.text


def test_the_chain_and_the_review_export_are_read_as_the_api_reads_them(world: World) -> None:
    mark = world.mark()
    chain = world.page("auditor").get("/ui/audit/chain", headers={"HX-Request": "true"})
    assert 'data-ok="true"' in chain.text
    export = world.page("auditor").get("/ui/audit/review.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    reads = [e.detail or "" for e in world.entries_since(mark) if e.kind == "audit_read"]
    assert any("verify" in p for p in reads)
    assert any("review_csv" in p for p in reads)


def test_the_json_queue_lists_what_the_page_lists_and_logs_the_read(world: World) -> None:
    app_id = world.file_application()
    headers = world.bearer("boss")
    mark = world.mark()
    answer = world.app_client.get("/approvals/applications", headers=headers)
    assert answer.status_code == 200
    listed = {a["id"]: a for a in answer.json()}
    assert app_id in listed
    assert SUBJECT not in answer.text  # masked as every application response
    assert [e.kind for e in world.entries_since(mark)] == ["admin_action"]
    page = world.page("boss").get("/ui/approvals")
    shown = {int(i) for i in re.findall(r'data-application-id="(\d+)"', page.text)}
    assert shown == set(listed)


def test_an_approver_outside_the_regions_is_not_queued_an_application(world: World) -> None:
    add_user(world.engine, "far_boss", (Role.APPROVER,), "4401", PASSWORD, hasher=CHEAP_HASHER)
    app_id = world.file_application()
    answer = world.app_client.get("/approvals/applications", headers=world.bearer("far_boss"))
    assert app_id not in {a["id"] for a in answer.json()}


def test_the_json_entries_filter_by_outcome_and_page_by_seq(world: World) -> None:
    headers = world.bearer("auditor")
    first = world.app_client.get("/audit/entries?outcome=denied&limit=2", headers=headers).json()
    assert {e["outcome"] for e in first} == {"denied"}
    older = world.app_client.get(
        f"/audit/entries?outcome=denied&limit=2&before_seq={first[-1]['seq']}", headers=headers
    ).json()
    assert all(e["seq"] < first[-1]["seq"] for e in older)
