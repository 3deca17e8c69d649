"""Rows to records, in forked worker processes when the ingest may use more than one core.

Parsing, simplification and pinyin are pure Python and hold the GIL, so threads cannot share
that work; processes can. The pool is forked per file: the children inherit the source
definition and the analyzer with its user dictionary as they are at that moment, so no child
rebuilds jieba, and results are taken in row order, so the output equals the in-process one.
Children return each document already encoded as JSON, which the bulk body takes as it is.
A child that dies makes the ingest fail with BrokenProcessPool instead of waiting forever.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

import orjson

from indexer.readers import RawRow
from indexer.records import Built, Rejected, TextAnalysis, build_record
from registry.sources import SourceSpec

Record = Built | Rejected
Builder = Callable[[Iterable[RawRow]], Iterator[tuple[RawRow, Record]]]

# Rows per task: large enough to amortise pickling, small enough to keep the order buffer short.
CHUNK_ROWS = 250
# Chunks in flight per worker; bounds memory when the engine is slower than the builders.
AHEAD_PER_WORKER = 4

# Set in the parent just before the fork; the children read their copy.
_STATE: tuple[SourceSpec, TextAnalysis, str] | None = None


def _build_chunk(rows: list[tuple[dict[str, object], int]]) -> list[Record]:
    if _STATE is None:  # pragma: no cover - only if a child was not forked from the parent
        raise RuntimeError("record builder state missing in worker")
    spec, analysis, file = _STATE
    return [_encoded(build_record(spec, values, analysis, file, line)) for values, line in rows]


def _encoded(record: Record) -> Record:
    """The document as JSON text: the parent neither unpickles nor re-serialises the dict."""
    if isinstance(record, Built):
        record.document = orjson.dumps(record.document).decode()
    return record


def _ready() -> bool:
    return _STATE is not None


def _in_process(spec: SourceSpec, analysis: TextAnalysis, file: str) -> Builder:
    def build(rows: Iterable[RawRow]) -> Iterator[tuple[RawRow, Record]]:
        for row in rows:
            yield row, build_record(spec, row.values, analysis, file, row.line)

    return build


@contextmanager
def record_builder(
    spec: SourceSpec, analysis: TextAnalysis, file: str, workers: int
) -> Iterator[Builder]:
    """A function from rows to ``(row, record)`` pairs in row order, using ``workers`` processes.

    With one worker, or inside a daemonic process (which may not fork), it builds in-process.
    Enter it before starting threads: the children are forked on entry.
    """
    if workers <= 1 or multiprocessing.current_process().daemon:
        yield _in_process(spec, analysis, file)
        return
    global _STATE
    _STATE = (spec, analysis, file)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # With fork, the first submit starts every child: do it now, before any thread runs.
            pool.submit(_ready).result()
            window = workers * AHEAD_PER_WORKER

            def build(rows: Iterable[RawRow]) -> Iterator[tuple[RawRow, Record]]:
                pending: deque[tuple[list[RawRow], Future[list[Record]]]] = deque()

                def submit(batch: list[RawRow]) -> None:
                    payload = [(r.values, r.line) for r in batch]
                    pending.append((batch, pool.submit(_build_chunk, payload)))

                def drain(keep: int) -> Iterator[tuple[RawRow, Record]]:
                    while len(pending) > keep:
                        batch, future = pending.popleft()
                        yield from zip(batch, future.result(), strict=True)

                batch: list[RawRow] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == CHUNK_ROWS:
                        submit(batch)
                        batch = []
                        yield from drain(window)
                if batch:
                    submit(batch)
                yield from drain(0)

            yield build
    finally:
        _STATE = None
