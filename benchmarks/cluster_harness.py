"""Pieces of the fault benchmark: the three-node cluster of deploy/cluster.sh, a watch on its
health, the synthetic drop, the service's commands and Celery worker processes.

Imported by ``benchmarks/fault_bench.py`` (run as a script, so this folder is first on
sys.path); not a package of the service.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.tasks import ingest_queue

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SH = ROOT / "deploy" / "cluster.sh"
CELERY = Path(sys.executable).parent / "celery"
NODES = (1, 2, 3)
HEALTH_POLL_S = 0.1  # how finely detection and failover are timed
PROBE_TIMEOUT_S = 1.0
TASK_LINE = re.compile(r"Task xiansuo\.ingest_source\[([0-9a-f-]{36})\] (received|succeeded)")
HTTP_OK = 200


def make_drop(out: Path, persons: int, seed: int) -> dict[str, Any]:
    """Write a synthetic drop (fictitious people) and return its ground truth.

    The one place that knows the generator (``python -m demo``).
    """
    write_demo_drop(out, persons=persons, seed=seed)
    truth: dict[str, Any] = json.loads((out / TRUTH_FILE).read_text(encoding="utf-8"))
    return truth


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float) -> float:
    """Poll ``condition`` until it holds; the seconds it took. SystemExit when it never does."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"timed out after {timeout_s:.0f} s waiting until {what}")
        time.sleep(0.05)
    return time.monotonic() - started


class Cluster:
    """deploy/cluster.sh with one environment (home, ports), and what the nodes report."""

    def __init__(self, home: Path | None) -> None:
        self.env = dict(os.environ)
        if home is not None:
            self.env["XIANSUO_CLUSTER_HOME"] = str(home)
        self.urls = self._run("urls").strip().split(",")

    def _run(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own script
            [str(CLUSTER_SH), *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"cluster.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> None:
        self._run("start")

    def remove(self) -> None:
        """Stop every node and delete the cluster's data."""
        self._run("clean")

    def kill(self, node: int) -> float:
        """kill -9 the node; the monotonic time of the kill."""
        self._run("kill-node", str(node))
        return time.monotonic()

    def start_node(self, node: int) -> None:
        self._run("start-node", str(node))

    def url(self, node: int) -> str:
        return self.urls[node - 1]

    def health(self, node: int) -> dict[str, Any] | None:
        """The cluster's health as node ``node`` sees it, or None when it does not answer."""
        try:
            response = httpx.get(f"{self.url(node)}/_cluster/health", timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError:
            return None
        answer: dict[str, Any] = response.json()
        return answer if response.status_code == HTTP_OK else None

    def manager(self) -> int:
        """The node elected cluster manager."""
        for node in NODES:
            try:
                answer = httpx.get(
                    f"{self.url(node)}/_cat/cluster_manager?h=node", timeout=PROBE_TIMEOUT_S
                )
            except httpx.HTTPError:
                continue
            if answer.status_code == HTTP_OK and answer.text.strip():
                return int(answer.text.strip().removeprefix("node-"))
        raise SystemExit("no node names a cluster manager")

    def primaries(self, node: int, pattern: str) -> dict[int, int]:
        """Primary shards of the indices matching ``pattern``, per node."""
        answer = httpx.get(
            f"{self.url(node)}/_cat/shards/{pattern}?format=json&h=prirep,node,state",
            timeout=10,
        )
        counts = dict.fromkeys(NODES, 0)
        for shard in answer.json():
            if shard["prirep"] == "p" and shard.get("node"):
                # A relocating shard reads "node-1 -> 127.0.0.1 <id> node-2": where it is now.
                counts[int(shard["node"].split()[0].removeprefix("node-"))] += 1
        return counts

    def wait_green(self, node: int, timeout_s: float) -> float:
        """Seconds until the cluster, asked through ``node``, has every node and is green."""

        def green() -> bool:
            health = self.health(node)
            return bool(
                health and health["status"] == "green" and health["number_of_nodes"] == len(NODES)
            )

        return wait_for(green, "the cluster is green with every node", timeout_s)


@dataclass
class HealthWatch:
    """Polls the cluster's health through one surviving node from a kill on: when the lost node
    is noticed (the node count drops) and when every primary is active again (not red)."""

    cluster: Cluster
    survivor: int
    killed_at: float
    timeline: list[tuple[float, str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HealthWatch:
        self._thread = threading.Thread(target=self._poll, name="health-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            if (health := self.cluster.health(self.survivor)) is not None:
                point = (str(health["status"]), int(health["number_of_nodes"]))
                if not self.timeline or self.timeline[-1][1:] != point:
                    self.timeline.append((time.monotonic() - self.killed_at, *point))
            time.sleep(HEALTH_POLL_S)

    def figures(self) -> dict[str, Any]:
        """Seconds from the kill to detection and to all primaries active; the states seen."""
        detected = next((t for t, _, nodes in self.timeline if nodes < len(NODES)), None)
        served = next(
            (
                t
                for t, status, nodes in self.timeline
                if nodes < len(NODES) and status in ("yellow", "green")
            ),
            None,
        )
        return {
            "detected_s": None if detected is None else round(detected, 2),
            "primaries_active_s": None if served is None else round(served, 2),
            "states": [f"{t:.1f}s {status} {nodes} nodes" for t, status, nodes in self.timeline],
        }


def service_env(settings: Settings, log_level: str = "warning") -> dict[str, str]:
    """The environment of a command or worker of the service, configured only by ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "XIANSUO_OPENSEARCH_URL": settings.opensearch_url,
        "XIANSUO_INDEX_REPLICAS": str(settings.index_replicas),
        "XIANSUO_REDIS_URL": settings.redis_url,
        "XIANSUO_INDEX_PREFIX": settings.index_prefix,
        "XIANSUO_STATE_DIR": str(settings.state_dir),
        "XIANSUO_DATABASE_URL": settings.effective_database_url,
        "XIANSUO_EMBEDDINGS_ENABLED": str(settings.embeddings_enabled).lower(),
        "XIANSUO_CELERY_VISIBILITY_TIMEOUT_S": str(settings.celery_visibility_timeout_s),
        "XIANSUO_LOG_LEVEL": log_level,
    }


class Worker:
    """A Celery ingest worker in its own process group (solo pool), logging to a file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.log = log
        command = [
            str(CELERY), "-A", "indexer.worker", "worker", "--pool", "solo", "--concurrency", "1",
            "-Q", ingest_queue(settings), "-n", f"fault-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own worker
                command,
                cwd=ROOT,
                env=service_env(settings, log_level="info"),  # "Task ... received" lines
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def tasks(self) -> dict[str, set[str]]:
        """Task ids by event (``received``, ``succeeded``) in the worker's log."""
        found: dict[str, set[str]] = {"received": set(), "succeeded": set()}
        text = self.log.read_text(encoding="utf-8", errors="replace")
        for task_id, event in TASK_LINE.findall(text):
            found[event].add(task_id)
        return found

    def running(self) -> set[str]:
        """Tasks received and not yet finished."""
        tasks = self.tasks()
        return tasks["received"] - tasks["succeeded"]

    def kill(self) -> None:
        """SIGKILL the worker's whole process group, as a crash would, and reap it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown, SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
