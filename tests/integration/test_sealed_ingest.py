"""Petitions through the real pipeline: the sealed store follows the index, encrypted at rest.

Duplicates and versions of one petition (within a batch, across files, on equal dates, anonymous
later versions), the raw database bytes, a sealed store that fails before or after the engine
wrote a batch, and the ``xiansuo sealed`` commands.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest
from petition_drops import PetitionRow, complainant, random_drop, winners, write_petitions
from sqlalchemy.engine import make_url

from analyzers.ids import id_check_char
from common.settings import Settings
from common.vocab import Source
from indexer.context import ingest_context, run_sealed_check, run_sealed_reconcile
from indexer.pipeline import IngestReport, ingest_drop
from indexer.sealed import open_sealed_store, read_complainants
from indexer.sealed_keys import load_keyring, load_sealed_key
from registry.engine import EngineDoor

Files = dict[str, list[PetitionRow]]


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible test data, not security


ROOT = Path(__file__).resolve().parents[2]
RNG_SEED = 20240611


@pytest.fixture
def local(settings: Settings, tmp_path: Path) -> Settings:
    """Settings of this test only: its index prefix and state (no embeddings: not under test)."""
    return settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-s{uuid.uuid4().hex[:6]}",
            "state_dir": tmp_path / "state",
            "embeddings_enabled": False,
            "ingest_workers": 1,
        }
    )


def ingest(local: Settings, drop: Path) -> IngestReport:
    with ingest_context(local, local.state_dir / "rejects") as ctx:
        return ingest_drop(drop, ctx)


def sealed_fields(local: Settings) -> dict[str, tuple[str, str, str] | None]:
    """petition_no -> decrypted (name, ID, phone), None for an anonymous petition."""
    store = open_sealed_store(local.effective_sealed_database_url)
    try:
        rows = read_complainants(store, load_keyring(local.effective_sealed_key_file))
    finally:
        store.dispose()
    out: dict[str, tuple[str, str, str] | None] = {}
    for no, c in rows.items():
        values = (c.complainant_name or "", c.complainant_id or "", c.complainant_phone or "")
        out[no] = values if any(values) else None
    return out


def indexed(door: EngineDoor, local: Settings) -> dict[str, tuple[str, int]]:
    """petition_no -> (file, line) of the document the index holds."""
    alias = f"{local.index_prefix}-petition"
    door.refresh(alias)
    return {
        hit["_source"]["petition_no"]: (hit["_source"]["file"], hit["_source"]["line"])
        for hit in door.scan(alias, {"_source": ["petition_no", "file", "line"]})
    }


def assert_holds_the_winners(door: EngineDoor, local: Settings, files: Files) -> None:
    best = winners(files)
    assert indexed(door, local) == {no: (row.file, row.line) for no, row in best.items()}
    assert sealed_fields(local) == {no: row.complainant for no, row in best.items()}


def counts(report: IngestReport) -> list[tuple[str, int, int, int, int]]:
    return [(f.file, f.read, f.indexed, f.rejected, f.duplicates) for f in report.files]


A = complainant(seeded(1), 1)
B = complainant(seeded(2), 2)
DAY, LATER = date(2024, 3, 1), date(2024, 5, 2)
ONE, TWO = "petition-1.jsonl", "petition-2.jsonl"


def rows(file: str, *specs: tuple[date, tuple[str, str, str] | None]) -> list[PetitionRow]:
    return [
        PetitionRow(file, line, "XF4620240000001", day, who, "办理中")
        for line, (day, who) in enumerate(specs, start=1)
    ]


CASES: dict[str, tuple[Files, list[tuple[str, int, int, int, int]]]] = {
    "exact duplicate": (
        {ONE: rows(ONE, (DAY, A), (DAY, A))},
        [(ONE, 2, 1, 0, 1)],
    ),
    "later date first": (
        {ONE: rows(ONE, (LATER, B), (DAY, A))},
        [(ONE, 2, 1, 0, 1)],
    ),
    "later date last": (
        {ONE: rows(ONE, (DAY, A), (LATER, B))},
        [(ONE, 2, 1, 0, 1)],
    ),
    "equal dates: the later row": (
        {ONE: rows(ONE, (DAY, A), (DAY, B))},
        [(ONE, 2, 1, 0, 1)],
    ),
    "anonymous later version": (
        {ONE: rows(ONE, (DAY, A), (LATER, None))},
        [(ONE, 2, 1, 0, 1)],
    ),
    "equal dates: the later file": (
        {ONE: rows(ONE, (DAY, A)), TWO: rows(TWO, (DAY, B))},
        [(ONE, 1, 0, 0, 1), (TWO, 1, 1, 0, 0)],
    ),
    "earlier date in the later file": (
        {ONE: rows(ONE, (LATER, A)), TWO: rows(TWO, (DAY, B))},
        [(ONE, 1, 1, 0, 0), (TWO, 1, 0, 0, 1)],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_versions_of_one_petition_leave_the_winner_in_index_and_sealed_store(
    local: Settings, door: EngineDoor, tmp_path: Path, case: str
) -> None:
    files, expected = CASES[case]
    write_petitions(tmp_path / "drop", files)
    report = ingest(local, tmp_path / "drop")
    assert counts(report) == expected
    assert_holds_the_winners(door, local, files)


@pytest.mark.parametrize("case", sorted(CASES))
def test_reingest_of_versions_reports_the_same_and_keeps_the_winner(
    local: Settings, door: EngineDoor, tmp_path: Path, case: str
) -> None:
    files, expected = CASES[case]
    write_petitions(tmp_path / "drop", files)
    ingest(local, tmp_path / "drop")
    assert counts(ingest(local, tmp_path / "drop")) == expected
    assert_holds_the_winners(door, local, files)


def test_many_versions_across_batches_and_files_leave_exactly_the_winners(
    local: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    files = random_drop(seeded(RNG_SEED), 700)  # > one bulk batch of 500
    write_petitions(tmp_path / "drop", files)
    report = ingest(local, tmp_path / "drop")
    assert report.ok
    assert sum(f.indexed for f in report.files) == len(winners(files))
    assert all(f.balanced for f in report.files)
    assert_holds_the_winners(door, local, files)


def test_sealed_database_files_hold_no_complainant_value(local: Settings, tmp_path: Path) -> None:
    files = random_drop(seeded(RNG_SEED + 1), 60)
    write_petitions(tmp_path / "drop", files)
    assert ingest(local, tmp_path / "drop").ok
    folder = Path(str(make_url(local.effective_sealed_database_url).database)).parent
    raw = b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())
    planted = {
        value for rows in files.values() for row in rows if row.complainant
        for value in row.complainant
    }  # fmt: skip
    assert len(planted) > 100
    assert sealed_fields(local)  # the values are there, sealed
    assert sorted(value for value in planted if value.encode() in raw) == []


# --- a sealed store that fails ------------------------------------------------------------------

FAILURES = {
    "before the engine": "sealed_journal",  # the write-ahead of a batch fails
    "after the engine": "sealed_record",  # settling an indexed batch fails
}


def break_table(local: Settings, table: str) -> None:
    """A real failure of the store: a trigger refuses every insert into ``table``."""
    open_sealed_store(local.effective_sealed_database_url).dispose()  # the tables exist
    with sqlite3.connect(str(make_url(local.effective_sealed_database_url).database)) as db:
        db.execute(
            f"CREATE TRIGGER broken BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (planted)'); END"
        )


def repair(local: Settings) -> None:
    with sqlite3.connect(str(make_url(local.effective_sealed_database_url).database)) as db:
        db.execute("DROP TRIGGER broken")


def mixed_drop(tmp_path: Path) -> tuple[Path, Files]:
    """Households and petitions: the household source must not suffer from the petitions'."""
    files = random_drop(seeded(RNG_SEED + 2), 80)
    drop = tmp_path / "drop"
    write_petitions(drop, files)
    body = "46010619800101001"
    pid = body + id_check_char(body)
    header = "公民身份号码,姓名,人员状态,户籍地行政区划代码,登记日期\n"
    (drop / "household.csv").write_text(header + f"{pid},王伟,正常,460106,2020-01-01\n")
    return drop, files


@pytest.mark.parametrize("where", sorted(FAILURES))
def test_a_failing_sealed_store_fails_the_petition_source_with_a_report(
    local: Settings, tmp_path: Path, where: str
) -> None:
    drop, _ = mixed_drop(tmp_path)
    break_table(local, FAILURES[where])
    report = ingest(local, drop)
    household, *petitions = report.files
    assert (household.indexed, household.error) == (1, None)
    assert [f.error is not None for f in petitions] == [True, True]
    assert "disk I/O error (planted)" in str(petitions[0].error)
    assert petitions[0].failed > 0
    assert all(f.balanced for f in report.files)
    assert sum(f.indexed for f in petitions) == 0  # nothing reported indexed without its row


@pytest.mark.parametrize("where", sorted(FAILURES))
def test_after_a_sealed_store_failure_a_rerun_leaves_both_stores_consistent(
    local: Settings, door: EngineDoor, tmp_path: Path, where: str
) -> None:
    drop, files = mixed_drop(tmp_path)
    break_table(local, FAILURES[where])
    ingest(local, drop)
    repair(local)
    report = ingest(local, drop)
    assert report.ok
    assert sum(f.indexed for f in report.files if f.source == Source.PETITION) == len(
        winners(files)
    )
    assert_holds_the_winners(door, local, files)
    assert run_sealed_check(local).consistent


def test_a_failed_reload_keeps_the_previous_index_and_its_sealed_rows(
    local: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    files = random_drop(seeded(RNG_SEED + 5), 40)
    write_petitions(tmp_path / "drop", files)
    assert ingest(local, tmp_path / "drop").ok
    held, complainants = indexed(door, local), sealed_fields(local)
    break_table(local, "sealed_record")
    with ingest_context(local, local.state_dir / "rejects") as ctx:
        report = ingest_drop(tmp_path / "drop", ctx, reload=True)
    repair(local)
    assert not report.ok
    assert sum(f.indexed for f in report.files) == 0
    assert indexed(door, local) == held
    assert sealed_fields(local) == complainants
    assert len(door.indices(f"{local.index_prefix}-petition-*")) == 1
    run_sealed_reconcile(local)
    assert run_sealed_check(local).consistent


def test_a_failure_after_the_engine_leaves_a_journal_the_check_reports(
    local: Settings, tmp_path: Path
) -> None:
    drop, _ = mixed_drop(tmp_path)
    break_table(local, "sealed_record")
    ingest(local, drop)
    check = run_sealed_check(local)
    assert check.journal > 0
    assert check.without_row
    assert not check.consistent


# --- the command line ---------------------------------------------------------------------------


def xiansuo(local: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    env |= {
        "XIANSUO_STATE_DIR": str(local.state_dir),
        "XIANSUO_OPENSEARCH_URL": local.opensearch_url,
        "XIANSUO_INDEX_PREFIX": local.index_prefix,
        "XIANSUO_EMBEDDINGS_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "xiansuo", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_ingest_names_the_failed_source_and_exits_1(local: Settings, tmp_path: Path) -> None:
    drop, _ = mixed_drop(tmp_path)
    break_table(local, "sealed_journal")
    done = xiansuo(local, "ingest", str(drop), "--json", "--no-graph")
    assert done.returncode == 1
    assert "petition FAILED on petition-1.jsonl" in done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["sources"]["household"]["indexed"] == 1
    assert "disk I/O error (planted)" in report["sources"]["petition"]["error"]


def test_cli_reconcile_settles_the_journal_a_failed_run_left(
    local: Settings, tmp_path: Path
) -> None:
    drop, files = mixed_drop(tmp_path)
    break_table(local, "sealed_record")
    ingest(local, drop)
    repair(local)
    assert xiansuo(local, "sealed", "check").returncode == 1
    settled = xiansuo(local, "sealed", "reconcile")
    assert settled.returncode == 0, settled.stderr
    assert json.loads(settled.stdout)["promoted"] > 0
    check = xiansuo(local, "sealed", "check")
    assert check.returncode == 0, check.stdout
    assert set(sealed_fields(local)) <= set(winners(files))


def test_cli_rotate_key_reseals_everything_and_the_old_key_is_not_needed(
    local: Settings, tmp_path: Path
) -> None:
    files = random_drop(seeded(RNG_SEED + 3), 40)
    write_petitions(tmp_path / "drop", files)
    assert ingest(local, tmp_path / "drop").ok
    before = sealed_fields(local)
    old = load_sealed_key(local.effective_sealed_key_file)
    rotated = xiansuo(local, "sealed", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    result = json.loads(rotated.stdout)
    assert (result["old_key_id"], result["rows"]) == (old.key_id, len(before))
    assert load_sealed_key(local.effective_sealed_key_file).key_id == result["new_key_id"]
    assert old.secret not in b"".join(
        p.read_bytes() for p in local.effective_sealed_key_file.parent.iterdir()
    )
    assert sealed_fields(local) == before
    assert xiansuo(local, "sealed", "check").returncode == 0


# --- a store an earlier version left in plain text ----------------------------------------------


def test_a_plaintext_store_is_sealed_when_opened_and_adopted_for_the_indexed_petitions(
    local: Settings, tmp_path: Path
) -> None:
    files = random_drop(seeded(RNG_SEED + 4), 30)
    write_petitions(tmp_path / "drop", files)
    assert ingest(local, tmp_path / "drop").ok
    expected = sealed_fields(local)
    database = Path(str(make_url(local.effective_sealed_database_url).database))
    for path in database.parent.iterdir():
        path.unlink()
    legacy = [
        (no, *(fields or (None, None, None)), "petition-1.jsonl") for no, fields in expected.items()
    ]
    legacy.append(("XF-NOT-INDEXED", "孙悟空", "460106199001010011", "14999999999", "old.csv"))
    with sqlite3.connect(database) as db:
        db.execute(
            "CREATE TABLE sealed_complainant (petition_no VARCHAR(64) PRIMARY KEY, "
            "complainant_name TEXT, complainant_id TEXT, complainant_phone TEXT, "
            "source_file TEXT NOT NULL)"
        )
        db.executemany("INSERT INTO sealed_complainant VALUES (?, ?, ?, ?, ?)", legacy)
    with ingest_context(local, local.state_dir / "rejects"):
        pass  # opening the store for an ingest seals the plaintext rows
    raw = b"".join(path.read_bytes() for path in database.parent.iterdir())
    planted = {value for row in legacy for value in row[1:4] if value}
    assert sorted(value for value in planted if value.encode() in raw) == []
    run_sealed_reconcile(local)
    assert sealed_fields(local) == expected
    assert run_sealed_check(local).consistent
