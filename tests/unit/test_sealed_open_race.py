"""Several workers opening one fresh sealed store at the same moment (two Celery workers' first
petition tasks) all get the same tables and the same key, and none of them fails."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import inspect

from indexer.sealed import metadata, open_keyring, open_sealed_store

WORKERS = 6
ROUNDS = 4


def _open_at_once(url: str, key_file: str, barrier: multiprocessing.synchronize.Barrier) -> str:
    barrier.wait()
    store = open_sealed_store(url)
    try:
        return open_keyring(store, Path(key_file)).file_key_id()
    finally:
        store.dispose()


def _worker(url: str, key_file: str, barrier: multiprocessing.synchronize.Barrier,
            answers: multiprocessing.Queue[str]) -> None:  # fmt: skip
    try:
        answers.put(_open_at_once(url, key_file, barrier))
    except Exception as exc:  # reported to the test, which fails on it
        answers.put(f"error: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_workers_opening_a_fresh_store_at_once_share_its_tables_and_key(
    tmp_path: Path, round_no: int
) -> None:
    url = f"sqlite:///{tmp_path / f'sealed-{round_no}.db'}"
    key_file = tmp_path / "keys" / "sealed.key"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WORKERS)
    answers: multiprocessing.Queue[str] = context.Queue()
    workers = [context.Process(target=_worker, args=(url, str(key_file), barrier, answers))
               for _ in range(WORKERS)]  # fmt: skip
    for worker in workers:
        worker.start()
    got = [answers.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert not [answer for answer in got if answer.startswith("error")]
    assert len(set(got)) == 1  # one key for all of them
    store = open_sealed_store(url)
    try:
        assert set(inspect(store).get_table_names()) >= set(metadata.tables)
    finally:
        store.dispose()
    # No staged key file is left behind.
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["sealed.key"]
