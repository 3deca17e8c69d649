"""Pieces the benchmarks share: the real server in its own process, timing, percentiles, the
gate's audit entries, and a world (a demo drop ingested into a fresh index prefix) to measure.

Imported by the benchmark scripts run as ``.venv/bin/python benchmarks/<name>.py`` (this folder
is then first on sys.path); not a package of the service.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection

from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from query_logs.applications import DEFAULT_QUERY_QUOTA, consume_query_in
from query_logs.audit import AuditEntryIn, AuditKind, AuditOutcome, digest_record_ids

# A loaded shared machine can take more than a minute to import and start the app.
SERVER_START_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 and the mean, in ms."""
    ms = sorted(s * 1000 for s in samples_s)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50": round(statistics.median(ms), 3),
        "p95": round(cuts[94], 3),
        "p99": round(cuts[98], 3),
        "mean": round(statistics.fmean(ms), 3),
    }


class Server:
    """The real API as it runs in production: `xiansuo serve` in its own process, on loopback."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
        env |= {
            "XIANSUO_OPENSEARCH_URL": settings.opensearch_url,
            "XIANSUO_INDEX_PREFIX": settings.index_prefix,
            "XIANSUO_STATE_DIR": str(settings.state_dir),
            "XIANSUO_DATABASE_URL": settings.effective_database_url,
            "XIANSUO_LOG_LEVEL": "warning",
            # A benchmark is a development run on loopback: the development key is accepted
            # only when declared (xiansuo serve refuses it otherwise).
            "XIANSUO_ENVIRONMENT": "development",
        }
        self._command = [sys.executable, "-m", "xiansuo", "serve", "--port", str(self.port)]
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self._process = subprocess.Popen(self._command, env=self._env)  # noqa: S603 - our own CLI
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SystemExit("the API server exited at start")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__()  # __exit__ is not called when __enter__ raises: no orphaned server
        raise SystemExit(f"the API server did not start within {SERVER_START_S} s")

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=15)


def interleave(
    paths: dict[str, Callable[[Any], int]], inputs: list[Any], warmup: int, iterations: int
) -> dict[str, list[float]]:
    """Time each path on the same inputs, interleaved and in rotating order so that every path
    shares the machine's noise; the paths must agree on the hit count of every input."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for i in range(warmup + iterations):
        item = inputs[i % len(inputs)]
        totals = {}
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            totals[name] = paths[name](item)
            elapsed = time.perf_counter() - started
            if i >= warmup:
                samples[name].append(elapsed)
        if len(set(totals.values())) != 1:
            raise SystemExit(f"the paths disagree on input {i % len(inputs)}: {totals}")
    return samples


def log_in(http: httpx.Client, accounts: dict[str, str], password: str) -> dict[str, str]:
    """A bearer token per ``who -> username``."""
    tokens = {}
    for who, name in accounts.items():
        login = http.post("/auth/token", json={"username": name, "password": password})
        if login.status_code != 200:
            raise SystemExit(f"login {name}: {login.status_code} {login.text}")
        tokens[who] = login.json()["access_token"]
    return tokens


class Applications:
    """Approved applications of one shape (filed by "inv", approved by "boss"); files a new one
    before the quota of the current one runs out."""

    def __init__(self, http: httpx.Client, tokens: dict[str, str], body: dict[str, Any]) -> None:
        self._http, self._tokens, self._body = http, tokens, body
        self.filed: list[int] = []
        self._used = DEFAULT_QUERY_QUOTA

    def _post(self, url: str, who: str, body: dict[str, Any], status: int) -> Any:
        headers = {"Authorization": f"Bearer {self._tokens[who]}"}
        response = self._http.post(url, json=body, headers=headers)
        if response.status_code != status:
            raise SystemExit(f"POST {url}: {response.status_code} {response.text}")
        return response.json()

    def _file(self) -> int:
        case = {"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "基准"}
        case_id = self._post("/cases", "inv", case, 201)["id"]
        app_id = int(
            self._post("/applications", "inv", self._body | {"case_id": case_id}, 201)["id"]
        )
        decision = {"approve": True, "note": "同意"}
        self._post(f"/applications/{app_id}/decision", "boss", decision, 200)
        self.filed.append(app_id)
        return app_id

    def spare(self) -> int:
        """A fresh application kept out of the timed queries (for timing the gate's parts)."""
        app_id = self._file()
        self.filed.remove(app_id)
        self.filed.insert(0, app_id)
        return app_id

    def next_id(self) -> int:
        """The application for the next governed query (one query of its quota)."""
        if self._used >= DEFAULT_QUERY_QUOTA:
            self._file()
            self._used = 0
        self._used += 1
        return self.filed[-1]


def gate_log_entries(
    *, actor: str, route: str, application_id: str, case_id: str, purpose: str, sources: list[str]
) -> tuple[AuditEntryIn, AuditEntryIn]:
    """A request and an outcome entry shaped as the gate writes them for an investigator's
    records query from loopback (both timed log benchmarks append these)."""
    envelope: dict[str, Any] = {
        "actor": actor,
        "actor_role": "investigator",
        "source_ip": "127.0.0.1",
        "route": route,
        "application_id": application_id,
        "case_id": case_id,
    }
    request = AuditEntryIn(
        kind=AuditKind.QUERY_REQUEST,
        purpose=purpose,
        params={"id_number": "~" + "0" * 16, "sources": [], "page_size": 20, "offset": 0},
        scope={"sources": sources, "regions": ["4601"], "page_size": 20, "offset": 0},
        **envelope,
    )
    outcome = AuditEntryIn(
        kind=AuditKind.QUERY_OUTCOME,
        outcome=AuditOutcome.OK,
        hit_count=5,
        result_digest=digest_record_ids([f"r{i}" for i in range(5)]),
        duration_ms=4.2,
        **envelope,
    )
    return request, outcome


def count_query(app_id: int) -> Callable[[Connection], None]:
    """The gate's quota UPDATE of ``app_id``, run in the request entry's transaction (a spent
    quota leaves the UPDATE as costly, so it is not checked)."""

    def count(conn: Connection) -> None:
        consume_query_in(conn, app_id)

    return count


def prepare_world(
    args: argparse.Namespace, base: Settings, tmp: Path, tag: str, *, report_rows: bool = False
) -> tuple[Settings, dict[str, Any]]:
    """Settings for a fresh index prefix (``tag`` in its name) and a SQLite store in the state
    folder, and a demo drop generated and ingested there, timed; or, with ``--prefix``, the
    prefix and ``--state-dir`` a previous run kept. The settings and the load figures, the drop's
    truth file under "truth" (with ``report_rows``, its row count under "rows")."""
    prefix = args.prefix or f"{base.index_prefix}-{tag}-{uuid.uuid4().hex[:6]}"
    state = Path(args.state_dir) if args.state_dir else tmp / "state"
    local = base.model_copy(
        update={
            "index_prefix": prefix,
            "state_dir": state,
            "database_url": f"sqlite:///{state / 'bench.db'}",
            "embeddings_enabled": False,
        }
    )
    drop = state / "drop"
    figures: dict[str, Any] = {"prefix": prefix}
    if not args.prefix:
        started = time.perf_counter()
        summary = write_demo_drop(drop, persons=args.persons, seed=args.seed)
        figures["generate_s"] = round(time.perf_counter() - started, 1)
        if report_rows:
            figures["rows"] = summary.total_rows
        started = time.perf_counter()
        with ingest_context(local, state / "rejects") as ctx:
            ingest_drop(drop, ctx)
        figures["ingest_s"] = round(time.perf_counter() - started, 1)
    figures["truth"] = json.loads((drop / TRUTH_FILE).read_text(encoding="utf-8"))
    return local, figures
