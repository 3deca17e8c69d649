"""Petition vectors at ingest: built documents get their content vector in the ingest process.

The record builders run in forked workers and never load the model; their documents pass through
`with_vectors` in the parent, which embeds the text of a batch of them in one model call and adds
the vector under `VECTOR_FIELD`. What is embedded is the petition's category and its content,
simplified (a text in traditional characters lands next to its simplified twin), never a
complainant field: those are split off before a document exists (see indexer.records).

Chunks of `EMBED_ROWS` records are embedded by ``parallel`` threads, a bounded number of chunks
ahead of the consumer: onnxruntime and the tokenizer release the GIL, so on a machine whose
record builders and engine leave cores idle (the petitions are few and come last) the model
uses them all, with one intra-op thread each (no spinning thread pools fighting for a core).
The chunks are the same whatever ``parallel`` is, so a text gets the same vector every run.

A drop's petition vectors are mostly embedded before the ingest reaches the petitions, by a
process started with the ingest (indexer.embed_ahead) that cuts the same chunks: `with_vectors`
takes a chunk's vectors from it when the chunk's texts are the same and embeds it here otherwise.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from analyzers.embeddings import encode_vector
from indexer.building import Record
from indexer.readers import RawRow
from indexer.records import Built
from registry.fields import VECTOR_FIELD, ColumnField

# Built records held back for one model call: a few model batches, so the sink keeps moving.
EMBED_ROWS = 128


class TextEmbedder(Protocol):
    """What the ingest needs of analyzers.embeddings.Embedder."""

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


def embedding_text(document: Mapping[str, Any], simplify: Callable[[str], str]) -> str | None:
    """The text embedded for a petition document: 问题类别 and content, simplified; None when it
    has no content."""
    content = document.get(ColumnField.CONTENT)
    if not isinstance(content, str) or not content.strip():
        return None
    category = document.get(ColumnField.CATEGORY)
    text = simplify(content)
    return f"{category}：{text}" if isinstance(category, str) and category else text


class VectorSource(Protocol):
    """Vectors embedded elsewhere ahead of the ingest (indexer.embed_ahead.AheadVectors)."""

    def take(self, texts: Sequence[str]) -> list[str] | None:
        """The stored vectors of the next chunk when its texts are ``texts``; None: embed them
        here (the source has no such chunk, or has stopped)."""
        ...


@dataclass(slots=True)
class Chunk:
    """Records embedded in one model call: the built ones with a text, and their texts."""

    pairs: list[tuple[RawRow, Record]]
    targets: list[tuple[Built, dict[str, Any]]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def read_chunk(pairs: list[tuple[RawRow, Record]], simplify: Callable[[str], str]) -> Chunk:
    """The chunk of ``pairs``: which documents get a vector, and the text of each."""
    chunk = Chunk(pairs)
    for _, record in pairs:
        if not isinstance(record, Built):
            continue
        document = record.document
        doc = orjson.loads(document) if isinstance(document, str) else document
        if (text := embedding_text(doc, simplify)) is not None:
            chunk.targets.append((record, doc))
            chunk.texts.append(text)
    return chunk


def encode_chunk(chunk: Chunk, embedder: TextEmbedder) -> list[str]:
    """The stored form of the chunk's vectors, one per text (one model call)."""
    if not chunk.texts:
        return []
    return [encode_vector(vector) for vector in embedder.encode(chunk.texts)]


def apply_vectors(chunk: Chunk, vectors: Sequence[str]) -> list[tuple[RawRow, Record]]:
    """The chunk's pairs, each document with a text given its vector."""
    for (record, doc), vector in zip(chunk.targets, vectors, strict=True):
        doc[VECTOR_FIELD] = vector
        # Workers hand over JSON text; keep it text so the bulk body takes it as it is.
        record.document = orjson.dumps(doc).decode() if isinstance(record.document, str) else doc
    return chunk.pairs


def chunks_of(
    records: Iterable[tuple[RawRow, Record]], batch: int = EMBED_ROWS
) -> Iterator[list[tuple[RawRow, Record]]]:
    """``records`` in chunks of ``batch`` (the last one shorter): the unit of one model call,
    the same for every ``parallel`` and for the ahead process (the same bits for a text)."""
    held: list[tuple[RawRow, Record]] = []
    for pair in records:
        held.append(pair)
        if len(held) >= batch:
            yield held
            held = []
    if held:
        yield held


def with_vectors(
    records: Iterable[tuple[RawRow, Record]],
    embedder: TextEmbedder,
    simplify: Callable[[str], str],
    batch: int = EMBED_ROWS,
    parallel: int = 1,
    ahead: VectorSource | None = None,
) -> Generator[tuple[RawRow, Record], None, None]:
    """The same (row, record) pairs in the same order, each built document with its vector.

    A chunk's vectors come from ``ahead`` when it has them, else are embedded here: ``parallel``
    chunks at once (threads); at most that many wait for the consumer.
    """
    with ThreadPoolExecutor(max(parallel, 1), thread_name_prefix="ingest-embed") as pool:
        pending: deque[tuple[Chunk, Future[list[str]]]] = deque()
        try:
            for pairs in chunks_of(records, batch):
                chunk = read_chunk(pairs, simplify)
                found = ahead.take(chunk.texts) if ahead is not None else None
                if found is None:
                    vectors = pool.submit(encode_chunk, chunk, embedder)
                else:
                    vectors = Future()
                    vectors.set_result(found)
                pending.append((chunk, vectors))
                if len(pending) >= parallel:
                    chunk, vectors = pending.popleft()
                    yield from apply_vectors(chunk, vectors.result())
            while pending:
                chunk, vectors = pending.popleft()
                yield from apply_vectors(chunk, vectors.result())
        finally:
            for _, future in pending:  # the consumer stopped early: drop what was not started
                future.cancel()
