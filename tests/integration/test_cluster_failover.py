"""A real three-node cluster (deploy/cluster.sh, its own ports) loses a node during an ingest:
the ingest's report balances as the drop's ground truth says, every index holds exactly what the
report counts as indexed, and the cluster is green again once the node rejoins.

The figures (time to detect, failover latency, queries, Celery) are the fault benchmark's
(benchmarks/fault_bench.py); this test keeps the properties in the suite. Nothing here is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop
from registry.engine import EngineDoor

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = ROOT / "deploy" / "cluster.sh"
# Apart from the benchmark's 9270-9272, so both can run at once.
HTTP_PORT, TRANSPORT_PORT = 9275, 9375
NODES = 3
PERSONS = 300  # about 3,600 rows: the ingest still runs when the node is killed
KILL_AFTER_DOCS = 500
WAIT_S = 600.0
PROBE_TIMEOUT_S = 2.0


def cluster_sh(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(CLUSTER_SH), *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"cluster.sh {' '.join(args)}:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The cluster's environment for deploy/cluster.sh; every node is stopped afterwards."""
    env = os.environ | {
        "XIANSUO_CLUSTER_HOME": str(tmp_path_factory.mktemp("cluster")),
        "XIANSUO_CLUSTER_HTTP_PORT": str(HTTP_PORT),
        "XIANSUO_CLUSTER_TRANSPORT_PORT": str(TRANSPORT_PORT),
    }
    cluster_sh(env, "start")
    try:
        yield env
    finally:
        cluster_sh(env, "clean")


def health(url: str) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"{url}/_cluster/health", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return None
    found: dict[str, Any] = answer.json()
    return found if answer.is_success else None


def manager(urls: list[str]) -> int:
    """The number (1..3) of the elected cluster manager."""
    for url in urls:
        try:
            answer = httpx.get(f"{url}/_cat/cluster_manager?h=node", timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError:
            continue
        if answer.is_success and answer.text.strip():
            return int(answer.text.strip().removeprefix("node-"))
    pytest.fail("no node names a cluster manager")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT_S:.0f} s waiting until {what}")
        time.sleep(0.1)


def written(door: EngineDoor) -> int:
    stats = door.primaries_stats(door.index_name("*"), "indexing")
    total: int = stats.get("indexing", {}).get("index_total", 0)
    return total


def in_background(call: Callable[[], IngestReport]) -> Future[IngestReport]:
    future: Future[IngestReport] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def test_an_ingest_that_loses_a_node_loses_no_document_and_the_cluster_heals(
    cluster: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    urls = cluster_sh(cluster, "urls").strip().split(",")
    assert len(urls) == NODES
    local = settings.model_copy(
        update={
            "opensearch_url": ",".join(urls),
            "index_replicas": 1,
            "state_dir": tmp_path / "state",
            "embeddings_enabled": False,
        }
    )
    drop = tmp_path / "drop"
    write_demo_drop(drop, persons=PERSONS)
    truth = json.loads((drop / TRUTH_FILE).read_text(encoding="utf-8"))
    door = EngineDoor.for_ingest(local)

    def ingest() -> IngestReport:
        with ingest_context(local, tmp_path / "rejects") as ctx:
            return ingest_drop(drop, ctx)

    running = in_background(ingest)
    wait_until(lambda: running.done() or written(door) >= KILL_AFTER_DOCS, "documents flow")
    assert not running.done(), f"the ingest ended before the kill: {running.exception()}"
    victim = manager(urls)
    cluster_sh(cluster, "kill-node", str(victim))
    report = running.result(timeout=WAIT_S)

    by_source = report.by_source()
    for source, facts in truth["files"].items():
        expected = facts["expected_report"] | {"failed": 0}
        assert {k: by_source[source][k] for k in expected} == expected, source
    door.refresh(door.index_name("*"))
    held = {source: door.count(door.index_name(source)) for source in by_source}
    assert held == {source: counts["indexed"] for source, counts in by_source.items()}

    cluster_sh(cluster, "start-node", str(victim))

    def green() -> bool:
        state = health(urls[victim - 1])
        return bool(state and state["status"] == "green" and state["number_of_nodes"] == NODES)

    wait_until(green, "the cluster is green with every node")
    door.drop_index(door.index_name("*"))
    door.close()
