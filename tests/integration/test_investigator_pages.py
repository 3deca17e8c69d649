"""The investigator's pages (实体, 一人一档 and its PDF, 我的案件) over the real app, engine and
store: the same gate, functions, masking and log entries as the JSON routes.

A page is driven as a browser would: a session cookie from the login form, the session's CSRF
token on every form, the application chosen in the header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apiworld import PASSWORD, add_accounts, bearer, ingest_demo, isolated_settings, log_entries
from apiworld import approved_application as approve
from apiworld import log_in as api_log_in
from fastapi.testclient import TestClient

from accounts.roles import Role
from common.db import create_db_engine
from common.settings import Settings
from graph.build import run_graph_build
from query_logs.audit import AuditEntry
from registry.engine import EngineDoor
from search_api.app import create_app
from search_api.handles import handles_for
from search_api.masking import mask_id
from search_api.models.profiles import PersonProfileResponse
from search_api.web.labels import PROFILE_PAGE
from search_api.web.profile_pdf import render_profile_document
from search_api.web.profile_view import profile_view

ORIGIN = "http://testserver"
REGION = "46"
PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"
ALL_SOURCES = ["household", "company", "shareholder", "company_officer", "insured", "benefit",
               "property", "petition", "official"]  # fmt: skip
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    settings: Settings
    truth: dict[str, Any]
    api: TestClient
    tokens: dict[str, str]

    @property
    def official(self) -> dict[str, Any]:
        return dict(self.truth["patterns"]["official_spouse_company"])

    def application(self, subject: str, **overrides: Any) -> int:
        body = {
            "purpose": PURPOSE,
            "category": "初核",
            "sources": ALL_SOURCES,
            "regions": [REGION],
            "subjects": [{"kind": "person_id", "value": subject}],
        }
        return approve(self.api, self.tokens, body | overrides, title="一人一档")  # fmt: skip

    def entries(self) -> list[AuditEntry]:
        return [e for e in log_entries(self.settings) if e.kind != "checkpoint"]

    def handle(self, id_number: str) -> str:
        return handles_for(self.settings.secret_key.get_secret_value()).handle(id_number)


@pytest.fixture(scope="module")
def world(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, door: EngineDoor
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("invpages")
    local = isolated_settings(settings, root, "invp").model_copy(
        update={"embeddings_enabled": False}
    )
    truth = ingest_demo(local, root, persons=300, seed=5)
    add_accounts(local, {"inv": ([Role.INVESTIGATOR], REGION), "boss": ([Role.APPROVER], REGION),
                         "auditor": ([Role.SECURITY_AUDITOR], REGION)})  # fmt: skip
    with TestClient(create_app(local)) as api:
        engine = create_db_engine(local.effective_database_url)
        try:
            run_graph_build(local, engine)
        finally:
            engine.dispose()
        yield World(local, truth, api, api_log_in(api, ["inv", "boss"]))
    door.drop_index(f"{local.index_prefix}-*")


class Browser:
    """One signed-in session of the UI (its own cookie jar)."""

    def __init__(self, world: World, username: str) -> None:
        self.client = TestClient(world.api.app, headers={"Origin": ORIGIN})
        page = self.client.get("/ui/login")
        token = CSRF_FIELD.search(page.text)
        assert token
        signed = self.client.post(
            "/ui/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        self.csrf = self.token()

    def token(self) -> str:
        found = CSRF_FIELD.search(self.client.get("/ui/").text)
        assert found
        return found.group(1)

    def choose(self, application_id: int) -> None:
        chosen = self.client.post(
            "/ui/application",
            data={"application_id": str(application_id), "csrf_token": self.csrf},
            follow_redirects=False,
        )
        assert chosen.status_code == 303, chosen.text

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params=params)

    def post(self, url: str, data: dict[str, Any], *, csrf: bool = True) -> Any:
        form = data | ({"csrf_token": self.csrf} if csrf else {})
        return self.client.post(url, data=form, follow_redirects=False)


@pytest.fixture(scope="module")
def inv(world: World) -> Browser:
    return Browser(world, "inv")


def _new(world: World, before: int) -> list[str]:
    return [e.kind for e in world.entries()[before:]]


def test_entity_cards_are_the_json_routes_cards_masked_and_linked_by_handle(
    world: World, inv: Browser
) -> None:
    official = world.official
    app_id = world.application(official["official_id"])
    inv.choose(app_id)
    before = len(world.entries())
    page = inv.get("/ui/entities/results", q=official["official_name"])
    assert page.status_code == 200, page.text
    assert _new(world, before) == ["query_request", "query_outcome"]
    api = world.api.get("/entities", params={"q": official["official_name"]},
                        headers=bearer(world.tokens, "inv", app_id)).json()  # fmt: skip
    for card in api["cards"]:
        assert card["id_number"] in page.text
        assert f"/ui/persons/{card['handle']}/profile" in page.text
        assert f"/ui/cases?subject={card['handle']}" in page.text
    assert official["official_name"] in page.text
    assert not FULL_ID.search(page.text)


def test_the_profile_page_shows_sources_timeline_household_and_companies(
    world: World, inv: Browser
) -> None:
    official = world.official
    inv.choose(world.application(official["spouse_id"]))
    before = len(world.entries())
    page = inv.get(f"/ui/persons/{world.handle(official['spouse_id'])}/profile")
    assert page.status_code == 200, page.text
    assert _new(world, before) == ["query_request", "query_outcome"]
    for label in ("sources", "timeline", "household", "companies", "linked"):
        assert PROFILE_PAGE[label] in page.text
    assert official["company_code"] in page.text  # the company the spouse represents
    assert mask_id(official["spouse_id"]) in page.text
    assert not FULL_ID.search(page.text)


def test_a_profile_outside_the_application_is_refused_and_logged(
    world: World, inv: Browser
) -> None:
    official = world.official
    inv.choose(world.application(official["official_id"]))
    before = len(world.entries())
    page = inv.get(f"/ui/persons/{world.handle(official['spouse_id'])}/profile")
    assert page.status_code == 403
    assert "Traceback" not in page.text
    assert _new(world, before) == ["denial"]


def test_the_linked_persons_panel_is_the_graphs_linked_function(world: World, inv: Browser) -> None:
    official = world.official
    app_id = world.application(official["official_id"])
    inv.choose(app_id)
    before = len(world.entries())
    panel = inv.get(f"/ui/persons/{world.handle(official['official_id'])}/linked")
    assert panel.status_code == 200, panel.text
    assert _new(world, before) == ["query_request", "query_outcome"]
    linked = world.api.get(f"/graph/person_id/{official['official_id']}/linked",
                           headers=bearer(world.tokens, "inv", app_id)).json()  # fmt: skip
    assert linked["entities"]
    for entity in linked["entities"][:20]:
        assert (entity["name"] or entity["key"]) in panel.text
    assert not FULL_ID.search(panel.text)


def test_the_pdf_export_is_logged_and_holds_the_masked_profile(world: World, inv: Browser) -> None:
    official = world.official
    inv.choose(world.application(official["official_id"], export=True))
    before = len(world.entries())
    pdf = inv.get(f"/ui/persons/{world.handle(official['official_id'])}/profile.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert _new(world, before) == ["query_request", "query_outcome", "export"]
    export = world.entries()[-1]
    assert '"format":"pdf"' in export.detail.replace(" ", "")


def test_the_pdf_text_holds_the_name_and_masked_number_never_the_full_number(
    world: World,
) -> None:
    official = world.official
    app_id = world.application(official["official_id"], export=True)
    profile = world.api.get(f"/persons/{official['official_id']}/profile",
                            headers=bearer(world.tokens, "inv", app_id))  # fmt: skip
    view = profile_view(PersonProfileResponse.model_validate(profile.json()), dict(PROFILE_PAGE))
    meta = {"case_no": "案-1", "application_id": str(app_id), "user": "inv", "time": "2026-01-01"}
    document = render_profile_document(view, meta)
    text = "\n".join(_texts(page._page_box) for page in document.pages)
    assert official["official_name"] in text
    assert mask_id(official["official_id"]) in text
    assert not FULL_ID.search(text)
    # the CJK font is embedded in the file, not named for the reader's machine to supply
    assert b"Noto-Sans-CJK-SC" in document.write_pdf(uncompressed_pdf=True)


def _texts(box: Any) -> str:
    own = [box.text] if isinstance(getattr(box, "text", None), str) else []
    return "".join(own + [_texts(c) for c in getattr(box, "children", None) or []])


def test_the_pdf_needs_the_export_flag(world: World, inv: Browser) -> None:
    official = world.official
    inv.choose(world.application(official["official_id"]))
    before = len(world.entries())
    refused = inv.get(f"/ui/persons/{world.handle(official['official_id'])}/profile.pdf")
    assert refused.status_code == 403
    assert not refused.content.startswith(b"%PDF")
    assert _new(world, before) == ["denial"]


def test_the_json_pdf_route_is_the_same_export(world: World) -> None:
    official = world.official
    app_id = world.application(official["official_id"], export=True)
    before = len(world.entries())
    pdf = world.api.get(f"/persons/{official['official_id']}/profile.pdf",
                        headers=bearer(world.tokens, "inv", app_id))  # fmt: skip
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    assert _new(world, before) == ["query_request", "query_outcome", "export"]


def test_similar_petitions_of_a_listed_petition(world: World, inv: Browser) -> None:
    official = world.official
    app_id = world.application(official["official_id"])
    profile = world.api.get(f"/persons/{official['official_id']}/profile",
                            headers=bearer(world.tokens, "inv", app_id)).json()  # fmt: skip
    petitions = [r for g in profile["groups"] if g["source"] == "petition" for r in g["records"]]
    if not petitions:
        pytest.skip("the planted official is reported in no petition of this drop")
    number = petitions[0]["record"]["petition_no"]
    inv.choose(app_id)
    before = len(world.entries())
    panel = inv.get(f"/ui/petitions/{number}/similar")
    assert panel.status_code == 200, panel.text
    assert _new(world, before) == ["query_request", "query_outcome"]


def test_filing_an_application_in_the_form_is_the_apis_filing(world: World, inv: Browser) -> None:
    official = world.official
    case_no = f"案-{uuid.uuid4().hex[:8]}"
    opened = inv.post("/ui/cases", {"case_no": case_no, "title": "页面立案"})
    assert opened.status_code == 303, opened.text
    page = inv.get("/ui/cases", subject=world.handle(official["official_id"]))
    assert case_no in page.text
    case_id = re.search(rf'<option value="(\d+)">{case_no}', page.text)
    assert case_id
    before = len(world.entries())
    filed = inv.post("/ui/applications", {
        "case_id": case_id.group(1), "purpose": PURPOSE, "category": "初核",
        "sources": ["household", "official"], "regions": REGION,
        "subject_kind": ["handle", "person_id"],
        "subject_value": [world.handle(official["official_id"]), ""],
        "export": "true", "valid_days": "10",
    })  # fmt: skip
    assert filed.status_code == 303, filed.text
    assert _new(world, before) == ["admin_action", "application_request"]
    listed = inv.get("/ui/cases")
    assert mask_id(official["official_id"]) in listed.text
    assert "待审批" in listed.text
    assert not FULL_ID.search(listed.text)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"sources": []}, "sources"), ({"regions": ""}, "regions"), ({"case_id": "x"}, "case_id")],
)
def test_a_bad_application_form_gets_the_apis_message_and_a_logged_denial(
    world: World, inv: Browser, change: dict[str, Any], field: str
) -> None:
    form = {"case_id": "1", "purpose": PURPOSE, "category": "初核", "sources": ["household"],
            "regions": REGION, "valid_days": "10"} | change  # fmt: skip
    before = len(world.entries())
    refused = inv.post("/ui/applications", form)
    assert refused.status_code == 422
    assert "Traceback" not in refused.text
    assert "请检查" in refused.text
    assert _new(world, before) == ["denial"]


def test_a_form_without_the_csrf_token_is_refused_and_logged(world: World, inv: Browser) -> None:
    before = len(world.entries())
    refused = inv.post("/ui/cases", {"case_no": "案-csrf", "title": "x"}, csrf=False)
    assert refused.status_code == 403
    assert "Traceback" not in refused.text
    assert _new(world, before) == ["denial"]
