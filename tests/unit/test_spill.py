"""The spill map: a dict below its cap, a scratch SQLite file above it, deleted on close; and
the accounting that uses it (``Tally``, ``Changes``) giving the same answers either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.reports import Changes, FileReport, Tally
from indexer.spill import INT_CODEC, TEXT_CODEC, SpillMap
from registry.bulk import WriteOutcome

ACCEPTED = WriteOutcome(ok=True, superseded=False)
SUPERSEDED = WriteOutcome(ok=False, superseded=True)
REFUSED = WriteOutcome(ok=False, superseded=False, error="mapper_parsing_exception")


def filled(tmp_path: Path, cap: int, count: int) -> SpillMap[int]:
    spill = SpillMap(INT_CODEC, cap=cap, directory=tmp_path)
    for n in range(count):
        spill.set(f"id{n}", n)
    return spill


@pytest.mark.parametrize(("cap", "count", "spilled"), [(10, 10, False), (10, 11, True),
                                                        (3, 50, True)])  # fmt: skip
def test_the_map_spills_only_past_its_cap(
    tmp_path: Path, cap: int, count: int, spilled: bool
) -> None:
    with filled(tmp_path, cap, count) as spill:
        assert spill.spilled is spilled
        assert any(tmp_path.iterdir()) is spilled


@pytest.mark.parametrize("cap", [1, 3, 1000])
def test_every_id_is_found_with_its_value(tmp_path: Path, cap: int) -> None:
    with filled(tmp_path, cap, 40) as spill:
        assert [spill.get(f"id{n}") for n in range(40)] == list(range(40))
        assert spill.get("id40") is None
        assert "id40" not in spill


@pytest.mark.parametrize("cap", [1, 3, 1000])
def test_an_overwrite_after_a_spill_is_the_value_read_and_iterated(
    tmp_path: Path, cap: int
) -> None:
    with filled(tmp_path, cap, 10) as spill:
        spill.set("id2", 200)
        spill.set("id7", 700)
        assert (spill.get("id2"), spill.get("id7")) == (200, 700)
        assert dict(spill.items()) == {f"id{n}": n for n in range(10)} | {"id2": 200, "id7": 700}


@pytest.mark.parametrize("cap", [1, 4, 1000])
def test_iteration_yields_every_id_once(tmp_path: Path, cap: int) -> None:
    with filled(tmp_path, cap, 25) as spill:
        for n in range(0, 25, 3):  # rewritten ids, some in the file, some in memory
            spill.set(f"id{n}", -n)
        keys = [key for key, _ in spill.items()]
        assert sorted(keys) == sorted(f"id{n}" for n in range(25))


def test_below_the_cap_iteration_keeps_insertion_order(tmp_path: Path) -> None:
    with filled(tmp_path, 100, 5) as spill:
        assert [key for key, _ in spill.items()] == [f"id{n}" for n in range(5)]


def test_close_deletes_the_scratch_file(tmp_path: Path) -> None:
    spill = filled(tmp_path, 2, 10)
    assert any(tmp_path.iterdir())
    spill.close()
    assert list(tmp_path.iterdir()) == []
    assert spill.get("id1") is None


@pytest.mark.parametrize("cap", [1, 1000])
def test_a_value_of_none_is_not_an_absent_id(tmp_path: Path, cap: int) -> None:
    with SpillMap(TEXT_CODEC, cap=cap, directory=tmp_path) as spill:
        spill.set("none", None)
        spill.set("text", "digest")
        spill.set("other", "x")  # past a cap of 1: the two above are in the file
        assert ("none" in spill, "absent" in spill) == (True, False)
        assert dict(spill.items()) == {"none": None, "text": "digest", "other": "x"}


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        SpillMap(INT_CODEC, cap=0)


# Rows answered in order: (file position, doc id, the engine's answer)
ANSWERS = [
    (0, "a", ACCEPTED), (0, "b", ACCEPTED), (0, "c", REFUSED), (0, "a", ACCEPTED),
    (1, "b", ACCEPTED), (1, "d", ACCEPTED), (1, "e", SUPERSEDED), (2, "a", ACCEPTED),
    (2, "d", ACCEPTED), (2, "f", ACCEPTED), (0, "g", ACCEPTED),
]  # fmt: skip
# (indexed, rejected, duplicates) per file: the last accepted row of each id is the indexed one
COUNTS = [(1, 1, 3), (1, 0, 2), (3, 0, 0)]


@pytest.mark.parametrize("cap", [1, 2, 1000])
def test_the_tally_settles_the_same_rows_whatever_its_cap(tmp_path: Path, cap: int) -> None:
    reports = [FileReport("household", f"{n}.csv") for n in range(3)]
    tally = Tally(reports, cap=cap, directory=tmp_path)
    for position, doc_id, outcome in ANSWERS:
        tally.answered(doc_id, reports[position], outcome)
    tally.close()
    assert [(r.indexed, r.rejected, r.duplicates) for r in reports] == COUNTS
    assert list(tmp_path.iterdir()) == []


# Accepted writes in order: (file position, doc id, digest before, digest after)
WRITES = [
    (0, "new", None, "n1"), (0, "same", "s", "s"), (0, "back", "b0", "b1"), (1, "back", "b1", "b0"),
    (0, "moved", "m0", "m1"), (1, "moved", "m1", "m2"), (1, "late", "l0", "l0"),
    (2, "late", "l0", "l1"), (2, "also", None, "x"),
]  # fmt: skip
CHANGED = [["new"], ["moved"], ["also", "late"]]


@pytest.mark.parametrize("cap", [1, 2, 1000])
def test_changes_go_to_the_last_writer_whatever_the_cap(tmp_path: Path, cap: int) -> None:
    reports = [FileReport("household", f"{n}.csv") for n in range(3)]
    changes = Changes(reports, cap=cap, directory=tmp_path)
    for position, doc_id, before, after in WRITES:
        changes.written(doc_id, before, after, reports[position])
    changes.settle()
    assert [sorted(r.changed) for r in reports] == CHANGED
    assert list(tmp_path.iterdir()) == []
