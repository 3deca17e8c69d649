"""The engine door on the real engine: the alias lifecycle, bulk outcomes, reads, and the one
translation of engine errors (a door at a closed port, indices that do not exist)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from common.errors import DomainError, EngineUnavailableError, IndexMissingError
from common.settings import Settings
from registry.bulk import BULK_CHUNK_DOCS, Action, WriteOutcome
from registry.engine import EngineDoor

SETTINGS: dict[str, Any] = {"index": {"number_of_shards": 1, "number_of_replicas": 0}}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {"name": {"type": "keyword"}, "n": {"type": "integer"}},
}
WITH_NOTE: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {**MAPPINGS["properties"], "note": {"type": "keyword"}},
}
# Nothing listens on port 9 of the loopback: a real connection refusal.
CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def alias(door: EngineDoor) -> Iterator[str]:
    """An alias of this test only; its indices are dropped afterwards."""
    name = door.index_name(f"door-{uuid.uuid4().hex[:8]}")
    yield name
    door.drop_index(f"{name}*")


@pytest.fixture
def index(door: EngineDoor, alias: str) -> str:
    """An index behind ``alias`` with the strict test mapping."""
    return door.current_index(alias, SETTINGS, MAPPINGS)


@pytest.fixture(scope="module")
def dead(settings: Settings) -> Iterator[EngineDoor]:
    door = EngineDoor.connect(CLOSED_PORT, settings.index_prefix, timeout_s=2, max_retries=0)
    yield door
    door.close()


def doc(name: str, n: int = 1) -> dict[str, Any]:
    return {"name": name, "n": n}


# --- the life of an index behind an alias ---------------------------------------------------


def test_a_created_index_is_stamped_and_not_yet_behind_the_alias(
    door: EngineDoor, alias: str
) -> None:
    index = door.create_index(alias, SETTINGS, MAPPINGS)
    assert index.startswith(f"{alias}-")
    assert door.exists(index)
    assert door.aliased_index(alias) is None


def test_the_current_index_is_created_and_aliased_on_first_use_then_kept(
    door: EngineDoor, alias: str
) -> None:
    first = door.current_index(alias, SETTINGS, MAPPINGS)
    assert door.aliased_index(alias) == first
    assert door.current_index(alias, SETTINGS, MAPPINGS) == first
    assert door.indices(f"{alias}-*") == [first]


def test_the_current_index_gains_the_fields_the_mapping_gained(
    door: EngineDoor, alias: str, index: str
) -> None:
    assert door.current_index(alias, SETTINGS, WITH_NOTE) == index
    assert door.mappings(alias)[index]["properties"]["note"] == {"type": "keyword"}
    assert door.send(index, [("1", {"name": "a", "note": "x"}, None)])[0].ok


def test_a_swap_points_the_alias_at_the_new_index_and_drops_the_others(
    door: EngineDoor, alias: str, index: str
) -> None:
    leftover = door.create_index(alias, SETTINGS, MAPPINGS)  # a crashed rebuild's, never aliased
    rebuilt = door.create_index(alias, SETTINGS, MAPPINGS)
    door.send(rebuilt, [("1", doc("rebuilt"), None)])
    door.refresh(rebuilt)
    door.swap_alias(alias, rebuilt)
    assert door.aliased_index(alias) == rebuilt
    assert door.indices(f"{alias}-*") == [rebuilt]
    assert not door.exists(index)
    assert not door.exists(leftover)
    hits = door.search(alias, {"query": {"match_all": {}}})["hits"]["hits"]
    assert [h["_source"]["name"] for h in hits] == ["rebuilt"]


def test_a_swap_onto_a_fresh_alias_creates_it(door: EngineDoor, alias: str) -> None:
    index = door.create_index(alias, SETTINGS, MAPPINGS)
    door.swap_alias(alias, index)
    assert door.aliased_index(alias) == index


def test_in_bulk_mode_writes_are_searchable_only_after_a_refresh(
    door: EngineDoor, index: str
) -> None:
    door.set_bulk_mode(index, True)
    door.send(index, [("1", doc("a"), None)])
    assert door.count(index) == 0
    door.set_bulk_mode(index, False)
    door.refresh(index)
    assert door.count(index) == 1


def test_dropping_an_index_that_does_not_exist_is_no_error(door: EngineDoor, alias: str) -> None:
    door.drop_index(f"{alias}-never-made")
    assert not door.exists(f"{alias}-never-made")


# --- bulk outcomes --------------------------------------------------------------------------

HELD_VERSION = 5


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (("new", doc("new"), None), WriteOutcome(True, False)),
        (("held", doc("later"), HELD_VERSION + 1), WriteOutcome(True, False)),
        # external_gte: the same version is written again (an idempotent re-ingest)
        (("held", doc("again"), HELD_VERSION), WriteOutcome(True, False)),
        (("held", doc("earlier"), HELD_VERSION - 1), WriteOutcome(False, True)),
    ],
    ids=["new", "later-version", "same-version", "earlier-version-superseded"],
)
def test_a_write_is_answered_by_the_engine_s_decision(
    door: EngineDoor, index: str, action: Action, expected: WriteOutcome
) -> None:
    assert door.send(index, [("held", doc("held"), HELD_VERSION)])[0].ok
    assert door.send(index, [action]) == [expected]


def test_a_refused_document_carries_the_engine_s_reason(door: EngineDoor, index: str) -> None:
    (outcome,) = door.send(index, [("x", {"name": "a", "complainant": "b"}, None)])
    assert (outcome.ok, outcome.superseded) == (False, False)
    assert outcome.error is not None
    assert outcome.error.startswith("engine refused the document: ")
    assert "complainant" in outcome.error
    assert door.fetch(index, ["x"]) == {}


def test_a_superseded_write_leaves_the_later_version_in_place(door: EngineDoor, index: str) -> None:
    door.send(index, [("r", doc("later"), 9)])
    door.send(index, [("r", doc("earlier"), 3)])
    assert door.fetch(index, ["r"]) == {"r": doc("later")}


def test_a_streamed_write_answers_every_document_in_order_across_batches(
    door: EngineDoor, index: str
) -> None:
    total = 2 * BULK_CHUNK_DOCS + 7
    refused = {i for i in range(total) if i % 97 == 0}
    actions: list[Action] = [
        (str(i), {"name": "a", "bad": 1} if i in refused else doc(f"n{i}", i), None)
        for i in range(total)
    ]
    outcomes = list(door.write(index, iter(actions)))
    assert [i for i, o in enumerate(outcomes) if not o.ok] == sorted(refused)
    door.refresh(index)
    assert door.count(index) == total - len(refused)


# --- reads ----------------------------------------------------------------------------------


def test_fetch_reads_written_documents_before_any_refresh(door: EngineDoor, index: str) -> None:
    door.set_bulk_mode(index, True)
    door.send(index, [("a", doc("a"), None), ("b", doc("b"), None)])
    assert door.fetch(index, ["a", "b", "missing"]) == {"a": doc("a"), "b": doc("b")}


def test_scan_returns_every_document_over_several_pages(door: EngineDoor, index: str) -> None:
    list(door.write(index, ((str(i), doc("s", i), None) for i in range(250))))
    door.refresh(index)
    hits = list(door.scan(index, page=100))
    assert sorted(h["_source"]["n"] for h in hits) == list(range(250))


def test_msearch_answers_each_search_in_order_with_its_own_errors(
    door: EngineDoor, index: str, alias: str
) -> None:
    door.send(index, [("1", doc("a"), None)])
    door.refresh(index)
    answers = door.msearch(
        [
            {"index": alias},
            {"query": {"match_all": {}}},
            {"index": f"{alias}-missing"},
            {"query": {"match_all": {}}},
        ]
    )
    assert answers[0]["hits"]["total"]["value"] == 1
    assert answers[1]["error"]["type"] == "index_not_found_exception"


def test_msearch_all_raises_when_one_search_fails(door: EngineDoor, index: str, alias: str) -> None:
    door.send(index, [("1", doc("a"), None)])
    door.refresh(index)
    lines = [
        {"index": alias},
        {"query": {"match_all": {}}},
        {"index": f"{alias}-missing"},
        {"query": {"match_all": {}}},
    ]
    with pytest.raises(EngineUnavailableError) as raised:
        door.msearch_all(lines)
    error = raised.value
    assert (error.status, error.detail, error.cause, error.engine_status) == (
        503,
        "the search engine could not answer every source",
        "index_not_found_exception",
        404,
    )


def test_a_search_may_skip_indices_that_do_not_exist(door: EngineDoor, alias: str) -> None:
    result = door.search(f"{alias}-missing", {"query": {"match_all": {}}}, ignore_unavailable=True)
    assert result["hits"]["hits"] == []


# --- errors, translated once ----------------------------------------------------------------


def test_a_search_of_a_missing_index_is_an_index_missing_error(
    door: EngineDoor, alias: str
) -> None:
    with pytest.raises(IndexMissingError) as raised:
        door.search(f"{alias}-missing", {"query": {"match_all": {}}})
    assert (raised.value.status, raised.value.engine_status) == (503, 404)
    assert raised.value.cause == "NotFoundError"


def test_a_query_the_engine_refuses_is_translated_with_its_status(
    door: EngineDoor, index: str
) -> None:
    with pytest.raises(EngineUnavailableError) as raised:
        door.search(index, {"query": {"no_such_query": {}}})
    error = raised.value
    assert not isinstance(error, IndexMissingError)
    assert (error.engine_status, error.cause) == (400, "RequestError")
    assert error.detail == "the search engine did not answer"  # the engine's text stays out
    assert "no_such_query" in error.reason


DEAD_CALLS: dict[str, Callable[[EngineDoor], object]] = {
    "search": lambda d: d.search("x", {"query": {"match_all": {}}}),
    "msearch": lambda d: d.msearch([{"index": "x"}, {"query": {"match_all": {}}}]),
    "msearch_all": lambda d: d.msearch_all([{"index": "x"}, {"query": {"match_all": {}}}]),
    "count": lambda d: d.count("x"),
    "scan": lambda d: list(d.scan("x")),
    "fetch": lambda d: d.fetch("x", ["1"]),
    "exists": lambda d: d.exists("x"),
    "indices": lambda d: d.indices("x-*"),
    "aliased_index": lambda d: d.aliased_index("x"),
    "mappings": lambda d: d.mappings("x"),
    "create_index": lambda d: d.create_index("x", SETTINGS, MAPPINGS),
    "current_index": lambda d: d.current_index("x", SETTINGS, MAPPINGS),
    "swap_alias": lambda d: d.swap_alias("x", "x-1"),
    "drop_index": lambda d: d.drop_index("x-1"),
    "set_bulk_mode": lambda d: d.set_bulk_mode("x-1", True),
    "refresh": lambda d: d.refresh("x-1"),
    "send": lambda d: d.send("x-1", [("1", doc("a"), None)]),
    "write": lambda d: list(d.write("x-1", iter([("1", doc("a"), None)]))),
    "wait_for_writes": lambda d: d.wait_for_writes("x-1"),
    "primaries_stats": lambda d: d.primaries_stats("x", "indexing"),
}


@pytest.mark.parametrize("call", sorted(DEAD_CALLS))
def test_an_unreachable_engine_is_a_503_domain_error_on_every_call(
    dead: EngineDoor, call: str
) -> None:
    with pytest.raises(EngineUnavailableError) as raised:
        DEAD_CALLS[call](dead)
    error = raised.value
    assert isinstance(error, DomainError)
    assert error.status == 503
    assert (error.cause, error.engine_status) == ("ConnectionError", None)
    assert "127.0.0.1" not in error.detail  # the client's message is for the log only
    assert "127.0.0.1" in error.reason


def test_an_unreachable_engine_s_cluster_state_names_the_failure(dead: EngineDoor) -> None:
    with pytest.raises(EngineUnavailableError) as raised:
        dead.cluster_state()
    assert raised.value.detail == "OpenSearch is unreachable: ConnectionError"


def test_the_cluster_state_of_the_real_node(door: EngineDoor) -> None:
    state = door.cluster_state()
    assert (state.distribution, state.status in {"green", "yellow"}) == ("opensearch", True)
    assert state.number_of_nodes >= 1
