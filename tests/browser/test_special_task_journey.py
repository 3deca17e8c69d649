"""The special-task team's journey in a real browser: 线索汇总 across the tiers of a province,
grouped by 承办层级 with the chart drawn, and the ledger downloaded as XLSX (an export, logged)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import REGION, Guard, Server, entries_of, log_in, pick_application

TASK = "web.task"
PURPOSE = "粮食购销领域腐败问题专项整治：汇总各层级信访线索"
TIERS = ["省", "市", "县", "乡"]


def _truth(server: Server) -> dict[str, object]:
    path = Path(server.settings.state_dir) / "drop" / "_truth.json"
    truth: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return truth


def _cross_tier_application(server: Server) -> int:
    """An application of the special-task account over the province's petitions (every tier),
    approved for export by the approver through the API."""
    body = {"purpose": PURPOSE, "category": "专项整治", "regions": [REGION], "export": True,
            "sources": ["petition", "official", "company"]}  # fmt: skip
    return server.file_approved(TASK, "粮食购销专项", body, prefix="专")


def test_a_special_task_team_pulls_a_cross_tier_ledger(server: Server, guarded: Guard) -> None:
    keyword = str(_truth(server)["patterns"]["theme_petitions"]["keyword"])  # type: ignore[index]
    application_id = _cross_tier_application(server)
    mark = server.last_seq()
    page = guarded.page
    log_in(page, server.url, TASK)
    pick_application(page, application_id)
    page.click("nav a[href='/ui/clues']")
    page.wait_for_url(re.compile(r"/ui/clues$"))
    guarded.check("clue-form")

    page.fill("#q", keyword)
    with page.expect_response(re.compile(r"/ui/clues/results\?")) as answer:
        page.click(".clue-form button[type=submit]")
    assert answer.value.request.headers.get("hx-request") == "true"
    page.wait_for_selector("#clue-chart[data-drawn='true'] canvas")
    shown = [page.locator(".tier-row").nth(i).get_attribute("data-tier")
             for i in range(page.locator(".tier-row").count())]  # fmt: skip
    assert shown[:4] == TIERS  # 省/市/县/乡, in order, each with its count and units
    assert all(int(c) > 0 for c in page.locator(".tier-row td.num").all_inner_texts()[:4])
    canvas = page.locator("#clue-chart canvas").first.bounding_box()
    assert canvas is not None
    assert canvas["width"] > 100
    assert canvas["height"] > 100
    guarded.check("clue-summary")

    with page.expect_download() as download:
        page.click("#clue-export")
    saved = download.value.path()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert saved.read_bytes()[:2] == b"PK"  # an XLSX is a zip
    guarded.check("after-export")

    entries = server.log(mark)
    exports = entries_of(entries, "export", actor=TASK, application_id=str(application_id))
    assert len(exports) == 1
    assert json.loads(str(exports[0]["detail"]))["format"] == "xlsx"
    assert len(entries_of(entries, "query_request", actor=TASK)) == 2  # the summary, the ledger
