"""The one narrow door to OpenSearch: every engine call of the API goes through this object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException

from common.settings import Settings


class EngineUnavailableError(Exception):
    """OpenSearch did not answer; the API maps this to 503."""


@dataclass(frozen=True, slots=True)
class ClusterState:
    """What /healthz reports about the engine."""

    cluster_name: str
    distribution: str
    version: str
    status: str
    number_of_nodes: int


class OpenSearchProvider:
    """Wraps one opensearch-py client; created once per process from the settings."""

    def __init__(self, client: OpenSearch, index_prefix: str) -> None:
        self._client = client
        self.index_prefix = index_prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenSearchProvider:
        client = OpenSearch(
            hosts=[settings.opensearch_url],
            timeout=settings.opensearch_timeout_s,
            max_retries=2,
            retry_on_timeout=True,
        )
        return cls(client, settings.index_prefix)

    @property
    def client(self) -> OpenSearch:
        """The raw client, for the indexer's bulk helpers and for tests."""
        return self._client

    def index_name(self, suffix: str) -> str:
        """The full name of one of our indices or aliases (prefix + suffix)."""
        return f"{self.index_prefix}-{suffix}"

    def cluster_state(self) -> ClusterState:
        """Cluster name, version and health; raises EngineUnavailableError if unreachable."""
        try:
            info: dict[str, Any] = self._client.info()
            health: dict[str, Any] = self._client.cluster.health()
        except (OpenSearchException, OSError) as exc:
            raise EngineUnavailableError(
                f"OpenSearch is unreachable: {type(exc).__name__}"
            ) from exc
        version = info.get("version", {})
        return ClusterState(
            cluster_name=str(info.get("cluster_name", "")),
            distribution=str(version.get("distribution", "elasticsearch")),
            version=str(version.get("number", "")),
            status=str(health.get("status", "red")),
            number_of_nodes=int(health.get("number_of_nodes", 0)),
        )

    def close(self) -> None:
        self._client.close()
