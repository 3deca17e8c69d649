"""Ingest benchmark: the full pipeline against a direct bulk load of the same final documents.

    .venv/bin/python benchmarks/ingest_bench.py --persons 20000 --rounds 3

Generates a demo drop (fictitious people), ingests it end to end into one index prefix, then
bulk-loads the very documents the pipeline produced, read back beforehand, straight into a
second prefix with the same mappings, in the same run on the same node. Prints rows/s for both
and their ratio per round, the CPU seconds each side cost (this process and its children; the
engine's JVM, from its own process statistics), the pipeline's index size (primaries, merged to
one segment, per source in the JSON line), and the medians (a shared 2-core VM is noisy: rounds
differ by 20%).
Needs a running node (XIANSUO_OPENSEARCH_URL, default the demo's :9250).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from common.logs import configure_logging
from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop
from indexer.sink import SourceIndex
from registry.engine import EngineDoor
from registry.sources import load_sources

# Waiting for a merge to release the replaced segments: at most 60 polls of half a second.
MERGE_POLLS = 60
MERGE_POLL_S = 0.5


def read_back(door: EngineDoor) -> dict[str, list[tuple[str, dict[str, Any], int | None]]]:
    """Every document the pipeline wrote, per source, with its id and version."""
    out: dict[str, list[tuple[str, dict[str, Any], int | None]]] = {}
    for source in load_sources():
        alias = door.index_name(str(source))
        if door.aliased_index(alias) is None:
            continue
        hits = door.scan(alias, {"query": {"match_all": {}}, "version": True}, page=2000)
        out[str(source)] = [(h["_id"], h["_source"], h.get("_version")) for h in hits]
    return out


def index_bytes(door: EngineDoor) -> dict[str, int]:
    """Primary store size per source, merged to one segment per shard (comparable across runs).

    Merging removes the segment layout that bulk timing leaves behind, so two runs over the same
    drop with the same mappings report about the same size. Files a merge replaced stay on disk
    (and in the store size) until a refresh releases them: a search-idle shard skips its
    scheduled refreshes, so they are refreshed here and the size is read once one segment is left.
    """
    pattern = door.index_name("*")
    door.refresh(pattern)
    door.merge_segments(pattern, 1)
    sizes: dict[str, int] = {}
    for source in load_sources():
        alias = door.index_name(str(source))
        if door.aliased_index(alias) is None:
            continue
        for _ in range(MERGE_POLLS):
            door.refresh(alias)
            stats = door.primaries_stats(alias, "store,segments")
            if stats["segments"]["count"] <= 1:
                break
            time.sleep(MERGE_POLL_S)
        sizes[str(source)] = stats["store"]["size_in_bytes"]
    return dict(sorted(sizes.items()))


def direct_load(
    door: EngineDoor, docs: dict[str, list[tuple[str, dict[str, Any], int | None]]]
) -> int:
    """Bulk the documents into fresh indices with the pipeline's own index settings."""
    specs = load_sources()
    written = 0
    for source, items in docs.items():
        spec = specs[next(s for s in specs if str(s) == source)]
        index = SourceIndex(door, spec).fresh()
        door.set_bulk_mode(index, True)
        written += sum(1 for outcome in door.write(index, iter(items)) if outcome.ok)
        door.set_bulk_mode(index, False)
        door.refresh(index)
    return written


def python_cpu_s() -> float:
    """CPU seconds of this process and of its children that have ended (the record builders,
    the process that embeds petitions ahead)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def engine_cpu_s(settings: Settings) -> float:
    """CPU seconds the engine's nodes have used since they started (their process statistics)."""
    answer = httpx.get(f"{settings.opensearch_hosts[0]}/_nodes/stats/process", timeout=30)
    nodes = answer.raise_for_status().json()["nodes"].values()
    return float(sum(node["process"]["cpu"]["total_in_millis"] for node in nodes)) / 1000


def accounting_errors(report: IngestReport, truth: dict[str, Any]) -> list[str]:
    """Where the run's counts differ from the drop's ground truth (none when exact)."""
    errors = []
    for source, got in report.by_source().items():
        want = truth["files"][source]
        expected = {
            "read": want["rows_written"],
            "indexed": want["expected_documents"],
            "rejected": want["rejected"],
            "duplicates": want["duplicates"] + want["superseded"],
        }
        errors += [f"{source}.{k}: {got[k]} != {v}" for k, v in expected.items() if got[k] != v]
    return errors


def run_round(base: Settings, drop: Path, tmp: Path, run: str) -> dict[str, Any]:
    """One pipeline ingest and one direct load of its documents; their rates."""
    settings = base.model_copy(update={"index_prefix": f"bench-{run}-p", "state_dir": tmp / run})
    python, engine = python_cpu_s(), engine_cpu_s(settings)
    with ingest_context(settings, tmp / run / "rejects") as ctx:
        report = ingest_drop(drop, ctx)
    pipeline_cpu = (python_cpu_s() - python, engine_cpu_s(settings) - engine)
    truth = json.loads((drop / TRUTH_FILE).read_text(encoding="utf-8"))
    if errors := accounting_errors(report, truth):
        raise SystemExit("accounting differs from the ground truth: " + "; ".join(errors))
    rows = sum(f.read for f in report.files)
    door = EngineDoor.for_ingest(settings)
    direct = EngineDoor.for_ingest(settings.model_copy(update={"index_prefix": f"bench-{run}-d"}))
    try:
        sizes = index_bytes(door)
        docs = read_back(door)
        python, engine = python_cpu_s(), engine_cpu_s(settings)
        started = time.perf_counter()
        written = direct_load(direct, docs)
        direct_s = time.perf_counter() - started
        direct_cpu = (python_cpu_s() - python, engine_cpu_s(settings) - engine)
    finally:
        door.drop_index(f"bench-{run}-*")
        door.close()
        direct.close()
    pipeline_rate = rows / report.elapsed_s
    direct_rate = written / direct_s
    return {
        "rows": rows,
        "documents": written,
        "pipeline_s": round(report.elapsed_s, 1),
        "pipeline_rows_per_s": round(pipeline_rate),
        "direct_s": round(direct_s, 1),
        "direct_docs_per_s": round(direct_rate),
        "ratio": round(pipeline_rate / direct_rate, 3),
        "pipeline_cpu_s": {
            "python": round(pipeline_cpu[0], 1),
            "engine": round(pipeline_cpu[1], 1),
        },
        "direct_cpu_s": {"python": round(direct_cpu[0], 1), "engine": round(direct_cpu[1], 1)},
        "index_bytes": sum(sizes.values()),
        "index_bytes_by_source": sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="demo persons (~11 rows each)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported")
    args = parser.parse_args()

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    with tempfile.TemporaryDirectory(prefix="xiansuo-bench-") as name:
        tmp = Path(name)
        summary = write_demo_drop(tmp / "drop", persons=args.persons)
        print(f"drop: {summary.total_rows:,} rows ({args.persons:,} persons)")
        rounds = []
        for i in range(args.rounds):
            result = run_round(base, tmp / "drop", tmp, f"{uuid.uuid4().hex[:6]}")
            rounds.append(result)
            print(
                f"round {i + 1}: exact accounting; pipeline"
                f" {result['pipeline_rows_per_s']:>7,} rows/s"
                f" ({result['pipeline_s']} s)   direct {result['direct_docs_per_s']:>7,} docs/s"
                f" ({result['direct_s']} s)   ratio {result['ratio']:.2f}"
                f"   index {result['index_bytes'] / 2**20:,.1f} MiB"
            )
            pipe, direct = result["pipeline_cpu_s"], result["direct_cpu_s"]
            print(
                f"         CPU s: pipeline python {pipe['python']} + engine {pipe['engine']};"
                f" direct python {direct['python']} + engine {direct['engine']}"
            )
    median = {
        key: statistics.median(r[key] for r in rounds)
        for key in ("pipeline_rows_per_s", "direct_docs_per_s", "ratio", "index_bytes")
    }
    print(
        f"median: pipeline {median['pipeline_rows_per_s']:,.0f} rows/s, direct"
        f" {median['direct_docs_per_s']:,.0f} docs/s, ratio {median['ratio']:.2f},"
        f" index {median['index_bytes']:,.0f} bytes (merged to one segment)"
    )
    print(json.dumps({"rounds": rounds, "median": median}))


if __name__ == "__main__":
    main()
