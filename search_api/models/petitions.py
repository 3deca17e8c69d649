"""Response models of the similar-petition routes (search_api.routers.petitions) and their
builders from ranked candidates and groups (pure: every record and name masked here)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from registry.fields import ColumnField
from search_api.handles import Handles
from search_api.masking import mask_text, shown_text
from search_api.models.records import shown_record
from search_api.queries.similar_ranking import (
    GROUP_REASON_LABELS,
    Candidate,
    Group,
    Ranked,
    Ranking,
)


class PetitionHitResponse(BaseModel):
    id: str
    petition_no: str
    score: float | None  # the value the list is ordered by (see `ranking`)
    similarity: float | None  # cosine similarity of the vectors, when both have one
    keyword_score: float | None
    record: dict[str, Any]


class SimilarPetitionsResponse(BaseModel):
    petition_no: str
    ranking: Ranking
    candidates: int  # keyword candidates in scope that were reranked
    results: list[PetitionHitResponse]


class PetitionSearchResponse(BaseModel):
    total: int
    ranking: Ranking
    results: list[PetitionHitResponse]


class PetitionGroupResponse(BaseModel):
    count: int
    petition_numbers: list[str]  # oldest first
    categories: list[str]
    reported_names: list[str]
    reasons: list[str]
    reason_labels: list[str]
    first_registered: str | None
    last_registered: str | None


class PetitionGroupsResponse(BaseModel):
    total: int  # petitions in scope matching the query
    examined: int  # the newest of them, grouped
    groups: list[PetitionGroupResponse]


def petition_hit(ranked: Ranked, unmask: bool, handles: Handles) -> PetitionHitResponse:
    """A ranked petition as returned: its record as every response shows one, its id the
    server's pseudonym."""
    candidate = ranked.candidate
    return PetitionHitResponse(
        id=handles.record_id(candidate.doc_id),
        petition_no=candidate.petition_no,
        score=ranked.score,
        similarity=ranked.similarity,
        keyword_score=candidate.keyword_score,
        record=shown_record(candidate.record, unmask),
    )


def petition_group(group: Group, unmask: bool) -> PetitionGroupResponse:
    """A group of repeated petitions: their numbers, categories and reported names (masked as
    text), why they were grouped, and when the first and last were registered."""
    members = group.members
    categories = {
        str(shown_text(str(c.record[ColumnField.CATEGORY]), unmask))
        for c in members
        if c.record.get(ColumnField.CATEGORY)
    }
    return PetitionGroupResponse(
        count=len(members),
        petition_numbers=[c.petition_no for c in members],
        categories=sorted(categories),
        reported_names=_reported_names(members, unmask),
        reasons=sorted(group.reasons),
        reason_labels=[GROUP_REASON_LABELS[r] for r in sorted(group.reasons)],
        first_registered=members[0].record.get(ColumnField.REGISTERED_ON),
        last_registered=members[-1].record.get(ColumnField.REGISTERED_ON),
    )


def _reported_names(members: list[Candidate], unmask: bool) -> list[str]:
    names = {
        str(person[ColumnField.NAME]) if unmask else mask_text(str(person[ColumnField.NAME]))
        for c in members
        for person in c.record.get(ColumnField.REPORTED) or []
        if isinstance(person, dict) and person.get(ColumnField.NAME)
    }
    return sorted(names)
