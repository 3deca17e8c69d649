"""The bulk protocol, pure: batches, request bodies, the engine's answers, building ahead.

The engine door (``registry.engine``) sends what these functions build; nothing here talks to
the engine. Documents carry deterministic ids; a version makes the write ``external_gte``, so the
engine itself keeps the later record and re-writing the same one is accepted (idempotent).
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

# 500 documents (~0.5-1 MB) per request keeps a 1 GB node busy without queueing on 2 cores.
BULK_CHUNK_DOCS = 500
BULK_CHUNK_BYTES = 8 * 1024 * 1024
# 429 and 503 (RETRIED_ITEM_STATUSES) are retried with exponential back-off from 1 s.
BULK_MAX_RETRIES = 6
BULK_INITIAL_BACKOFF_S = 1.0
# How long the engine waits for a document's shard to have a primary before it answers 503 (its
# own default), and how long a bulk request may take beyond that wait (the client's timeout).
BULK_SHARD_WAIT_S = 60.0
BULK_WORK_S = 60.0
HTTP_CONFLICT = 409  # external_gte: the index holds a later version
HTTP_TOO_MANY_REQUESTS = 429
HTTP_UNAVAILABLE = 503
# Answers for one document that say "not now", never "no", so the document is sent again and
# never counted as refused: 429, the engine's queue is full (back-pressure); 503, its shard has
# no active primary (a node was lost and a replica is not promoted yet).
RETRIED_ITEM_STATUSES = frozenset({HTTP_TOO_MANY_REQUESTS, HTTP_UNAVAILABLE})
# What a bulk answer carries back (``filter_path``): each item's status and, for a refusal, the
# engine's error: ``read_outcome`` reads nothing else. The full answer (index, id, version,
# shard counts, sequence numbers per item) is several times larger to encode and parse.
BULK_ANSWER_FIELDS = "items.*.status,items.*.error"
# Documents built ahead of the bulk sender: two requests' worth keeps both sides busy.
PREFETCH_DOCS = 2 * BULK_CHUNK_DOCS

_BULK_INDICES = re.compile(r"indices\[(?P<names>[^\]]*)\]")
_BULK_SHARD = re.compile(r"index\[(?P<name>[^\]]+)\]\[\d+\]")

T = TypeVar("T")
Action = tuple[str, dict[str, Any] | str, int | None]  # (id, document or its JSON, version)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """The engine's answer for one document."""

    ok: bool
    superseded: bool  # refused because a later version is already indexed
    error: str | None = None


def bulk_body(index: str, docs: Sequence[Action]) -> str:
    """The NDJSON body that writes ``docs`` into ``index`` (versioned ones as external_gte)."""
    lines: list[str] = []
    for doc_id, document, version in docs:
        action: dict[str, Any] = {"_index": index, "_id": doc_id}
        if version is not None:
            action["version"] = version
            action["version_type"] = "external_gte"
        lines.append(orjson.dumps({"index": action}).decode())
        lines.append(document if isinstance(document, str) else orjson.dumps(document).decode())
    return "\n".join(lines) + "\n"


def read_outcome(result: dict[str, Any]) -> WriteOutcome:
    """One item of a bulk answer: written, superseded (409), or refused with the engine's reason."""
    status = result.get("status", 500)
    if 200 <= status < 300:
        return WriteOutcome(True, False)
    if status == HTTP_CONFLICT:
        return WriteOutcome(False, True)
    error = result.get("error", {})
    reason = error.get("reason", error) if isinstance(error, dict) else error
    return WriteOutcome(False, False, f"engine refused the document: {reason}")


def batched(items: Iterable[T], size_of: Callable[[T], int]) -> Iterator[list[T]]:
    """Bulk batches of at most ``BULK_CHUNK_DOCS`` items and about ``BULK_CHUNK_BYTES`` (the
    bytes of an item as ``size_of`` tells them)."""
    batch: list[T] = []
    size = 0
    for item in items:
        batch.append(item)
        size += size_of(item)
        if len(batch) >= BULK_CHUNK_DOCS or size >= BULK_CHUNK_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def action_size(action: Action) -> int:
    """Roughly the bytes an action's document adds to a bulk body."""
    document = action[1]
    return len(document) if isinstance(document, str) else len(orjson.dumps(document))


def bulk_targets(description: str) -> set[str]:
    """The indices a bulk task writes into, from its description: ``requests[500],
    indices[a, b]`` (the request) or ``requests[500], index[a][0]`` (a shard's part)."""
    if found := _BULK_INDICES.search(description):
        return {name.strip() for name in found["names"].split(",") if name.strip()}
    if found := _BULK_SHARD.search(description):
        return {found["name"]}
    return set()


def prefetch(items: Iterable[T], depth: int = PREFETCH_DOCS) -> Generator[T, None, None]:
    """Iterate ``items`` in a background thread, ``depth`` ahead of the consumer.

    While the sender waits for the engine (the GIL is released on the socket), the producer
    builds the next documents: the Python work and the engine's indexing overlap. When the
    consumer stops early (an error, or it closes the iterator), the producer is told to stop and
    is joined, so no thread is left blocked and the counts it keeps are final afterwards.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
        except BaseException as exc:  # re-raised in the consumer
            errors.append(exc)
        finally:
            buffer.put(done)

    thread = threading.Thread(target=produce, name="ingest-producer", daemon=True)
    thread.start()
    try:
        while (item := buffer.get()) is not done:
            yield item  # type: ignore[misc]
    finally:
        if thread.is_alive():
            stop.set()
            while thread.is_alive():  # unblock a producer waiting for room in the buffer
                with contextlib.suppress(queue.Empty):
                    buffer.get(timeout=0.1)
        thread.join()
    if errors:
        raise errors[0]
