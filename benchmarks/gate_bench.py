"""Gate benchmark: a governed query through the API against the same query sent to OpenSearch.

    .venv/bin/python benchmarks/gate_bench.py --persons 2000 --iterations 300

Ingests a demo drop (fictitious people) into a fresh index prefix, creates an investigator and an
approver in a throw-away SQLite store (or --database-url), runs the real app under uvicorn on
loopback, files and approves applications, then, interleaved in one run so both share the noise,
times GET /persons/{id}/records through the API (token, gate, quota, two write-ahead log entries,
masking) and the very query that route sends, built by the same function from the same scope,
sent straight to OpenSearch through the engine door (opensearch-py; and over httpx, to compare
HTTP stacks). Also
times the two log appends alone on the same store. Prints p50/p95/p99, the added median and the
ratio, a verdict against the 10 ms target, and one JSON line. Deletes its indices at the end.
Needs a running node (XIANSUO_OPENSEARCH_URL, default the demo's :9250).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from harness import Applications, Server, count_query, gate_log_entries, log_in, percentiles
from sqlalchemy import Engine

from accounts.roles import Role
from accounts.users import add_user, get_user, get_user_by_id
from common.db import create_db_engine
from common.logs import configure_logging
from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from migrations.store import upgrade_store
from query_logs.applications import (
    DEFAULT_QUERY_QUOTA,
    SubjectKind,
    get_application,
    parse_subject,
)
from query_logs.audit import AuditLog
from query_logs.gate import QueryRequest, Scope, decide_scope
from query_logs.grants import active_grant_regions
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope
from search_api.queries.records import person_records_query

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious benchmark accounts
PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索(性能基准)"
SOURCES = ["household", "official", "company", "shareholder"]
TARGET_MS = 10.0


def pick_subjects(door: EngineDoor, region: str, count: int) -> list[str]:
    """ID numbers of household members registered in ``region``, each linked to records."""
    result = door.search(
        index=door.index_name("household"),
        body={
            "size": count * 4,
            "query": {"bool": {"filter": [{"terms": {Envelope.REGION_PREFIXES: [region]}}]}},
            "_source": [ColumnField.ID_NUMBER],
            "sort": [{Envelope.RECORD_KEY: "asc"}],
        },
    )
    ids: list[str] = []
    for hit in result["hits"]["hits"]:
        value = hit["_source"].get(ColumnField.ID_NUMBER)
        if value and value.startswith(region) and value not in ids:
            ids.append(value)
    return ids[:count]


def add_accounts(engine: Engine, name: str, run_id: str, region: str) -> tuple[str, str]:
    """A fresh store's schema, then an investigator and an approver of ``region``
    (``{name}-inv-{run_id}``, ``{name}-boss-{run_id}``); their user names."""
    upgrade_store(engine)
    inv, boss = f"{name}-inv-{run_id}", f"{name}-boss-{run_id}"
    add_user(engine, inv, [Role.INVESTIGATOR], region, PASSWORD)
    add_user(engine, boss, [Role.APPROVER], region, PASSWORD)
    return inv, boss


def application_body(region: str, subjects: list[str]) -> dict[str, Any]:
    """The benchmark's 初核 application over SOURCES in ``region``, naming ``subjects``."""
    return {
        "purpose": PURPOSE,
        "category": "初核",
        "sources": SOURCES,
        "regions": [region],
        "subjects": [{"kind": "person_id", "value": v} for v in subjects],
    }


def gate_scope(engine: Engine, username: str, app_id: int, id_number: str) -> Scope:
    """The scope the gate gives the route's request (same checks, no quota, no log)."""
    user = get_user(engine, username)
    now = datetime.now(UTC)
    request = QueryRequest(subjects=(parse_subject(SubjectKind.PERSON, id_number),))
    return decide_scope(
        user,
        get_application(engine, app_id),
        request,
        active_grant_regions(engine, user.id, now),
        now,
    )


def time_log_appends(
    engine: Engine, key: Ed25519PrivateKey, checkpoint_every: int, app_id: int, n: int
) -> dict[str, dict[str, float]]:
    """The request entry (with the quota count in its transaction) and the outcome entry alone,
    appended as the gate does (then as record() does, with its checkpoint check), n pairs each,
    on the same store."""
    audit = AuditLog(engine)
    request, outcome = gate_log_entries(
        actor="bench-inv", route="GET /persons/{id_number}/records", application_id="1",
        case_id="案-bench", purpose=PURPOSE, sources=SOURCES,
    )  # fmt: skip
    count = count_query(app_id)
    both: list[float] = []
    with_checkpoint: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        audit.append(request, first=count)
        audit.append(outcome)
        both.append(time.perf_counter() - started)
    for _ in range(n):
        started = time.perf_counter()
        for entry, first in ((request, count), (outcome, None)):
            audit.append(entry, first=first)
            audit.maybe_checkpoint(key, every_n_entries=checkpoint_every)
        with_checkpoint.append(time.perf_counter() - started)
    return {
        "two_appends": percentiles(both),
        "two_appends_with_checkpoint": percentiles(with_checkpoint),
    }


def time_gate_parts(
    engine: Engine, http: httpx.Client, token: str, username: str, spare_app: int, n: int
) -> dict[str, dict[str, float]]:
    """The gate's other pieces, each alone: an authenticated non-governed API round trip (HTTP,
    FastAPI, token, account read) and the gate's reads and decision."""
    user = get_user(engine, username)
    request = QueryRequest()
    parts: dict[str, list[float]] = {"api_auth_only": [], "gate_reads": []}
    for _ in range(n):
        started = time.perf_counter()
        response = http.get(
            f"/applications/{spare_app}", headers={"Authorization": f"Bearer {token}"}
        )
        parts["api_auth_only"].append(time.perf_counter() - started)
        response.raise_for_status()
        started = time.perf_counter()
        now = datetime.now(UTC)
        account = get_user_by_id(engine, user.id)
        grants = active_grant_regions(engine, account.id, now)
        decide_scope(account, get_application(engine, spare_app), request, grants, now)
        parts["gate_reads"].append(time.perf_counter() - started)
    return {name: percentiles(values) for name, values in parts.items()}


def run(args: argparse.Namespace, base: Settings, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    settings = base.model_copy(
        update={
            "index_prefix": f"bench-gate-{run_id}",
            "state_dir": tmp / "state",
            "database_url": args.database_url or f"sqlite:///{tmp / 'state' / 'bench.db'}",
        }
    )
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    summary = write_demo_drop(tmp / "drop", persons=args.persons)
    truth = json.loads((tmp / "drop" / TRUTH_FILE).read_text(encoding="utf-8"))
    with ingest_context(settings, tmp / "rejects") as ctx:
        ingest_drop(tmp / "drop", ctx)
    print(f"drop: {summary.total_rows:,} rows ({args.persons:,} persons), ingested")

    pattern = truth["patterns"]["official_spouse_company"]
    official = (
        pattern["official_id"] if "official_id" in pattern else pattern["official"]["id_number"]
    )
    region = official[:4]

    direct = EngineDoor.for_api(settings)  # the route's own client set-up
    engine = create_db_engine(settings.effective_database_url)
    try:
        subjects = [official, *pick_subjects(direct, region, args.subjects)]
        subjects = list(dict.fromkeys(subjects))[: args.subjects]
        inv, boss = add_accounts(engine, "bench", run_id, region)

        with Server(settings) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            tokens = log_in(http, {"inv": inv, "boss": boss}, PASSWORD)
            apps = Applications(http, tokens, application_body(region, subjects))
            first = apps.next_id()
            # The queries the route builds: same function, the scope the gate decides.
            queries = {}
            for id_number in subjects:
                scope = gate_scope(engine, inv, first, id_number)
                indices = ",".join(direct.index_name(str(s)) for s in scope.sources)
                queries[id_number] = (indices, person_records_query(scope, id_number))
            raw = httpx.Client(base_url=settings.opensearch_url, timeout=30)
            auth = {"Authorization": f"Bearer {tokens['inv']}"}

            def via_api(id_number: str) -> int:
                headers = auth | {"X-Application-Id": str(apps.next_id())}
                response = http.get(f"/persons/{id_number}/records", headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"API: {response.status_code} {response.text}")
                return int(response.json()["total"])

            def via_opensearch_py(id_number: str) -> int:
                indices, body = queries[id_number]
                result = direct.search(indices, body, ignore_unavailable=True)
                return int(result["hits"]["total"]["value"])

            def via_httpx(id_number: str) -> int:
                indices, body = queries[id_number]
                response = raw.post(
                    f"/{indices}/_search", params={"ignore_unavailable": "true"}, json=body
                )
                response.raise_for_status()
                return int(response.json()["hits"]["total"]["value"])

            paths: dict[str, Callable[[str], int]] = {
                "api": via_api,
                "direct": via_opensearch_py,
                "direct_httpx": via_httpx,
            }
            samples: dict[str, list[float]] = {name: [] for name in paths}
            names = list(paths)
            try:
                for i in range(args.warmup + args.iterations):
                    id_number = subjects[i % len(subjects)]
                    totals = {}
                    shift = i % len(names)  # rotate the order: no path always goes first
                    for name in names[shift:] + names[:shift]:
                        started = time.perf_counter()
                        totals[name] = paths[name](id_number)
                        elapsed = time.perf_counter() - started
                        if i >= args.warmup:
                            samples[name].append(elapsed)
                    if len(set(totals.values())) != 1:
                        raise SystemExit(f"the paths disagree on {id_number[:4]}…: {totals}")
                    if i == 0 and totals["api"] == 0:
                        raise SystemExit("the first subject has no records in scope")
            finally:
                raw.close()
            spare = apps.spare()
            parts = time_gate_parts(
                engine, http, tokens["inv"], inv, spare, min(args.iterations, DEFAULT_QUERY_QUOTA)
            )
        key = Ed25519PrivateKey.generate()
        logs = time_log_appends(
            engine, key, settings.audit_checkpoint_every, spare, args.iterations
        )
    finally:
        engine.dispose()
        direct.drop_index(direct.index_name("*"))
        direct.close()
    stats = {name: percentiles(values) for name, values in samples.items()}
    return {
        "persons": args.persons,
        "iterations": args.iterations,
        "subjects": len(subjects),
        "applications": len(apps.filed),
        "database": "postgresql" if args.database_url else "sqlite",
        **stats,
        "added_p50_ms": round(stats["api"]["p50"] - stats["direct"]["p50"], 3),
        "ratio_p50": round(stats["api"]["p50"] / stats["direct"]["p50"], 2),
        **parts,
        **logs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000, help="demo persons (~11 rows each)")
    parser.add_argument("--iterations", type=int, default=300, help="timed queries per path")
    parser.add_argument("--warmup", type=int, default=30, help="untimed queries per path first")
    parser.add_argument("--subjects", type=int, default=8, help="subject IDs queried in turn")
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    with tempfile.TemporaryDirectory(prefix="xiansuo-gate-bench-") as name:
        result = run(args, base, Path(name))

    print(f"{'path':<38}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    rows = (
        ("API (gate + 2 log entries)", "api"),
        ("OpenSearch direct (opensearch-py)", "direct"),
        ("OpenSearch direct (httpx)", "direct_httpx"),
        ("  API auth-only GET /applications/{id}", "api_auth_only"),
        ("  gate reads + decision", "gate_reads"),
        ("two log appends (+ quota) alone", "two_appends"),
        ("  + checkpoint check (as record())", "two_appends_with_checkpoint"),
    )
    for label, key in rows:
        s = result[key]
        print(f"{label:<38}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}{s['mean']:>9.2f}")
    print(
        f"{result['iterations']} interleaved queries per path over {result['subjects']} subjects,"
        f" {result['applications']} application(s), {result['database']}; ratio API/direct at"
        f" the median {result['ratio_p50']:.2f}"
    )
    print(
        f"gate + log overhead at the median: {result['added_p50_ms']:.2f} ms"
        f" (target ≤ {TARGET_MS:.0f} ms)"
        f" {'PASS' if result['added_p50_ms'] <= TARGET_MS else 'FAIL'}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
