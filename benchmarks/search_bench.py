"""Search benchmark: keyword, entity and profile queries through the API against the same queries
sent to OpenSearch directly, in one run.

    .venv/bin/python benchmarks/search_bench.py --persons 20000          # ~224,000 rows

Generates a demo drop (fictitious people; or --drop DIR), ingests it into a fresh index prefix
(or --prefix P reuses an ingested one), creates an investigator and an approver in a throw-away
SQLite store, runs the real app under uvicorn on loopback, files and approves applications (one
over every source in the province for keyword and entity search, one naming the profiled persons
as subjects), then times, interleaved so that both paths share the noise:

- keyword: GET /search?q=... (parser, gate, two log entries, masking) against the body built by
  the route's own builder from the scope the gate decides, sent with opensearch-py;
- entity: GET /entities?q=... against the same two engine calls (candidates, then cards);
- profile: GET /persons/{id}/profile against the same multi-search and household search.

Query strings are sampled from the ingested documents (names, ID numbers in 18- and 15-digit
form, company names and codes, 2-6 character fragments of units, addresses and petition text).
Both paths must agree on every query's count. Prints p50/p95/p99 per path, the ratios, a verdict
against the p95 targets (keyword and entity ≤ 150 ms) and one JSON line. Needs a running node
(XIANSUO_OPENSEARCH_URL, default the demo's :9250).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from harness import Applications, Server, interleave, log_in, percentiles

from accounts.roles import Role
from accounts.users import add_user, get_user
from analyzers.chinese import simplifier
from analyzers.ids import normalise_person_id
from common.db import create_db_engine
from common.logs import configure_logging
from common.settings import Settings
from common.vocab import Source
from demo import write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from migrations.store import upgrade_store
from query_logs.applications import SubjectKind, get_application, parse_subject
from query_logs.gate import QueryRequest, Scope, decide_scope
from query_logs.grants import active_grant_regions
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope
from search_api.models.profiles import household_numbers
from search_api.queries.entities import (
    DEFAULT_CARDS,
    EntityKind,
    candidates_query,
    cards_query,
    parse_entity_query,
    read_candidates,
)
from search_api.queries.profiles import (
    DEFAULT_PER_SOURCE,
    household_members_search,
    linked_records_searches,
)
from search_api.queries.records import MAX_HOUSEHOLD_MEMBERS
from search_api.queries.search import Filters, Sort, keyword_search_query
from search_api.queries.syntax import parse_query

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious benchmark accounts
PURPOSE = "核查举报反映的公职人员违纪违法问题线索(性能基准,检索与档案)"
PROVINCE = "46"
TARGET_P95_MS = {"keyword": 150.0, "entity": 150.0}


def sample_inputs(door: EngineDoor, n: int, seed: int) -> dict[str, list[str]]:
    """Query strings drawn from the indexed documents of the province (deterministic)."""
    rng = random.Random(seed)

    def docs(source: Source, fields: list[str], size: int = 2000) -> list[dict[str, Any]]:
        result = door.search(
            index=door.index_name(str(source)),
            body={
                "size": size,
                "query": {"term": {Envelope.REGION_PREFIXES: PROVINCE}},
                "_source": fields,
                "sort": [{Envelope.RECORD_KEY: "asc"}],
            },
        )
        return [h["_source"] for h in result["hits"]["hits"]]

    households = docs(
        Source.HOUSEHOLD, [ColumnField.ID_NUMBER, ColumnField.NAME, ColumnField.ADDRESS]
    )
    companies = docs(
        Source.COMPANY, [ColumnField.CREDIT_CODE, ColumnField.COMPANY_NAME, ColumnField.ADDRESS]
    )
    officials = docs(Source.OFFICIAL, [ColumnField.UNIT, ColumnField.POST])
    petitions = docs(Source.PETITION, [ColumnField.CONTENT], 1000)

    def fragment(text: str) -> str:
        size = rng.randint(2, min(6, len(text)))
        start = rng.randrange(0, len(text) - size + 1)
        return text[start : start + size]

    def pick(values: list[str], count: int) -> list[str]:
        values = [v for v in values if v]
        return [rng.choice(values) for _ in range(count)]

    names = pick([d.get(ColumnField.NAME, "") for d in households], n)
    ids = pick([d.get(ColumnField.ID_NUMBER, "") for d in households], n)
    # A 15-digit form of an 18-digit number (born 19xx): what an old record or a typist gives.
    ids15 = [i[:6] + i[8:17] for i in ids if i.startswith(("46", "44")) and i[6:8] == "19"]
    company_names = pick([d.get(ColumnField.COMPANY_NAME, "") for d in companies], n)
    codes = pick([d.get(ColumnField.CREDIT_CODE, "") for d in companies], n)
    texts = (
        [d.get(ColumnField.UNIT, "") for d in officials]
        + [d.get(ColumnField.ADDRESS, "") for d in households + companies]
        + [d.get(ColumnField.CONTENT, "") for d in petitions]
    )
    fragments = [fragment(t) for t in pick([t for t in texts if len(t) >= 2], n * 2)]
    assert all(normalise_person_id(i).value in ids for i in ids15)
    keyword = [*names[: n // 2], *[f'"{c}"' for c in company_names[: n // 4]], *fragments]
    entity = [*names, *ids, *ids15, *company_names, *codes]
    rng.shuffle(keyword)
    rng.shuffle(entity)
    return {"keyword": keyword[: n * 2], "entity": entity[: n * 2], "profile": ids[:n]}


def scope_of(engine: Any, username: str, app_id: int, request: QueryRequest) -> Scope:
    """The scope the gate gives the request (same checks, no quota, no log)."""
    user = get_user(engine, username)
    now = datetime.now(UTC)
    grants = active_grant_regions(engine, user.id, now)
    return decide_scope(user, get_application(engine, app_id), request, grants, now)


def run(args: argparse.Namespace, base: Settings, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    prefix = args.prefix or f"bench-search-{run_id}"
    settings = base.model_copy(
        update={
            "index_prefix": prefix,
            "state_dir": tmp / "state",
            "database_url": f"sqlite:///{tmp / 'state' / 'bench.db'}",
        }
    )
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    direct = EngineDoor.for_api(settings)  # the API's own client set-up
    rows = None
    if not args.prefix:
        drop = args.drop or tmp / "drop"
        if not args.drop:
            write_demo_drop(drop, persons=args.persons)
        with ingest_context(settings, tmp / "rejects") as ctx:
            report = ingest_drop(drop, ctx)
        rows = sum(f.read for f in report.files)
    docs = direct.count(direct.index_name("*"))
    print(f"indices {prefix}-*: {docs:,} documents" + (f" from {rows:,} rows" if rows else ""))
    inputs = sample_inputs(direct, args.queries, args.seed)

    engine = create_db_engine(settings.effective_database_url)
    try:
        upgrade_store(engine)
        inv, boss = f"bench-inv-{run_id}", f"bench-boss-{run_id}"
        add_user(engine, inv, [Role.INVESTIGATOR], PROVINCE, PASSWORD)
        add_user(engine, boss, [Role.APPROVER], PROVINCE, PASSWORD)
        with Server(settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            tokens = log_in(http, {"inv": inv, "boss": boss}, PASSWORD)
            common = {"purpose": PURPOSE, "category": "初核", "regions": [PROVINCE]}
            broad = Applications(http, tokens, common | {"sources": [str(s) for s in Source]})
            subjects = [{"kind": "person_id", "value": v} for v in inputs["profile"]]
            profiled = Applications(
                http, tokens, common | {"sources": [str(s) for s in Source], "subjects": subjects}
            )
            auth = {"Authorization": f"Bearer {tokens['inv']}"}
            broad_scope = scope_of(engine, inv, broad.next_id(), QueryRequest())
            indices = ",".join(direct.index_name(str(s)) for s in broad_scope.sources)

            def api(url: str, app: Applications, params: dict[str, Any] | None = None) -> Any:
                headers = auth | {"X-Application-Id": str(app.next_id())}
                response = http.get(url, params=params, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"API {url}: {response.status_code} {response.text[:300]}")
                return response.json()

            def keyword_api(q: str) -> int:
                return int(api("/search", broad, {"q": q})["total"])

            def keyword_direct(q: str) -> int:
                body = keyword_search_query(
                    parse_query(q), broad_scope, Filters((), (), None, None), Sort.RELEVANCE,
                    simplifier(),
                )  # fmt: skip
                result = direct.search(indices, body, ignore_unavailable=True)
                return int(result["hits"]["total"]["value"])

            def entity_api(q: str) -> int:
                return len(api("/entities", broad, {"q": q})["cards"])

            entity_scope = scope_of(
                engine, inv, broad.filed[-1], QueryRequest(page_size=DEFAULT_CARDS)
            )

            def entity_direct(q: str) -> int:
                query = parse_entity_query(q, EntityKind.AUTO, simplifier())
                found = direct.search(
                    indices,
                    candidates_query(entity_scope, query, EntityKind.AUTO, DEFAULT_CARDS),
                    ignore_unavailable=True,
                )
                candidates, _ = read_candidates(found.get("aggregations", {}), DEFAULT_CARDS)
                if candidates:
                    direct.search(
                        indices, cards_query(entity_scope, candidates), ignore_unavailable=True
                    )
                return len(candidates)

            def profile_api(id_number: str) -> int:
                body = api(f"/persons/{id_number}/profile", profiled)
                return sum(int(g["total"]) for g in body["groups"])

            def profile_direct(id_number: str) -> int:
                subject = parse_subject(SubjectKind.PERSON, id_number)
                request = QueryRequest(subjects=(subject,), page_size=DEFAULT_PER_SOURCE)
                scope = scope_of(engine, inv, profiled.next_id(), request)
                searches = linked_records_searches(
                    scope, Envelope.PERSONS, subject.value, DEFAULT_PER_SOURCE
                )
                body: list[dict[str, Any]] = []
                for source, search in searches:
                    body += [
                        {"index": direct.index_name(str(source)), "ignore_unavailable": True},
                        search,
                    ]
                answers = direct.msearch(body)
                paired = list(zip((s for s, _ in searches), answers, strict=True))
                if numbers := household_numbers(paired):
                    direct.search(
                        direct.index_name(str(Source.HOUSEHOLD)),
                        household_members_search(scope, numbers, MAX_HOUSEHOLD_MEMBERS),
                        ignore_unavailable=True,
                    )
                return sum(int(a["hits"]["total"]["value"]) for a in answers)

            cases: dict[str, dict[str, Callable[[str], int]]] = {
                "keyword": {"api": keyword_api, "direct": keyword_direct},
                "entity": {"api": entity_api, "direct": entity_direct},
                "profile": {"api": profile_api, "direct": profile_direct},
            }
            results: dict[str, Any] = {}
            for name, paths in cases.items():
                samples = interleave(paths, inputs[name], args.warmup, args.iterations)
                stats: dict[str, Any] = {p: percentiles(v) for p, v in samples.items()}
                stats["ratio_p50"] = round(stats["api"]["p50"] / stats["direct"]["p50"], 2)
                stats["ratio_p95"] = round(stats["api"]["p95"] / stats["direct"]["p95"], 2)
                results[name] = stats
    finally:
        engine.dispose()
        if not args.keep and not args.prefix:
            direct.drop_index(direct.index_name("*"))
        direct.close()
    return {"prefix": prefix, "documents": docs, "rows": rows, "iterations": args.iterations,
            **results}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=20000, help="demo persons (~11 rows each)")
    parser.add_argument("--drop", type=Path, default=None, help="ingest this drop instead")
    parser.add_argument("--prefix", default=None, help="reuse an ingested index prefix")
    parser.add_argument("--keep", action="store_true", help="keep the indices afterwards")
    parser.add_argument("--iterations", type=int, default=200, help="timed queries per path")
    parser.add_argument("--warmup", type=int, default=20, help="untimed queries per path first")
    parser.add_argument("--queries", type=int, default=100, help="distinct inputs per kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    with tempfile.TemporaryDirectory(prefix="xiansuo-search-bench-") as name:
        result = run(args, base, Path(name))

    print(f"{'query':<10}{'path':<8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    verdicts = []
    for kind in ("keyword", "entity", "profile"):
        stats = result[kind]
        for path in ("api", "direct"):
            s = stats[path]
            print(
                f"{kind:<10}{path:<8}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}{s['mean']:>9.2f}"
            )
        print(
            f"{'':<10}ratio API/direct: p50 {stats['ratio_p50']:.2f}, p95 {stats['ratio_p95']:.2f}"
        )
        if kind in TARGET_P95_MS:
            target = TARGET_P95_MS[kind]
            ok = stats["api"]["p95"] <= target
            verdicts.append(ok)
            print(f"{'':<10}API p95 {stats['api']['p95']:.1f} ms (target ≤ {target:.0f} ms) "
                  f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
