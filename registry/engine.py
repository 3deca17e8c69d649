"""The one door to OpenSearch: every engine call of the ingest, the graph build and the API.

``EngineDoor`` wraps one opensearch-py client and never hands it out. It offers what the service
needs (search, msearch, scan, count, bulk writes, the life of an index behind an alias, task
listing, cluster state) and translates every engine error here, once, into
``EngineUnavailableError`` (a 503 domain error; ``IndexMissingError`` when the engine answered
404), so callers never import the client's exceptions.

An alias ``<prefix>-<name>`` points at one concrete index ``<alias>-<stamp>``. A rebuild writes a
new index, then ``swap_alias`` points the alias at it in one atomic step and drops every other
index of the alias (also those a crashed rebuild left behind), so searches never see a
half-built index.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import orjson
from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException, SerializationError
from opensearchpy.helpers import scan
from opensearchpy.serializer import JSONSerializer

from common.errors import EngineUnavailableError, IndexMissingError
from common.settings import Settings
from registry.bulk import (
    BULK_ANSWER_FIELDS,
    BULK_CHUNK_DOCS,
    BULK_INITIAL_BACKOFF_S,
    BULK_MAX_RETRIES,
    BULK_SHARD_WAIT_S,
    BULK_WORK_S,
    RETRIED_ITEM_STATUSES,
    Action,
    WriteOutcome,
    action_size,
    batched,
    bulk_body,
    bulk_targets,
    prefetch,
    read_outcome,
)

__all__ = [
    "ClusterState",
    "EngineDoor",
    "EngineUnavailableError",
    "IndexMissingError",
]

ENGINE_DID_NOT_ANSWER = "the search engine did not answer"
ENGINE_ANSWERED_IN_PART = "the search engine could not answer every source"
HTTP_NOT_FOUND = 404
# The API answers people: a short timeout, two retries. The ingest sends large bulk bodies to a
# busy node: a long timeout, retries on timeouts too (its writes are idempotent).
API_RETRIES = 2
# Keep-alive connections per node. urllib3 keeps ONE by default: under concurrent requests every
# other one opened a fresh TCP connection and threw it away ("Connection pool is full"). The API
# runs routes on anyio's 40 worker threads, so up to 40 engine calls are in flight at once.
POOL_CONNECTIONS = 40
INGEST_TIMEOUT_S = 120.0
INGEST_RETRIES = 3
# Documents read per scroll page.
SCAN_PAGE = 1000
# A killed ingest's last bulk request may still run: waited for, polled at this interval.
WRITES_DRAIN_POLL_S = 0.1
WRITES_DRAIN_TIMEOUT_S = 300.0
BULK_ACTIONS = "indices:data/write/bulk*"
REFRESH_OFF = "-1"  # bulk mode: no refreshes while an index is loaded
REFRESH_ON = "1s"
# A new index takes writes once every copy is active: a replica still recovering when its
# primary's node is lost cannot be promoted, and the shard's documents would be unreadable.
ALL_COPIES = "all"


class FastJSONSerializer(JSONSerializer):
    """JSONSerializer on orjson both ways (dumps falls back to its default for unusual types).

    Bulk bodies are most of what the ingest sends, and bulk answers most of what it reads;
    orjson encodes and decodes them several times faster than the standard library.
    """

    def dumps(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        return orjson.dumps(data, default=self.default).decode()

    def loads(self, s: str | bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(s, exc) from exc


@dataclass(frozen=True, slots=True)
class ClusterState:
    """What /healthz reports about the engine."""

    cluster_name: str
    distribution: str
    version: str
    status: str
    number_of_nodes: int


def translate(exc: Exception, detail: str) -> EngineUnavailableError:
    """The domain error for an engine client's error (the one translation of the project)."""
    status = getattr(exc, "status_code", None)
    engine_status = status if isinstance(status, int) else None
    kind = IndexMissingError if engine_status == HTTP_NOT_FOUND else EngineUnavailableError
    return kind(detail, cause=type(exc).__name__, engine_status=engine_status, reason=str(exc))


@contextmanager
def _engine_call(detail: str = ENGINE_DID_NOT_ANSWER) -> Iterator[None]:
    """Around every client call: whatever the client raises leaves as the domain error."""
    try:
        yield
    except (OpenSearchException, OSError) as exc:
        raise translate(exc, detail) from exc


def bulk_params() -> dict[str, Any]:
    """A bulk request's parameters: how long the engine waits for a shard's primary
    (``timeout``), and the client's own timeout beyond it (``request_timeout``: given, so that
    opensearch-py sends ``timeout`` to the engine instead of taking it for its own); the answer
    holds only what ``read_outcome`` reads (``BULK_ANSWER_FIELDS``)."""
    return {
        "timeout": f"{round(BULK_SHARD_WAIT_S * 1000)}ms",
        "request_timeout": BULK_SHARD_WAIT_S + BULK_WORK_S,
        "filter_path": BULK_ANSWER_FIELDS,
    }


def stamped_index(alias: str) -> str:
    """A new concrete index name for ``alias``: ``<alias>-<local time>-<microseconds>``."""
    return f"{alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 10**6:06d}"


class EngineDoor:
    """One opensearch-py client behind the methods the service needs; created once per process."""

    def __init__(self, client: OpenSearch, index_prefix: str, *, replicas: int = 0) -> None:
        self._client = client
        self.index_prefix = index_prefix
        self.replicas = replicas  # of every index this door creates (settings.index_replicas)

    @classmethod
    def connect(
        cls,
        hosts: str | Sequence[str],
        index_prefix: str,
        *,
        timeout_s: float,
        max_retries: int,
        fast_json: bool = False,
        replicas: int = 0,
    ) -> Self:
        """A door to the engine at ``hosts`` (one URL, or a cluster's node URLs: a request that
        cannot reach a node is resent to the next one); nothing is sent until the first call."""
        options: dict[str, Any] = {"serializer": FastJSONSerializer()} if fast_json else {}
        client = OpenSearch(
            hosts=[hosts] if isinstance(hosts, str) else list(hosts),
            timeout=timeout_s,
            max_retries=max_retries,
            retry_on_timeout=True,
            pool_maxsize=POOL_CONNECTIONS,
            **options,
        )
        return cls(client, index_prefix, replicas=replicas)

    @classmethod
    def for_api(cls, settings: Settings) -> Self:
        """The API's door: the settings' timeout, few retries."""
        return cls.connect(
            settings.opensearch_hosts,
            settings.index_prefix,
            timeout_s=settings.opensearch_timeout_s,
            max_retries=API_RETRIES,
            replicas=settings.index_replicas,
        )

    @classmethod
    def for_ingest(cls, settings: Settings) -> Self:
        """The door of bulk loads and the graph build: long timeout, retries, orjson bodies."""
        return cls.connect(
            settings.opensearch_hosts,
            settings.index_prefix,
            timeout_s=INGEST_TIMEOUT_S,
            max_retries=INGEST_RETRIES,
            fast_json=True,
            replicas=settings.index_replicas,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def index_name(self, suffix: str) -> str:
        """The full name of one of our indices or aliases (prefix + suffix)."""
        return f"{self.index_prefix}-{suffix}"

    # --- health ---------------------------------------------------------------------------

    def cluster_state(self) -> ClusterState:
        """Cluster name, version and health; EngineUnavailableError if unreachable."""
        try:
            info: dict[str, Any] = self._client.info()
            health: dict[str, Any] = self._client.cluster.health()
        except (OpenSearchException, OSError) as exc:
            raise translate(exc, f"OpenSearch is unreachable: {type(exc).__name__}") from exc
        version = info.get("version", {})
        return ClusterState(
            cluster_name=str(info.get("cluster_name", "")),
            distribution=str(version.get("distribution", "elasticsearch")),
            version=str(version.get("number", "")),
            status=str(health.get("status", "red")),
            number_of_nodes=int(health.get("number_of_nodes", 0)),
        )

    # --- reads ----------------------------------------------------------------------------

    def search(
        self, index: str, body: dict[str, Any], *, ignore_unavailable: bool = False
    ) -> dict[str, Any]:
        """One search; ``ignore_unavailable`` skips named indices that do not exist.

        A search some shard could not answer (its node was lost mid-query, or the query failed
        on one index) raises instead of returning the other shards' hits as the whole answer.
        """
        params = {"allow_partial_search_results": "false"}
        if ignore_unavailable:
            params["ignore_unavailable"] = "true"
        with _engine_call():
            result: dict[str, Any] = self._client.search(index=index, body=body, params=params)
        return result

    def msearch(self, lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several searches in one request (header and body lines); one answer each, in order.

        An answer may hold an ``error`` of its own: the request as a whole still succeeded.
        """
        if not lines:
            return []
        with _engine_call():
            answers: list[dict[str, Any]] = self._client.msearch(body=list(lines))["responses"]
        return answers

    def msearch_all(self, lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """As ``msearch``, but every search must be answered: an answer holding its own error
        raises ``EngineUnavailableError`` (the first such error's type as its ``cause``), so no
        caller reads a partial result as a whole one."""
        answers = self.msearch(lines)
        if failed := [a for a in answers if "error" in a]:
            error, status = failed[0]["error"], failed[0].get("status")
            raise EngineUnavailableError(
                ENGINE_ANSWERED_IN_PART,
                cause=str(error.get("type", "search error")),
                engine_status=status if isinstance(status, int) else None,
                reason=str(error.get("reason", "")),
            )
        return answers

    def count(self, index: str, body: dict[str, Any] | None = None) -> int:
        """How many documents of ``index`` match ``body``'s query (all without one)."""
        with _engine_call():
            return int(self._client.count(index=index, body=body)["count"])

    def scan(
        self, index: str, body: dict[str, Any] | None = None, *, page: int = SCAN_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every hit of ``body`` (all documents without one) over a scroll, unordered."""
        query = body if body is not None else {"query": {"match_all": {}}}
        with _engine_call():
            yield from scan(self._client, index=index, query=query, size=page)

    def fetch(
        self, index: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The ``_source`` (only ``fields`` when given) of the documents of ``ids`` that exist
        (a real-time read)."""
        found: dict[str, dict[str, Any]] = {}
        options: dict[str, Any] = {} if fields is None else {"_source_includes": list(fields)}
        for start in range(0, len(ids), BULK_CHUNK_DOCS):
            body = {"ids": list(ids[start : start + BULK_CHUNK_DOCS])}
            with _engine_call():
                docs = self._client.mget(index=index, body=body, realtime=True, **options)["docs"]
            found.update((doc["_id"], doc["_source"]) for doc in docs if doc.get("found"))
        return found

    def exists(self, index: str) -> bool:
        """Whether an index or alias of that name (or matching that pattern) exists."""
        with _engine_call():
            return bool(self._client.indices.exists(index=index))

    def indices(self, pattern: str) -> list[str]:
        """The concrete indices matching ``pattern`` (hidden and closed ones too), sorted."""
        with _engine_call():
            found = self._client.indices.get(
                index=pattern, expand_wildcards="all", ignore_unavailable=True
            )
        return sorted(str(name) for name in found)

    def aliased_index(self, alias: str) -> str | None:
        """The index ``alias`` points at now, or None when there is no such alias."""
        with _engine_call():
            if not self._client.indices.exists_alias(name=alias):
                return None
            return str(next(iter(self._client.indices.get_alias(name=alias))))

    def mappings(self, index: str) -> dict[str, dict[str, Any]]:
        """The mappings of every index ``index`` names (an alias, a pattern), by index."""
        with _engine_call():
            found = self._client.indices.get_mapping(index=index)
        return {str(name): dict(entry["mappings"]) for name, entry in found.items()}

    def analyze(self, index: str, body: dict[str, Any]) -> list[str]:
        """The tokens an analyzer of ``index`` makes of a text, in order."""
        with _engine_call():
            result = self._client.indices.analyze(index=index, body=body)
        return [str(token["token"]) for token in result["tokens"]]

    def primaries_stats(self, index: str, metric: str) -> dict[str, Any]:
        """Index statistics (``metric``: e.g. ``indexing``, ``store,segments``) of the primary
        shards of every index ``index`` names, summed."""
        with _engine_call():
            stats = self._client.indices.stats(index=index, metric=metric)
        return dict(stats["_all"].get("primaries", {}))  # empty when nothing matches

    # --- writes ---------------------------------------------------------------------------

    def send(self, index: str, docs: Sequence[Action]) -> list[WriteOutcome]:
        """Bulk-write one batch of (id, document, version) triples; one outcome each, in order.

        A batch must not hold one id twice (the caller keeps the winner): documents the engine
        answers with 429 (its queue is full) or 503 (their shard has no primary yet: a node was
        lost) are sent again on their own, which would otherwise reorder writes of one record.
        After ``BULK_MAX_RETRIES`` such answers, or when the engine cannot be reached,
        ``EngineUnavailableError`` is raised: nothing is known to be refused.
        """
        outcomes: list[WriteOutcome | None] = [None] * len(docs)
        todo = list(range(len(docs)))
        for attempt in range(BULK_MAX_RETRIES + 1):
            if attempt:
                time.sleep(BULK_INITIAL_BACKOFF_S * 2 ** (attempt - 1))
            body = bulk_body(index, [docs[i] for i in todo])
            with _engine_call("the engine did not take a bulk request"):
                items = self._client.bulk(body=body, params=bulk_params())["items"]
            busy = []
            statuses: set[int] = set()
            for position, item in zip(todo, items, strict=True):
                result = item.get("index", {})
                if (status := result.get("status")) in RETRIED_ITEM_STATUSES:
                    busy.append(position)
                    statuses.add(status)
                else:
                    outcomes[position] = read_outcome(result)
            if not busy:
                return [o for o in outcomes if o is not None]
            todo = busy
        raise EngineUnavailableError(
            f"the engine answered {len(todo)} documents "
            f"{'/'.join(str(s) for s in sorted(statuses))} (overloaded or shard unavailable) "
            f"{BULK_MAX_RETRIES + 1} times",
            engine_status=max(statuses),
        )

    def write(self, index: str, docs: Iterable[Action]) -> Iterator[WriteOutcome]:
        """Bulk-write (id, document, version) triples in batches, the next batch built while one
        is sent; one outcome per document, in order. Ids must not repeat within
        ``BULK_CHUNK_DOCS`` documents (see ``send``)."""
        for batch in prefetch(batched(docs, action_size), depth=2):
            yield from self.send(index, batch)

    # --- the life of an index behind an alias ---------------------------------------------

    def create_index(self, alias: str, settings: dict[str, Any], mappings: dict[str, Any]) -> str:
        """A new, empty index for ``alias`` (not yet behind it); returns its name.

        It gets the door's ``replicas`` whatever ``settings`` say (one place decides: 0 on a
        single node, 1 on a cluster), and is returned once every copy is active.
        """
        index = stamped_index(alias)
        copies = {
            **settings,
            "index": {**settings.get("index", {}), "number_of_replicas": self.replicas},
        }
        with _engine_call():
            self._client.indices.create(
                index=index,
                body={"settings": copies, "mappings": mappings},
                params={"wait_for_active_shards": ALL_COPIES},
            )
        return index

    def current_index(self, alias: str, settings: dict[str, Any], mappings: dict[str, Any]) -> str:
        """The index ``alias`` points at, created (and aliased) on first use.

        Fields ``mappings`` gained since the index was made are added to it (a strict mapping
        would refuse documents carrying them); a changed field needs a rebuild.
        """
        index = self.aliased_index(alias)
        if index is not None:
            self.add_missing_fields(index, mappings)
            return index
        index = self.create_index(alias, settings, mappings)
        with _engine_call():
            self._client.indices.put_alias(index=index, name=alias)
        return index

    def add_missing_fields(self, index: str, mappings: dict[str, Any]) -> None:
        """Put the top-level fields of ``mappings`` that ``index`` lacks."""
        have = self.mappings(index)[index].get("properties", {})
        wanted: dict[str, Any] = mappings["properties"]
        if missing := {name: field for name, field in wanted.items() if name not in have}:
            with _engine_call():
                self._client.indices.put_mapping(index=index, body={"properties": missing})

    def swap_alias(self, alias: str, index: str) -> None:
        """Point ``alias`` at ``index`` in one atomic step and drop every other index of it,
        including those a crashed rebuild left behind (never aliased)."""
        with _engine_call():
            old = (
                list(self._client.indices.get_alias(name=alias))
                if self._client.indices.exists_alias(name=alias)
                else []
            )
            actions: list[dict[str, Any]] = [{"add": {"index": index, "alias": alias}}]
            actions += [{"remove": {"index": n, "alias": alias}} for n in old if n != index]
            self._client.indices.update_aliases(body={"actions": actions})
        for name in self.indices(f"{alias}-*"):
            if name != index:
                self.drop_index(name)

    def drop_index(self, index: str) -> None:
        """Delete an index (or every index a pattern matches); a missing one is no error."""
        with _engine_call():
            self._client.indices.delete(
                index=index, ignore_unavailable=True, expand_wildcards="all"
            )

    def set_bulk_mode(self, index: str, on: bool) -> None:
        """No refreshes during a load; restore them afterwards (then ``refresh``)."""
        interval = REFRESH_OFF if on else REFRESH_ON
        with _engine_call():
            self._client.indices.put_settings(
                index=index, body={"index": {"refresh_interval": interval}}
            )

    def refresh(self, index: str) -> None:
        """Make everything written into ``index`` searchable now."""
        with _engine_call():
            self._client.indices.refresh(index=index)

    def merge_segments(self, index: str, max_segments: int = 1) -> None:
        """Force-merge ``index`` down to ``max_segments`` per shard (comparable store sizes)."""
        with _engine_call():
            self._client.indices.forcemerge(index=index, max_num_segments=max_segments)

    # --- tasks ----------------------------------------------------------------------------

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
        with _engine_call():
            tasks = self._client.tasks.list(actions=BULK_ACTIONS, detailed=True)
        return any(
            index in bulk_targets(str(task.get("description", "")))
            for node in tasks.get("nodes", {}).values()
            for task in node.get("tasks", {}).values()
        )
