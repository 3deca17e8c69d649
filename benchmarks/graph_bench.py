"""Graph benchmark: 2- and 3-hop expansion with ranking against the raw engine queries it sends.

    .venv/bin/python benchmarks/graph_bench.py --persons 200000

Writes a demo drop (fictitious people), ingests it into a fresh index prefix and runs the graph
pass (or, with --prefix, reuses a prefix a previous run kept with --keep), then picks start
subjects: the planted officials and a sample of the roster. For each subject and depth it times,
interleaved in one run so both share the machine's noise, (a) the operation as the API runs it:
hop-by-hop pulls with the fan-out cap, networkx ranking with paths and effective shareholding,
and (b) the very engine queries (a) sent, recorded once and replayed through the engine door. Prints
p50/p95 per depth, the ratio of (a) to (b), a verdict against the 300 ms p95 target and one JSON
line. Deletes its indices at the end unless --keep. The gate and log add ≤ 10 ms on top
(benchmarks/gate_bench.py). Needs a running node (XIANSUO_OPENSEARCH_URL).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import percentiles, prepare_world

from common.db import create_db_engine
from common.logs import configure_logging
from common.settings import Settings
from graph.build import run_graph_build
from graph.neighbourhood import DEFAULT_FAN_OUT, EdgeScope, IndexEdges
from graph.operations import linked_entities
from graph.store import edges_alias
from migrations.store import upgrade_store
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope

TARGET_P95_MS = 300.0
SOURCES = (
    "household",
    "company",
    "shareholder",
    "company_officer",
    "insured",
    "property",
    "petition",
    "official",
)
REGIONS = ("44", "46")  # every county of the demo drop
PAGE = 20  # linked entities ranked and explained per request, as the API's default page


class RecordingEdges(IndexEdges):
    """The edges index, remembering every request body it sends (to replay them raw)."""

    def __init__(self, door: EngineDoor, alias: str, scope: EdgeScope) -> None:
        super().__init__(door, alias, scope)
        self.bodies: list[dict[str, Any]] = []

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return super()._search(body)


def pick_starts(door: EngineDoor, truth: dict[str, Any], count: int) -> list[str]:
    """The planted officials, then officials of the roster chosen at random (seeded)."""
    patterns = truth["patterns"]
    starts = [
        f"p:{patterns['official_spouse_company']['official_id']}",
        f"p:{patterns['official_child_chain']['official_id']}",
    ]
    hits = door.search(
        index=door.index_name("official"),
        body={
            "size": 2000,
            "_source": [ColumnField.ID_NUMBER],
            "sort": [{Envelope.RECORD_KEY: "asc"}],
        },
    )["hits"]["hits"]
    roster = sorted({f"p:{h['_source'][ColumnField.ID_NUMBER]}" for h in hits} - set(starts))
    random.Random(7).shuffle(roster)
    return (starts + roster)[:count]


def prepare(args: argparse.Namespace, base: Settings, tmp: Path) -> tuple[Settings, dict[str, Any]]:
    """Ingest and build (or reuse a kept prefix); returns the settings and the load figures."""
    local, figures = prepare_world(args, base, tmp, "gbench")
    engine = create_db_engine(local.effective_database_url)
    try:
        upgrade_store(engine)  # a kept state dir may hold only what `xiansuo ingest` wrote
        report = run_graph_build(local, engine)
    finally:
        engine.dispose()
    figures |= {
        "graph_build_s": round(report.elapsed_s, 1),
        "edges": report.edges,
        "edges_by_kind": report.to_json()["by_kind"],
    }
    return local, figures


def measure(
    door: EngineDoor, alias: str, starts: list[str], hops: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Operation and raw replay, interleaved in rotating order, for one depth."""
    scope = EdgeScope(SOURCES, REGIONS)
    recorded: dict[str, list[dict[str, Any]]] = {}
    reached: list[int] = []
    cut = 0
    for start in starts:  # record each start's requests (and warm the caches)
        edges = RecordingEdges(door, alias, scope)
        result = linked_entities(edges, start, hops, args.fan_out, PAGE)
        recorded[start] = edges.bodies
        reached.append(len(result.hood.distance))
        cut += len(result.hood.cuts)

    def operation(start: str) -> None:
        linked_entities(IndexEdges(door, alias, scope), start, hops, args.fan_out, PAGE)

    def raw(start: str) -> None:
        for body in recorded[start]:
            door.search(alias, body)

    paths = {"operation": operation, "raw": raw}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(args.warmup + args.iterations):
        start = starts[i % len(starts)]
        names = list(paths)[i % 2 :] + list(paths)[: i % 2]
        for name in names:
            began = time.perf_counter()
            paths[name](start)
            if i >= args.warmup:
                samples[name].append(time.perf_counter() - began)
    op, rw = percentiles(samples["operation"]), percentiles(samples["raw"])
    return {
        "hops": hops,
        "operation": op,
        "raw": rw,
        "ratio_p50": round(op["p50"] / rw["p50"], 2),
        "ratio_p95": round(op["p95"] / rw["p95"], 2),
        "nodes_reached_median": statistics.median(reached),
        "nodes_reached_max": max(reached),
        "requests_median": statistics.median(len(b) for b in recorded.values()),
        "starts_with_cuts": cut,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000, help="demo persons")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200, help="timed requests per path")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--starts", type=int, default=40, help="start subjects, queried in turn")
    parser.add_argument("--fan-out", type=int, default=DEFAULT_FAN_OUT)
    parser.add_argument("--prefix", help="reuse this ingested index prefix (with --state-dir)")
    parser.add_argument("--state-dir", help="state folder (kept); default: a temporary one")
    parser.add_argument("--keep", action="store_true", help="keep the indices for another run")
    args = parser.parse_args()
    if args.prefix and not args.state_dir:
        parser.error("--prefix needs the --state-dir of the run that kept it")

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    with tempfile.TemporaryDirectory(prefix="xiansuo-graph-bench-") as name:
        local, figures = prepare(args, base, Path(name))
        door = EngineDoor.for_ingest(local)
        try:
            starts = pick_starts(door, figures.pop("truth"), args.starts)
            alias = edges_alias(local.index_prefix)
            depths = [measure(door, alias, starts, hops, args) for hops in (2, 3)]
        finally:
            if not args.keep:
                door.drop_index(door.index_name("*"))
            door.close()
    print(f"{'depth':<8}{'path':<34}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for depth in depths:
        for label, key in (("expansion + ranking", "operation"), ("raw engine queries", "raw")):
            s = depth[key]
            print(
                f"{depth['hops']}-hop   {label:<34}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}"
            )
        verdict = "ok" if depth["operation"]["p95"] <= TARGET_P95_MS else "OVER TARGET"
        print(
            f"        ratio operation/raw p50 {depth['ratio_p50']:.2f}, p95 "
            f"{depth['ratio_p95']:.2f}; nodes reached median {depth['nodes_reached_median']}, "
            f"max {depth['nodes_reached_max']}; {depth['requests_median']} requests; "
            f"p95 target {TARGET_P95_MS:.0f} ms: {verdict}"
        )
    load = {k: v for k, v in figures.items() if k != "edges_by_kind"}
    print(f"drop: {args.persons} persons; {load}")
    print(
        json.dumps(
            {
                "persons": args.persons,
                "starts": len(starts),
                "iterations": args.iterations,
                "fan_out": args.fan_out,
                **figures,
                "depths": depths,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
