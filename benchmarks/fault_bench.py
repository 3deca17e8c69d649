"""Fault benchmark: a three-node OpenSearch cluster loses a node during an ingest and during a
governed query load, and Celery loses a worker; nothing is lost and the cluster heals.

    .venv/bin/python benchmarks/fault_bench.py              # starts (and removes) its own cluster
    deploy/cluster.sh start && .venv/bin/python benchmarks/fault_bench.py --running

Indices get one replica (XIANSUO_INDEX_REPLICAS=1); every client is given the three nodes.

1. ingest: `xiansuo ingest --json` of a synthetic drop; the elected cluster manager is killed
   (kill -9) once documents are being written. The report must equal the drop's ground truth
   file by file, and each index must hold exactly the documents the report counts as indexed.
2. rejoin: the node is started again; seconds until it has joined and the cluster is green.
3. queries: `xiansuo serve` on the cluster and client threads sending governed keyword searches
   (GET /search under approved applications); the node holding the most primaries (not the
   manager) is killed mid-load. A query answered 5xx, or not at all, is retried at most
   ``MAX_ATTEMPTS - 1`` times; one still failing is a failure. All answers for one term must
   have the same total (a lost shard must not give a partial result).
4. rejoin again.
5. Celery: `xiansuo ingest --queue` with two workers; one is SIGKILLed while it runs a task;
   the report and the counts must equal the ground truth again.

Prints the figures (time to detect the loss, to active primaries, errors, latencies, time back
to green) and one JSON line; exits 1 when a property fails. No figure is a pass/fail criterion.
Needs Redis (XIANSUO_REDIS_URL) for step 5.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
from cluster_harness import (
    NODES,
    ROOT,
    Cluster,
    HealthWatch,
    Worker,
    make_drop,
    service_env,
    wait_for,
)
from harness import Applications, Server, log_in

from accounts.roles import Role
from accounts.users import add_user
from common.db import create_db_engine
from common.errors import EngineUnavailableError
from common.settings import Settings
from common.vocab import Source
from indexer.reports import FileReport
from indexer.sealed import open_keyring, open_sealed_store
from migrations.store import upgrade_store
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious benchmark accounts
PURPOSE = "核查举报反映的公职人员违纪违法问题线索(故障演练,节点失效时的检索)"
PROVINCE = "46"
# The counts of a file's report (read, indexed, rejected, duplicates, failed, warnings).
REPORTED = tuple(f.name for f in dataclasses.fields(FileReport) if f.type == "int")
# The lost node is killed once this many documents were written: mid-ingest, not at its start.
KILL_AFTER_DOCS = 1500
INGEST_TIMEOUT_S = 600.0
GREEN_TIMEOUT_S = 300.0
# A client retries a query that got a 5xx (or no answer) this many times in all, backing off.
MAX_ATTEMPTS = 3
RETRY_BACKOFF_S = 0.5
# Query load: at least this many governed queries answered before the kill (the first ones
# warm the server up), then this long after it.
WARM_QUERIES = 20
AFTER_KILL_S = 15.0
FAILOVER_WINDOW_S = 10.0  # latencies of queries started this soon after the kill
TERMS = 60
HTTP_OK = 200
HTTP_SERVER_ERROR = 500
FAILED_REQUEST = re.compile(r"\[status:(?:N/A|5\d\d) request:")
HTTP_PARTIAL = 206  # a direct answer with failed shards: counted as a refusal, never retried
# Longer than the longest source task of the drop, or a live worker's task is handed out again.
VISIBILITY_S = 20


def written(door: EngineDoor) -> int:
    """Index operations so far on the run's indices (refreshed or not)."""
    try:
        stats = door.primaries_stats(door.index_name("*"), "indexing")
    except EngineUnavailableError:
        return 0
    total: int = stats.get("indexing", {}).get("index_total", 0)
    return total


def accounting_problems(report: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """Where an `xiansuo ingest --json` report differs from the drop's ground truth."""
    problems = [] if report["ok"] else ["the report is not ok"]
    for source, facts in truth["files"].items():
        got = report["sources"].get(source, {})
        want = facts["expected_report"] | {"failed": 0}
        problems += [
            f"{source}.{key}: {got.get(key)} != {want[key]}"
            for key in REPORTED
            if got.get(key) != want[key]
        ]
    return problems


def lost_documents(door: EngineDoor, report: dict[str, Any]) -> dict[str, str]:
    """Per source whose index does not hold what the report counts as indexed: what differs."""
    lost = {}
    for source, totals in report["sources"].items():
        alias = door.index_name(source)
        try:
            door.refresh(alias)
            held = door.count(alias)
        except EngineUnavailableError as exc:
            lost[source] = f"the index cannot be read: {exc}"
            continue
        if held != totals["indexed"]:
            lost[source] = f"the report counts {totals['indexed']} indexed, the index holds {held}"
    return lost


def failed_requests(log: Path) -> int:
    """Engine requests the client logged as unanswered or answered 5xx (and resent to the next
    node): ``[status:N/A request:0.001s]``."""
    return len(FAILED_REQUEST.findall(log.read_text(encoding="utf-8", errors="replace")))


def run_ingest(settings: Settings, drop: Path, log: Path, queue: bool) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "xiansuo", "ingest", str(drop), "--json", "--no-graph"]
    with log.open("ab") as err:
        return subprocess.Popen(  # noqa: S603 - our own command line
            [*command, "--queue"] if queue else command,
            cwd=ROOT,
            env=service_env(settings),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def finish(process: subprocess.Popen[str], log: Path) -> dict[str, Any]:
    out, _ = process.communicate(timeout=INGEST_TIMEOUT_S)
    if not out.strip():
        raise SystemExit(f"the ingest printed no report:\n{log.read_text()[-3000:]}")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def ingest_losing_a_node(
    cluster: Cluster, settings: Settings, drop: Path, truth: dict[str, Any], tmp: Path
) -> tuple[dict[str, Any], int]:
    """Step 1; the figures and the node killed."""
    log = tmp / "ingest.log"
    with EngineDoor.for_ingest(settings) as door:
        started = time.monotonic()
        process = run_ingest(settings, drop, log, queue=False)
        wait_for(
            lambda: process.poll() is not None or written(door) >= KILL_AFTER_DOCS,
            "documents are being written",
            INGEST_TIMEOUT_S,
        )
        if process.poll() is not None:
            raise SystemExit(f"the ingest ended before the kill:\n{log.read_text()[-3000:]}")
        victim = cluster.manager()
        survivor = next(n for n in NODES if n != victim)
        docs_at_kill = written(door)
        killed_at = cluster.kill(victim)
        with HealthWatch(cluster, survivor, killed_at) as watch:
            report = finish(process, log)
            after_kill = time.monotonic() - killed_at
        figures = {
            "killed": f"node-{victim} (cluster manager)",
            "docs_written_at_kill": docs_at_kill,
            "ingest_s": round(time.monotonic() - started, 1),
            "ingest_after_kill_s": round(after_kill, 1),
            "rows": sum(t["read"] for t in report["sources"].values()),
            "problems": accounting_problems(report, truth),
            "lost": lost_documents(door, report),
            "engine_requests_failed": failed_requests(log),
            **watch.figures(),
        }
    return figures, victim


def rejoin(cluster: Cluster, node: int) -> dict[str, Any]:
    """Start ``node`` again: seconds until it has joined, then until the cluster is green."""
    started = time.monotonic()
    cluster.start_node(node)
    joined = time.monotonic() - started
    green = cluster.wait_green(node, GREEN_TIMEOUT_S)
    return {
        "node": f"node-{node}",
        "joined_s": round(joined, 1),
        "green_s": round(joined + green, 1),
    }


@dataclass(frozen=True, slots=True)
class Sample:
    """One query as a client saw it, retries included."""

    started: float  # monotonic
    latency_s: float
    statuses: tuple[int, ...]  # per attempt; 0: no answer
    term: str
    total: int | None  # None: no 200 within MAX_ATTEMPTS


# One attempt at a query: (HTTP status, 0 when nothing answered; the total when 200).
Attempt = Callable[[str], tuple[int, int | None]]


class QueryLoad:
    """Client threads sending one kind of query until stopped, each retried on a 5xx or no
    answer up to ``MAX_ATTEMPTS`` times in all (a refusal is not retried)."""

    def __init__(self, attempt: Attempt, terms: list[str]) -> None:
        self._attempt, self._terms = attempt, terms
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.samples: list[Sample] = []

    def _query(self, term: str) -> Sample:
        started = time.monotonic()
        statuses: list[int] = []
        total = None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(RETRY_BACKOFF_S * attempt)
            status, total = self._attempt(term)
            statuses.append(status)
            if status == HTTP_OK or 0 < status < HTTP_SERVER_ERROR:
                break
        return Sample(started, time.monotonic() - started, tuple(statuses), term, total)

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self._stop.is_set():
            sample = self._query(rng.choice(self._terms))
            with self._lock:
                self.samples.append(sample)

    def start(self, threads: int) -> None:
        for seed in range(threads):
            thread = threading.Thread(target=self._run, args=(seed,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def governed_attempt(http: httpx.Client, token: str, apps: Applications) -> Attempt:
    """GET /search under the next approved application (the API path)."""
    lock = threading.Lock()  # filing a new application is not thread-safe

    def attempt(term: str) -> tuple[int, int | None]:
        with lock:
            app_id = apps.next_id()
        headers = {"Authorization": f"Bearer {token}", "X-Application-Id": str(app_id)}
        try:
            answer = http.get("/search", params={"q": term}, headers=headers)
        except httpx.TransportError:
            return 0, None
        total = int(answer.json()["total"]) if answer.status_code == HTTP_OK else None
        return answer.status_code, total

    return attempt


def direct_attempt(door: EngineDoor) -> Attempt:
    """A name match over every source index, straight to the engine through the API's own
    client set-up (the same three hosts, the same retries): the baseline of the same run."""

    def attempt(term: str) -> tuple[int, int | None]:
        body = {"size": 10, "query": {"match": {Envelope.NAMES: term}}}
        try:
            result = door.search(door.index_name("*"), body)
        except EngineUnavailableError as exc:
            return exc.engine_status or 0, None
        if result.get("_shards", {}).get("failed"):
            return HTTP_PARTIAL, None
        return HTTP_OK, int(result["hits"]["total"]["value"])

    return attempt


def sample_terms(door: EngineDoor) -> list[str]:
    """Names of persons of the province, to search for (deterministic)."""
    found = door.search(
        door.index_name(str(Source.HOUSEHOLD)),
        {
            "size": TERMS,
            "query": {"term": {Envelope.REGION_PREFIXES: PROVINCE}},
            "_source": [ColumnField.NAME],
            "sort": [{Envelope.RECORD_KEY: "asc"}],
        },
    )
    names = (hit["_source"].get(ColumnField.NAME) for hit in found["hits"]["hits"])
    return sorted({name for name in names if name})


def latency_ms(samples: list[Sample]) -> dict[str, float | None]:
    if not samples:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    ms = sorted(s.latency_s * 1000 for s in samples)
    p95 = statistics.quantiles(ms, n=100, method="inclusive")[94] if len(ms) > 1 else ms[0]
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 1),
        "p95": round(p95, 1),
        "max": round(ms[-1], 1),
    }


def load_figures(samples: list[Sample], killed_at: float) -> dict[str, Any]:
    """Failures, retries and latencies before, just after and long after the kill."""
    totals: dict[str, set[int]] = {}
    for s in samples:
        if s.total is not None:
            totals.setdefault(s.term, set()).add(s.total)
    window = [s for s in samples if 0 <= s.started - killed_at < FAILOVER_WINDOW_S]
    retried = [s for s in samples if s.total is not None and len(s.statuses) > 1]
    codes = [code for s in samples for code in s.statuses]
    return {
        "queries": len(samples),
        "answered_first_time": sum(1 for s in samples if s.statuses[:1] == (HTTP_OK,)),
        "answered_after_retry": len(retried),
        "failed_after_retries": sum(1 for s in samples if s.total is None),
        "answers_5xx": sum(1 for code in codes if code >= HTTP_SERVER_ERROR),
        "no_answer": codes.count(0),
        "other_statuses": sorted({c for c in codes if 0 < c < HTTP_SERVER_ERROR and c != HTTP_OK}),
        "terms_with_differing_totals": sorted(t for t, seen in totals.items() if len(seen) > 1),
        "before_kill_ms": latency_ms([s for s in samples if s.started < killed_at]),
        "failover_window_ms": latency_ms(window),
        "after_window_ms": latency_ms(
            [s for s in samples if s.started - killed_at >= FAILOVER_WINDOW_S]
        ),
    }  # fmt: skip


def queries_losing_a_node(
    cluster: Cluster, settings: Settings, threads: int
) -> tuple[dict[str, Any], int]:
    """Step 3; the figures and the node killed."""
    direct = EngineDoor.for_api(settings)  # the API's own client set-up
    terms = sample_terms(direct)
    store = create_db_engine(settings.effective_database_url)
    try:
        upgrade_store(store)
        add_user(store, "fault-inv", [Role.INVESTIGATOR], PROVINCE, PASSWORD)
        add_user(store, "fault-boss", [Role.APPROVER], PROVINCE, PASSWORD)
    finally:
        store.dispose()
    with Server(settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        tokens = log_in(http, {"inv": "fault-inv", "boss": "fault-boss"}, PASSWORD)
        body = {
            "purpose": PURPOSE,
            "category": "初核",
            "regions": [PROVINCE],
            "sources": [str(s) for s in Source],
        }
        apps = Applications(http, tokens, body)
        api = QueryLoad(governed_attempt(http, tokens["inv"], apps), terms)
        engine = QueryLoad(direct_attempt(direct), terms)
        api.start(threads)
        engine.start(1)
        wait_for(lambda: len(api.samples) >= WARM_QUERIES, "the API answers", INGEST_TIMEOUT_S)
        manager = cluster.manager()
        primaries = cluster.primaries(manager, f"{settings.index_prefix}-*")
        victim = max((n for n in NODES if n != manager), key=lambda n: primaries[n])
        killed_at = cluster.kill(victim)
        with HealthWatch(cluster, manager, killed_at) as watch:
            time.sleep(AFTER_KILL_S)
        api.stop()
        engine.stop()
    direct.close()
    figures = {
        "killed": f"node-{victim} ({primaries[victim]} primaries)",
        "threads": threads,
        **load_figures(api.samples, killed_at),
        "direct": load_figures(engine.samples, killed_at),
        **watch.figures(),
    }
    return figures, victim


def remove_broker_keys(settings: Settings) -> None:
    """The deployment's queue, bindings and unacknowledged set (global_keyprefix)."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        for key in client.scan_iter(match=f"{settings.index_prefix}:*"):
            client.delete(key)
    finally:
        client.close()


def celery_losing_a_worker(
    settings: Settings, drop: Path, truth: dict[str, Any], tmp: Path
) -> dict[str, Any]:
    """Step 5: two workers, one SIGKILLed while it runs a task."""
    door = EngineDoor.for_ingest(settings)
    log = tmp / "queued.log"
    # Two workers opening a fresh sealed store at once race on its CREATE TABLE (and on its key
    # file): it is made first, as a deployment's first ingest would have made it.
    sealed = open_sealed_store(settings.effective_sealed_database_url)
    open_keyring(sealed, settings.effective_sealed_key_file)
    sealed.dispose()
    workers = [Worker(settings, tmp / "worker-1.log"), Worker(settings, tmp / "worker-2.log")]
    try:
        started = time.monotonic()
        process = run_ingest(settings, drop, log, queue=True)
        wait_for(
            lambda: (
                process.poll() is not None or (bool(workers[0].running()) and written(door) > 0)
            ),
            "worker 1 runs a task",
            INGEST_TIMEOUT_S,
        )
        if process.poll() is not None:
            raise SystemExit(f"the queued ingest ended before the kill:\n{log.read_text()[-3000:]}")
        interrupted = workers[0].running()
        workers[0].kill()
        killed_at = time.monotonic()
        report = finish(process, log)
        after_kill = time.monotonic() - killed_at
        redelivered = interrupted <= workers[1].tasks()["succeeded"]
    finally:
        for worker in workers:
            worker.stop()
        remove_broker_keys(settings)
    figures = {
        "interrupted_tasks": len(interrupted),
        "redelivered_and_done": redelivered,
        "ingest_s": round(time.monotonic() - started, 1),
        "ingest_after_kill_s": round(after_kill, 1),
        "indexed": {source: t["indexed"] for source, t in report["sources"].items()},
        "problems": accounting_problems(report, truth)
        + ([] if redelivered else ["the killed worker's task was not finished by the other"]),
        "lost": lost_documents(door, report),
    }
    door.close()
    return figures


def problems_of(result: dict[str, Any]) -> list[str]:
    """Every property the run broke (the figures themselves are not judged)."""
    problems = []
    for step in ("ingest", "celery"):
        problems += [f"{step}: {p}" for p in result[step]["problems"]]
        problems += [f"{step}: {source}: {what}" for source, what in result[step]["lost"].items()]
    queries = result["queries"]
    if queries["failed_after_retries"]:
        problems.append(f"queries: {queries['failed_after_retries']} failed after retries")
    if queries["other_statuses"]:
        problems.append(f"queries: unexpected statuses {queries['other_statuses']}")
    if queries["terms_with_differing_totals"]:
        problems.append(f"queries: partial results for {queries['terms_with_differing_totals']}")
    return problems


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cluster = Cluster(None if args.running else tmp / "cluster")
    result: dict[str, Any] = {}
    started = time.monotonic()
    prefix = f"fault-{uuid.uuid4().hex[:6]}"
    settings = Settings(
        opensearch_url=",".join(cluster.urls),
        index_replicas=1,
        index_prefix=prefix,
        state_dir=tmp / "state",
        database_url=f"sqlite:///{tmp / 'state' / 'fault.db'}",
        celery_visibility_timeout_s=VISIBILITY_S,
        embeddings_enabled=args.embeddings,
    )
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    truth = make_drop(tmp / "drop", args.persons, args.seed)

    def step(name: str, figures: dict[str, Any]) -> None:
        result[name] = figures
        elapsed = time.monotonic() - started
        print(
            f"fault_bench: {name} done at {elapsed:.0f} s: {json.dumps(figures)}", file=sys.stderr
        )

    try:
        if not args.running:
            cluster.start()
            step("cluster_start", {"s": round(time.monotonic() - started, 1)})
        figures, lost = ingest_losing_a_node(cluster, settings, tmp / "drop", truth, tmp)
        step("ingest", figures)
        step("rejoin_after_ingest", rejoin(cluster, lost))
        figures, lost = queries_losing_a_node(cluster, settings, args.threads)
        step("queries", figures)
        step("rejoin_after_queries", rejoin(cluster, lost))
        queued = settings.model_copy(
            update={"index_prefix": f"{prefix}-q", "state_dir": tmp / "queued"}
        )
        step("celery", celery_losing_a_worker(queued, tmp / "drop", truth, tmp))
    finally:
        if args.running:
            with EngineDoor.for_ingest(settings) as door:
                door.drop_index(door.index_name("*"))
        else:
            cluster.remove()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["problems"] = problems_of(result)
    return result


def ratio(api: float | None, direct: float | None) -> str:
    return f"{api / direct:.2f}x" if api and direct else "n/a"


def print_figures(result: dict[str, Any]) -> None:
    ingest, queries, celery = result["ingest"], result["queries"], result["celery"]
    print(
        f"ingest   {ingest['rows']:,} rows; killed {ingest['killed']} after "
        f"{ingest['docs_written_at_kill']:,} documents; detected in {ingest['detected_s']} s, "
        f"primaries active in {ingest['primaries_active_s']} s; ingest finished "
        f"{ingest['ingest_after_kill_s']} s after the kill; engine requests failed and resent "
        f"{ingest['engine_requests_failed']}; accounting problems {len(ingest['problems'])}; "
        f"sources short of documents {len(ingest['lost'])}"
    )
    for key in ("rejoin_after_ingest", "rejoin_after_queries"):
        r = result[key]
        print(
            f"rejoin   {r['node']} joined in {r['joined_s']} s, cluster green in {r['green_s']} s"
        )
    print(
        f"queries  killed {queries['killed']}; detected in {queries['detected_s']} s, primaries "
        f"active in {queries['primaries_active_s']} s"
    )
    for label, figures in (("api", queries), ("direct", queries["direct"])):
        print(
            f"  {label:<7} {figures['queries']} queries; 5xx answers {figures['answers_5xx']}, "
            f"no answer {figures['no_answer']}, answered after retry "
            f"{figures['answered_after_retry']}, failed after retries "
            f"{figures['failed_after_retries']}"
        )
    for label, key in (
        ("before", "before_kill_ms"),
        ("failover", "failover_window_ms"),
        ("after", "after_window_ms"),
    ):
        s, d = queries[key], queries["direct"][key]
        print(
            f"  {label:<9} api n={s['n']:<5} p50 {s['p50']} ms p95 {s['p95']} ms max {s['max']} ms"
            f" | direct n={d['n']:<4} p50 {d['p50']} ms max {d['max']} ms"
            f" | api/direct p50 {ratio(s['p50'], d['p50'])} max {ratio(s['max'], d['max'])}"
        )
    print(
        f"celery   killed a worker running {celery['interrupted_tasks']} task(s); redelivered "
        f"and done: {celery['redelivered_and_done']}; finished {celery['ingest_after_kill_s']} s "
        f"after the kill; sources short of documents: {len(celery['lost'])}"
    )
    print(f"elapsed  {result['elapsed_s']} s")
    print("PASS" if not result["problems"] else "FAIL: " + "; ".join(result["problems"]))
    print(json.dumps(result, ensure_ascii=False))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--running",
        action="store_true",
        help="use the cluster deploy/cluster.sh started (default: start one, remove it after)",
    )
    parser.add_argument("--persons", type=int, default=600, help="demo persons (~11 rows each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=4, help="API query client threads")
    parser.add_argument("--embeddings", action="store_true", help="embed petitions (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, drop)")
    args = parser.parse_args()  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="xiansuo-fault-"))
    try:
        result = run(args, work)
    except BaseException:
        print(f"fault_bench: stopped; logs, drop and state kept in {work}", file=sys.stderr)
        raise
    print_figures(result)
    if result["problems"] or args.keep:
        print(f"fault_bench: logs, drop and state kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work)
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
