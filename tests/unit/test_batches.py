"""Which row of a record a bulk batch sends, and which bulk tasks write into an index (pure)."""

from __future__ import annotations

import pytest

from indexer.batches import Candidate, pick_winners
from indexer.readers import RawRow
from indexer.records import Built
from indexer.reports import FileReport
from registry.bulk import bulk_targets

REPORT = FileReport(source="petition", file="petition.csv")


def candidate(line: int, doc_id: str, version: int | None) -> Candidate:
    built = Built(doc_id, doc_id, "{}", version)
    return Candidate(RawRow("petition.csv", line, {}, ""), built, REPORT, None)


# (doc id, version) per row in batch order -> lines sent, lines that lose
CASES = {
    "one row each": ([("a", 5), ("b", 3)], [1, 2], []),
    "later version last": ([("a", 3), ("a", 5)], [2], [1]),
    "later version first": ([("a", 5), ("a", 3)], [1], [2]),
    "equal versions: the later row": ([("a", 5), ("a", 5)], [2], [1]),
    "no version: the later row": ([("a", None), ("a", None), ("a", None)], [3], [1, 2]),
    "interleaved records": ([("a", 1), ("b", 9), ("a", 2), ("b", 8)], [2, 3], [1, 4]),
    "missing date (0) loses to a dated row": ([("a", 7), ("a", 0)], [1], [2]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_batch_sends_the_row_the_engine_would_keep(case: str) -> None:
    rows, sent, lost = CASES[case]
    batch = [candidate(line, doc_id, version) for line, (doc_id, version) in enumerate(rows, 1)]
    winners, losers = pick_winners(batch)
    assert ([c.row.line for c in winners], [c.row.line for c in losers]) == (sent, lost)


@pytest.mark.parametrize(
    ("description", "indices"),
    [
        ("requests[500], indices[xs-petition-1]", {"xs-petition-1"}),
        ("requests[2], indices[a, b]", {"a", "b"}),
        ("requests[500], index[xs-petition-1][0]", {"xs-petition-1"}),
        ("requests[500], index[xs-petition-1][12]", {"xs-petition-1"}),
        ("reindex from [a] to [b]", set()),
    ],
)
def test_bulk_task_descriptions_name_the_indices_written(
    description: str, indices: set[str]
) -> None:
    assert bulk_targets(description) == indices
