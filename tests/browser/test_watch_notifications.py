"""Watch lists (布控) in a real browser: an investigator watches the subject of an application
from its 一人一档 (加入布控), a second drop changes the subject's household record and is ingested
by ``xiansuo ingest`` (which runs the watch step), and the header's badge shows the unread
notification; the 通知 page lists it and leads to the profile through the gate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import (
    PURPOSE,
    REGION,
    Guard,
    Server,
    _xiansuo,
    entries_of,
    log_in,
    pick_application,
)
from playwright.sync_api import expect

from demo.second_drop import write_second_drop
from search_api.handles import handles_for

PERSONS, SEED = 300, 41  # the server's drop (tests/browser/conftest.py)


def _application_for(server: Server, person: str) -> int:
    body = {"purpose": PURPOSE, "category": "初核", "sources": ["household", "benefit"],
            "regions": [REGION], "subjects": [{"kind": "person_id", "value": person}]}  # fmt: skip
    return server.file_approved("web.inv", "布控核查", body)


def test_an_investigator_sees_the_badge_and_the_notification_after_an_ingest(
    server: Server, guarded: Guard
) -> None:
    root = Path(server.settings.state_dir)
    second = write_second_drop(root / "watch-drop", persons=PERSONS, seed=SEED, changes=1,
                               region_prefix=REGION)  # fmt: skip
    person = second.changed[0].person_id
    handle = handles_for(server.settings.secret_key.get_secret_value()).handle(person)
    app_id = _application_for(server, person)
    page = guarded.page
    log_in(page, server.url, "web.inv")
    pick_application(page, app_id)
    page.goto(f"{server.url}/ui/persons/{handle}/profile")
    page.click("button.watch-button")
    expect(page.locator(".watched")).to_have_text("已加入布控")
    guarded.check("watched")
    mark = server.last_seq()

    _xiansuo(server.settings, "ingest", str(root / "watch-drop"), "--no-graph")

    page.reload()
    expect(page.locator(".notice-badge")).to_have_text("1")
    guarded.check("badge")
    page.click("a.notice-link")
    page.wait_for_url(f"{server.url}/ui/notifications")
    row = page.locator("tr.notice.unread")
    expect(row).to_have_count(1)
    assert "记录变更" in row.inner_text()
    assert person not in page.content()
    guarded.check("notifications")
    row.locator("button.open-notice").click()
    page.wait_for_url(f"{server.url}/ui/persons/{handle}/profile")
    expect(page.locator(".profile-name")).to_be_visible()
    expect(page.locator(".notice-badge")).to_have_count(0)
    guarded.check("profile")
    entries = server.log(mark)
    assert len(entries_of(entries, "notification", application_id=str(app_id))) == 1

    # the first drop's household file restores the records for the other tests
    restore = root / "watch-restore"
    restore.mkdir()
    shutil.copy(root / "drop" / second.file, restore / second.file)
    _xiansuo(server.settings, "ingest", str(restore), "--no-graph", "--no-watch")
