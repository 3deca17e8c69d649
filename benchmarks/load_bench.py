"""Load benchmark: governed queries/s under 8, 32 and 64 concurrent clients against the same
queries sent to OpenSearch directly with the same concurrency, in one run; then the log checked.

    .venv/bin/python benchmarks/load_bench.py                       # 8/32/64 clients, 30 s each
    .venv/bin/python benchmarks/load_bench.py --duration 5          # a quick run
    .venv/bin/python benchmarks/load_bench.py --postgres "$XIANSUO_TEST_POSTGRES_URL"

Ingests a demo drop (fictitious people) into a fresh index prefix, creates an investigator and an
approver in a throw-away store (SQLite in a temp dir; or, with --postgres ADMIN_URL, a fresh
PostgreSQL database created on that server and dropped at the end), runs the real API
(`xiansuo serve`, its own process) and files approved applications as the clients need them
(a quota of 500 queries each). For each concurrency level it runs, one after the other, the
governed path (GET /persons/{id}/records: token, gate, quota, the write-ahead request entry, the
query, the outcome entry, masking) and the direct path (the very query that route sends, built by
the same function from the scope the gate decides, POSTed to OpenSearch's _search), each with N
asyncio clients over one HTTP connection pool for --duration seconds after --warmup seconds.
Prints queries/s, p50/p95 and the governed/direct ratios. Then the log alone, on the same
store: N threads each appending a request entry (with the quota count in its transaction, as the
gate does) and an outcome entry, for --log-seconds, once through one shared AuditLog (concurrent
appends group-committed) and once with an AuditLog per thread (one transaction and fsync per
entry, as before group commit), interleaved per level: entries/s and append p95. Last, checks
the log: every governed query answered 200 has its request entry and exactly one outcome entry
naming it, and `xiansuo audit verify` (the hash chain and the signed checkpoints, over every
entry of the run) passes. One JSON line last. Needs a running node (XIANSUO_OPENSEARCH_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from gate_bench import (
    PASSWORD,
    PURPOSE,
    SOURCES,
    add_accounts,
    application_body,
    gate_scope,
    pick_subjects,
)
from harness import Server, count_query, gate_log_entries, log_in, percentiles
from sqlalchemy import Engine, create_engine, make_url, select

from common.db import create_db_engine
from common.logs import configure_logging
from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from query_logs.applications import DEFAULT_QUERY_QUOTA
from query_logs.audit import AuditKind, AuditLog, audit_entry, load_json
from registry.engine import EngineDoor
from search_api.queries.records import person_records_query

ROUTE = "GET /persons/{id_number}/records"
LOG_ROUTE = "load_bench log appends"  # the log-only phase's entries (not governed queries)
SPARE_APPLICATIONS = 3  # approved applications kept ready ahead of the clients


class ApplicationPool:
    """Approved applications handed out one query at a time; a filler task files more (through
    the API) whenever fewer than SPARE_APPLICATIONS unused ones remain, so the clients rarely
    wait for one."""

    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, str], body: dict[str, Any]):
        self._http, self._tokens, self._body = http, tokens, body
        self._ready: list[list[int]] = []  # [application id, queries left]
        self._filling: asyncio.Task[None] | None = None
        self.filed = 0

    async def _post(self, url: str, who: str, body: dict[str, Any], status: int) -> Any:
        headers = {"Authorization": f"Bearer {self._tokens[who]}"}
        response = await self._http.post(url, json=body, headers=headers)
        if response.status_code != status:
            raise SystemExit(f"POST {url}: {response.status_code} {response.text}")
        return response.json()

    async def _file_one(self) -> None:
        case = {"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "负载基准"}
        case_id = (await self._post("/cases", "inv", case, 201))["id"]
        app = await self._post("/applications", "inv", self._body | {"case_id": case_id}, 201)
        decision = {"approve": True, "note": "同意"}
        await self._post(f"/applications/{app['id']}/decision", "boss", decision, 200)
        self._ready.append([int(app["id"]), DEFAULT_QUERY_QUOTA])
        self.filed += 1

    async def _fill(self) -> None:
        while sum(1 for _, left in self._ready if left == DEFAULT_QUERY_QUOTA) < SPARE_APPLICATIONS:
            await self._file_one()

    async def fill(self) -> None:
        """File until SPARE_APPLICATIONS unused applications are ready."""
        if self._filling is None or self._filling.done():
            self._filling = asyncio.create_task(self._fill())
        await self._filling

    async def take(self) -> int:
        """An application with a query left, counted as used."""
        while True:
            while self._ready and self._ready[0][1] == 0:
                self._ready.pop(0)
            unused = sum(1 for _, left in self._ready if left == DEFAULT_QUERY_QUOTA)
            if unused < SPARE_APPLICATIONS and (self._filling is None or self._filling.done()):
                self._filling = asyncio.create_task(self._fill())
            if self._ready:
                self._ready[0][1] -= 1
                return self._ready[0][0]
            assert self._filling is not None
            await self._filling


async def drive(
    call: Callable[[int], Awaitable[None]], clients: int, warmup_s: float, duration_s: float
) -> dict[str, Any]:
    """``clients`` tasks calling ``call`` back to back; latencies of the calls that start after
    the warm-up and end before its end + ``duration_s``."""
    samples: list[float] = []
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    begin = loop.time()
    window = (begin + warmup_s, begin + warmup_s + duration_s)

    async def client(index: int) -> None:
        i = index
        while (started := loop.time()) < window[1]:
            try:
                await call(i)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            ended = loop.time()
            if started >= window[0] and ended <= window[1]:
                samples.append(ended - started)
            i += clients

    await asyncio.gather(*(client(i) for i in range(clients)))
    if len(samples) < 2:
        raise SystemExit(
            f"fewer than two calls completed in the {duration_s} s window (a longer --duration?);"
            f" errors: {Counter(errors)}"
        )
    return {
        "clients": clients,
        "completed": len(samples),
        "qps": round(len(samples) / duration_s, 1),
        "errors": len(errors),
        "error_kinds": dict(Counter(errors).most_common(3)),
        **percentiles(samples),
    }


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    """A new database on the server of ``admin_url`` (the log's tables cannot be emptied, so
    every run gets its own), dropped afterwards."""
    name = f"xs_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def check_log(settings: Settings, answered: int) -> dict[str, Any]:
    """Every answered query's request entry and its one outcome entry; then `xiansuo audit
    verify` run as an operator would."""
    engine = create_db_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(audit_entry.c.seq, audit_entry.c.kind, audit_entry.c.detail).where(
                    audit_entry.c.route == ROUTE,
                    audit_entry.c.kind.in_([AuditKind.QUERY_REQUEST, AuditKind.QUERY_OUTCOME]),
                )
            ).all()
    finally:
        engine.dispose()
    requests = {int(r.seq) for r in rows if r.kind == AuditKind.QUERY_REQUEST}
    outcomes = Counter(
        int(load_json(r.detail)["request_seq"]) for r in rows if r.kind == AuditKind.QUERY_OUTCOME
    )
    paired = sum(1 for seq in requests if outcomes.get(seq) == 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")} | {
        "XIANSUO_STATE_DIR": str(settings.state_dir),
        "XIANSUO_DATABASE_URL": settings.effective_database_url,
        "XIANSUO_LOG_LEVEL": "warning",
    }
    verify = subprocess.run(
        [sys.executable, "-m", "xiansuo", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(verify.stdout.strip().splitlines()[-1]) if verify.stdout.strip() else {}
    return {
        "answered": answered,
        "request_entries": len(requests),
        "outcome_entries": sum(outcomes.values()),
        "paired": paired,
        "orphan_outcomes": sum(n for seq, n in outcomes.items() if seq not in requests),
        "pairs_ok": paired == len(requests) == answered == sum(outcomes.values()),
        "verify_ok": verify.returncode == 0,
        "verify": report or verify.stderr.strip()[-300:],
    }


async def measure(
    settings: Settings, server_url: str, tokens: dict[str, str], body: dict[str, Any],
    subjects: list[str], queries: dict[str, tuple[str, dict[str, Any]]], args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], int, int]:  # fmt: skip
    """Each level: the governed path, then the direct path; the rows, the governed queries
    answered (warm-up included) and the applications filed."""
    limits = httpx.Limits(max_connections=max(args.clients) + 8, max_keepalive_connections=None)
    answered = 0
    levels = []
    async with (
        httpx.AsyncClient(base_url=server_url, timeout=60, limits=limits) as api,
        httpx.AsyncClient(base_url=settings.opensearch_url, timeout=60, limits=limits) as engine,
    ):
        pool = ApplicationPool(api, tokens, body)
        await pool.fill()
        auth = {"Authorization": f"Bearer {tokens['inv']}"}

        async def governed(i: int) -> None:
            nonlocal answered
            id_number = subjects[i % len(subjects)]
            headers = auth | {"X-Application-Id": str(await pool.take())}
            response = await api.get(f"/persons/{id_number}/records", headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"API {response.status_code} {response.text[:120]}")
            answered += 1

        async def direct(i: int) -> None:
            indices, query = queries[subjects[i % len(subjects)]]
            response = await engine.post(
                f"/{indices}/_search", params={"ignore_unavailable": "true"}, json=query
            )
            response.raise_for_status()

        for clients in [] if args.log_only else args.clients:
            api_row = await drive(governed, clients, args.warmup, args.duration)
            direct_row = await drive(direct, clients, args.warmup, args.duration)
            levels.append({"clients": clients, "api": api_row, "direct": direct_row,
                           "ratio_qps": round(api_row["qps"] / direct_row["qps"], 2),
                           "ratio_p95": round(api_row["p95"] / direct_row["p95"], 2)})  # fmt: skip
            print(
                f"{clients:>3} clients: API {api_row['qps']:.0f} q/s p50 {api_row['p50']:.1f} "
                f"p95 {api_row['p95']:.1f} ms ({api_row['errors']} errors); direct "
                f"{direct_row['qps']:.0f} q/s p50 {direct_row['p50']:.1f} p95 "
                f"{direct_row['p95']:.1f} ms",
                flush=True,
            )
    return levels, answered, pool.filed


def time_log_threads(
    engine: Engine, app_id: int, threads: int, shared: bool, seconds: float
) -> dict[str, Any]:
    """``threads`` threads appending request + outcome pairs for ``seconds``: through one
    AuditLog (group commit) or one AuditLog each (a transaction per entry)."""
    request, outcome = gate_log_entries(
        actor="load-inv", route=LOG_ROUTE, application_id=str(app_id), case_id="案-load",
        purpose=PURPOSE, sources=SOURCES,
    )  # fmt: skip
    count = count_query(app_id)  # the gate's quota UPDATE
    logs = [AuditLog(engine)] * threads if shared else [AuditLog(engine) for _ in range(threads)]
    samples: list[list[float]] = [[] for _ in range(threads)]
    stop = time.perf_counter() + seconds

    def work(t: int) -> None:
        while time.perf_counter() < stop:
            for entry, first in ((request, count), (outcome, None)):
                began = time.perf_counter()
                logs[t].append(entry, first=first)
                samples[t].append(time.perf_counter() - began)

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    flat = [s for per in samples for s in per]
    return {
        "entries": len(flat),
        "entries_per_s": round(len(flat) / elapsed, 1),
        **percentiles(flat),
    }


def measure_log(engine: Engine, app_id: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per level: a transaction per entry, then group commit (same store, same run)."""
    rows = []
    for threads in args.clients:
        serial = time_log_threads(engine, app_id, threads, False, args.log_seconds)
        grouped = time_log_threads(engine, app_id, threads, True, args.log_seconds)
        ratio = round(grouped["entries_per_s"] / serial["entries_per_s"], 2)
        rows.append({"threads": threads, "per_entry": serial, "grouped": grouped, "ratio": ratio})
        print(
            f"log alone, {threads:>2} threads: a transaction per entry "
            f"{serial['entries_per_s']:.0f} entries/s (p95 {serial['p95']:.1f} ms); group commit "
            f"{grouped['entries_per_s']:.0f} entries/s (p95 {grouped['p95']:.1f} ms)",
            flush=True,
        )
    return rows


def run(args: argparse.Namespace, base: Settings, tmp: Path, database_url: str) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    settings = base.model_copy(
        update={
            "index_prefix": f"bench-load-{run_id}",
            "state_dir": tmp / "state",
            "database_url": database_url,
            "embeddings_enabled": False,  # the query path does not embed; the drop loads faster
        }
    )
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    write_demo_drop(tmp / "drop", persons=args.persons)
    truth = json.loads((tmp / "drop" / TRUTH_FILE).read_text(encoding="utf-8"))
    with ingest_context(settings, tmp / "rejects") as ctx:
        ingest_drop(tmp / "drop", ctx)
    official = truth["patterns"]["official_spouse_company"]["official_id"]
    region = official[:4]
    door = EngineDoor.for_api(settings)
    engine = create_db_engine(settings.effective_database_url)
    try:
        subjects = list(dict.fromkeys([official, *pick_subjects(door, region, args.subjects)]))
        subjects = subjects[: args.subjects]
        inv, boss = add_accounts(engine, "load", run_id, region)
        body = application_body(region, subjects)
        with Server(settings) as server:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                tokens = log_in(http, {"inv": inv, "boss": boss}, PASSWORD)
                first = http.post(  # one application to read the gate's scope from
                    "/cases",
                    json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "负载基准"},
                    headers={"Authorization": f"Bearer {tokens['inv']}"},
                ).json()["id"]
                app = http.post(
                    "/applications",
                    json=body | {"case_id": first},
                    headers={"Authorization": f"Bearer {tokens['inv']}"},
                ).json()["id"]
                http.post(
                    f"/applications/{app}/decision",
                    json={"approve": True, "note": "同意"},
                    headers={"Authorization": f"Bearer {tokens['boss']}"},
                ).raise_for_status()
            queries = {}
            for id_number in subjects:
                scope = gate_scope(engine, inv, int(app), id_number)
                indices = ",".join(door.index_name(str(s)) for s in scope.sources)
                queries[id_number] = (indices, person_records_query(scope, id_number))
            levels, answered, filed = asyncio.run(
                measure(settings, server.url, tokens, body, subjects, queries, args)
            )
        log_rows = measure_log(engine, int(app), args) if args.log_seconds > 0 else []
        started = time.perf_counter()
        log = check_log(settings, answered)
        log["check_s"] = round(time.perf_counter() - started, 1)
    finally:
        engine.dispose()
        door.drop_index(door.index_name("*"))
        door.close()
    return {
        "persons": args.persons,
        "database": make_url(database_url).get_backend_name(),
        "duration_s": args.duration,
        "subjects": len(subjects),
        "applications": filed + 1,
        "levels": levels,
        "log_alone": log_rows,
        "log": log,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000, help="demo persons (~11 rows each)")
    parser.add_argument(
        "--clients", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32, 64],
        help="concurrency levels, comma-separated",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=30.0, help="timed seconds per path")
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed seconds first")
    parser.add_argument("--subjects", type=int, default=8, help="subject IDs queried in turn")
    parser.add_argument(
        "--log-only", action="store_true", help="skip the API levels: the log-alone phase only"
    )
    parser.add_argument(
        "--log-seconds", type=float, default=10.0,
        help="seconds per mode of the log-alone phase (0: skip it)",
    )  # fmt: skip
    parser.add_argument(
        "--postgres", metavar="ADMIN_URL", default=None,
        help="a PostgreSQL server URL: the store is a fresh database there (default: SQLite)",
    )  # fmt: skip
    args = parser.parse_args()

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    with tempfile.TemporaryDirectory(prefix="xiansuo-load-bench-") as name:
        tmp = Path(name)
        if args.postgres:
            with fresh_postgres(args.postgres) as url:
                result = run(args, base, tmp, url)
        else:
            result = run(args, base, tmp, f"sqlite:///{tmp / 'state' / 'bench.db'}")

    print(f"\n{'clients':>7} {'path':<9}{'q/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for level in result["levels"]:
        for path in ("api", "direct"):
            row = level[path]
            print(
                f"{level['clients']:>7} {path:<9}{row['qps']:>8.1f}{row['p50']:>9.1f}"
                f"{row['p95']:>9.1f}{row['errors']:>8}"
            )
        print(
            f"{'':>7} ratio API/direct: q/s {level['ratio_qps']:.2f}, p95 {level['ratio_p95']:.2f}"
        )
    for row in result["log_alone"]:
        print(
            f"log alone {row['threads']:>2} threads: per-entry transactions "
            f"{row['per_entry']['entries_per_s']:.0f}/s p95 {row['per_entry']['p95']:.1f} ms; "
            f"group commit {row['grouped']['entries_per_s']:.0f}/s p95 "
            f"{row['grouped']['p95']:.1f} ms; ×{row['ratio']:.2f}"
        )
    log = result["log"]
    print(
        f"log ({result['database']}): {log['answered']} governed queries answered, "
        f"{log['request_entries']} request entries, {log['outcome_entries']} outcome entries, "
        f"{log['paired']} paired: {'PASS' if log['pairs_ok'] else 'FAIL'}; "
        f"xiansuo audit verify: {'PASS' if log['verify_ok'] else 'FAIL'} {log['verify']}"
    )
    print(json.dumps(result, ensure_ascii=False))
    if not (log["pairs_ok"] and log["verify_ok"]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
