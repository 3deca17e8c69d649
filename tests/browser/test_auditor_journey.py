"""The security auditor's 日志审查 pages in a real browser: an investigator's governed queries
and refusals, made through the API, are in the log page with their kinds and outcomes; the
review shows their flags coloured by severity; the chain verifies; the export downloads."""

from __future__ import annotations

import httpx
from conftest import Guard, Server, log_in
from playwright.sync_api import expect

INVESTIGATOR = "web.inv2"
QUERIES = ("公司", "王")
DENIALS = 3  # the repeated_denials rule's threshold (query_logs.review.rules)
# The severity colours of app.css (--sev-medium, --sev-low) as the browser computes them.
SEVERITY_COLOURS = {"medium": "rgb(154, 103, 0)", "low": "rgb(31, 78, 121)"}


def _search(server: Server, query: str, application_id: int | None) -> httpx.Response:
    """``GET /search`` as the investigator, under ``application_id`` (None: without one)."""
    headers = {"Authorization": f"Bearer {server.token(INVESTIGATOR)}"}
    if application_id is not None:
        headers["X-Application-Id"] = str(application_id)
    return httpx.get(f"{server.url}/search", params={"q": query}, headers=headers, timeout=60)


def _investigate(server: Server) -> int:
    """Two approved applications under two cases with the same purpose (copied_purpose, low),
    governed searches under one, and searches without an application (denials; three make
    repeated_denials, medium); the log's seq before them."""
    mark = server.last_seq()
    application_id = server.approved_application(applicant=INVESTIGATOR)
    server.approved_application(applicant=INVESTIGATOR)
    for query in QUERIES:
        found = _search(server, query, application_id)
        assert found.status_code == 200, found.text
    for _ in range(DENIALS):
        refused = _search(server, QUERIES[0], None)
        assert refused.status_code in (400, 403, 422), refused.text
    return mark


def test_the_auditor_sees_the_investigators_steps_flags_chain_and_export(
    server: Server, guarded: Guard
) -> None:
    mark = _investigate(server)
    steps = [e for e in server.log(mark) if e["actor"] == INVESTIGATOR]
    assert {str(e["kind"]) for e in steps} >= {"query_request", "query_outcome", "denial"}
    page = guarded.page
    log_in(page, server.url, "web.auditor")
    page.click("header nav a[href='/ui/audit']")
    expect(page.locator("#chain-status")).to_have_attribute("data-ok", "true")
    expect(page.locator("#chain-status")).to_contain_text("校验通过")
    page.fill("input[name=actor]", INVESTIGATOR)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    for entry in steps:
        row = page.locator(f"#log-entries tr[data-seq='{entry['seq']}']")
        expect(row).to_have_attribute("data-kind", str(entry["kind"]))
        expect(row).to_have_attribute("data-outcome", str(entry["outcome"] or ""))
    denied = page.locator("#log-entries tr[data-kind='denial'][data-outcome='denied']")
    assert denied.count() >= DENIALS
    guarded.check("entries")

    page.select_option("select[name=outcome]", "denied")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    outcomes = page.locator("#log-entries tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.outcome)"
    )
    assert outcomes
    assert set(outcomes) == {"denied"}

    page.click("nav.tabs a[href='/ui/audit/review']")
    page.fill("input[name=actor]", INVESTIGATOR)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    for rule, severity in (("repeated_denials", "medium"), ("copied_purpose", "low")):
        finding = page.locator(f"#findings tr[data-rule='{rule}']").first
        expect(finding).to_have_attribute("data-severity", severity)
        expect(finding.locator(".severity")).to_have_css("color", SEVERITY_COLOURS[severity])
    guarded.check("review")

    before_export = server.last_seq()
    with page.expect_download() as download:
        page.click("#review-export")
    assert download.value.suggested_filename.endswith(".csv")
    reads = [e for e in server.log(before_export)
             if e["kind"] == "audit_read" and e["actor"] == "web.auditor"]  # fmt: skip
    assert any("review_csv" in str(e["detail"]) for e in reads)

    page.click(f"#findings tr[data-rule='repeated_denials'] a:text('{INVESTIGATOR}')")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_contain_text(INVESTIGATOR)
    expect(page.locator("#timeline-events .flag.sev-medium").first).to_be_visible()
    guarded.check("timeline")
