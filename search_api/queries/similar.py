"""Pure query builders for similar petitions: the source petition, its keyword candidates, and
the candidates of a petition search. Every query carries `scope_filters` in its filter.

The engine has no vector search (no k-NN plugin): these queries fetch keyword candidates with
their stored vectors, and `search_api.queries.similar_ranking` reranks them in Python.
"""

from __future__ import annotations

from typing import Any

from query_logs.gate import Scope
from registry.fields import HIDDEN_FIELDS, VECTOR_FIELD, ColumnField, Envelope
from search_api.queries.records import scope_filters

# Keyword candidates reranked by vector similarity: enough to hold every repeat of one matter
# in a region, few enough that their vectors (1.5 KB each) come back in one small response.
SIMILAR_CANDIDATES = 100
# Petitions examined for groups of repeats: the newest in scope that match the query.
GROUP_CANDIDATES = 300
# Fields whose terms describe a petition's matter; all_tokens holds the content's jieba words.
MATTER_FIELDS = (ColumnField.CONTENT, Envelope.ALL_TOKENS)

# What a candidate brings back: the record as a response shows it, plus its vector.
_CANDIDATE_SOURCE = {"excludes": [f for f in HIDDEN_FIELDS if f != VECTOR_FIELD]}


def petition_query(scope: Scope, petition_no: str) -> dict[str, Any]:
    """The petition with this number, only if it lies within the scope."""
    return {
        "query": {
            "bool": {
                "filter": [{"term": {ColumnField.PETITION_NO: petition_no}}, *scope_filters(scope)]
            }
        },
        "size": 1,
        "_source": _CANDIDATE_SOURCE,
    }


def more_like_petition_query(
    scope: Scope, index: str, doc_id: str, size: int = SIMILAR_CANDIDATES
) -> dict[str, Any]:
    """Petitions in scope sharing terms with the stored petition ``doc_id`` (itself excluded).

    The engine reads the petition's own fields (the caller has already found it in scope)."""
    return {
        "query": {
            "bool": {
                "must": [
                    {
                        "more_like_this": {
                            "fields": list(MATTER_FIELDS),
                            "like": [{"_index": index, "_id": doc_id}],
                            "min_term_freq": 1,
                            "min_doc_freq": 1,
                            # Bigrams of a few sentences: enough terms to describe the matter.
                            "max_query_terms": 60,
                            "minimum_should_match": "20%",
                        }
                    }
                ],
                "filter": scope_filters(scope),
                "must_not": [{"ids": {"values": [doc_id]}}],
            }
        },
        "size": size,
        "track_total_hits": True,
        "_source": _CANDIDATE_SOURCE,
    }


def _text_match(text: str) -> dict[str, Any]:
    # all_text holds the simplified and the original form of every text value (bigrams): a
    # phrase match ranks petitions containing the words as written first, the loose match
    # gathers candidates that share most of them for the vector to judge.
    return {
        "bool": {
            "should": [
                {"match_phrase": {Envelope.ALL_TEXT: {"query": text, "boost": 3.0}}},
                {"match": {Envelope.ALL_TEXT: {"query": text, "minimum_should_match": "60%"}}},
            ],
            "minimum_should_match": 1,
        }
    }


def petition_search_query(scope: Scope, text: str, size: int, offset: int = 0) -> dict[str, Any]:
    """Petitions in scope matching ``text``, best keyword matches first."""
    return {
        "query": {"bool": {"must": [_text_match(text)], "filter": scope_filters(scope)}},
        "sort": [
            "_score",
            {ColumnField.REGISTERED_ON: {"order": "desc", "missing": "_last"}},
            {ColumnField.PETITION_NO: "asc"},
        ],
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "_source": _CANDIDATE_SOURCE,
    }


def group_candidates_query(
    scope: Scope, text: str | None, size: int = GROUP_CANDIDATES
) -> dict[str, Any]:
    """The newest petitions in scope (matching ``text`` when given), to be grouped by matter."""
    must = [_text_match(text)] if text else []
    return {
        "query": {"bool": {"must": must, "filter": scope_filters(scope)}},
        "sort": [
            {ColumnField.REGISTERED_ON: {"order": "desc", "missing": "_last"}},
            {ColumnField.PETITION_NO: "asc"},
        ],
        "size": size,
        "track_total_hits": True,
        "_source": _CANDIDATE_SOURCE,
    }
