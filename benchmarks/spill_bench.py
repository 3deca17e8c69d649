"""The ingest accounting's spill map against a plain dict: time and memory of N ids.

    .venv/bin/python benchmarks/spill_bench.py --ids 1000000            # default cap
    .venv/bin/python benchmarks/spill_bench.py --ids 160000 --cap 200000

Tally-like use: one write per row, each a ``get`` (who held the id before) then a ``set`` (this
row's file position); ``--repeats`` of the rows rewrite an earlier id (a duplicate across
batches or files), so the spilled ids are read back too. The ids are made on the fly (24
characters, like document ids), never held in a list. Each variant runs in its own process:
once for the time (wall and CPU: the CPU time is the steadier on a shared machine) and the
growth of its peak RSS (``ru_maxrss`` less the RSS before the loop), once under tracemalloc for
the peak of Python allocations. Prints one line per variant, then one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.spill import INT_CODEC, SPILL_CAP, SpillMap  # noqa: E402

VARIANTS = ("dict", "spill")
MIB = 1024 * 1024
FILES = 3  # file positions written


def doc_id(n: int) -> str:
    return hashlib.blake2b(n.to_bytes(8, "little"), digest_size=12).hexdigest()


def current_rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def run_workload(variant: str, ids: int, cap: int, repeats: float) -> None:
    """The Tally's use of its holders map: get, then set, per row."""
    rng = random.Random(7)
    if variant == "dict":
        plain: dict[str, int] = {}
        for n in range(ids):
            key = doc_id(rng.randrange(n) if n and rng.random() < repeats else n)
            plain.get(key)
            plain[key] = n % FILES
    else:
        with SpillMap(INT_CODEC, cap=cap) as spill:
            for n in range(ids):
                key = doc_id(rng.randrange(n) if n and rng.random() < repeats else n)
                spill.get(key)
                spill.set(key, n % FILES)


def measure(variant: str, ids: int, cap: int, repeats: float, traced: bool) -> dict[str, Any]:
    if traced:
        tracemalloc.start()
        run_workload(variant, ids, cap, repeats)
        _, peak = tracemalloc.get_traced_memory()
        return {"tracemalloc_peak_mib": round(peak / MIB, 1)}
    before = current_rss()
    started, cpu = time.perf_counter(), time.process_time()
    run_workload(variant, ids, cap, repeats)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
            "rss_growth_mib": round((peak - before) / MIB, 1)}  # fmt: skip


def run_child(args: argparse.Namespace, variant: str, traced: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", variant, "--ids", str(args.ids),
               "--cap", str(args.cap), "--repeats", str(args.repeats)]  # fmt: skip
    if traced:
        command.append("--traced")
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603 - this script
    out = done.stdout
    result: dict[str, Any] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1_000_000, help="rows written")
    parser.add_argument("--cap", type=int, default=SPILL_CAP, help="the spill map's cap")
    parser.add_argument("--repeats", type=float, default=0.05, help="share of rewritten ids")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.ids, args.cap, args.repeats, args.traced)))
        return
    results = {
        variant: run_child(args, variant, False) | run_child(args, variant, True)
        for variant in VARIANTS
    }
    for variant, result in results.items():
        print(f"{variant:6} {args.ids:>10,} ids  {result['seconds']:6.2f} s "
              f"(CPU {result['cpu_seconds']:6.2f} s)  "
              f"RSS +{result['rss_growth_mib']:7.1f} MiB  "
              f"tracemalloc peak {result['tracemalloc_peak_mib']:7.1f} MiB")  # fmt: skip
    print(json.dumps({"ids": args.ids, "cap": args.cap, "repeats": args.repeats} | results))


if __name__ == "__main__":
    main()
