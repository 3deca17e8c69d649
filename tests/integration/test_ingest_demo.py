"""A generated drop ingested on the real engine matches its ground truth exactly."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from common.settings import Settings
from indexer.context import ingest_context
from indexer.demo_data import TRUTH_FILE, write_demo_drop
from indexer.pipeline import IngestReport, ingest_drop

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


@pytest.mark.parametrize(
    "source",
    [
        "household",
        "company",
        "shareholder",
        "company_officer",
        "insured",
        "benefit",
        "property",
        "petition",
        "official",
    ],
)
def test_accounting_matches_the_ground_truth(demo: Demo, source: str) -> None:
    _, report, truth = demo
    expected = truth["files"][source]
    got = report.by_source()[source]
    assert got["read"] == expected["rows_written"]
    assert got["rejected"] == expected["rejected"]
    assert got["duplicates"] == expected["duplicates"] + expected["superseded"]
    assert got["indexed"] == expected["expected_documents"]
    # An invalid ID in a non-key column is indexed as raw text and counted as a warning.
    assert got["warnings"] == expected["warnings"] + len(expected["invalid_non_key_ids"])


def test_reject_lines_match_the_ground_truth(demo: Demo) -> None:
    _, report, truth = demo
    for source, totals in report.by_source().items():
        expected = sorted(r["line"] for r in truth["files"][source]["reject_rows"])
        if not expected:
            continue
        lines = Path(totals["rejects_file"]).read_text(encoding="utf-8").splitlines()
        assert sorted(json.loads(line)["_reject"]["line"] for line in lines) == expected, source


def test_indices_hold_exactly_the_expected_documents(demo: Demo, os_client: OpenSearch) -> None:
    local, _, truth = demo
    for source, expected in truth["files"].items():
        alias = f"{local.index_prefix}-{source}"
        os_client.indices.refresh(index=alias)
        assert os_client.count(index=alias)["count"] == expected["expected_documents"], source


def test_complainants_are_found_in_no_index(demo: Demo, os_client: OpenSearch) -> None:
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
            hits = os_client.search(index=f"{local.index_prefix}-*", body=body)["hits"]["total"][
                "value"
            ]
            assert hits == 0, "a complainant value is searchable"


@pytest.mark.parametrize("group", ["extension_chars", "minority_dots"])
def test_rare_and_minority_names_are_found_by_keyword_and_free_text(
    demo: Demo, os_client: OpenSearch, group: str
) -> None:
    local, _, truth = demo
    index = f"{local.index_prefix}-household"
    for sample in truth["name_samples"][group]:
        for query in (
            {"term": {"names.keyword": sample["name"]}},
            {"match_phrase": {"all_text": sample["name"]}},
        ):
            hits = os_client.search(index=index, body={"query": query, "size": 50})["hits"]["hits"]
            assert sample["id_number"] in {h["_source"]["id_number"] for h in hits}, (sample, query)
