"""The ingest as Celery tasks: one task per source, dispatched in two waves and awaited.

Tasks are idempotent (deterministic document ids; each source's rejects file is rewritten), so
they are acknowledged late and redelivered when a worker dies: Redis hands an unacknowledged task
to another worker once ``celery_visibility_timeout_s`` has passed. That timeout must exceed the
longest source ingest, or a live worker's task is handed out a second time.

Each deployment (index prefix) has its own queue and broker keys, so workers of one never write
into another's indices. The worker process is ``indexer.worker``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeoutError

from common.settings import Settings
from common.vocab import Source
from indexer.context import ingest_context
from indexer.drop import discover_drop
from indexer.pipeline import INGEST_ORDER, FileReport, IngestReport, ingest_source

log = structlog.get_logger(__name__)

INGEST_TASK = "xiansuo.ingest_source"
# Prose sources go last: the name registries of the first wave fill the jieba user dictionary
# (saved when each task ends) before company scopes and petitions are segmented.
SECOND_WAVE: frozenset[Source] = frozenset({Source.COMPANY, Source.PETITION})
# How long `ingest --queue` waits for one wave; a wave of a large drop takes hours, not days.
WAVE_TIMEOUT_S = 6 * 3600.0
# Results are collected by the waiting command within a wave's time; a day is ample.
RESULT_EXPIRES = timedelta(days=1)


class QueuedIngestError(RuntimeError):
    """A source task failed or did not finish in time; the message names the source."""


def ingest_queue(settings: Settings) -> str:
    """The queue of the deployment's ingest tasks, one per index prefix."""
    return f"{settings.index_prefix}.ingest"


def create_celery(settings: Settings) -> Celery:
    """A Celery app on ``settings.redis_url`` with the ingest task registered."""
    visibility = settings.celery_visibility_timeout_s
    app = Celery("xiansuo", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_default_queue=ingest_queue(settings),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=RESULT_EXPIRES,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Queues and the unacknowledged set per deployment: a worker of one never restores
            # (re-queues) the running tasks of another that shares the Redis database.
            "global_keyprefix": f"{settings.index_prefix}:",
            "visibility_timeout": visibility,
            # kombu sweeps for expired unacknowledged tasks every interval x throttle seconds
            # (100 s by default); sweep ten times per timeout so redelivery follows it closely.
            "unacked_restore_interval": max(1, visibility // 10),
            "unacked_restore_throttle": 1,
        },
    )

    def ingest_source_task(
        drop_path: str, source: str, rejects_dir: str, reload: bool
    ) -> list[dict[str, Any]]:
        """Ingest one source of a drop; returns its FileReports as dicts."""
        drop = discover_drop(Path(drop_path))
        # One embedding thread: workers scale by processes, and the model loads here, in the
        # process that runs the task, never before a prefork pool forks (see analyzers.embeddings).
        with ingest_context(settings, Path(rejects_dir), workers=1, embedding_threads=1) as ctx:
            reports = ingest_source(drop, Source(source), ctx, reload=reload)
        return [asdict(report) for report in reports]

    app.task(name=INGEST_TASK)(ingest_source_task)
    return app


def run_queued_ingest(
    settings: Settings,
    drop: Path,
    rejects_dir: Path,
    *,
    reload: bool,
    timeout_s: float = WAVE_TIMEOUT_S,
) -> IngestReport:
    """Ingest ``drop`` through the workers, one task per source, and wait for the report.

    Raises ``DropError`` for a bad drop and ``QueuedIngestError`` when a task fails or a wave
    does not finish within ``timeout_s`` (for instance when no worker consumes the queue).
    """
    started = time.perf_counter()
    found = discover_drop(drop)
    present = [source for source in INGEST_ORDER if found.for_source(source)]
    waves = (
        [source for source in present if source not in SECOND_WAVE],
        [source for source in present if source in SECOND_WAVE],
    )
    files: dict[Source, list[FileReport]] = {}
    app = create_celery(settings)
    try:
        for wave in waves:
            if wave:
                files.update(_run_wave(app, wave, drop, rejects_dir, reload, timeout_s))
    finally:
        app.close()
    return IngestReport(
        files=[report for source in INGEST_ORDER for report in files.get(source, [])],
        unknown_files=[path.name for path in found.unknown],
        elapsed_s=time.perf_counter() - started,
    )


def _run_wave(
    app: Celery,
    wave: Sequence[Source],
    drop: Path,
    rejects_dir: Path,
    reload: bool,
    timeout_s: float,
) -> dict[Source, list[FileReport]]:
    """Dispatch one task per source of ``wave`` and wait for all of them."""
    # Absolute paths: the worker runs elsewhere (it must see the same file system).
    drop_path, rejects_path = str(drop.resolve()), str(rejects_dir.resolve())
    # A task not started by the time we stop waiting expires rather than run unobserved later.
    pending = {
        source: app.send_task(
            INGEST_TASK, args=[drop_path, str(source), rejects_path, reload], expires=timeout_s
        )
        for source in wave
    }
    queue = app.conf.task_default_queue
    log.info("ingest.wave_dispatched", sources=[str(s) for s in wave], queue=queue)
    deadline = time.monotonic() + timeout_s
    done: dict[Source, list[FileReport]] = {}
    for source, result in pending.items():
        try:
            payload: list[dict[str, Any]] = result.get(
                timeout=max(0.001, deadline - time.monotonic()), propagate=True
            )
        except CeleryTimeoutError:
            raise QueuedIngestError(
                f"source {source}: task {result.id} did not finish within {timeout_s:.0f} s; "
                f"is a worker consuming queue {queue!r}?"
            ) from None
        except Exception as exc:
            raise QueuedIngestError(f"source {source}: task {result.id} failed: {exc!r}") from exc
        result.forget()
        done[source] = [FileReport(**item) for item in payload]
    return done
