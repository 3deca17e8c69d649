"""The bulk sink: one index per source behind an alias, deterministic ids, supersede by version.

A source's alias ``<prefix>-<source>`` points at one concrete index ``<alias>-<stamp>``. Ingest
writes into the current index (creating it on first use); a full reload builds a new index and
swaps the alias atomically, so searches never see a half-built index.

Records with a version date are written with ``version_type=external_gte``: the engine itself
keeps the later 登记日期, and re-writing the same record is accepted (idempotent re-ingest).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from opensearchpy import OpenSearch
from opensearchpy.helpers import streaming_bulk

from analyzers.index_settings import index_settings
from indexer.mapping import source_mapping
from indexer.sources import SourceSpec

# 500 documents (~0.5-1 MB) per request keeps a 1 GB node busy without queueing on 2 cores.
BULK_CHUNK_DOCS = 500
BULK_CHUNK_BYTES = 8 * 1024 * 1024
# 429 (queue full) is retried with exponential back-off from 1 s: the engine's back-pressure.
BULK_MAX_RETRIES = 6
# Documents built ahead of the bulk sender: two requests' worth keeps both sides busy.
PREFETCH_DOCS = 2 * BULK_CHUNK_DOCS

T = TypeVar("T")


def prefetch(items: Iterable[T], depth: int = PREFETCH_DOCS) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` ahead of the consumer.

    While the sender waits for the engine (the GIL is released on the socket), the producer
    builds the next documents: the Python work and the engine's indexing overlap.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    done = object()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for item in items:
                buffer.put(item)
        except BaseException as exc:  # re-raised in the consumer
            errors.append(exc)
        finally:
            buffer.put(done)

    thread = threading.Thread(target=produce, name="ingest-producer", daemon=True)
    thread.start()
    while (item := buffer.get()) is not done:
        yield item  # type: ignore[misc]
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

    def write(
        self, index: str, docs: Iterable[tuple[str, dict[str, Any] | str, int | None]]
    ) -> Iterator[WriteOutcome]:
        """Bulk-write (id, document, version) triples; one outcome per document, in order."""

        def actions() -> Iterator[dict[str, Any]]:
            for doc_id, document, version in docs:
                action: dict[str, Any] = {"_index": index, "_id": doc_id, "_source": document}
                if version is not None:
                    action["version"] = version
                    action["version_type"] = "external_gte"
                yield action

        for ok, item in streaming_bulk(
            self._client,
            prefetch(actions()),
            chunk_size=BULK_CHUNK_DOCS,
            max_chunk_bytes=BULK_CHUNK_BYTES,
            max_retries=BULK_MAX_RETRIES,
            initial_backoff=1,
            raise_on_error=False,
            raise_on_exception=False,
        ):
            result = item.get("index", {})
            if ok:
                yield WriteOutcome(True, False)
            elif result.get("status") == 409:
                yield WriteOutcome(False, True)
            else:
                error = result.get("error", {})
                reason = error.get("reason", error) if isinstance(error, dict) else error
                yield WriteOutcome(False, False, f"engine refused the document: {reason}")
