"""Page benchmark: server time of the web UI's 检索 results page and 一人一档 page against the
JSON routes for the same queries, in one run.

    .venv/bin/python benchmarks/page_bench.py --persons 5000

Generates a demo drop (or --prefix P reuses an ingested one), creates an investigator and an
approver, runs the real server (`xiansuo serve`) on loopback, files and approves applications
through the API, signs the investigator in through the login page, then times, interleaved so
that both paths share the noise (benchmarks/harness.py):

- search: GET /ui/search/results?q=... (session, the page's gate, the shared keyword search,
  Jinja rendering) against GET /search?q=... (bearer token, X-Application-Id);
- profile: GET /ui/persons/{id}/profile against GET /persons/{id}/profile.

Each request goes to the server and back over HTTP, so a time is the server's work plus one
loopback round trip, for both paths alike. Both paths must agree on every query's count (the
page's "共 N 条" and per-source totals). Prints p50/p95/p99 per path, the page/JSON ratios and a
verdict against the target (page ≤ 1.5 × JSON at p95), and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from harness import Applications, Server, interleave, log_in, percentiles
from search_bench import PASSWORD, PROVINCE, PURPOSE, sample_inputs

from accounts.roles import Role
from accounts.users import add_user
from common.db import create_db_engine
from common.logs import configure_logging
from common.settings import Settings
from common.vocab import Source
from demo import write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from migrations.store import upgrade_store
from registry.engine import EngineDoor

TARGET_RATIO_P95 = 1.5  # issue 13: a page costs at most half again its JSON route at p95
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTAL = re.compile(r"共 (\d+) 条")


class PageSession:
    """The investigator signed in through the login page; chooses applications in the header
    as the JSON path's applications rotate (a page query spends the chosen one's quota)."""

    def __init__(self, url: str, username: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60, headers={"Origin": url})
        token = self._token(self.http.get("/ui/login").text)
        login = self.http.post("/ui/login", data={"username": username, "password": PASSWORD,
                                                  "csrf_token": token})  # fmt: skip
        if login.status_code != 303:
            raise SystemExit(f"page login: {login.status_code}")
        self.csrf = self._token(self.http.get("/ui/").text)
        self.chosen: int | None = None

    @staticmethod
    def _token(html: str) -> str:
        found = _CSRF.search(html)
        if not found:
            raise SystemExit("no CSRF token on the page")
        return found.group(1)

    def get(self, url: str, app_id: int, params: dict[str, Any] | None = None) -> str:
        if app_id != self.chosen:
            chosen = self.http.post(
                "/ui/application", data={"application_id": str(app_id), "csrf_token": self.csrf}
            )
            if chosen.status_code != 303:
                raise SystemExit(f"choose application: {chosen.status_code}")
            self.chosen = app_id
        response = self.http.get(url, params=params)
        if response.status_code != 200:
            raise SystemExit(f"page {url}: {response.status_code} {response.text[:300]}")
        return response.text


def run(args: argparse.Namespace, base: Settings, tmp: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:6]
    prefix = args.prefix or f"bench-page-{run_id}"
    settings = base.model_copy(update={
        "index_prefix": prefix, "state_dir": tmp / "state",
        "database_url": f"sqlite:///{tmp / 'state' / 'bench.db'}"})  # fmt: skip
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    door = EngineDoor.for_api(settings)
    if not args.prefix:
        write_demo_drop(tmp / "drop", persons=args.persons)
        with ingest_context(settings, tmp / "rejects") as ctx:
            ingest_drop(tmp / "drop", ctx)
    docs = door.count(door.index_name("*"))
    print(f"indices {prefix}-*: {docs:,} documents")
    inputs = sample_inputs(door, args.queries, args.seed)
    engine = create_db_engine(settings.effective_database_url)
    try:
        upgrade_store(engine)
        inv, boss = f"bench-inv-{run_id}", f"bench-boss-{run_id}"
        add_user(engine, inv, [Role.INVESTIGATOR], PROVINCE, PASSWORD)
        add_user(engine, boss, [Role.APPROVER], PROVINCE, PASSWORD)
        with Server(settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            tokens = log_in(http, {"inv": inv, "boss": boss}, PASSWORD)
            common = {"purpose": PURPOSE, "category": "初核", "regions": [PROVINCE],
                      "sources": [str(s) for s in Source]}  # fmt: skip
            subjects = [{"kind": "person_id", "value": v} for v in inputs["profile"]]
            apps = {
                ("search", "json"): Applications(http, tokens, common),
                ("search", "page"): Applications(http, tokens, common),
                ("profile", "json"): Applications(http, tokens, common | {"subjects": subjects}),
                ("profile", "page"): Applications(http, tokens, common | {"subjects": subjects}),
            }
            page = PageSession(server.url, inv)
            auth = {"Authorization": f"Bearer {tokens['inv']}"}

            def api(url: str, app: Applications, params: dict[str, Any] | None = None) -> Any:
                headers = auth | {"X-Application-Id": str(app.next_id())}
                response = http.get(url, params=params, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"API {url}: {response.status_code} {response.text[:300]}")
                return response.json()

            def search_json(q: str) -> int:
                return int(api("/search", apps["search", "json"], {"q": q})["total"])

            def search_page(q: str) -> int:
                html = page.get("/ui/search/results", apps["search", "page"].next_id(), {"q": q})
                found = _TOTAL.search(html)
                return int(found.group(1)) if found else -1

            def profile_json(id_number: str) -> int:
                body = api(f"/persons/{id_number}/profile", apps["profile", "json"])
                return sum(int(g["total"]) for g in body["groups"])

            def profile_page(id_number: str) -> int:
                app_id = apps["profile", "page"].next_id()
                html = page.get(f"/ui/persons/{id_number}/profile", app_id)
                return sum(int(n) for n in re.findall(r"显示 \d+ / 共 (\d+) 条", html))

            cases: dict[str, dict[str, Callable[[str], int]]] = {
                "search": {"json": search_json, "page": search_page},
                "profile": {"json": profile_json, "page": profile_page},
            }
            results: dict[str, Any] = {}
            queries = {"search": inputs["keyword"], "profile": inputs["profile"]}
            for name, paths in cases.items():
                samples = interleave(paths, queries[name], args.warmup, args.iterations)
                stats: dict[str, Any] = {p: percentiles(v) for p, v in samples.items()}
                stats["ratio_p50"] = round(stats["page"]["p50"] / stats["json"]["p50"], 2)
                stats["ratio_p95"] = round(stats["page"]["p95"] / stats["json"]["p95"], 2)
                results[name] = stats
            page.http.close()
    finally:
        engine.dispose()
        if not args.keep and not args.prefix:
            door.drop_index(door.index_name("*"))
        door.close()
    return {"prefix": prefix, "documents": docs, "iterations": args.iterations, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=5000, help="demo persons (~11 rows each)")
    parser.add_argument("--prefix", default=None, help="reuse an ingested index prefix")
    parser.add_argument("--keep", action="store_true", help="keep the indices afterwards")
    parser.add_argument("--iterations", type=int, default=200, help="timed queries per path")
    parser.add_argument("--warmup", type=int, default=20, help="untimed queries per path first")
    parser.add_argument("--queries", type=int, default=60, help="distinct inputs per kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    with tempfile.TemporaryDirectory(prefix="xiansuo-page-bench-") as name:
        result = run(args, base, Path(name))

    print(f"{'page':<9}{'path':<6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    verdicts = []
    for kind in ("search", "profile"):
        stats = result[kind]
        for path in ("json", "page"):
            s = stats[path]
            print(f"{kind:<9}{path:<6}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}"
                  f"{s['mean']:>9.2f}")  # fmt: skip
        ok = stats["ratio_p95"] <= TARGET_RATIO_P95
        verdicts.append(ok)
        print(f"{'':<9}page/JSON: p50 {stats['ratio_p50']:.2f}, p95 {stats['ratio_p95']:.2f} "
              f"(target ≤ {TARGET_RATIO_P95}) {'met' if ok else 'MISSED'}")  # fmt: skip
    print(json.dumps(result, ensure_ascii=False))
    if not all(verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
