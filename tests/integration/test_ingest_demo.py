"""A generated drop ingested on the real engine matches its ground truth exactly."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop
from indexer.sealed import open_sealed_store, read_complainants
from indexer.sealed_keys import load_keyring
from registry.engine import EngineDoor

Demo = tuple[Settings, IngestReport, dict[str, Any]]


@pytest.fixture(scope="module")
def demo(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    write_demo_drop(root / "drop", persons=600, seed=11)
    truth = json.loads((root / "drop" / TRUTH_FILE).read_text(encoding="utf-8"))
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-demo{uuid.uuid4().hex[:4]}",
            "state_dir": root,
        }
    )
    with ingest_context(local, root / "rejects") as ctx:
        report = ingest_drop(root / "drop", ctx)
    return local, report, truth


def test_every_source_of_the_drop_is_ingested(demo: Demo) -> None:
    _, report, truth = demo
    assert set(report.by_source()) == set(truth["files"])
    assert report.unknown_files == []


SOURCES = [
    "household", "company", "shareholder", "company_officer", "insured", "benefit", "property",
    "petition", "official",
]  # fmt: skip
REPORTED = ("read", "indexed", "rejected", "duplicates", "warnings")


def reported(report: IngestReport) -> dict[str, dict[str, int]]:
    """Per file, the counts ``_truth.json`` states (and no failure)."""
    assert report.ok, [f.error for f in report.failures()]
    assert all(f.failed == 0 and f.balanced for f in report.files)
    return {f.file: {key: getattr(f, key) for key in REPORTED} for f in report.files}


def expected(truth: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {f["file"]: f["expected_report"] for f in truth["files"].values()}


def test_report_equals_the_truth_file_by_file(demo: Demo) -> None:
    _, report, truth = demo
    assert reported(report) == expected(truth)


@pytest.mark.parametrize("source", SOURCES)
def test_source_totals_equal_the_truth(demo: Demo, source: str) -> None:
    _, report, truth = demo
    totals = report.by_source()[source]
    assert {key: totals[key] for key in REPORTED} == truth["files"][source]["expected_report"]


def line_numbers(door: EngineDoor, alias: str) -> list[int]:
    """The source line of every document behind ``alias``."""
    door.refresh(alias)
    hits = door.scan(alias, {"query": {"match_all": {}}, "_source": ["line"]})
    return [hit["_source"]["line"] for hit in hits]


@pytest.mark.parametrize("source", SOURCES)
def test_index_holds_the_winning_version_of_every_superseded_record(
    demo: Demo, door: EngineDoor, source: str
) -> None:
    local, _, truth = demo
    lines = Counter(line_numbers(door, f"{local.index_prefix}-{source}"))
    versions = truth["files"][source]["superseded_by"]
    assert versions
    assert [lines[v["line"]] for v in versions] == [0] * len(versions)
    assert [lines[v["winner_line"]] for v in versions] == [1] * len(versions)


def sealed_fields(local: Settings) -> dict[str, tuple[str | None, ...]]:
    store = open_sealed_store(local.effective_sealed_database_url)
    try:
        rows = read_complainants(store, load_keyring(local.effective_sealed_key_file))
    finally:
        store.dispose()
    return {
        no: (c.complainant_name, c.complainant_id, c.complainant_phone) for no, c in rows.items()
    }


def test_sealed_store_holds_the_winning_complainant_of_every_indexed_petition(
    demo: Demo, door: EngineDoor
) -> None:
    local, _, truth = demo
    alias = f"{local.index_prefix}-petition"
    door.refresh(alias)
    indexed = {
        hit["_source"]["petition_no"] for hit in door.scan(alias, {"_source": ["petition_no"]})
    }
    signed = {
        number: (person["name"], person["id_number"], person["phone"])
        for person in truth["complainants"]
        for number in person["petitions"]
    }
    stored = sealed_fields(local)
    assert set(stored) == indexed
    assert stored == {no: signed.get(no, (None, None, None)) for no in indexed}


def test_reingest_reports_the_truth_again_and_changes_nothing(demo: Demo, door: EngineDoor) -> None:
    local, _, truth = demo

    def held() -> dict[str, list[int]]:
        return {s: sorted(line_numbers(door, f"{local.index_prefix}-{s}")) for s in SOURCES}

    lines, complainants = held(), sealed_fields(local)
    with ingest_context(local, local.state_dir / "rejects-again") as ctx:
        again = ingest_drop(local.state_dir / "drop", ctx)
    assert reported(again) == expected(truth)
    assert held() == lines
    assert sealed_fields(local) == complainants


def test_reject_lines_match_the_ground_truth(demo: Demo) -> None:
    _, report, truth = demo
    for source, totals in report.by_source().items():
        expected = sorted(r["line"] for r in truth["files"][source]["reject_rows"])
        if not expected:
            continue
        lines = Path(totals["rejects_file"]).read_text(encoding="utf-8").splitlines()
        assert sorted(json.loads(line)["_reject"]["line"] for line in lines) == expected, source


def test_indices_hold_exactly_the_expected_documents(demo: Demo, door: EngineDoor) -> None:
    local, _, truth = demo
    for source, expected in truth["files"].items():
        alias = f"{local.index_prefix}-{source}"
        door.refresh(alias)
        assert door.count(alias) == expected["expected_documents"], source


def test_complainants_are_found_in_no_index(demo: Demo, door: EngineDoor) -> None:
    local, _, truth = demo
    assert truth["complainants"]
    for person in truth["complainants"]:
        for value in (person["name"], person["id_number"], person["phone"]):
            body = {
                "query": {
                    "multi_match": {
                        "query": value,
                        "fields": ["*"],
                        "type": "phrase",
                        "lenient": True,
                    }
                }
            }
            hits = door.search(f"{local.index_prefix}-*", body)["hits"]["total"]["value"]
            assert hits == 0, "a complainant value is searchable"


@pytest.mark.parametrize("group", ["extension_chars", "minority_dots"])
def test_rare_and_minority_names_are_found_by_keyword_and_free_text(
    demo: Demo, door: EngineDoor, group: str
) -> None:
    local, _, truth = demo
    index = f"{local.index_prefix}-household"
    for sample in truth["name_samples"][group]:
        for query in (
            {"term": {"names.keyword": sample["name"]}},
            {"match_phrase": {"all_text": sample["name"]}},
        ):
            hits = door.search(index, {"query": query, "size": 50})["hits"]["hits"]
            assert sample["id_number"] in {h["_source"]["id_number"] for h in hits}, (sample, query)
