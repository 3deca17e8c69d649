"""Rows to records, in forked worker processes when the ingest may use more than one core.

Parsing, simplification and pinyin are pure Python and hold the GIL, so threads cannot share
that work; processes can. The pool is forked per file: the children inherit the source
definition and the analyzer with its user dictionary as they are at that moment, so no child
rebuilds jieba, and results come back in row order, so the output is the same as in-process.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from indexer.readers import RawRow
from indexer.records import Built, Rejected, TextAnalysis, build_record
from indexer.sources import SourceSpec

Built_ = Built | Rejected
Builder = Callable[[Iterable[RawRow]], Iterator[tuple[RawRow, Built_]]]

# Rows per task: large enough to amortise pickling, small enough to keep the order buffer short.
CHUNK_ROWS = 250
# Chunks built ahead of the bulk sender, per worker; bounds memory when the engine is slower.
AHEAD_PER_WORKER = 4


class _StoppedError(Exception):
    """The consumer went away; ends the row feed of the pool."""


# Set in the parent just before the fork; the children read their copy.
_STATE: tuple[SourceSpec, TextAnalysis, str] | None = None


def _build_chunk(rows: list[tuple[dict[str, object], int]]) -> list[Built_]:
    if _STATE is None:  # pragma: no cover - only reachable if a child was not forked from us
        raise RuntimeError("record builder state missing in worker")
    spec, analysis, file = _STATE
    return [build_record(spec, values, analysis, file, line) for values, line in rows]


def _in_process(spec: SourceSpec, analysis: TextAnalysis, file: str) -> Builder:
    def build(rows: Iterable[RawRow]) -> Iterator[tuple[RawRow, Built_]]:
        for row in rows:
            yield row, build_record(spec, row.values, analysis, file, row.line)

    return build


@contextmanager
def record_builder(
    spec: SourceSpec, analysis: TextAnalysis, file: str, workers: int
) -> Iterator[Builder]:
    """A function from rows to ``(row, record)`` pairs in row order, using ``workers`` processes.

    Falls back to the calling process for one worker, or where forking is not allowed (a
    daemonic process, such as a Celery prefork child).
    """
    if workers <= 1 or multiprocessing.current_process().daemon:
        yield _in_process(spec, analysis, file)
        return
    global _STATE
    _STATE = (spec, analysis, file)
    ahead = threading.Semaphore(workers * AHEAD_PER_WORKER)
    stopping = threading.Event()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:

            def build(rows: Iterable[RawRow]) -> Iterator[tuple[RawRow, Built_]]:
                batches: deque[list[RawRow]] = deque()

                def payloads() -> Iterator[list[tuple[dict[str, object], int]]]:
                    batch: list[RawRow] = []
                    for row in rows:
                        batch.append(row)
                        if len(batch) == CHUNK_ROWS:
                            yield _submit(batch)
                            batch = []
                    if batch:
                        yield _submit(batch)

                def _submit(batch: list[RawRow]) -> list[tuple[dict[str, object], int]]:
                    while not ahead.acquire(timeout=0.5):
                        if stopping.is_set():
                            raise _StoppedError
                    batches.append(batch)
                    return [(r.values, r.line) for r in batch]

                for results in pool.imap(_build_chunk, payloads()):
                    batch = batches.popleft()
                    ahead.release()
                    yield from zip(batch, results, strict=True)

            yield build
            stopping.set()
    finally:
        stopping.set()
        _STATE = None
