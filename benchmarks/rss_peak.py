"""Peak memory of a command and all its descendants: `rss_peak.py -- CMD ARGS...`.

    .venv/bin/python benchmarks/rss_peak.py -- .venv/bin/python -m xiansuo ingest DROP --no-graph

Runs the command, samples /proc every --every seconds for the memory of the command's whole
process tree (the processes alive at that instant, so worker processes count), and prints the
wall time, the peak of the summed RSS, of the summed PSS (proportional set size: a page shared by
forked workers counted once in all, so this is what the tree really holds) and the largest
single process's RSS, then one JSON line. Linux only (reads /proc); no third-party module.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def read_parents() -> dict[int, int]:
    """pid -> parent pid of every process visible now."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def collect_tree(root: int) -> list[int]:
    """The root pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in read_parents().items():
        children.setdefault(parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def read_rss(pid: int) -> int:
    """Resident bytes of one process (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def read_pss(pid: int) -> int:
    """Proportional resident bytes of one process (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return 0
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--every", type=float, default=0.2, help="sampling period, seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    started = time.perf_counter()
    process = subprocess.Popen(command)  # noqa: S603 - the caller's own command
    peak_total = peak_pss = peak_single = 0
    processes = 1
    while process.poll() is None:
        tree = collect_tree(process.pid)
        sizes = [read_rss(pid) for pid in tree]
        peak_total = max(peak_total, sum(sizes))
        peak_pss = max(peak_pss, sum(read_pss(pid) for pid in tree))
        peak_single = max(peak_single, *sizes)
        processes = max(processes, len(sizes))
        time.sleep(args.every)
    wall = time.perf_counter() - started
    result = {
        "returncode": process.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_tree_mib": round(peak_total / MIB, 1),
        "peak_pss_tree_mib": round(peak_pss / MIB, 1),
        "peak_rss_single_mib": round(peak_single / MIB, 1),
        "max_processes": processes,
    }
    print(
        f"wall {wall:.1f} s, peak RSS {peak_total / MIB:.0f} MiB over the process tree, peak PSS"
        f" {peak_pss / MIB:.0f} MiB"
        f" (largest single process {peak_single / MIB:.0f} MiB, up to {processes} processes)"
    )
    print(json.dumps(result))
    raise SystemExit(process.returncode)


if __name__ == "__main__":
    main()
