"""名单筛查 in a real browser: the special-task account uploads a list under a 专项核查
application, sees each row's status in the table (a match linked to its 一人一档 by handle, a
name alone not compared, a bad number reported), downloads the template and the XLSX result
(an export, logged)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import REGION, Guard, Server, entries_of, file_special_check, log_in, pick_application

TASK = "web.task"
PURPOSE = "民生领域专项核查：筛查低保对象名单中的公职人员"
SOURCES = ["household", "official", "insured", "benefit", "property", "company", "shareholder",
           "company_officer", "petition"]  # fmt: skip


def _persons(server: Server) -> list[str]:
    """Persons with records in the region: the subjects the truth says the province's model
    runs find."""
    path = Path(server.settings.state_dir) / "drop" / "_truth.json"
    truth = json.loads(path.read_text(encoding="utf-8"))
    found = truth["comparison_models_by_province"][REGION]
    return sorted({p for persons in found.values() for p in persons})


def test_a_list_is_screened_on_the_page(server: Server, guarded: Guard) -> None:
    person = _persons(server)[0]
    bad = person[:17] + ("0" if person[17] != "0" else "1")
    listing = f"姓名,身份证号,备注\r\n某人,{person},甲\r\n张三,,乙\r\n某人,{bad},丙\r\n"
    upload = {"name": "名单.csv", "mimeType": "text/csv", "buffer": listing.encode("utf-8")}
    application_id = file_special_check(server, ("筛", "名单筛查"), PURPOSE, SOURCES)
    mark = server.last_seq()
    page = guarded.page
    log_in(page, server.url, TASK)
    pick_application(page, application_id)
    page.click("nav a[href='/ui/screening']")
    page.wait_for_url(re.compile(r"/ui/screening$"))
    guarded.check("screening-form")

    with page.expect_download() as template:
        page.click("#screening-template")
    assert template.value.path().read_bytes().decode("utf-8-sig").startswith("姓名,身份证号")

    page.set_input_files("#screening-file", upload)
    with page.expect_response(re.compile(r"/ui/screening$")) as answer:
        page.click("#screening-form button[type=submit]")
    assert answer.value.request.headers.get("hx-request") == "true"
    page.wait_for_selector(".screening-table")
    rows = page.locator("tr.screening-row")
    assert [rows.nth(i).get_attribute("data-status") for i in range(rows.count())] == [
        "匹配", "不足以比对", "无法读取"]  # fmt: skip
    assert [rows.nth(i).get_attribute("data-row") for i in range(rows.count())] == ["2", "3", "4"]
    link = rows.nth(0).locator("a.profile-link")
    assert re.fullmatch(r"/ui/persons/h[a-z0-9]{39}/profile", link.get_attribute("href") or "")
    shown = page.locator(".screening-table").inner_text()
    assert person not in shown  # masked: the application does not unmask
    assert "身份证号无效" in rows.nth(2).inner_text()
    guarded.check("screening-results")

    page.set_input_files("#screening-export-form input[type=file]", upload)
    with page.expect_download() as download:
        page.click("#screening-export")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert download.value.path().read_bytes()[:2] == b"PK"

    entries = server.log(mark)
    requests = entries_of(entries, "query_request", actor=TASK, application_id=str(application_id))
    assert len(requests) == 2
    assert len(entries_of(entries, "export", actor=TASK, application_id=str(application_id))) == 1
    assert not any(person in json.dumps(e, ensure_ascii=False) for e in entries)
