"""Pieces the API benchmarks share: the real server in its own process, timing, percentiles.

Imported by the benchmark scripts run as ``.venv/bin/python benchmarks/<name>.py`` (this folder
is then first on sys.path); not a package of the service.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from common.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 and the mean, in ms."""
    ms = sorted(s * 1000 for s in samples_s)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50": round(statistics.median(ms), 3),
        "p95": round(cuts[94], 3),
        "p99": round(cuts[98], 3),
        "mean": round(statistics.fmean(ms), 3),
    }


class Server:
    """The real API as it runs in production: `xiansuo serve` in its own process, on loopback."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
        env |= {
            "XIANSUO_OPENSEARCH_URL": settings.opensearch_url,
            "XIANSUO_INDEX_PREFIX": settings.index_prefix,
            "XIANSUO_STATE_DIR": str(settings.state_dir),
            "XIANSUO_DATABASE_URL": settings.effective_database_url,
            "XIANSUO_LOG_LEVEL": "warning",
        }
        self._command = [sys.executable, "-m", "xiansuo", "serve", "--port", str(self.port)]
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self._process = subprocess.Popen(self._command, env=self._env)  # noqa: S603 - our own CLI
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SystemExit("the API server exited at start")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit("the API server did not start")

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=15)


def interleave(
    paths: dict[str, Callable[[Any], int]], inputs: list[Any], warmup: int, iterations: int
) -> dict[str, list[float]]:
    """Time each path on the same inputs, interleaved and in rotating order so that every path
    shares the machine's noise; the paths must agree on the hit count of every input."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for i in range(warmup + iterations):
        item = inputs[i % len(inputs)]
        totals = {}
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            totals[name] = paths[name](item)
            elapsed = time.perf_counter() - started
            if i >= warmup:
                samples[name].append(elapsed)
        if len(set(totals.values())) != 1:
            raise SystemExit(f"the paths disagree on input {i % len(inputs)}: {totals}")
    return samples
