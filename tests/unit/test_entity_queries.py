"""Entity search builders and card assembly, without a cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analyzers.ids import id_check_char
from common.vocab import Source
from query_logs.applications import Subject, SubjectKind
from query_logs.errors import InvalidInputError
from query_logs.gate import Scope
from search_api.entity_queries import (
    SCORE_EXACT,
    SCORE_NODOT,
    Candidate,
    EntityKind,
    EntityQuery,
    QueryType,
    candidates_query,
    cards_query,
    parse_entity_query,
    read_candidates,
)
from search_api.profiles import read_cards
from search_api.queries import scope_filters

BODY = "46010619730719780"
PERSON_ID = BODY + id_check_char(BODY)
CODE = "9146900209366291RN"
T2S = {"陳": "陈", "國": "国", "劉": "刘"}


def simplify(text: str) -> str:
    return "".join(T2S.get(c, c) for c in text)


def scope(**overrides: Any) -> Scope:
    values: dict[str, Any] = {
        "application_id": 1, "case_id": 1, "sources": tuple(Source), "regions": ("4601",),
        "subjects": (), "unmask": False, "page_size": 20, "offset": 0,
    } | overrides  # fmt: skip
    return Scope(**values)


def parse(raw: str, kind: EntityKind = EntityKind.AUTO) -> EntityQuery:
    return parse_entity_query(raw, kind, simplify)


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (PERSON_ID, QueryType.PERSON_ID, PERSON_ID),
        (PERSON_ID[:6] + PERSON_ID[8:17], QueryType.PERSON_ID, PERSON_ID),  # 15 digits
        (" ".join([PERSON_ID[:6], PERSON_ID[6:]]), QueryType.PERSON_ID, PERSON_ID),
        ("４６０１０６" + PERSON_ID[6:], QueryType.PERSON_ID, PERSON_ID),  # full-width
        (CODE.lower(), QueryType.CREDIT_CODE, CODE),
        ("131-4900-0378", QueryType.PHONE, "13149000378"),
        ("+86 131 4900 0378", QueryType.PHONE, "13149000378"),
        ("0898-66123456", QueryType.PHONE, "089866123456"),
        ("Lǐ Xīn", QueryType.PINYIN, "lixin"),
        ("LX", QueryType.PINYIN, "lx"),
        ("陳建國", QueryType.NAME, "陈建国"),
        ("阿依古丽.买买提", QueryType.NAME, "阿依古丽·买买提"),
        ("阿依古丽•买买提", QueryType.NAME, "阿依古丽·买买提"),
        ("张\u200b伟", QueryType.NAME, "张伟"),  # an invisible character is dropped
        ("琼海天成宏远物流有限责任公司", QueryType.NAME, "琼海天成宏远物流有限责任公司"),
    ],
)
def test_the_typed_text_is_recognised_and_normalised(raw: str, kind: QueryType, value: str) -> None:
    query = parse(raw)
    assert (query.type, query.value) == (kind, value)


def test_a_name_keeps_its_typed_form_and_a_form_without_dots() -> None:
    query = parse("劉·國")
    assert query.forms == ("刘·国", "劉·國")
    assert query.nodot == "刘国"


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        ("", EntityKind.AUTO, "empty"),
        ("\u3000 ", EntityKind.AUTO, "empty"),
        ("王" * 101, EntityKind.AUTO, "longer than"),
        ("王伟\x00", EntityKind.AUTO, "control"),
        ("王\n伟", EntityKind.AUTO, "control"),
        (PERSON_ID[:17] + ("0" if PERSON_ID[17] != "0" else "1"), EntityKind.PERSON, "check"),
        ("9146900209366291RX", EntityKind.COMPANY, "credit code"),
        ("1" * 16, EntityKind.AUTO, "phone"),
        ("王", EntityKind.AUTO, "2 characters"),
        ("x", EntityKind.PERSON, "2 letters"),
        ("zhangwei", EntityKind.COMPANY, "Chinese characters"),
        ("'; DROP TABLE x; --", EntityKind.AUTO, "type an ID number"),
    ],
)
def test_malformed_text_is_refused_without_being_echoed(
    raw: str, kind: EntityKind, message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse(raw, kind)
    assert message in refused.value.detail
    if raw.strip():
        assert raw.strip() not in refused.value.detail


@pytest.mark.parametrize("kind", list(EntityKind))
@pytest.mark.parametrize("raw", [PERSON_ID, CODE, "13149000378", "lixin", "陈建国"])
def test_every_candidates_query_is_inside_the_scope(raw: str, kind: EntityKind) -> None:
    in_scope = scope(subjects=(Subject(SubjectKind.PERSON, PERSON_ID),))
    try:
        query = parse(raw, kind)
    except InvalidInputError:
        return  # e.g. pinyin for a company: refused before any query
    body = candidates_query(in_scope, query, kind, 20)
    assert body["size"] == 0
    assert body["query"]["bool"]["filter"] == scope_filters(in_scope)


def test_persons_never_come_from_petitions_but_from_the_reported_entry_itself() -> None:
    body = candidates_query(scope(), parse("陈建国"), EntityKind.PERSON, 20)
    persons = body["aggs"]["persons"]["filter"]["bool"]
    assert persons["must_not"] == [{"terms": {"source": [str(Source.PETITION)]}}]
    reported = body["aggs"]["reported"]["aggs"]["match"]["filter"]
    assert reported == {"terms": {"reported.name": ["陈建国"]}}
    assert "companies" not in body["aggs"]


def test_a_credit_code_looks_for_the_company_in_its_own_fields_only() -> None:
    body = candidates_query(scope(), parse(CODE), EntityKind.AUTO, 5)
    assert set(body["aggs"]) == {"companies"}
    text = json.dumps(body["aggs"]["companies"]["filter"])
    assert '"credit_code"' in text and '"employer_code"' in text  # noqa: PT018
    assert '"companies"' not in text  # a corporate shareholder is not the company itself
    keys = body["aggs"]["companies"]["aggs"]["registered"]["aggs"]["keys"]["terms"]
    assert keys["size"] == 6  # one more than asked: the router can tell the list was cut


def _buckets(*rows: tuple[str, int, float | None]) -> dict[str, Any]:
    return {"keys": {"buckets": [
        {"key": k, "doc_count": n} | ({"best": {"value": s}} if s is not None else {})
        for k, n, s in rows]}}  # fmt: skip


def test_candidates_rank_by_kind_of_match_then_records_and_merge_their_counts() -> None:
    aggregations = {
        "persons": _buckets(("46010619730719780x", 2, SCORE_NODOT), ("a", 9, 1.0),
                            ("b", 3, SCORE_EXACT)),
        "reported": {"match": _buckets(("46010619730719780x", 1, None))},
        "companies": {"registered": _buckets((CODE.lower(), 4, SCORE_EXACT)),
                      "employers": _buckets((CODE.lower(), 6, SCORE_EXACT))},
    }  # fmt: skip
    ranked, cut = read_candidates(aggregations, 3)
    assert [(c.key, c.score, c.matched) for c in ranked] == [
        (CODE, SCORE_EXACT, 10),
        ("46010619730719780X", SCORE_EXACT, 3),  # the reported entry matched exactly
        ("B", SCORE_EXACT, 3),
    ]
    assert cut is True


def test_cards_query_describes_each_candidate_within_the_scope() -> None:
    candidates = [Candidate(EntityKind.PERSON, PERSON_ID, 8, 1),
                  Candidate(EntityKind.COMPANY, CODE, 8, 1)]  # fmt: skip
    body = cards_query(scope(), candidates)
    assert body["query"]["bool"]["filter"][:-1] == scope_filters(scope())
    assert body["aggs"]["c0"]["filter"] == {"term": {"persons": PERSON_ID}}
    assert body["aggs"]["c1"]["filter"] == {"term": {"companies": CODE}}


def _person_agg(total: int, household: dict[str, Any] | None = None) -> dict[str, Any]:
    top = {"top": {"hits": {"hits": [{"_source": household}] if household else []}}}
    return {
        "doc_count": total,
        "sources": {"buckets": [{"key": "official", "doc_count": 1},
                                {"key": "household", "doc_count": total - 1}]},
        "names": {"values": {"buckets": [{"key": "陈建国"}]}},
        "reported": {"self": {"values": {"buckets": [{"key": "陳建國"}]}}},
        "household": {"doc_count": 1, **top},
        "roster": {"doc_count": 0, "top": {"hits": {"hits": []}}},
    }  # fmt: skip


@pytest.mark.parametrize("unmask", [False, True])
def test_cards_are_masked_ordered_and_keyed(unmask: bool) -> None:
    other = "46010619700103793" + id_check_char("46010619700103793")
    candidates = [Candidate(EntityKind.PERSON, PERSON_ID, 8, 1),
                  Candidate(EntityKind.PERSON, other, 8, 1),
                  Candidate(EntityKind.PERSON, "gone", 8, 1)]  # fmt: skip
    aggregations = {
        "c0": _person_agg(2),
        "c1": _person_agg(5, {"gender": "女", "birth_date": "1970-01-03"}),
        "c2": {"doc_count": 0},
    }
    keyed = read_cards(candidates, aggregations, unmask=unmask)
    assert [key for key, _ in keyed] == [f"person:{other}", f"person:{PERSON_ID}"]
    card = keyed[0][1]
    assert card.model_dump()["id_number"] == (other if unmask else other[:6] + "*" * 8 + other[-4:])
    assert card.model_dump()["names"] == ["陈建国", "陳建國"]
    assert [(c.source, c.label, c.count) for c in card.counts] == [
        ("household", "户籍", 4), ("official", "公职", 1)]  # fmt: skip
