"""Ingest benchmark: the full pipeline against a direct bulk load of the same final documents.

    .venv/bin/python benchmarks/ingest_bench.py --persons 20000

Generates a demo drop (fictitious people), ingests it end to end into one index prefix, then
bulk-loads the very documents the pipeline produced, read back beforehand, straight into a
second prefix with the same mappings, in the same run on the same node. Prints rows/s for both
and their ratio. Needs a running node (XIANSUO_OPENSEARCH_URL, default the demo's :9250).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.helpers import scan

from common.settings import Settings
from indexer.context import ingest_context
from indexer.demo_data import write_demo_drop
from indexer.pipeline import ingest_drop
from indexer.sink import IndexSink
from indexer.sources import load_sources


def read_back(
    client: OpenSearch, prefix: str
) -> dict[str, list[tuple[str, dict[str, Any], int | None]]]:
    """Every document the pipeline wrote, per source, with its id and version."""
    out: dict[str, list[tuple[str, dict[str, Any], int | None]]] = {}
    for source in load_sources():
        alias = f"{prefix}-{source}"
        if not client.indices.exists_alias(name=alias):
            continue
        hits = scan(
            client, index=alias, query={"query": {"match_all": {}}, "version": True}, size=2000
        )
        out[str(source)] = [(h["_id"], h["_source"], h.get("_version")) for h in hits]
    return out


def direct_load(
    client: OpenSearch, prefix: str, docs: dict[str, list[tuple[str, dict[str, Any], int | None]]]
) -> int:
    """Bulk the documents into fresh indices with the pipeline's own sink settings."""
    sink = IndexSink(client, prefix)
    specs = load_sources()
    written = 0
    for source, items in docs.items():
        spec = specs[next(s for s in specs if str(s) == source)]
        index = sink.create_index(spec)
        sink.set_bulk_mode(index, True)
        written += sum(1 for outcome in sink.write(index, iter(items)) if outcome.ok)
        sink.set_bulk_mode(index, False)
        sink.refresh(index)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="demo persons (~10 rows each)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark indices")
    args = parser.parse_args()

    base = Settings()
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="xiansuo-bench-") as tmp:
        drop = Path(tmp) / "drop"
        t0 = time.perf_counter()
        summary = write_demo_drop(drop, persons=args.persons)
        generated_s = time.perf_counter() - t0
        settings = base.model_copy(
            update={"index_prefix": f"bench-{run}-p", "state_dir": Path(tmp) / "state"}
        )
        with ingest_context(settings, Path(tmp) / "rejects") as ctx:
            report = ingest_drop(drop, ctx)
        rows = sum(f.read for f in report.files)
        client = OpenSearch(hosts=[base.opensearch_url], timeout=120)
        try:
            docs = read_back(client, settings.index_prefix)
            n_docs = sum(len(v) for v in docs.values())
            t1 = time.perf_counter()
            written = direct_load(client, f"bench-{run}-d", docs)
            direct_s = time.perf_counter() - t1
        finally:
            if not args.keep:
                client.indices.delete(index=f"bench-{run}-*", expand_wildcards="all")
            client.close()
    pipeline_rate = rows / report.elapsed_s
    direct_rate = written / direct_s
    result = {
        "rows": rows,
        "documents": n_docs,
        "generated_rows": summary.total_rows,
        "generate_s": round(generated_s, 1),
        "pipeline_s": round(report.elapsed_s, 1),
        "pipeline_rows_per_s": round(pipeline_rate),
        "direct_s": round(direct_s, 1),
        "direct_docs_per_s": round(direct_rate),
        "ratio": round(pipeline_rate / direct_rate, 3),
    }
    print(f"rows read            {rows:>10,}   documents {n_docs:,}")
    print(f"pipeline (end to end){pipeline_rate:>10,.0f} rows/s   ({report.elapsed_s:.1f} s)")
    print(f"direct bulk          {direct_rate:>10,.0f} docs/s   ({direct_s:.1f} s)")
    print(f"ratio pipeline/direct {pipeline_rate / direct_rate:>9.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
