"""The 账户管理 page in a real browser: the system administrator adds an account through the
form; a bad input shows the API's message in a Chinese page, never a stack trace."""

from __future__ import annotations

import uuid

from conftest import PASSWORD, Guard, Server, entries_of, log_in
from playwright.sync_api import expect


def _add(guard: Guard, username: str, jurisdiction: str) -> None:
    form = guard.page.locator("#add-account form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill("测试用户")
    form.locator("input[name=jurisdiction]").fill(jurisdiction)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    guard.page.wait_for_load_state("networkidle")


def test_the_system_administrator_adds_an_account_and_a_bad_input_shows_the_api_message(
    server: Server, guarded: Guard
) -> None:
    page = guarded.page
    log_in(page, server.url, "web.sysadmin")
    page.click("header nav a[href='/ui/admin']")
    expect(page.locator("#accounts tr[data-username='web.inv']")).to_be_visible()
    guarded.check("accounts")

    name = f"web.new{uuid.uuid4().hex[:6]}"
    mark = server.last_seq()
    _add(guarded, name, "4601")
    expect(page.locator(".notice")).to_contain_text(name)
    expect(page.locator(f"#accounts tr[data-username='{name}']")).to_contain_text("4601")
    guarded.check("added")
    created = entries_of(server.log(mark), "user_change", actor="web.sysadmin")
    assert len(created) == 1

    page.goto(f"{server.url}/ui/admin")
    _add(guarded, f"web.bad{uuid.uuid4().hex[:6]}", "广东省")
    guarded.expect_refused_load(422)
    refusal = page.locator(".refusal")
    expect(refusal).to_contain_text("输入不符合要求")
    expect(refusal.locator(".detail")).to_contain_text("jurisdiction")
    assert "Traceback" not in page.content()
    guarded.check("refused")
