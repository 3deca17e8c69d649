"""The bulk sink: one index per source behind an alias, deterministic ids, supersede by version.

A source's alias ``<prefix>-<source>`` points at one concrete index ``<alias>-<stamp>``. Ingest
writes into the current index (creating it on first use); a full reload builds a new index and
swaps the alias atomically, so searches never see a half-built index.

Records with a version date are written with ``version_type=external_gte``: the engine itself
keeps the later 登记日期, and re-writing the same record is accepted (idempotent re-ingest).
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException
from opensearchpy.helpers import scan

from analyzers.index_settings import index_settings
from registry.mapping import source_mapping
from registry.sources import SourceSpec

# 500 documents (~0.5-1 MB) per request keeps a 1 GB node busy without queueing on 2 cores.
BULK_CHUNK_DOCS = 500
BULK_CHUNK_BYTES = 8 * 1024 * 1024
# 429 (queue full) is retried with exponential back-off from 1 s: the engine's back-pressure.
BULK_MAX_RETRIES = 6
BULK_INITIAL_BACKOFF_S = 1.0
HTTP_CONFLICT = 409  # external_gte: the index holds a later version
HTTP_TOO_MANY_REQUESTS = 429
# Documents built ahead of the bulk sender: two requests' worth keeps both sides busy.
PREFETCH_DOCS = 2 * BULK_CHUNK_DOCS

# A killed ingest's last bulk request may still run: waited for, polled at this interval.
WRITES_DRAIN_POLL_S = 0.1
WRITES_DRAIN_TIMEOUT_S = 300.0
BULK_ACTIONS = "indices:data/write/bulk*"
_BULK_INDICES = re.compile(r"indices\[(?P<names>[^\]]*)\]")
_BULK_SHARD = re.compile(r"index\[(?P<name>[^\]]+)\]\[\d+\]")

T = TypeVar("T")
Action = tuple[str, dict[str, Any] | str, int | None]  # (id, document or its JSON, version)


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


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """The engine's answer for one document."""

    ok: bool
    superseded: bool  # refused because a later version is already indexed
    error: str | None = None


class IndexSink:
    """Creates and swaps source indices and bulk-writes documents into them."""

    def __init__(self, client: OpenSearch, index_prefix: str) -> None:
        self._client = client
        self._prefix = index_prefix

    def alias(self, spec: SourceSpec) -> str:
        return f"{self._prefix}-{spec.source}"

    def current_index(self, spec: SourceSpec) -> str:
        """The index the alias points at, created (and aliased) on first use."""
        alias = self.alias(spec)
        if self._client.indices.exists_alias(name=alias):
            index = str(next(iter(self._client.indices.get_alias(name=alias))))
            self._add_new_fields(spec, index)
            return index
        index = self.create_index(spec)
        self._client.indices.put_alias(index=index, name=alias)
        return index

    def _add_new_fields(self, spec: SourceSpec, index: str) -> None:
        """Add the fields a source gained since ``index`` was made (a petition's vector field):
        a strict mapping would refuse documents carrying them. Changed fields need a reload."""
        mapping = self._client.indices.get_mapping(index=index)[index]["mappings"]
        have = mapping.get("properties", {})
        wanted = source_mapping(spec)["properties"]
        if missing := {name: field for name, field in wanted.items() if name not in have}:
            self._client.indices.put_mapping(index=index, body={"properties": missing})

    def create_index(self, spec: SourceSpec) -> str:
        """A new, empty index for ``spec`` (not yet behind the alias)."""
        index = f"{self.alias(spec)}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 10**6:06d}"
        self._client.indices.create(
            index=index, body={"settings": index_settings(), "mappings": source_mapping(spec)}
        )
        return index

    def swap_alias(self, spec: SourceSpec, index: str) -> None:
        """Point the alias at ``index`` in one atomic step and drop every other index of it.

        Indices a crashed reload left behind (never aliased) are dropped too.
        """
        alias = self.alias(spec)
        old = (
            list(self._client.indices.get_alias(name=alias))
            if self._client.indices.exists_alias(name=alias)
            else []
        )
        actions: list[dict[str, Any]] = [{"add": {"index": index, "alias": alias}}]
        actions += [{"remove": {"index": name, "alias": alias}} for name in old if name != index]
        self._client.indices.update_aliases(body={"actions": actions})
        for name in self._client.indices.get(index=f"{alias}-*", expand_wildcards="all"):
            if name != index:
                self._client.indices.delete(index=name)

    def set_bulk_mode(self, index: str, on: bool) -> None:
        """No refreshes during a full load; restore them (and refresh) afterwards."""
        interval = "-1" if on else "1s"
        self._client.indices.put_settings(
            index=index, body={"index": {"refresh_interval": interval}}
        )

    def refresh(self, index: str) -> None:
        self._client.indices.refresh(index=index)

    def aliased_index(self, spec: SourceSpec) -> str | None:
        """The index the alias points at now, or None when the source has no index yet."""
        alias = self.alias(spec)
        if not self._client.indices.exists_alias(name=alias):
            return None
        return str(next(iter(self._client.indices.get_alias(name=alias))))

    def delete_index(self, index: str) -> None:
        """Drop an index that never went behind the alias (a failed reload's)."""
        self._client.indices.delete(index=index, ignore_unavailable=True)

    def fetch(self, index: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The ``_source`` of the documents of ``ids`` that exist (a real-time read)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), BULK_CHUNK_DOCS):
            body = {"ids": list(ids[start : start + BULK_CHUNK_DOCS])}
            for doc in self._client.mget(index=index, body=body, realtime=True)["docs"]:
                if doc.get("found"):
                    found[doc["_id"]] = doc["_source"]
        return found

    def wait_for_writes(self, index: str, timeout_s: float = WRITES_DRAIN_TIMEOUT_S) -> None:
        """Return once the engine runs no bulk write into ``index``.

        A bulk request the engine received keeps running after its sender died: a process that
        reads what a killed ingest left must wait for it, or the write lands after the read.
        """
        deadline = time.monotonic() + timeout_s
        while self._writing_into(index):
            if time.monotonic() > deadline:
                raise EngineUnavailableError(
                    f"bulk writes into {index} still running after {timeout_s:.0f} s"
                )
            time.sleep(WRITES_DRAIN_POLL_S)

    def _writing_into(self, index: str) -> bool:
        tasks = self._client.tasks.list(actions=BULK_ACTIONS, detailed=True)
        return any(
            index in bulk_targets(str(task.get("description", "")))
            for node in tasks.get("nodes", {}).values()
            for task in node.get("tasks", {}).values()
        )

    def scan(self, index: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (id, _source) of ``index``, refreshed first."""
        self.refresh(index)
        for hit in scan(self._client, index=index, query={"query": {"match_all": {}}}):
            yield hit["_id"], hit["_source"]

    def send(self, index: str, docs: Sequence[Action]) -> list[WriteOutcome]:
        """Bulk-write one batch of (id, document, version) triples; one outcome each, in order.

        A batch must not hold one id twice (the caller keeps the winner): documents the engine
        answers with 429 (its queue is full) are sent again on their own, which would otherwise
        reorder writes of one record. After ``BULK_MAX_RETRIES`` such answers, or when the engine
        cannot be reached, ``EngineUnavailableError`` is raised: nothing is known to be refused.
        """
        outcomes: list[WriteOutcome | None] = [None] * len(docs)
        todo = list(range(len(docs)))
        for attempt in range(BULK_MAX_RETRIES + 1):
            if attempt:
                time.sleep(BULK_INITIAL_BACKOFF_S * 2 ** (attempt - 1))
            try:
                items = self._client.bulk(body=_bulk_body(index, [docs[i] for i in todo]))["items"]
            except OpenSearchException as exc:
                raise EngineUnavailableError(
                    f"the engine did not take a bulk request: {exc}"
                ) from exc
            busy = []
            for position, item in zip(todo, items, strict=True):
                result = item.get("index", {})
                if result.get("status") == HTTP_TOO_MANY_REQUESTS:
                    busy.append(position)
                else:
                    outcomes[position] = _outcome(result)
            if not busy:
                return [o for o in outcomes if o is not None]
            todo = busy
        raise EngineUnavailableError(
            f"the engine refused {len(todo)} documents as overloaded (429) "
            f"{BULK_MAX_RETRIES + 1} times"
        )

    def write(self, index: str, docs: Iterable[Action]) -> Iterator[WriteOutcome]:
        """Bulk-write (id, document, version) triples in batches; one outcome per document, in
        order. Ids must not repeat within ``BULK_CHUNK_DOCS`` documents (see ``send``)."""
        for batch in prefetch(batched(docs), depth=2):
            yield from self.send(index, batch)


def bulk_targets(description: str) -> set[str]:
    """The indices a bulk task writes into, from its description: ``requests[500],
    indices[a, b]`` (the request) or ``requests[500], index[a][0]`` (a shard's part)."""
    if found := _BULK_INDICES.search(description):
        return {name.strip() for name in found["names"].split(",") if name.strip()}
    if found := _BULK_SHARD.search(description):
        return {found["name"]}
    return set()


class EngineUnavailableError(RuntimeError):
    """The engine did not answer a bulk request (down, timing out or overloaded)."""


def _bulk_body(index: str, docs: Sequence[Action]) -> str:
    lines: list[str] = []
    for doc_id, document, version in docs:
        action: dict[str, Any] = {"_index": index, "_id": doc_id}
        if version is not None:
            action["version"] = version
            action["version_type"] = "external_gte"
        lines.append(orjson.dumps({"index": action}).decode())
        lines.append(document if isinstance(document, str) else orjson.dumps(document).decode())
    return "\n".join(lines) + "\n"


def _outcome(result: dict[str, Any]) -> WriteOutcome:
    status = result.get("status", 500)
    if 200 <= status < 300:
        return WriteOutcome(True, False)
    if status == HTTP_CONFLICT:
        return WriteOutcome(False, True)
    error = result.get("error", {})
    reason = error.get("reason", error) if isinstance(error, dict) else error
    return WriteOutcome(False, False, f"engine refused the document: {reason}")


def document_size(document: dict[str, Any] | str) -> int:
    """Roughly the bytes a document adds to a bulk body."""
    return len(document) if isinstance(document, str) else len(orjson.dumps(document))


def batched(docs: Iterable[Action]) -> Iterator[list[Action]]:
    """Bulk batches of at most ``BULK_CHUNK_DOCS`` documents and about ``BULK_CHUNK_BYTES``."""
    batch: list[Action] = []
    size = 0
    for doc in docs:
        batch.append(doc)
        size += document_size(doc[1])
        if len(batch) >= BULK_CHUNK_DOCS or size >= BULK_CHUNK_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
