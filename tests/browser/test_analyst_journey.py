"""The analyst's journey in a real browser: the 关系图谱 of a planted subject (the demo's
control chains), a double-click that expands a node (the node count grows), a click on an edge
that shows the records behind it, a path between two subjects, and the GraphML and PNG exports;
every pull gated and logged."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import REGION, Guard, Server, _xiansuo, entries_of, log_in, pick_application
from playwright.sync_api import Page

ANALYST = "web.analyst"
PURPOSE = "核查公职人员配偶子女经商办企业及关联关系问题线索"
SOURCES = ["household", "company", "shareholder", "company_officer", "insured", "property",
           "petition", "official"]  # fmt: skip
NODE_COUNT = "() => Number(document.getElementById('graph').dataset.nodeCount)"


@pytest.fixture(scope="module")
def chain(server: Server) -> dict[str, Any]:
    """A planted chain (official → relative → the relative's companies), the graph built over
    the session's drop (`xiansuo graph build`, as an operator runs it after an ingest)."""
    _xiansuo(server.settings, "graph", "build")
    truth = json.loads((Path(server.settings.state_dir) / "drop" / "_truth.json").read_text())
    chains: list[dict[str, Any]] = truth["control_chains"]
    return next(c for c in chains if c["relative_id"] and len(c["entities"]) >= 2)


def _application(server: Server, chain: dict[str, Any]) -> int:
    """The analyst's application naming the official and the relative's company, approved for
    export through the API."""
    company = chain["entities"][1]["key"]
    body = {"purpose": PURPOSE, "category": "初核", "sources": SOURCES, "regions": [REGION],
            "export": True,
            "subjects": [{"kind": "person_id", "value": chain["official_id"]},
                         {"kind": "credit_code", "value": company}]}  # fmt: skip
    return server.file_approved(ANALYST, "关联关系核查", body, prefix="析")


def _on_screen(page: Page, script: str) -> tuple[float, float]:
    """Page coordinates of a point cytoscape reports (rendered position in the canvas)."""
    point = page.evaluate(script)
    box = page.locator("#graph").bounding_box()
    assert box is not None
    assert point is not None, script
    return box["x"] + point["x"], box["y"] + point["y"]


def test_an_analyst_expands_a_graph_and_follows_a_path(
    server: Server, guarded: Guard, chain: dict[str, Any]
) -> None:
    application_id = _application(server, chain)
    mark = server.last_seq()
    page = guarded.page
    log_in(page, server.url, ANALYST)
    pick_application(page, application_id)
    page.click("nav a[href='/ui/graph']")
    page.wait_for_url(re.compile(r"/ui/graph$"))
    guarded.check("graph-form")

    page.locator(".subject-link").first.click()  # the official, by handle (number masked)
    page.wait_for_selector("#graph[data-ready='true']")
    assert chain["official_id"] not in page.content()
    before = page.evaluate(NODE_COUNT)
    assert before > 1
    guarded.check("graph")

    relative = json.dumps(chain["relative_name"])
    x, y = _on_screen(
        page,
        f"""() => {{
        const n = window.xiansuoGraph.nodes().filter(
            (n) => n.data('label') === {relative} && n.data('hop') === 1)[0];
        return n ? n.renderedPosition() : null; }}""",
    )
    with page.expect_response(re.compile(r"/ui/graph/expand\?")) as answer:
        page.mouse.dblclick(x, y)
    assert answer.value.status == 200
    page.wait_for_function(f"() => ({NODE_COUNT})() > {before}")
    guarded.check("expanded")

    x, y = _on_screen(
        page,
        """() => {
        const e = window.xiansuoGraph.edges().filter((e) => e.data('record').record_ids.length)[0];
        return e.renderedMidpoint(); }""",
    )
    page.mouse.click(x, y)
    page.wait_for_selector("#edge-panel:not([hidden]) #edge-records li")
    assert page.inner_text("#edge-panel [data-field='source']")
    guarded.check("edge-records")

    page.select_option("#path-to-kind", "credit_code")
    page.fill("#path-to", chain["entities"][1]["key"])
    page.click("#path-form button[type=submit]")
    page.wait_for_selector("#path-results .path .chain")
    assert "→" in page.inner_text("#path-results .path .chain")
    assert page.evaluate("() => window.xiansuoGraph.nodes('.on-path').length") >= 2
    guarded.check("path")

    with page.expect_download() as graphml:
        page.click("#export-graphml")
    assert b"<graphml" in graphml.value.path().read_bytes()
    with page.expect_download() as picture:
        page.click("#export-png")
    assert picture.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    guarded.check("exported")

    entries = server.log(mark)
    mine = {"actor": ANALYST, "application_id": str(application_id)}
    # the graph, the expansion, the path, the GraphML and the picture: each a gated query
    assert len(entries_of(entries, "query_request", **mine)) == 5
    expansions = [e for e in entries_of(entries, "query_request", **mine)
                  if "focus" in json.loads(str(e["params"]))]  # fmt: skip
    assert len(expansions) == 1
    formats = sorted(json.loads(str(e["detail"]))["format"]
                     for e in entries_of(entries, "export", **mine))  # fmt: skip
    assert formats == ["graphml", "png"]
