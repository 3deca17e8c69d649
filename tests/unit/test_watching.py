"""Watch lists' pure pieces: the content digest, the changes per source, the match query."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.records import content_digest
from indexer.reports import Changes, FileReport, changed_by_source
from registry.changes import SourceChanges
from registry.fields import Envelope
from watching.matching import MATCH_CHUNK, watched_records_query

DOC: dict[str, Any] = {Envelope.SOURCE: "household", Envelope.FILE: "a.csv", Envelope.LINE: 3,
                       "address": "海口市", Envelope.PERSONS: ["460106199812044261"]}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "same"),
    [({Envelope.FILE: "b.csv"}, True), ({Envelope.LINE: 99}, True),
     ({"address": "三亚市"}, False), ({Envelope.PERSONS: []}, False)],
)  # fmt: skip
def test_the_digest_ignores_provenance_only(change: dict[str, Any], same: bool) -> None:
    assert (content_digest(DOC | change) == content_digest(DOC)) is same


def test_the_digest_does_not_depend_on_key_order() -> None:
    assert content_digest(dict(reversed(list(DOC.items())))) == content_digest(DOC)


def test_changed_ids_are_gathered_per_source_without_repeats() -> None:
    reports = [
        FileReport("household", "a.csv", changed=["x", "y"]),
        FileReport("household", "b.csv", changed=["y", "z"]),
        FileReport("benefit", "c.jsonl", changed=[]),
    ]
    assert changed_by_source(reports) == {"household": SourceChanges(ids=("x", "y", "z"))}


def test_a_first_loaded_source_is_every_record_counted_by_its_indexed_rows() -> None:
    reports = [
        FileReport("household", "a.csv", indexed=3, new_source=True),
        FileReport("household", "b.csv", indexed=2, new_source=True),
        FileReport("benefit", "c.jsonl", changed=["x"]),
    ]
    assert changed_by_source(reports) == {
        "household": SourceChanges(every_record=True, indexed=5),
        "benefit": SourceChanges(ids=("x",)),
    }


@pytest.mark.parametrize(
    ("report", "shown"),
    [(FileReport("household", "a.csv", indexed=3, changed=["x"]), 1),
     (FileReport("household", "a.csv", indexed=3, new_source=True), 3)],
)  # fmt: skip
def test_a_report_shows_how_many_records_it_changed_never_their_ids(
    report: FileReport, shown: int
) -> None:
    assert report.shown()["changed"] == shown


def test_a_first_load_that_indexed_nothing_changed_nothing() -> None:
    reports = [FileReport("household", "a.csv", read=2, rejected=2, new_source=True)]
    assert changed_by_source(reports) == {}


@pytest.mark.parametrize(
    ("changes", "records"),
    [(SourceChanges.listed(["a", "b", "a"]), 2), (SourceChanges.whole_source(7), 7),
     (SourceChanges(), 0)],
)  # fmt: skip
def test_the_count_of_changed_records_is_the_ids_or_every_indexed_record(
    changes: SourceChanges, records: int
) -> None:
    assert changes.records == records


@pytest.mark.parametrize(
    "fields", [{"ids": ("a",), "every_record": True}, {"indexed": 3}], ids=["both", "count"]
)
def test_source_changes_are_ids_or_every_record_never_both(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="every record"):
        SourceChanges(**fields)


SCOPE_FILTERS = [
    {"terms": {Envelope.PERSONS: ["p1", "p2"]}},
    {"terms": {Envelope.SOURCE: ["household"]}},
    {"terms": {Envelope.REGION_PREFIXES: ["4601"]}},
]


def test_the_match_filters_ids_persons_sources_and_regions_inside_the_query() -> None:
    body = watched_records_query(["d1", "d2"], ["p2", "p1"], ["household"], ["4601"])
    assert body["size"] == 2
    assert body["query"]["bool"]["filter"] == [{"ids": {"values": ["d1", "d2"]}}, *SCOPE_FILTERS]


def test_the_whole_source_match_keeps_the_scope_filters_without_an_id_filter() -> None:
    body = watched_records_query(None, ["p2", "p1"], ["household"], ["4601"], after=["k9"])
    assert body["query"]["bool"]["filter"] == SCOPE_FILTERS
    assert (body["size"], body["sort"], body["search_after"]) == (
        MATCH_CHUNK, [{Envelope.RECORD_KEY: "asc"}], ["k9"]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("writes", "changed"),
    [
        ([("old", "new")], ["r"]),  # changed
        ([(None, "new")], ["r"]),  # new
        ([("same", "same")], []),  # rewritten unchanged
        ([("old", "tmp"), ("tmp", "old")], []),  # two rows of one version: back to the start
        ([("old", "old"), ("old", "new")], ["r"]),  # the later row of the run changes it
    ],
)  # fmt: skip
def test_a_record_counts_when_its_final_content_differs_from_before_the_run(
    writes: list[tuple[str | None, str]], changed: list[str]
) -> None:
    report = FileReport("household", "a.csv")
    changes = Changes([report])
    for before, after in writes:
        changes.written("r", before, after, report)
    changes.settle()
    assert report.changed == changed
