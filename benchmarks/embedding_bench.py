"""Petition ingest with and without embeddings: what the vectors cost at ingest.

    .venv/bin/python benchmarks/embedding_bench.py --petitions 2000 --rounds 3

Generates a small demo drop, copies its petitions (new numbers, each copy with a distinct
closing sentence) until the petition file holds ``--petitions`` rows, then ingests only the
petition source into a fresh index, alternately with embeddings off and on, and prints rows/s
for both (the median of the rounds; a shared 2-core VM is noisy). The model is loaded once
before the rounds: its load time is printed apart. Needs a running node
(XIANSUO_OPENSEARCH_URL, default the demo's :9250).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from common.logs import configure_logging
from common.settings import Settings
from common.vocab import Source
from demo import write_demo_drop
from indexer.context import build_embedder, ingest_context
from indexer.drop import discover_drop, read_file
from indexer.pipeline import ingest_source
from registry.sources import load_sources


def petition_drop(tmp: Path, rows: int) -> Path:
    """A drop holding only a petition file of ``rows`` rows derived from the demo's petitions."""
    write_demo_drop(tmp / "demo", persons=2000, seed=3)
    spec = load_sources()[Source.PETITION]
    demo = discover_drop(tmp / "demo")
    originals = [
        row.values
        for drop_file in demo.for_source(Source.PETITION)
        for row in read_file(drop_file, expected_columns=set(spec.by_header))
        if not row.error and row.values.get("信访件编号")
    ]
    drop = tmp / "petitions"
    drop.mkdir()
    with (drop / "petition.jsonl").open("w", encoding="utf-8") as out:
        for i in range(rows):
            values = {k: str(v) for k, v in originals[i % len(originals)].items() if v is not None}
            values["信访件编号"] = f"XFBENCH{i:08d}"
            values["内容"] = f"{values.get('内容', '')}（第{i}次补充反映）"
            out.write(json.dumps(values, ensure_ascii=False) + "\n")
    return drop


def run_round(base: Settings, drop: Path, tmp: Path, embed: bool) -> float:
    """Rows per second of one petition ingest into a fresh index."""
    run = uuid.uuid4().hex[:6]
    settings = base.model_copy(
        update={"index_prefix": f"bench-{run}", "state_dir": tmp / run, "embeddings_enabled": embed}
    )
    with ingest_context(settings, tmp / run / "rejects") as ctx:
        started = time.perf_counter()
        reports = ingest_source(discover_drop(drop), Source.PETITION, ctx, reload=True)
        elapsed = time.perf_counter() - started
        ctx.door.drop_index(f"bench-{run}-*")
    if not all(r.balanced for r in reports):
        raise SystemExit("accounting does not balance")
    return sum(r.indexed for r in reports) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--petitions", type=int, default=2000, help="petition rows")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported")
    args = parser.parse_args()

    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    embedder = build_embedder(base)
    if embedder is None:
        raise SystemExit("embeddings are disabled in the settings")
    started = time.perf_counter()
    print(f"model: {embedder.model_path} ({embedder.dimension} dimensions)", end=" ")
    print(f"loaded in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="xiansuo-embed-bench-") as name:
        tmp = Path(name)
        drop = petition_drop(tmp, args.petitions)
        rates: dict[bool, list[float]] = {False: [], True: []}
        for i in range(args.rounds):
            for embed in (False, True):
                rates[embed].append(run_round(base, drop, tmp, embed))
            print(
                f"round {i + 1}: without {rates[False][-1]:>7,.0f} rows/s"
                f"   with embeddings {rates[True][-1]:>7,.0f} rows/s"
            )
    without, with_ = (statistics.median(rates[flag]) for flag in (False, True))
    print(
        f"median of {args.rounds}: without {without:,.0f} rows/s, with {with_:,.0f} rows/s "
        f"({with_ / without:.2f}x; {1000 / with_ - 1000 / without:.1f} ms per petition)"
    )


if __name__ == "__main__":
    main()
