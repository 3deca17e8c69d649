"""The queued ingest through a real Celery worker process, against the real engine and Redis.

Each worker consumes the queue of its own index prefix under this run's prefix, so parallel runs
on one Redis do not collide; the session fixtures delete the indices afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from common.settings import Settings
from common.vocab import Source
from demo import write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop
from indexer.reports import changed_by_source
from indexer.tasks import SECOND_WAVE, ingest_queue, run_queued_ingest
from registry.engine import EngineDoor

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"
# About 6k rows (4k of them benefit): several seconds of ingest, so a worker is killed mid-task.
PERSONS = 600
# Small, so that the task of a killed worker is redelivered within seconds.
VISIBILITY_S = 5
# Upper bound of every wait; a whole queued ingest of the drop takes about 15 s.
WAIT_S = 180.0
T = TypeVar("T")
TASK_LINE = re.compile(r"Task xiansuo\.ingest_source\[([0-9a-f-]{36})\] (received|succeeded)")


@pytest.fixture(scope="module")
def demo_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("celery") / "drop"
    write_demo_drop(out, persons=PERSONS)
    return out


@pytest.fixture(scope="module")
def local_run(
    settings: Settings,
    door: EngineDoor,
    demo_drop: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[IngestReport, dict[str, int]]:
    """The in-process ingest of the drop: its report and documents per source alias."""
    local = derive_settings(settings, "local", tmp_path_factory.mktemp("local"))
    with ingest_context(local, local.state_dir / "rejects") as ctx:
        report = ingest_drop(demo_drop, ctx, reload=True)
    return report, doc_counts(door, local.index_prefix)


def derive_settings(settings: Settings, suffix: str, state_dir: Path) -> Settings:
    return settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-{suffix}",
            "state_dir": state_dir,
            "celery_visibility_timeout_s": VISIBILITY_S,
        }
    )


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """A worker process in its own process group, configured only by the environment we pass."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    env |= {
        "XIANSUO_OPENSEARCH_URL": settings.opensearch_url,
        "XIANSUO_REDIS_URL": settings.redis_url,
        "XIANSUO_INDEX_PREFIX": settings.index_prefix,
        "XIANSUO_STATE_DIR": str(settings.state_dir),
        "XIANSUO_CELERY_VISIBILITY_TIMEOUT_S": str(settings.celery_visibility_timeout_s),
    }
    command = [
        str(CELERY), "-A", "indexer.worker", "worker", "--pool", "solo", "--concurrency", "1",
        "-Q", ingest_queue(settings), "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def in_background(call: Callable[[], T]) -> Future[T]:
    """Run ``call`` in a daemon thread, so a hung call cannot keep the test process alive."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def kill_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's whole process group, as a crash would, and reap it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (the last task's acknowledgement is sent), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_worker(process)


def remove_broker_keys(settings: Settings) -> None:
    """The deployment's queue, bindings and unacknowledged set (global_keyprefix)."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        for key in client.scan_iter(match=f"{settings.index_prefix}:*"):
            client.delete(key)
    finally:
        client.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}")
        time.sleep(0.05)


def doc_counts(door: EngineDoor, prefix: str) -> dict[str, int]:
    """Documents behind each source alias of ``prefix``."""
    door.refresh(f"{prefix}-*")
    counts: dict[str, int] = {}
    for source in Source:
        alias = f"{prefix}-{source}"
        if door.aliased_index(alias) is not None:
            counts[source] = door.count(alias)
    return counts


def indexed_ops(door: EngineDoor, pattern: str) -> int:
    """Index operations so far on the indices matching ``pattern``, refreshed or not."""
    total: int = door.primaries_stats(pattern, "indexing").get("indexing", {}).get("index_total", 0)
    return total


def file_counts(report: IngestReport) -> list[dict[str, Any]]:
    """The per-file accounting without the rejects path (each run has its own rejects folder)."""
    return [{k: v for k, v in asdict(f).items() if k != "rejects_file"} for f in report.files]


def task_lines(log: Path) -> dict[str, set[str]]:
    """Task ids by event (``received``, ``succeeded``) in a worker log."""
    found: dict[str, set[str]] = {"received": set(), "succeeded": set()}
    for task_id, event in TASK_LINE.findall(log.read_text(encoding="utf-8", errors="replace")):
        found[event].add(task_id)
    return found


def test_queued_ingest_matches_in_process_ingest(
    settings: Settings,
    door: EngineDoor,
    demo_drop: Path,
    local_run: tuple[IngestReport, dict[str, int]],
    tmp_path: Path,
) -> None:
    local_report, local_docs = local_run
    queued = derive_settings(settings, "q", tmp_path / "state")
    worker = start_worker(queued, tmp_path / "worker.log")
    try:
        report = run_queued_ingest(
            queued, demo_drop, tmp_path / "rejects", reload=True, timeout_s=WAIT_S
        )
    finally:
        stop_worker(worker)
        remove_broker_keys(queued)

    assert file_counts(report) == file_counts(local_report)
    assert report.unknown_files == local_report.unknown_files
    assert doc_counts(door, queued.index_prefix) == local_docs
    # a first load: the flag survives the task's JSON result, so the watch step gets every record
    watch_input = changed_by_source(report.files)
    assert watch_input == changed_by_source(local_report.files)
    assert all(c.every_record and c.records for c in watch_input.values())


def test_task_of_killed_worker_is_redelivered_to_a_new_worker(
    settings: Settings,
    door: EngineDoor,
    demo_drop: Path,
    local_run: tuple[IngestReport, dict[str, int]],
    tmp_path: Path,
) -> None:
    local_report, local_docs = local_run
    rows = local_report.by_source()
    # The largest first-wave source: the worker is surely still writing it when it is killed.
    target = max((s for s in rows if Source(s) not in SECOND_WAVE), key=lambda s: rows[s]["read"])
    killed = derive_settings(settings, "k", tmp_path / "state")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    workers = [start_worker(killed, first_log)]
    try:
        queued = in_background(
            lambda: run_queued_ingest(
                killed, demo_drop, tmp_path / "rejects", reload=True, timeout_s=WAIT_S
            )
        )

        def target_is_being_written() -> bool:
            if queued.done() or workers[0].poll() is not None:
                ended = queued.exception() if queued.done() else "worker exited"
                pytest.fail(f"ended before the kill ({ended}):\n{first_log.read_text()[-3000:]}")
            return indexed_ops(door, f"{killed.index_prefix}-{target}-*") > 0

        wait_until(target_is_being_written, f"the worker writes {target}")
        kill_worker(workers[0])
        workers.append(start_worker(killed, second_log))
        report = queued.result(timeout=WAIT_S)
    finally:
        for worker in workers:
            stop_worker(worker)
        remove_broker_keys(killed)

    first, second = task_lines(first_log), task_lines(second_log)
    interrupted = first["received"] - first["succeeded"]
    assert len(interrupted) == 1, first_log.read_text()[-3000:]
    assert interrupted <= second["succeeded"], second_log.read_text()[-3000:]
    assert file_counts(report) == file_counts(local_report)
    assert doc_counts(door, killed.index_prefix) == local_docs
