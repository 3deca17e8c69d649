"""GET /healthz against the real engine and the SQLite store."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from common.settings import Settings
from registry.engine import EngineDoor
from search_api.app import create_app


@pytest.fixture
def client(settings: Settings, door: EngineDoor) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_healthz_reports_the_real_cluster(client: TestClient, settings: Settings) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    engine = httpx.get(settings.opensearch_url).json()  # the node's own answer, not our code's
    assert body["status"] == "ok"
    assert body["opensearch"]["distribution"] == "opensearch"
    assert body["opensearch"]["version"] == engine["version"]["number"]
    assert body["opensearch"]["cluster_name"] == engine["cluster_name"]
    assert body["opensearch"]["status"] in {"green", "yellow"}
    assert body["database"] == {"reachable": True, "dialect": "sqlite"}


def test_healthz_is_503_when_the_engine_is_down(settings: Settings) -> None:
    # Nothing listens on port 9 of the loopback: a real connection refusal, not a mock.
    down = settings.model_copy(
        update={"opensearch_url": "http://127.0.0.1:9", "opensearch_timeout_s": 2.0}
    )
    with TestClient(create_app(down)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["opensearch"]["reachable"] is False
    assert response.json()["status"] == "unavailable"
