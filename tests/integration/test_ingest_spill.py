"""The ingest's accounting with a tiny memory cap (``XIANSUO_INGEST_MEMORY_IDS``): every map of
it spills to its scratch file, and the counts and the changed ids are those of the default cap
(a first load lists no ids, whatever the cap: every record is new).

Two petition files with duplicates within a batch, across batches and across files, ingested,
then a drop of new versions of the same petitions re-ingested over them.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from petition_drops import random_drop, write_petitions

from common.settings import INGEST_MEMORY_IDS, Settings
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop

RNG_SEED = 20261203
PETITIONS = 700  # the first file holds more than one bulk batch of 500 rows
TINY_CAP = 1
Run = tuple[IngestReport, IngestReport]  # the first load, then the re-ingest of new versions


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible test data, not security


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("spill-drops")
    for name, seed in (("first", RNG_SEED), ("second", RNG_SEED + 1)):
        write_petitions(folder / name, random_drop(seeded(seed), PETITIONS))
    return folder / "first", folder / "second"


def ingest_both(settings: Settings, drops: tuple[Path, Path], cap: int, state: Path) -> Run:
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-m{uuid.uuid4().hex[:6]}",
            "state_dir": state,
            "embeddings_enabled": False,
            "ingest_workers": 1,
            "ingest_memory_ids": cap,
        }
    )
    reports = []
    for drop in drops:
        with ingest_context(local, local.state_dir / "rejects") as ctx:
            reports.append(ingest_drop(drop, ctx))
    return reports[0], reports[1]


@pytest.fixture(scope="module")
def runs(
    settings: Settings, drops: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[int, Run]:
    return {
        cap: ingest_both(settings, drops, cap, tmp_path_factory.mktemp(f"cap{cap}"))
        for cap in (TINY_CAP, INGEST_MEMORY_IDS)
    }


def counts(report: IngestReport) -> list[tuple[str, int, int, int, int, int]]:
    return [(f.file, f.read, f.indexed, f.rejected, f.duplicates, f.failed) for f in report.files]


def changed(report: IngestReport) -> list[list[str]]:
    return [sorted(f.changed) for f in report.files]


@pytest.mark.parametrize("run", [0, 1], ids=["first load", "re-ingest"])
def test_a_tiny_cap_counts_every_row_as_the_default_cap_does(
    runs: dict[int, Run], run: int
) -> None:
    tiny, default = runs[TINY_CAP][run], runs[INGEST_MEMORY_IDS][run]
    assert tiny.ok
    assert all(f.balanced for f in tiny.files)
    assert all(f.duplicates for f in default.files)  # within and across files: something to settle
    assert counts(tiny) == counts(default)


def test_a_tiny_cap_reports_the_same_changed_ids_on_the_same_files(runs: dict[int, Run]) -> None:
    tiny, default = runs[TINY_CAP][1], runs[INGEST_MEMORY_IDS][1]
    assert all(f.changed for f in default.files)
    assert changed(tiny) == changed(default)


@pytest.mark.parametrize("cap", [TINY_CAP, INGEST_MEMORY_IDS])
def test_a_first_load_lists_no_ids_whatever_the_cap(runs: dict[int, Run], cap: int) -> None:
    """Every record of a first load is new: the reports say so instead of listing them."""
    first = runs[cap][0]
    assert [(f.new_source, f.changed) for f in first.files] == [(True, [])] * len(first.files)


def test_a_reingest_over_a_first_load_is_not_a_first_load(runs: dict[int, Run]) -> None:
    assert not any(f.new_source for f in runs[TINY_CAP][1].files)
