"""A run from start to its stored hits: stream the model's hits and store them in batches.

The runner holds one page of subjects; this module holds one batch of hits and a 64-character
digest per hit (for the run's outcome entry), so a run's memory stays small whatever the
registries' size. Synchronous: at demo scale a run takes seconds (docs/models.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from common.errors import EngineUnavailableError
from comparison.definitions import Catalogue, ComparisonModel
from comparison.runner import EngineReads, Hit, ModelRun, RunStats
from comparison.store import Run, RunState, finish_run, hit_digest, store_hits

STORE_BATCH = 200
"""Hits stored per transaction."""


@dataclass(frozen=True, slots=True)
class RunResult:
    run: Run  # as stored at the end (done)
    hit_digests: list[str]  # one per hit: the outcome entry's digest covers them
    stats: RunStats


def execute_run(
    engine: EngineReads,
    db: Engine,
    catalogue: Catalogue,
    model: ComparisonModel,
    filters: tuple[dict[str, Any], ...],
    run: Run,
    clock: Callable[[], datetime],
    today: date,
) -> RunResult:
    """Run ``model`` inside ``filters`` and store every hit under ``run`` (a new clue is due
    the level's ``due_days`` after ``today``). If the engine or the store fails midway, the run
    is marked failed (its hits so far stay, each with its clue) and the error is raised."""
    stream = ModelRun(engine, model, catalogue.relations, filters)
    due_on = today + timedelta(days=catalogue.levels[model.level].due_days)
    batch: list[Hit] = []
    digests: list[str] = []
    opened = 0

    def flush() -> None:
        nonlocal opened
        if batch:
            opened += store_hits(db, run, model.level, due_on, batch, clock())
            batch.clear()

    try:
        for hit in stream.hits():
            batch.append(hit)
            digests.append(hit_digest(hit))
            if len(batch) >= STORE_BATCH:
                flush()
        flush()
    except (EngineUnavailableError, SQLAlchemyError):
        count = len(digests) - len(batch)
        finish_run(db, run.id, state=RunState.FAILED, hit_count=count, new_count=opened,
                   now=clock())  # fmt: skip
        raise
    done = finish_run(db, run.id, state=RunState.DONE, hit_count=len(digests), new_count=opened,
                      now=clock())  # fmt: skip
    return RunResult(done, digests, stream.stats)
