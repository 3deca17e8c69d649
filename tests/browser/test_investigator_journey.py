"""The investigator's journey in a real browser, over the real server, engine and store: file a
查询申请 in 我的案件, have it approved (the approver, through the API), pick it in the header,
find the person in 实体, open the 一人一档 and export it as a PDF, log out; every step in the log.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from conftest import Guard, Server, entries_of, log_in, pick_application
from playwright.sync_api import expect

from demo import TRUTH_FILE
from search_api.masking import mask_id

PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"


def _planted_official(server: Server) -> dict[str, Any]:
    """The official of the drop's planted pattern (the server's drop is under its state dir)."""
    truth = json.loads((Path(server.settings.state_dir) / "drop" / TRUTH_FILE).read_text("utf-8"))
    return dict(truth["patterns"]["official_spouse_company"])


def _file_application(guard: Guard, url: str, id_number: str) -> int:
    """Open a case and file an application for ``id_number`` with export, through the forms;
    the new application's id."""
    page = guard.page
    page.goto(f"{url}/ui/cases")
    case_no = f"案-{uuid.uuid4().hex[:8]}"
    page.fill(".inline-form input[name=case_no]", case_no)
    page.fill(".inline-form input[name=title]", "网页一人一档核查")
    page.click(".inline-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    guard.check("case-opened")
    form = page.locator("form.application-form")
    case_id = form.locator("#case_id option", has_text=case_no).get_attribute("value")
    form.locator("#case_id").select_option(case_id)
    form.locator("#purpose").fill(PURPOSE)
    row = form.locator(".subject-row").first
    row.locator("select").select_option("person_id")
    row.locator("input[name=subject_value]").fill(id_number)
    form.locator("input[name=export]").check()
    before = page.locator("tr.application-row").count()
    form.locator("button[type=submit]").click()
    expect(page.locator("tr.application-row")).to_have_count(before + 1)
    page.wait_for_load_state("networkidle")
    filed = page.locator("tr.application-row").first
    assert "待审批" in filed.inner_text()
    assert mask_id(id_number) in filed.inner_text()
    guard.check("application-filed")
    return int(filed.get_attribute("data-application-id") or 0)


def test_an_investigator_files_searches_opens_a_profile_exports_a_pdf_and_logs_out(
    server: Server, guarded: Guard
) -> None:
    official = _planted_official(server)
    mark = server.last_seq()
    page = guarded.page
    log_in(page, server.url, "web.inv")
    application_id = _file_application(guarded, server.url, official["official_id"])

    decided = server.api("POST", f"/applications/{application_id}/decision", "web.boss",
                         {"approve": True, "note": "同意"})  # fmt: skip
    assert decided.status_code == 200, decided.text

    page.reload()  # the header's picker now offers the approved application
    pick_application(page, application_id)
    assert page.url.endswith("/ui/cases")  # the picker returns to the page it was on
    page.click("nav a[href='/ui/search']")
    page.wait_for_url(re.compile(r"/ui/search$"))
    page.fill("#q", official["official_name"])
    page.click(".searchbar button[type=submit]")
    page.wait_for_selector(".hits-table")
    guarded.check("search-results")

    page.click("nav.nav a[href='/ui/entities']")
    page.wait_for_load_state("networkidle")
    guarded.check("entities-form")

    page.fill("#q", official["official_name"])
    page.click(".searchbar button[type=submit]")
    page.wait_for_selector(".cards .card")
    card = page.locator(".card", has_text=mask_id(official["official_id"])).first
    assert official["official_name"] in card.inner_text()
    guarded.check("entity-cards")

    card.locator("a.open-profile").click()
    page.wait_for_selector(".profile-head")
    assert official["official_name"] in page.inner_text(".profile-name")
    assert mask_id(official["official_id"]) in page.inner_text(".profile-head")
    # the subject's and the spouse's numbers appear masked only (an all-digit 统一社会信用代码 of
    # the official's unit is shown, as the API shows it: not a person's number)
    for number in (official["official_id"], official["spouse_id"]):
        assert number not in page.content()
    guarded.check("profile")

    with page.expect_download() as download:
        page.click("a.export-pdf")
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"%PDF")
    assert len(content) > 1000

    page.click("header form[action='/ui/logout'] button")
    page.wait_for_url(re.compile(r"/ui/login$"))
    guarded.check("logged-out")

    entries = server.log(mark)
    assert entries_of(entries, "application_request", actor="web.inv")
    assert entries_of(entries, "application_decision", actor="web.boss")
    under = {"actor": "web.inv", "application_id": str(application_id)}
    assert len(entries_of(entries, "query_request", **under)) == 4  # search, cards, profile, PDF
    (export,) = entries_of(entries, "export", **under)
    assert json.loads(str(export["detail"]))["format"] == "pdf"
    assert entries_of(entries, "logout", actor="web.inv")
