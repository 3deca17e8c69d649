"""The engine door's bulk writes against a shard without a primary, what a lost node leaves for
a few seconds on a cluster: the engine answers such documents 503, and the door resends them
instead of counting them as refused. On the one test node the shard is made primary-less by an
allocation filter no node meets; the shard wait is shortened so the first attempt ends in 503.
Also: the door alone decides how many replicas a new index gets.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from common.errors import EngineUnavailableError
from common.settings import Settings
from registry.bulk import Action, WriteOutcome, bulk_targets
from registry.engine import BULK_ACTIONS, EngineDoor

DOCS = 20
NOWHERE = "index.routing.allocation.require._name"
WAIT_S = 120.0


@pytest.fixture
def engine(settings: Settings) -> Iterator[httpx.Client]:
    """The test node itself, over plain HTTP (set-up and inspection, not the code under test)."""
    with httpx.Client(base_url=settings.opensearch_hosts[0], timeout=30) as client:
        yield client


@pytest.fixture
def homeless_index(door: EngineDoor, engine: httpx.Client) -> Iterator[str]:
    """An index whose only shard cannot be allocated: no node is called ``nowhere``."""
    index = door.index_name(f"lost-shard-{uuid.uuid4().hex[:8]}")
    body = {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0, NOWHERE: "nowhere"},
        "mappings": {"properties": {"n": {"type": "integer"}}},
    }
    engine.put(f"/{index}", params={"wait_for_active_shards": "0"}, json=body).raise_for_status()
    yield index
    door.drop_index(index)


@pytest.fixture
def short_shard_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine answers 503 after 1 s without a primary (60 s by default); quick resends."""
    monkeypatch.setattr("registry.engine.BULK_SHARD_WAIT_S", 1.0)
    monkeypatch.setattr("registry.engine.BULK_INITIAL_BACKOFF_S", 0.2)


def actions() -> list[Action]:
    return [(f"doc-{n}", {"n": n}, None) for n in range(DOCS)]


def bulk_running(engine: httpx.Client, index: str) -> bool:
    tasks = engine.get("/_tasks", params={"actions": BULK_ACTIONS, "detailed": "true"}).json()
    return any(
        index in bulk_targets(str(task.get("description", "")))
        for node in tasks.get("nodes", {}).values()
        for task in node.get("tasks", {}).values()
    )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.02)


def send_in_background(door: EngineDoor, index: str) -> Future[list[WriteOutcome]]:
    future: Future[list[WriteOutcome]] = Future()

    def run() -> None:
        try:
            future.set_result(door.send(index, actions()))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


@pytest.mark.usefixtures("short_shard_wait")
def test_documents_answered_503_are_resent_until_their_shard_has_a_primary(
    door: EngineDoor, engine: httpx.Client, homeless_index: str
) -> None:
    sent = send_in_background(door, homeless_index)
    # A first attempt runs while the shard has no primary: it can only end in 503.
    wait_until(lambda: bulk_running(engine, homeless_index), "the first bulk attempt runs")
    wait_until(lambda: not bulk_running(engine, homeless_index), "it is answered")
    engine.put(f"/{homeless_index}/_settings", json={NOWHERE: None}).raise_for_status()

    outcomes = sent.result(timeout=WAIT_S)

    assert outcomes == [WriteOutcome(True, False)] * DOCS
    door.refresh(homeless_index)
    assert door.count(homeless_index) == DOCS


@pytest.mark.usefixtures("short_shard_wait")
def test_a_shard_that_never_gets_a_primary_stops_the_batch_instead_of_refusing_documents(
    door: EngineDoor, homeless_index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("registry.engine.BULK_MAX_RETRIES", 1)
    with pytest.raises(EngineUnavailableError, match="503") as raised:
        door.send(homeless_index, actions())
    assert raised.value.engine_status == 503


@pytest.mark.parametrize("replicas", [0, 2])
def test_a_new_index_gets_the_doors_replicas_whatever_its_settings_say(
    settings: Settings, engine: httpx.Client, replicas: int
) -> None:
    door = EngineDoor.connect(
        settings.opensearch_hosts, settings.index_prefix, timeout_s=30, max_retries=0, replicas=0
    )
    alias = door.index_name(f"replicas-{uuid.uuid4().hex[:8]}")
    asked: dict[str, Any] = {"index": {"number_of_shards": 1, "number_of_replicas": replicas}}
    try:
        index = door.create_index(alias, asked, {"properties": {"n": {"type": "integer"}}})
        found = engine.get(f"/{index}/_settings").json()[index]["settings"]["index"]
        assert found["number_of_replicas"] == "0"
    finally:
        door.drop_index(f"{alias}*")
        door.close()


def test_a_search_one_shard_cannot_answer_raises_instead_of_answering_in_part(
    door: EngineDoor,
) -> None:
    # "n" is a number in one index and a word in the other: the query fails on one shard only.
    alias = door.index_name(f"partial-{uuid.uuid4().hex[:8]}")
    shard = {"index": {"number_of_shards": 1, "number_of_replicas": 0}}
    try:
        door.create_index(alias, shard, {"properties": {"n": {"type": "integer"}}})
        door.create_index(alias, shard, {"properties": {"n": {"type": "keyword"}}})
        with pytest.raises(EngineUnavailableError):
            door.search(f"{alias}-*", {"query": {"term": {"n": "not a number"}}})
    finally:
        door.drop_index(f"{alias}*")
