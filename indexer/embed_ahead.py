"""Petition vectors embedded ahead, in a process started with the ingest.

Petitions come last in an ingest (their prose is segmented with the names of every other source
in the dictionary), and embedding them is most of their cost. Their vectors do not depend on the
dictionary, only on the text: so when an ingest starts, one child process is forked that reads
the petition files, builds their records in-process exactly as the ingest will, and embeds them
in the very chunks `indexer.vectors.with_vectors` cuts (`chunks_of`), while the parent loads the
other registries and the engine indexes them, using the CPU they leave idle.

Chunks wait in a bounded queue (`AHEAD_CHUNKS`): memory stays the same whatever the drop; when
the queue is full the child waits for the parent to reach the petitions. The parent takes a
chunk's vectors only when its texts equal its own chunk's texts; anything else (another text, a
child that failed, died or went quiet for `AHEAD_PATIENCE_S`) stops the child and the rest is
embedded in line. So the ahead path can save time but never change, lose or add a vector, and
the same text gets the same bits either way (the same chunk is the same model call).

The child is forked before the parent starts any thread of the run (as the record builders are,
see indexer.building), never from a daemonic process (a Celery prefork worker: there each source
is its own task and embeds its petitions in line). It loads the model itself; the parent loads it
only when it has something left to embed. It never touches the engine or the sealed store: it
leaves through ``os._exit`` (multiprocessing's fork start), so nothing inherited is closed twice.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any

import structlog

from common.vocab import Source
from indexer.drop import Drop, DropInput, read_file
from indexer.readers import RawRow
from indexer.records import TextAnalysis, build_record
from indexer.vectors import EMBED_ROWS, TextEmbedder, chunks_of, read_chunk, with_vectors
from registry.fields import EMBEDDED_SOURCES, VECTOR_FIELD
from registry.sources import SourceSpec, load_sources

log = structlog.get_logger(__name__)

# Chunks embedded ahead of the parent at most: 64 x 128 petitions, ~13 MB of texts and vectors.
AHEAD_CHUNKS = 64
# How long the parent waits for the next chunk from a child that is alive (a model call of one
# chunk takes seconds on a loaded machine); then the child counts as stuck and is stopped.
AHEAD_PATIENCE_S = 300.0
# How often the parent looks whether the child is still alive while it waits.
AHEAD_POLL_S = 1.0
# The child yields the CPU to the pipeline's own work (it only fills idle time).
AHEAD_NICENESS = 5


@dataclass(frozen=True, slots=True)
class AheadChunk:
    """One chunk's texts and their stored vectors, in chunk order."""

    texts: list[str]
    vectors: list[str]


@dataclass(frozen=True, slots=True)
class AheadStopped:
    """The child's last word: ``error`` None when every chunk was sent."""

    error: str | None = None


def embedded_inputs(drop: Drop, order: Sequence[Source]) -> list[tuple[DropInput, SourceSpec]]:
    """The drop's inputs whose documents carry vectors, in the ingest's ``order`` of sources."""
    specs = load_sources()
    return [
        (item, specs[source])
        for source in order
        if source in EMBEDDED_SOURCES
        for item in drop.for_source(source)
    ]


def _child(
    inputs: list[tuple[DropInput, SourceSpec]],
    analysis: TextAnalysis,
    embedder: TextEmbedder,
    out: Queue[AheadChunk | AheadStopped],
    parallel: int,
) -> None:
    """Embed every chunk the ingest will cut from ``inputs``, in order, into ``out``."""
    os.nice(AHEAD_NICENESS)
    try:
        for drop_input, spec in inputs:
            records = _records(drop_input, spec, analysis)
            embedded = with_vectors(records, embedder, analysis.simplified, EMBED_ROWS, parallel)
            for pairs in chunks_of(embedded):
                chunk = read_chunk(pairs, analysis.simplified)
                vectors = [str(doc[VECTOR_FIELD]) for _, doc in chunk.targets]
                out.put(AheadChunk(chunk.texts, vectors))
        out.put(AheadStopped())
    except Exception as exc:  # the parent embeds in line instead; it reports real errors itself
        out.put(AheadStopped(f"{type(exc).__name__}: {exc}"))


def _records(
    drop_input: DropInput, spec: SourceSpec, analysis: TextAnalysis
) -> Iterator[tuple[RawRow, Any]]:
    """The (row, record) pairs the ingest builds from ``drop_input`` (rows it rejects on reading
    never reach the builder there either)."""
    for row in read_file(drop_input, expected_columns=set(spec.by_header)):
        if not row.error:
            yield row, build_record(spec, row.values, analysis, drop_input.name, row.line)


class AheadVectors:
    """The parent's end: the next chunk's vectors, while the child keeps to the same chunks."""

    def __init__(self, process: BaseProcess, chunks: Queue[AheadChunk | AheadStopped]) -> None:
        self._process = process
        self._chunks = chunks
        self.taken = 0  # chunks whose vectors came from the child
        self.stopped: str | None = None  # why the parent stopped using the child (None: it has not)

    def take(self, texts: Sequence[str]) -> list[str] | None:
        if self.stopped is not None:
            return None
        item = self._next()
        if isinstance(item, AheadChunk) and item.texts == list(texts):
            self.taken += 1
            return item.vectors
        if isinstance(item, AheadChunk):
            self.stop("a chunk's texts differ from the ingest's")
        elif item is None:
            self.stop("the child went quiet or died")
        else:
            self.stop(item.error or "the child had no more chunks")
        return None

    def _next(self) -> AheadChunk | AheadStopped | None:
        waited = 0.0
        while waited < AHEAD_PATIENCE_S:
            try:
                return self._chunks.get(timeout=AHEAD_POLL_S)
            except queue.Empty:
                waited += AHEAD_POLL_S
                if not self._process.is_alive() and self._chunks.empty():
                    return None
        return None

    def stop(self, reason: str) -> None:
        """Stop the child (it may wait on a full queue) and embed the rest in line."""
        if self.stopped is None:
            self.stopped = reason
            if reason != "done":
                log.warning("ingest.embed_ahead_stopped", reason=reason, chunks_taken=self.taken)
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._chunks.close()
        self._chunks.cancel_join_thread()


@contextmanager
def vectors_ahead(
    drop: Drop,
    order: Sequence[Source],
    analysis: TextAnalysis,
    embedder: TextEmbedder | None,
    parallel: int,
) -> Iterator[AheadVectors | None]:
    """The vectors of ``drop`` (its sources read in ``order``) embedded ahead by a child process,
    for the run; None when there is nothing to embed or no child may be forked (a daemonic
    process)."""
    inputs = embedded_inputs(drop, order)
    if embedder is None or not inputs or multiprocessing.current_process().daemon:
        yield None
        return
    context = multiprocessing.get_context("fork")
    chunks: Queue[AheadChunk | AheadStopped] = context.Queue(maxsize=AHEAD_CHUNKS)
    process = context.Process(
        target=_child,
        args=(inputs, analysis, embedder, chunks, parallel),
        name="ingest-embed-ahead",
        daemon=True,
    )
    process.start()
    ahead = AheadVectors(process, chunks)
    try:
        yield ahead
    finally:
        ahead.stop("done")
