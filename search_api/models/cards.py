"""Entity cards assembled from the engine's answers (pure: dicts in, models out).

Person ID numbers are masked and birth dates cut to the month unless the scope unmasks
(search_api.masking); phone numbers are never put on a card. Every person card carries the
person's handle (search_api.handles), which names them in an application without the number.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from common.vocab import Source
from registry.fields import ColumnField, Envelope
from search_api.handles import Handles
from search_api.masking import shown_birth_date, shown_id, shown_text, shown_texts
from search_api.queries.entities import Candidate, EntityKind, QueryType, match_label

# Short labels of the registries, as investigators name them.
SOURCE_LABELS: dict[Source, str] = {
    Source.HOUSEHOLD: "户籍",
    Source.COMPANY: "企业",
    Source.SHAREHOLDER: "股东",
    Source.COMPANY_OFFICER: "主要人员",
    Source.INSURED: "社保",
    Source.BENEFIT: "待遇",
    Source.PROPERTY: "不动产",
    Source.PETITION: "信访",
    Source.OFFICIAL: "公职",
}


class SourceCountResponse(BaseModel):
    source: str
    label: str
    count: int


class PersonCardResponse(BaseModel):
    kind: Literal["person"] = "person"
    id_number: str  # masked unless the application unmasks
    handle: str | None  # names the person in an application (subject kind "handle")
    names: list[str]
    gender: str | None = None
    birth_date: str | None = None  # the month only unless the application unmasks
    region_code: str | None = None
    status: str | None = None
    unit: str | None = None
    post: str | None = None
    total: int
    counts: list[SourceCountResponse]
    match: str | None = None  # how the card matched: 公民身份号码, 姓名, 全拼...


class CompanyCardResponse(BaseModel):
    kind: Literal["company"] = "company"
    credit_code: str
    names: list[str]
    company_type: str | None = None
    status: str | None = None
    region_code: str | None = None
    legal_rep: str | None = None
    total: int
    counts: list[SourceCountResponse]
    match: str | None = None


class EntitySearchResponse(BaseModel):
    query_type: str
    cards: list[PersonCardResponse | CompanyCardResponse]
    truncated: bool


def source_counts(buckets: list[dict[str, Any]]) -> list[SourceCountResponse]:
    """Counts per source in the fixed order of the registries."""
    by_source = {str(b["key"]): int(b["doc_count"]) for b in buckets}
    return [
        SourceCountResponse(source=str(s), label=SOURCE_LABELS[s], count=by_source[str(s)])
        for s in Source
        if by_source.get(str(s))
    ]


def _values(agg: dict[str, Any]) -> list[str]:
    return [str(b["key"]) for b in agg.get("values", {}).get("buckets", [])]


def _top(agg: dict[str, Any]) -> dict[str, Any]:
    hits = agg.get("top", {}).get("hits", {}).get("hits", [])
    return dict(hits[0]["_source"]) if hits else {}


def _person_card(
    key: str, agg: dict[str, Any], unmask: bool, handles: Handles
) -> PersonCardResponse:
    names = _values(agg[Envelope.NAMES]) + _values(agg[ColumnField.REPORTED]["self"])
    household, roster = _top(agg["household"]), _top(agg["roster"])
    birth_date = household.get(ColumnField.BIRTH_DATE)
    return PersonCardResponse(
        id_number=shown_id(key, unmask),
        handle=handles.of(key),
        names=shown_texts(list(dict.fromkeys(names)), unmask),
        gender=household.get(ColumnField.GENDER),
        birth_date=shown_birth_date(birth_date, unmask),
        region_code=household.get(ColumnField.REGION_CODE),
        status=household.get(ColumnField.STATUS),
        unit=shown_text(roster.get(ColumnField.UNIT), unmask),
        post=shown_text(roster.get(ColumnField.POST), unmask),
        total=int(agg["doc_count"]),
        counts=source_counts(agg["sources"]["buckets"]),
    )


def _company_card(key: str, agg: dict[str, Any], unmask: bool) -> CompanyCardResponse:
    registry = _top(agg["registry"])
    names = [registry[ColumnField.COMPANY_NAME]] if registry.get(ColumnField.COMPANY_NAME) else []
    names += _values(agg[Envelope.NAMES]) + _values(agg["employer_names"])
    return CompanyCardResponse(
        credit_code=key,
        names=shown_texts(list(dict.fromkeys(names)), unmask),
        company_type=registry.get(ColumnField.COMPANY_TYPE),
        status=registry.get(ColumnField.STATUS),
        region_code=registry.get(ColumnField.REGION_CODE),
        legal_rep=shown_text(registry.get(ColumnField.LEGAL_REP), unmask),
        total=int(agg["doc_count"]),
        counts=source_counts(agg["sources"]["buckets"]),
    )


def read_cards(
    candidates: list[Candidate],
    aggregations: dict[str, Any],
    query_type: QueryType,
    *,
    unmask: bool,
    handles: Handles,
) -> list[tuple[str, PersonCardResponse | CompanyCardResponse]]:
    """(entity key, card) from step 2's answer: the best kind of match first, then more records
    in scope. The key ("person:<ID>", "company:<code>") is what the outcome entry logs.

    A candidate with no record left in scope (the index may change between the two steps) gets
    no card.
    """
    ranked: list[tuple[float, int, PersonCardResponse | CompanyCardResponse]] = []
    for i, candidate in enumerate(candidates):
        agg = aggregations.get(f"c{i}")
        if not agg or not agg.get("doc_count"):
            continue
        card: PersonCardResponse | CompanyCardResponse = (
            _person_card(candidate.key, agg, unmask, handles)
            if candidate.kind is EntityKind.PERSON
            else _company_card(candidate.key, agg, unmask)
        )
        card.match = match_label(candidate.score, query_type)
        ranked.append((candidate.score, i, card))
    ranked.sort(key=lambda r: (-r[0], -r[2].total, r[1]))
    return [(f"{candidates[i].kind}:{candidates[i].key}", card) for _, i, card in ranked]
