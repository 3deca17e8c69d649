"""Comparison-model benchmark: each model's run time and memory peak beside its raw engine queries.

    .venv/bin/python benchmarks/model_bench.py --persons 20000      # ~224,000 rows
    .venv/bin/python benchmarks/model_bench.py --persons 200000     # ~2.2 million rows

Writes a demo drop (fictitious people) and ingests it into a fresh index prefix (or, with
--prefix, reuses one a previous run kept with --keep). Then each model runs in a process of its
own, over both provinces (every record of the drop), as the API runs it (the streamed runner:
composite pages of subjects, one multi-search per condition and page; the store of hits left
out): once to warm the caches and record every engine request, then timed, then the very same
requests replayed straight through the engine door, timed (three rounds, alternating, medians;
the first run is shown apart: the later ones, like the replays, meet the engine's request cache
warm). The child reports the peak resident
memory of its process (ru_maxrss) and the peak of Python allocations during the timed run
(tracemalloc, a second run), beside the process's size before the first run. Prints one table
(with each model's precision and recall against ``_truth.json``) and one JSON line. Deletes its
indices at the end unless --keep. Needs a running node (XIANSUO_OPENSEARCH_URL).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import prepare_world

from common.logs import configure_logging
from common.settings import Settings
from comparison.definitions import ComparisonModel, shipped_catalogue
from comparison.runner import ModelRun
from registry.engine import EngineDoor
from registry.fields import Envelope

REGIONS = ("44", "46")  # every county of the demo drop
KIB = 1024


class RecordingDoor:
    """The engine door, remembering every request of a run (to replay them raw)."""

    def __init__(self, door: EngineDoor) -> None:
        self.door = door
        self.requests: list[tuple[str, Any, Any]] = []

    def index_name(self, suffix: str) -> str:
        return self.door.index_name(suffix)

    def search(
        self, index: str, body: dict[str, Any], *, ignore_unavailable: bool = False
    ) -> dict[str, Any]:
        self.requests.append(("search", index, body))
        return self.door.search(index, body, ignore_unavailable=ignore_unavailable)

    def msearch(self, lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        self.requests.append(("msearch", None, list(lines)))
        return self.door.msearch(lines)


def replay(door: EngineDoor, requests: list[tuple[str, Any, Any]]) -> None:
    for kind, index, body in requests:
        if kind == "search":
            door.search(index, body, ignore_unavailable=True)
        else:
            door.msearch(body)


def _filters(model: ComparisonModel) -> tuple[dict[str, Any], ...]:
    """The scope a run over both provinces carries (as search_api.queries.records builds it)."""
    return (
        {"terms": {Envelope.SOURCE: sorted(str(s) for s in model.sources)}},
        {"terms": {Envelope.REGION_PREFIXES: list(REGIONS)}},
    )


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB  # Linux: KiB


def measure_model(settings: Settings, model_id: str, rounds: int) -> dict[str, Any]:
    """One model in this (child) process: warm + record, then ``rounds`` timed runs and raw
    replays (medians), then the memory peaks."""
    catalogue = shipped_catalogue()
    model = catalogue.models[model_id]
    door = EngineDoor.for_api(settings.model_copy(update={"opensearch_timeout_s": 120.0}))
    try:
        baseline = _rss_mib()
        recording = RecordingDoor(door)
        started = time.perf_counter()
        warm = ModelRun(recording, model, catalogue.relations, _filters(model))
        found = sorted({hit.person_id for hit in warm.hits()})
        first_s = time.perf_counter() - started
        run_samples, raw_samples = [], []
        for round_ in range(rounds):  # alternating, so both paths share the machine's noise
            for path in ("run", "raw") if round_ % 2 == 0 else ("raw", "run"):
                started = time.perf_counter()
                if path == "run":
                    timed = ModelRun(door, model, catalogue.relations, _filters(model))
                    hits = sum(1 for _ in timed.hits())
                    run_samples.append(time.perf_counter() - started)
                    if hits != len(found):
                        raise SystemExit(f"{model_id}: {hits} hits, the first run {len(found)}")
                else:
                    replay(door, recording.requests)
                    raw_samples.append(time.perf_counter() - started)
        run_s, raw_s = statistics.median(run_samples), statistics.median(raw_samples)
        tracemalloc.start()
        traced = ModelRun(door, model, catalogue.relations, _filters(model))
        sum(1 for _ in traced.hits())
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        door.close()
    return {
        "model": model_id,
        "hits": len(found),
        "found": found,
        "subjects": timed.stats.subjects,
        "pages": timed.stats.pages,
        "requests": timed.stats.requests,
        "first_run_s": round(first_s, 3),
        "run_s": round(run_s, 3),
        "raw_s": round(raw_s, 3),
        "ratio": round(run_s / raw_s, 2) if raw_s else None,
        "rss_before_mib": round(baseline, 1),
        "rss_peak_mib": round(_rss_mib(), 1),
        "python_peak_mib": round(traced_peak / KIB / KIB, 2),
    }


def run_child(local: Settings, model_id: str, rounds: int) -> dict[str, Any]:
    """``measure_model`` in a fresh process, so each model's memory peak is its own."""
    command = [
        sys.executable, __file__, "--measure", model_id, "--prefix", local.index_prefix,
        "--state-dir", str(local.state_dir), "--rounds", str(rounds),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"{model_id}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def score(found: list[str], expected: list[str]) -> tuple[float, float]:
    """(precision, recall) of the subjects found against the truth."""
    hit, want = set(found), set(expected)
    true = len(hit & want)
    return (true / len(hit) if hit else 1.0, true / len(want) if want else 1.0)


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'model':<28}{'hits':>6}{'P':>6}{'R':>6}{'subjects':>9}{'pages':>6}{'reqs':>6}"
        f"{'1st s':>8}{'run s':>8}{'raw s':>8}{'ratio':>7}{'rss0 MiB':>10}{'rss MiB':>9}"
        f"{'py MiB':>8}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['model']:<28}{r['hits']:>6}{r['precision']:>6.2f}{r['recall']:>6.2f}"
            f"{r['subjects']:>9}{r['pages']:>6}{r['requests']:>6}{r['first_run_s']:>8.2f}"
            f"{r['run_s']:>8.2f}"
            f"{r['raw_s']:>8.2f}{r['ratio']:>7.2f}{r['rss_before_mib']:>10.1f}"
            f"{r['rss_peak_mib']:>9.1f}{r['python_peak_mib']:>8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000, help="demo persons")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefix", help="reuse this ingested index prefix (with --state-dir)")
    parser.add_argument("--state-dir", help="state folder (kept); default: a temporary one")
    parser.add_argument("--keep", action="store_true", help="keep the indices for another run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per model (median)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child: one model
    args = parser.parse_args()
    if args.prefix and not args.state_dir:
        parser.error("--prefix needs the --state-dir of the run that kept it")
    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    if args.measure:
        local = base.model_copy(update={"index_prefix": args.prefix})
        print(json.dumps(measure_model(local, args.measure, args.rounds)))
        return
    catalogue = shipped_catalogue()
    with tempfile.TemporaryDirectory(prefix="xiansuo-model-bench-") as name:
        local, figures = prepare_world(args, base, Path(name), "mbench", report_rows=True)
        truth = figures.pop("truth")
        rows = []
        try:
            for model_id in catalogue.models:
                result = run_child(local, model_id, args.rounds)
                precision, recall = score(result.pop("found"), truth["comparison_models"][model_id])
                rows.append(result | {"precision": precision, "recall": recall})
        finally:
            if not args.keep:
                with EngineDoor.for_ingest(local) as door:
                    door.drop_index(door.index_name("*"))
    print_table(rows)
    persons = truth["persons"]
    print(f"drop: {persons} persons; {figures}")
    print(json.dumps({"persons": persons, **figures, "models": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
