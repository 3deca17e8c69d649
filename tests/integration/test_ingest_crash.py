"""Acceptance: `xiansuo ingest` killed with SIGKILL at random moments, then run to the end.

A real subprocess ingests a drop of petitions with exact copies, older and newer versions, equal
dates and anonymous versions over two files; it is killed (its whole process group, the forked
record builders too) at seeded random moments chosen by what it has done so far: while it starts,
while a batch's sealed values wait in the journal, as soon as the engine wrote a seeded number of
documents, or a seeded pause after that. A last run completes the ingest. Then every indexed
petition has exactly its sealed row with the winning version's values, no sealed row exists for
a petition that is not indexed, and the final report balances.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from petition_drops import PetitionRow, random_drop, winners, write_petitions
from sqlalchemy.engine import make_url

from common.settings import Settings
from indexer.context import run_sealed_check, run_sealed_reconcile
from indexer.sealed import open_sealed_store, read_complainants
from indexer.sealed_keys import load_keyring
from registry.engine import EngineDoor

ROOT = Path(__file__).resolve().parents[2]
Files = dict[str, list[PetitionRow]]
SEED = 20241203
PETITIONS = 2500  # about 4,300 rows: nine bulk batches, several seconds of ingest
# Each kind of moment twice, in a seeded order.
MOMENTS = ("starting", "journal", "engine", "later") * 2
POLL_S = 0.01
WAIT_S = 240.0  # upper bound for one run; a whole ingest of the drop takes about 10 s


@pytest.fixture
def local(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-k{uuid.uuid4().hex[:6]}",
            "state_dir": tmp_path / "state",
        }
    )


def start_ingest(local: Settings, drop: Path, log: Path) -> subprocess.Popen[str]:
    """`xiansuo ingest` in its own process group, configured only by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    env |= {
        "XIANSUO_STATE_DIR": str(local.state_dir),
        "XIANSUO_OPENSEARCH_URL": local.opensearch_url,
        "XIANSUO_INDEX_PREFIX": local.index_prefix,
        "XIANSUO_EMBEDDINGS_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("a") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "xiansuo", "ingest", str(drop), "--json", "--no-graph"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )


class Observer:
    """What the running ingest has done so far, read from outside as an operator could."""

    def __init__(self, local: Settings, door: EngineDoor) -> None:
        self.database = str(make_url(local.effective_sealed_database_url).database)
        self.pattern = f"{local.index_prefix}-petition-*"
        self.door = door

    def count(self, table: str) -> int:
        if not Path(self.database).exists():
            return 0
        try:
            with sqlite3.connect(self.database, timeout=1) as db:
                return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        except sqlite3.OperationalError:  # not created yet, or busy for a moment
            return 0

    def engine_writes(self) -> int:
        if not self.door.exists(self.pattern):
            return 0
        stats = self.door.primaries_stats(self.pattern, "indexing")
        return int(stats.get("indexing", {}).get("index_total", 0))


def moment(kind: str, rng: random.Random, seen: Observer, rows: int) -> Callable[[], bool]:
    """When to kill: a condition on what the ingest has done, with seeded thresholds."""
    if kind == "starting":
        deadline = time.monotonic() + rng.uniform(0.2, 4.0)
        return lambda: time.monotonic() >= deadline
    if kind == "journal":  # a batch's sealed values are written, its documents not yet settled
        return lambda: seen.count("sealed_journal") > 0
    writes = seen.engine_writes() + rng.randrange(1, rows)
    pause = 0.0 if kind == "engine" else rng.uniform(0.0, 0.5)  # "later": settled, or beyond
    reached: list[float] = []

    def condition() -> bool:
        if not reached and seen.engine_writes() >= writes:
            reached.append(time.monotonic())
        return bool(reached) and time.monotonic() >= reached[0] + pause

    return condition


def kill_at(process: subprocess.Popen[str], condition: Callable[[], bool]) -> bool:
    """SIGKILL the process group once ``condition`` holds; False if the run ended first."""
    deadline = time.monotonic() + WAIT_S
    while process.poll() is None:
        if condition():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return True
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the ingest neither finished nor reached the moment in {WAIT_S:.0f} s")
        time.sleep(POLL_S)
    return False


def held_versions(door: EngineDoor, local: Settings) -> dict[str, tuple[str, int]]:
    """petition_no -> (file, line) of the document behind the alias (none before the first)."""
    alias = f"{local.index_prefix}-petition"
    if door.aliased_index(alias) is None:
        return {}
    door.refresh(alias)
    body = {"size": 10_000, "_source": ["petition_no", "file", "line"]}
    hits = door.search(alias, body)["hits"]["hits"]
    return {h["_source"]["petition_no"]: (h["_source"]["file"], h["_source"]["line"]) for h in hits}


def sealed_values(local: Settings) -> dict[str, tuple[str | None, ...]]:
    store = open_sealed_store(local.effective_sealed_database_url)
    try:
        rows = read_complainants(store, load_keyring(local.effective_sealed_key_file))
    finally:
        store.dispose()
    return {
        no: (c.complainant_name, c.complainant_id, c.complainant_phone) for no, c in rows.items()
    }


def assert_consistent(
    door: EngineDoor, local: Settings, files: Files
) -> dict[str, tuple[str, int]]:
    """Every indexed petition has exactly the sealed row of the version indexed, and no other
    row exists; returns what the index holds."""
    by_place = {(row.file, row.line): row for rows in files.values() for row in rows}
    held = held_versions(door, local)
    assert sealed_values(local) == {
        no: by_place[place].complainant or (None, None, None) for no, place in held.items()
    }
    assert run_sealed_check(local).consistent
    return held


def test_killed_ingests_then_a_rerun_leave_index_and_sealed_store_consistent(
    local: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    rng = random.Random(SEED)  # noqa: S311 - reproducible kill moments, not security
    files = random_drop(rng, PETITIONS)
    expected = winners(files)
    drop, log = tmp_path / "drop", tmp_path / "ingest.log"
    write_petitions(drop, files)
    seen = Observer(local, door)
    killed, journals = 0, []
    for kind in rng.sample(MOMENTS, len(MOMENTS)):
        process = start_ingest(local, drop, log)
        if kill_at(process, moment(kind, rng, seen, len(expected))):
            killed += 1
            journals.append(seen.count("sealed_journal"))
        # What the next ingest does first (xiansuo sealed reconcile does the same): afterwards
        # the two stores agree, whatever moment the kill hit.
        run_sealed_reconcile(local)
        assert_consistent(door, local, files)
    final = start_ingest(local, drop, log)
    out, _ = final.communicate(timeout=WAIT_S)
    assert final.returncode == 0, log.read_text(encoding="utf-8")[-3000:]

    report = json.loads(out)
    assert report["ok"]
    assert all(f["read"] == f["indexed"] + f["rejected"] + f["duplicates"] for f in report["files"])
    assert report["sources"]["petition"]["indexed"] == len(expected)
    assert killed >= len(MOMENTS) - 1  # the kills landed in running ingests
    assert any(journals), journals  # and at least one left a journal to reconcile
    held = assert_consistent(door, local, files)
    assert held == {no: (row.file, row.line) for no, row in expected.items()}
