"""The investigator's 检索 page in a real browser, over the real server, engine and store."""

from __future__ import annotations

import json
import re

import httpx
from conftest import Guard, Server, entries_of, log_in, pick_application
from playwright.sync_api import expect

from search_api.web.security import CONTENT_SECURITY_POLICY, REDOC_CONTENT_SECURITY_POLICY

QUERY = "公司"  # in every demo drop: company names, units, petitions


def test_an_investigator_logs_in_picks_the_application_searches_pages_filters_and_logs_out(
    server: Server, guarded: Guard
) -> None:
    application_id = server.approved_application()
    mark = server.last_seq()
    page = guarded.page
    log_in(page, server.url, "web.inv")
    guarded.check("home")
    pick_application(page, application_id)
    assert page.url.endswith("/ui/search")
    assert "剩余查询次数" in page.inner_text("#current-application")
    guarded.check("search-form")

    page.fill("#q", QUERY)
    with page.expect_response(re.compile(r"/ui/search/results\?")) as answer:
        page.click(".searchbar button[type=submit]")
    assert answer.value.request.headers.get("hx-request") == "true"  # a fragment, no reload
    page.wait_for_selector(".hits-table")
    first_page = page.locator(".hits-table tr.hit").first.get_attribute("data-record-id")
    assert "共 " in page.inner_text(".summary")
    guarded.check("results")

    page.click(".paging a[rel=next]")
    expect(page.locator(".summary")).to_contain_text("第 2 页")
    second_page = page.locator(".hits-table tr.hit").first.get_attribute("data-record-id")
    assert second_page != first_page
    guarded.check("page-2")

    page.locator(".facet").first.locator("li a").first.click()
    page.wait_for_selector(".facet li.active")
    guarded.check("filtered")

    page.click("header form[action='/ui/logout'] button")
    page.wait_for_url(re.compile(r"/ui/login$"))
    guarded.check("logged-out")

    entries = server.log(mark)
    assert entries_of(entries, "login_ok", actor="web.inv")
    assert entries_of(entries, "logout", actor="web.inv")
    requests = entries_of(entries, "query_request", actor="web.inv",
                          application_id=str(application_id))  # fmt: skip
    outcomes = entries_of(entries, "query_outcome", actor="web.inv")
    assert len(requests) == 3
    assert len(outcomes) == 3
    assert json.loads(str(requests[0]["params"]))["q"] == QUERY


def test_every_page_sends_the_strict_policy_and_runs_no_inline_script(
    server: Server, guarded: Guard
) -> None:
    page = guarded.page
    for path in ("/ui/login", "/docs"):
        response = page.goto(f"{server.url}{path}")
        assert response is not None
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        guarded.check(path.strip("/").replace("/", "-"))
    # the policy is enforced: a script the page did not load from its own files does not run
    page.goto(f"{server.url}/ui/login")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    assert page.evaluate("window.ran === undefined")
    violations = page.evaluate("window.__cspViolations")
    assert any(v.startswith("script-src") for v in violations)
    page.evaluate("window.__cspViolations = []")  # the test's own violation, expected
    guarded.errors = [e for e in guarded.errors if "Content Security Policy" not in e]


def test_redoc_renders_from_vendored_files_with_scripts_still_strict(
    server: Server, guarded: Guard
) -> None:
    page = guarded.page
    response = page.goto(f"{server.url}/redoc")
    assert response is not None
    assert response.headers["content-security-policy"] == REDOC_CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.wait_for_selector("text=/search", timeout=30_000)  # an operation's path, rendered
    # ReDoc's bundle always asks for its vendor's logo from a CDN: the policy blocks it (nothing
    # leaves the host), and that is the only violation allowed here.
    blocked = page.evaluate("window.__cspViolations")
    assert all(v.startswith("img-src https://cdn.redoc.ly/") for v in blocked), blocked
    page.evaluate("window.__cspViolations = []")
    guarded.errors = [e for e in guarded.errors if "https://cdn.redoc.ly/" not in e]
    guarded.check("redoc")


def test_a_data_page_without_an_application_shows_the_refusal_and_logs_the_denial(
    server: Server, guarded: Guard
) -> None:
    page = guarded.page
    log_in(page, server.url, "web.inv2")
    mark = server.last_seq()
    response = page.goto(f"{server.url}/ui/search/results?q={QUERY}")
    assert response is not None
    assert response.status == 403
    assert "无权执行此操作" in page.inner_text(".refusal")
    guarded.expect_refused_load(403)
    guarded.check("no-application")
    denials = entries_of(server.log(mark), "denial", actor="web.inv2")
    assert len(denials) == 1
    assert denials[0]["route"] == "GET /ui/search/results"


def test_a_data_page_under_another_users_application_shows_the_refusal_and_logs_it(
    server: Server, guarded: Guard
) -> None:
    others = server.approved_application(applicant="web.inv")
    page = guarded.page
    log_in(page, server.url, "web.inv2")
    token = page.eval_on_selector("input[name=csrf_token]", "e => e.value")
    chosen = page.request.post(
        f"{server.url}/ui/application",
        form={"application_id": str(others), "csrf_token": token},
        headers={"origin": server.url},
    )
    assert chosen.ok
    mark = server.last_seq()
    page.goto(f"{server.url}/ui/search")
    assert "所选申请不属于当前用户" in page.inner_text("#current-application")
    response = page.goto(f"{server.url}/ui/search/results?q={QUERY}")
    assert response is not None
    assert response.status == 403
    guarded.expect_refused_load(403)
    guarded.check("foreign-application")
    denials = entries_of(server.log(mark), "denial", actor="web.inv2")
    assert [d["application_id"] for d in denials] == [str(others)]
    assert "another user" in str(denials[0]["detail"])


def test_a_form_post_without_the_csrf_token_is_refused_and_logged(
    server: Server, guarded: Guard
) -> None:
    page = guarded.page
    log_in(page, server.url, "web.inv2")
    guarded.check("signed-in")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    mark = server.last_seq()
    refused = httpx.post(
        f"{server.url}/ui/logout",
        cookies=cookies,
        headers={"origin": server.url},
        timeout=30,
    )
    assert refused.status_code == 403
    assert "无权执行此操作" in refused.text
    denials = entries_of(server.log(mark), "denial", actor="web.inv2")
    assert len(denials) == 1
    assert denials[0]["route"] == "POST /ui/logout"
    page.goto(f"{server.url}/ui/search")  # the session was not ended by the refused post
    assert page.url.endswith("/ui/search")
