"""The approver's 待审批 page in a real browser: an application filed through the API is
approved in the page, and the API then reads it as approved."""

from __future__ import annotations

from conftest import PURPOSE, REGION, Guard, Server, entries_of, log_in
from playwright.sync_api import expect


def _filed(server: Server, applicant: str) -> int:
    """A case and a pending application of ``applicant``, filed through the API."""
    body = {"purpose": PURPOSE, "category": "初核", "sources": ["household", "company"],
            "regions": [REGION], "export": True}  # fmt: skip
    return server.file_application(applicant, "待审批页面核查", body)


def test_an_approver_approves_a_filed_application_in_the_page(
    server: Server, guarded: Guard
) -> None:
    application_id = _filed(server, "web.inv")
    page = guarded.page
    log_in(page, server.url, "web.boss")
    page.click("header nav a[href='/ui/approvals']")
    row = page.locator(f"tr[data-application-id='{application_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(PURPOSE)
    expect(row).to_contain_text("需导出")
    guarded.check("queue")

    mark = server.last_seq()
    row.locator("textarea[name=note]").fill("同意，限本案使用")
    row.locator("button[name=approve][value=true]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".notice")).to_contain_text(f"申请 {application_id} 已批准")
    expect(page.locator(f"tr[data-application-id='{application_id}']")).to_have_count(0)
    guarded.check("approved")

    read = server.api("GET", f"/applications/{application_id}", "web.inv")
    assert read.status_code == 200, read.text
    assert read.json()["state"] == "approved"
    new = server.log(mark)
    decided = entries_of(new, "application_decision", actor="web.boss")
    assert [e["application_id"] for e in decided] == [str(application_id)]
    ours = [e for e in new if e["actor"] == "web.boss"]
    changes = [str(e["kind"]) for e in ours if e["application_id"] == str(application_id)]
    assert changes == ["admin_action", "application_decision"]  # written ahead, as the API does
