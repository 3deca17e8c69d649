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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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


def with_vectors(
    records: Iterable[tuple[RawRow, Record]],
    embedder: TextEmbedder,
    simplify: Callable[[str], str],
    batch: int = EMBED_ROWS,
    parallel: int = 1,
) -> Iterator[tuple[RawRow, Record]]:
    """The same (row, record) pairs in the same order, each built document with its vector.

    ``parallel`` chunks are embedded at once (threads); at most that many wait for the consumer.
    """
    if parallel <= 1:
        yield from _embedded_in_turn(records, embedder, simplify, batch)
        return
    with ThreadPoolExecutor(parallel, thread_name_prefix="ingest-embed") as pool:
        pending: deque[Future[list[tuple[RawRow, Record]]]] = deque()
        try:
            for chunk in _chunks(records, batch):
                pending.append(pool.submit(_embedded, chunk, embedder, simplify))
                if len(pending) >= parallel:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:  # the consumer stopped early: drop what was not started
                future.cancel()


def _embedded_in_turn(
    records: Iterable[tuple[RawRow, Record]],
    embedder: TextEmbedder,
    simplify: Callable[[str], str],
    batch: int,
) -> Iterator[tuple[RawRow, Record]]:
    for chunk in _chunks(records, batch):
        yield from _embedded(chunk, embedder, simplify)


def _chunks(
    records: Iterable[tuple[RawRow, Record]], batch: int
) -> Iterator[list[tuple[RawRow, Record]]]:
    held: list[tuple[RawRow, Record]] = []
    for pair in records:
        held.append(pair)
        if len(held) >= batch:
            yield held
            held = []
    if held:
        yield held


def _embedded(
    pairs: list[tuple[RawRow, Record]], embedder: TextEmbedder, simplify: Callable[[str], str]
) -> list[tuple[RawRow, Record]]:
    targets: list[tuple[Built, dict[str, Any]]] = []
    texts: list[str] = []
    for _, record in pairs:
        if not isinstance(record, Built):
            continue
        document = record.document
        doc = orjson.loads(document) if isinstance(document, str) else document
        if (text := embedding_text(doc, simplify)) is not None:
            targets.append((record, doc))
            texts.append(text)
    if texts:
        for (record, doc), vector in zip(targets, embedder.encode(texts), strict=True):
            doc[VECTOR_FIELD] = encode_vector(vector)
            # Workers hand over JSON text; keep it text so the bulk body takes it as it is.
            record.document = (
                orjson.dumps(doc).decode() if isinstance(record.document, str) else doc
            )
    return pairs
