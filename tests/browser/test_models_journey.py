"""A special-task team's clue discovery in a real browser: under an approved 专项核查 application
it opens 比对模型, runs a model, reads the hits on 比对运行, opens the 问题线索台账 and moves a clue
待处置 → 核查中 with an assignee and a due date; the change shows, and the log holds the run and the
change."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from conftest import REGION, Guard, Server, entries_of, file_special_check, log_in, pick_application
from playwright.sync_api import expect

from comparison.definitions import shipped_catalogue

TASK = "web.task"
PURPOSE = "民生领域专项核查：比对死亡人员领取养老金、低保对象经商等问题线索"
CATALOGUE = shipped_catalogue()
MODELS = sorted(CATALOGUE.models)
SOURCES = sorted({str(s) for m in CATALOGUE.models.values() for s in m.sources})


def _truth(server: Server) -> dict[str, Any]:
    path = Path(server.settings.state_dir) / "drop" / "_truth.json"
    truth: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return truth


def test_a_special_task_team_runs_a_model_and_works_a_clue(server: Server, guarded: Guard) -> None:
    found = _truth(server)["comparison_models_by_province"][REGION]
    model = max(MODELS, key=lambda m: len(found[m]))
    assert found[model]
    application_id = file_special_check(server, ("核", "民生专项核查"), PURPOSE, SOURCES, MODELS)
    mark = server.last_seq()
    page = guarded.page
    log_in(page, server.url, TASK)
    pick_application(page, application_id)

    page.click("nav a[href='/ui/models']")
    page.wait_for_url(re.compile(r"/ui/models$"))
    expect(page.locator(".model-row")).to_have_count(len(MODELS))
    expect(page.locator(f"tr[data-model-id='{model}'] .level")).to_have_text(
        CATALOGUE.levels[CATALOGUE.models[model].level].label
    )
    guarded.check("models")

    page.click(f"tr[data-model-id='{model}'] .run-form button")
    page.wait_for_url(re.compile(r"/ui/models/runs/\d+$"))
    expect(page.locator(".model-hit")).to_have_count(len(found[model]))
    guarded.check("run-hits")

    page.click("nav a[href='/ui/models/runs']")
    page.wait_for_url(re.compile(r"/ui/models/runs$"))
    expect(page.locator(".run-row").first.locator(".hit-count")).to_have_text(
        str(len(found[model]))
    )
    guarded.check("runs")

    page.click("nav a[href='/ui/models/clues']")
    page.wait_for_url(re.compile(r"/ui/models/clues$"))
    guarded.check("ledger")
    row = page.locator(".clue-row", has=page.locator(".clue-status", has_text="待处置")).first
    clue_no = row.get_attribute("data-clue-no")
    assert clue_no
    due = (date.today() + timedelta(days=20)).isoformat()
    row.locator("details.clue-form summary").click()
    row.locator("select[name=status]").select_option("核查中")
    row.locator("select[name=assignee]").select_option(TASK)
    row.locator("input[name=due_on]").fill(due)
    row.locator(".clue-change button[type=submit]").click()
    page.wait_for_url(re.compile(r"/ui/models/clues\?.*done="))
    expect(page.locator("#clue-saved")).to_contain_text(clue_no)
    changed = page.locator(f".clue-row[data-clue-no='{clue_no}']")
    expect(changed.locator(".clue-status")).to_have_text("核查中")
    expect(changed.locator(".clue-assignee")).to_have_text(TASK)
    expect(changed.locator(".clue-due")).to_have_text(due)
    guarded.check("clue-changed")

    entries = server.log(mark)
    app = str(application_id)
    requests = entries_of(entries, "query_request", actor=TASK, application_id=app)
    assert any(json.loads(str(e["params"])).get("model") == model for e in requests)
    changes = entries_of(entries, "case_change", actor=TASK, application_id=app)
    assert len(changes) == 1
    assert json.loads(str(changes[0]["detail"]))["clue_no"] == clue_no
