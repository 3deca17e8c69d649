"""Similar-petition query builders and the Python reranking and grouping, without a cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from analyzers.embeddings import Vector, encode_vector
from common.vocab import Source
from query_logs.applications import Subject, SubjectKind
from query_logs.gate import Scope
from registry.fields import HIDDEN_FIELDS, VECTOR_FIELD
from search_api.queries.records import scope_filters
from search_api.queries.similar import (
    group_candidates_query,
    more_like_petition_query,
    petition_query,
    petition_search_query,
)
from search_api.queries.similar_ranking import (
    Candidate,
    GroupReason,
    candidate_from_hit,
    group_repeats,
    rank_by_similarity,
    rank_hybrid,
)

SCOPE = Scope(
    application_id=1, case_id=1, sources=(Source.PETITION,), regions=("4601",),
    subjects=(Subject(SubjectKind.PERSON, "460106197503081238"),), unmask=False,
    page_size=10, offset=0,
)  # fmt: skip

BUILDERS: dict[str, Callable[[Scope], dict[str, Any]]] = {
    "petition": lambda s: petition_query(s, "XF1"),
    "more_like": lambda s: more_like_petition_query(s, "idx-1", "doc1"),
    "search": lambda s: petition_search_query(s, "粮食购销", 10, 20),
    "groups": lambda s: group_candidates_query(s, "粮食购销"),
    "groups_all": lambda s: group_candidates_query(s, None),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_query_filters_by_the_scope(name: str) -> None:
    body = BUILDERS[name](SCOPE)
    assert all(f in body["query"]["bool"]["filter"] for f in scope_filters(SCOPE))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_candidates_bring_their_vector_and_no_internal_field(name: str) -> None:
    excludes = BUILDERS[name](SCOPE)["_source"]["excludes"]
    assert VECTOR_FIELD not in excludes
    assert set(excludes) == set(HIDDEN_FIELDS) - {VECTOR_FIELD}


def test_more_like_reads_the_stored_petition_and_excludes_it() -> None:
    query = more_like_petition_query(SCOPE, "idx-1", "doc1")["query"]["bool"]
    assert query["must"][0]["more_like_this"]["like"] == [{"_index": "idx-1", "_id": "doc1"}]
    assert query["must_not"] == [{"ids": {"values": ["doc1"]}}]


def test_search_pages_and_never_passes_text_to_query_string() -> None:
    body = petition_search_query(SCOPE, 'a OR "b', 10, 20)
    assert (body["from"], body["size"]) == (20, 10)
    assert "query_string" not in repr(body)


def _vector(*values: float) -> Vector:
    return np.asarray(values, dtype=np.float32)


def _candidate(
    doc_id: str, vector: Vector | None, score: float | None = 1.0, **record: Any
) -> Candidate:
    return Candidate(doc_id, {"petition_no": doc_id, **record}, score, vector)


def test_a_hit_gives_up_its_vector_to_the_candidate() -> None:
    stored = {"petition_no": "XF1", VECTOR_FIELD: encode_vector(_vector(1, 0))}
    hit = {"_id": "d1", "_score": 2.5, "_source": stored}
    candidate = candidate_from_hit(hit)
    assert VECTOR_FIELD not in candidate.record
    assert candidate.vector is not None
    assert candidate.vector.tolist() == [1.0, 0.0]
    assert (candidate.petition_no, candidate.keyword_score) == ("XF1", 2.5)


def test_rank_by_similarity_puts_missing_vectors_last_in_keyword_order() -> None:
    candidates = [_candidate("far", _vector(0, 1)), _candidate("none1", None),
                  _candidate("near", _vector(1, 0.1)), _candidate("none2", None)]  # fmt: skip
    ranked = rank_by_similarity(_vector(1, 0), candidates)
    assert [r.candidate.doc_id for r in ranked] == ["near", "far", "none1", "none2"]
    assert ranked[-1].similarity is None


@pytest.mark.parametrize(("weight", "order"), [(0.0, ["kw", "vec"]), (1.0, ["vec", "kw"])])
def test_hybrid_weight_moves_between_keyword_and_vector_order(
    weight: float, order: list[str]
) -> None:
    candidates = [_candidate("kw", _vector(0, 1), score=10.0),
                  _candidate("vec", _vector(1, 0), score=2.0)]  # fmt: skip
    assert [r.candidate.doc_id for r in rank_hybrid(_vector(1, 0), candidates, weight)] == order


def test_without_a_query_vector_the_keyword_order_stays() -> None:
    candidates = [_candidate("a", _vector(0, 1), score=3.0), _candidate("b", None, score=1.0)]
    assert [r.candidate.doc_id for r in rank_hybrid(None, candidates, 0.5)] == ["a", "b"]
    assert [r.similarity for r in rank_by_similarity(None, candidates)] == [None, None]


def test_similar_texts_of_one_category_form_a_group_transitively() -> None:
    candidates = [
        _candidate("a", _vector(1, 0, 0), category="扶贫领域", registered_on="2024-02-01"),
        _candidate("b", _vector(0.96, 0.28, 0), category="扶贫领域", registered_on="2024-01-01"),
        _candidate("c", _vector(0.848, 0.53, 0), category="扶贫领域", registered_on="2024-03-01"),
        _candidate("d", _vector(0, 0, 1), category="扶贫领域"),
    ]
    groups = group_repeats(candidates, threshold=0.95)
    assert [[c.doc_id for c in g.members] for g in groups] == [["b", "a", "c"]]
    assert groups[0].reasons == {GroupReason.SIMILAR_TEXT}


def test_similar_texts_of_different_categories_stay_apart() -> None:
    candidates = [_candidate("a", _vector(1, 0), category="扶贫领域"),
                  _candidate("b", _vector(1, 0), category="贪污贿赂")]  # fmt: skip
    assert group_repeats(candidates, threshold=0.9) == []


def test_the_same_reported_person_and_category_link_without_vectors() -> None:
    person = [{"name": "欧阳振华", "id_number": "460106197503081238"}]
    by_name = [{"name": "司徒明远", "unit": "美兰区住建局"}]
    candidates = [
        _candidate("a", None, category="扶贫领域", reported=person),
        _candidate("b", None, category="扶贫领域", reported=person),
        _candidate("c", None, category="贪污贿赂", reported=person),
        _candidate("d", None, category="扶贫领域", reported=by_name),
        _candidate("e", None, category="扶贫领域", reported=by_name),
        _candidate("f", None, category="扶贫领域", reported=[{"name": "司徒明远", "unit": "别处"}]),
    ]
    groups = group_repeats(candidates, threshold=0.95)
    assert sorted(sorted(c.doc_id for c in g.members) for g in groups) == [["a", "b"], ["d", "e"]]
    assert all(g.reasons == {GroupReason.SAME_PERSON_AND_CATEGORY} for g in groups)


def test_vectors_of_different_models_are_never_compared() -> None:
    candidates = [_candidate("a", _vector(1, 0)), _candidate("b", _vector(1, 0, 0))]
    assert group_repeats(candidates, threshold=0.5) == []
