"""Reranking and grouping of petition candidates in Python (pure: hits in, ranked lists out).

The engine returns keyword candidates with their stored vectors (see search_api.queries.similar);
here they are ordered by cosine similarity to a petition or a query, or by a blend of both, and
repeats of one matter are grouped. A candidate without a usable vector (ingested with embeddings
off, or by another model) keeps its keyword order behind those that have one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from analyzers.embeddings import Vector, cosine_similarities, decode_vector, similarity_matrix
from registry.fields import VECTOR_FIELD, ColumnField


class Ranking(StrEnum):
    """How a result list was ordered."""

    VECTOR = "vector"  # cosine similarity of the stored vectors
    HYBRID = "hybrid"  # keyword score blended with similarity to the query's vector
    KEYWORD = "keyword"  # the engine's order (no vector available)


class GroupReason(StrEnum):
    """Why two petitions were put in one group of repeats."""

    SIMILAR_TEXT = "similar_text"
    SAME_PERSON_AND_CATEGORY = "same_person_and_category"


GROUP_REASON_LABELS: dict[GroupReason, str] = {
    GroupReason.SIMILAR_TEXT: "内容相似",
    GroupReason.SAME_PERSON_AND_CATEGORY: "同一被反映人、同一问题类别",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One petition hit: its stored record (without the vector), keyword score and vector."""

    doc_id: str
    record: dict[str, Any]
    keyword_score: float | None
    vector: Vector | None

    @property
    def petition_no(self) -> str:
        return str(self.record.get(ColumnField.PETITION_NO, ""))


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float | None
    similarity: float | None


def candidate_from_hit(hit: dict[str, Any]) -> Candidate:
    """A hit of the engine as a candidate; the vector leaves the record here."""
    record = dict(hit.get("_source", {}))
    stored = record.pop(VECTOR_FIELD, None)
    vector = decode_vector(stored) if isinstance(stored, str) else None
    score = hit.get("_score")
    return Candidate(str(hit["_id"]), record, float(score) if score is not None else None, vector)


def rank_by_similarity(query: Vector | None, candidates: Sequence[Candidate]) -> list[Ranked]:
    """Candidates by cosine similarity to ``query``, most similar first; ties and candidates
    without a vector keep the engine's order."""
    if query is None:
        return [Ranked(c, c.keyword_score, None) for c in candidates]
    sims = cosine_similarities(query, [c.vector for c in candidates])
    ranked = [Ranked(c, s, s) for c, s in zip(candidates, sims, strict=True)]
    order = sorted(
        range(len(ranked)),
        key=lambda i: (ranked[i].similarity is None, -(ranked[i].similarity or 0.0), i),
    )
    return [ranked[i] for i in order]


def rank_hybrid(
    query: Vector | None, candidates: Sequence[Candidate], vector_weight: float
) -> list[Ranked]:
    """Candidates by ``(1 - w) * keyword / best keyword + w * max(similarity, 0)``.

    Keyword scores are scaled by the best one so the blend does not depend on the engine's
    score scale; a candidate without a vector scores on its keyword part only."""
    if query is None:
        return [Ranked(c, c.keyword_score, None) for c in candidates]
    best = max((c.keyword_score or 0.0 for c in candidates), default=0.0) or 1.0
    sims = cosine_similarities(query, [c.vector for c in candidates])
    ranked = [
        Ranked(
            c,
            (1.0 - vector_weight) * (c.keyword_score or 0.0) / best
            + vector_weight * max(s or 0.0, 0.0),
            s,
        )
        for c, s in zip(candidates, sims, strict=True)
    ]
    order = sorted(range(len(ranked)), key=lambda i: (-(ranked[i].score or 0.0), i))
    return [ranked[i] for i in order]


@dataclass(slots=True)
class Group:
    """Petitions about one matter, oldest first, and why they were put together."""

    members: list[Candidate]
    reasons: set[GroupReason] = field(default_factory=set)


def person_keys(record: dict[str, Any]) -> set[str]:
    """The reported persons of a petition: ID number when known, else name and unit."""
    keys: set[str] = set()
    for person in record.get(ColumnField.REPORTED) or []:
        if not isinstance(person, dict):
            continue
        if person.get(ColumnField.ID_NUMBER):
            keys.add(f"id:{person[ColumnField.ID_NUMBER]}")
        elif person.get(ColumnField.NAME):
            keys.add(f"name:{person[ColumnField.NAME]}|{person.get(ColumnField.UNIT, '')}")
    return keys


def _same_category(a: Candidate, b: Candidate) -> bool:
    first, second = a.record.get(ColumnField.CATEGORY), b.record.get(ColumnField.CATEGORY)
    return not first or not second or first == second


def group_repeats(candidates: Sequence[Candidate], threshold: float) -> list[Group]:
    """Groups of two or more petitions that repeat one matter: linked when their vectors'
    cosine similarity reaches ``threshold`` and their 问题类别 agree (or one has none), or when
    they report the same person under the same 问题类别; links are transitive. Largest groups
    first, then the most recent.

    The category check keeps a weak model (the packaged English one reads most Chinese
    characters as unknown) from merging different matters about one person."""
    parent = list(range(len(candidates)))
    reasons: dict[int, set[GroupReason]] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def link(i: int, j: int, reason: GroupReason) -> None:
        a, b = find(i), find(j)
        merged = reasons.pop(a, set()) | reasons.pop(b, set()) | {reason}
        parent[b] = a
        reasons[a] = merged

    indexed = [(i, c.vector) for i, c in enumerate(candidates) if c.vector is not None]
    if len({vector.shape for _, vector in indexed}) == 1:  # never compare across models
        sims = similarity_matrix([vector for _, vector in indexed])
        for a, (i, _) in enumerate(indexed):
            for b in range(a + 1, len(indexed)):
                j = indexed[b][0]
                if sims[a, b] >= threshold and _same_category(candidates[i], candidates[j]):
                    link(i, j, GroupReason.SIMILAR_TEXT)
    first_by_key: dict[tuple[str, str], int] = {}
    for i, candidate in enumerate(candidates):
        category = str(candidate.record.get(ColumnField.CATEGORY, ""))
        for key in sorted(person_keys(candidate.record)):
            j = first_by_key.setdefault((key, category), i)
            if j != i and category:
                link(j, i, GroupReason.SAME_PERSON_AND_CATEGORY)
    members: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        members.setdefault(find(i), []).append(i)
    groups = [
        Group(
            sorted((candidates[i] for i in idx), key=_registered),
            reasons.get(root, set()),
        )
        for root, idx in members.items()
        if len(idx) > 1
    ]
    groups.sort(key=lambda g: _registered(g.members[-1]), reverse=True)  # most recent first,
    groups.sort(key=lambda g: len(g.members), reverse=True)  # then (stable) largest first
    return groups


def _registered(candidate: Candidate) -> tuple[str, str]:
    return (str(candidate.record.get(ColumnField.REGISTERED_ON) or ""), candidate.petition_no)
