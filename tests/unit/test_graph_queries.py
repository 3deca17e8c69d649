"""The graph routes' pure pieces: the scope of an expansion, start nodes, masked node keys."""

from __future__ import annotations

import pytest

from analyzers.ids import id_check_char
from common.errors import InvalidInputError
from common.vocab import Source
from graph.model import EdgeKind
from graph.neighbourhood import degree_query, edge_filters
from query_logs.applications import Subject, SubjectKind
from query_logs.gate import Scope
from search_api.handles import Handles
from search_api.queries.graph import edge_scope, graph_key, graph_view, node_shower, subject_node

PID = "46010619700101001" + id_check_char("46010619700101001")
SCOPE = Scope(1, 1, (Source.HOUSEHOLD, Source.SHAREHOLDER), ("4601",),
              (Subject(SubjectKind.PERSON, PID),), False, 20, 0)  # fmt: skip


def test_edges_are_bounded_by_the_records_sources_and_regions_not_by_the_subjects() -> None:
    filters = edge_filters(edge_scope(SCOPE, [EdgeKind.SHAREHOLDER, EdgeKind.SHAREHOLDER]))
    assert filters == [
        {"terms": {"source": ["household", "shareholder"]}},
        {"terms": {"region_prefixes": ["4601"]}},
        {"terms": {"kind": ["shareholder"]}},
    ]


def test_the_degree_query_counts_only_the_frontier_inside_the_scope() -> None:
    query = degree_query(["p:1", "c:2"], edge_scope(SCOPE, None))
    assert query["aggs"]["degree"]["terms"]["include"] == ["p:1", "c:2"]
    assert {"terms": {"region_prefixes": ["4601"]}} in query["query"]["bool"]["filter"]


def test_a_name_is_never_a_start_node() -> None:
    assert subject_node(Subject(SubjectKind.PERSON, PID)) == f"p:{PID}"
    with pytest.raises(InvalidInputError):
        subject_node(Subject(SubjectKind.NAME, "方红莉"))


def test_person_keys_are_masked_with_a_keyed_tag_unless_unmasked() -> None:
    key = graph_key("secret")
    masked = node_shower(False, key)(f"p:{PID}")
    assert PID not in masked
    assert masked.startswith(f"p:{PID[:6]}{'*' * 12}~")
    assert masked != node_shower(False, graph_key("other"))(f"p:{PID}")
    assert node_shower(True, key)(f"p:{PID}") == f"p:{PID}"
    assert node_shower(False, key)("c:91460106MA5T000010") == "c:91460106MA5T000010"


def test_a_graph_view_gives_person_nodes_a_handle_and_pseudonymous_record_ids() -> None:
    handles = Handles.from_secret("secret")
    view = graph_view(False, graph_key("secret"), handles)
    assert view.handle(f"p:{PID}") == handles.handle(PID)
    assert view.handle("c:91460106MA5T000010") is None
    assert view.record_id("r1") == handles.record_id("r1") != "r1"
