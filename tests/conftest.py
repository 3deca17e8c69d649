"""Session fixtures: the real OpenSearch node, Redis and a throw-away SQL store.

deploy/test.sh starts the services and exports XIANSUO_OPENSEARCH_URL / XIANSUO_REDIS_URL; each
run uses a unique index prefix and deletes its indices afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from common.settings import Settings
from search_api.provider import EngineUnavailableError, OpenSearchProvider

_HOW_TO_START = "start the services with deploy/test.sh (or point XIANSUO_OPENSEARCH_URL at a node)"


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """An index prefix no other run shares."""
    return f"xstest-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def settings(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    return Settings(
        opensearch_url=os.environ.get("XIANSUO_OPENSEARCH_URL", "http://127.0.0.1:9260"),
        redis_url=os.environ.get("XIANSUO_REDIS_URL", "redis://127.0.0.1:6391/0"),
        index_prefix=run_prefix,
        state_dir=state,
        database_url=f"sqlite:///{state / 'test.db'}",
    )


@pytest.fixture(scope="session")
def provider(settings: Settings) -> Iterator[OpenSearchProvider]:
    """The real engine; the whole session fails loudly if it is not there."""
    provider = OpenSearchProvider.from_settings(settings)
    try:
        provider.cluster_state()
    except EngineUnavailableError as exc:
        pytest.fail(f"{exc} at {settings.opensearch_url}: {_HOW_TO_START}", pytrace=False)
    yield provider
    provider.client.indices.delete(index=f"{settings.index_prefix}-*", expand_wildcards="all")
    provider.close()


@pytest.fixture(scope="session")
def os_client(provider: OpenSearchProvider) -> OpenSearch:
    return provider.client


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path
