"""Entity search builders and card assembly, without a cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analyzers.ids import id_check_char
from common.errors import InvalidInputError
from common.vocab import Source
from query_logs.applications import Subject, SubjectKind
from query_logs.gate import Scope
from search_api.handles import handles_for
from search_api.models.cards import read_cards
from search_api.models.profiles import company_profile
from search_api.models.records import masked_record
from search_api.queries.entities import (
    SCORE_EXACT,
    SCORE_NODOT,
    Candidate,
    EntityKind,
    EntityQuery,
    QueryType,
    candidates_query,
    cards_query,
    match_label,
    parse_entity_query,
    read_candidates,
)
from search_api.queries.profiles import (
    household_members_search,
    linked_records_searches,
    person_mentions_search,
    petition_references_search,
)
from search_api.queries.records import scope_filters

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


HANDLES = handles_for("a test secret")


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
    keyed = read_cards(candidates, aggregations, QueryType.NAME, unmask=unmask, handles=HANDLES)
    assert [key for key, _ in keyed] == [f"person:{other}", f"person:{PERSON_ID}"]
    card = keyed[0][1].model_dump()
    assert card["id_number"] == (other if unmask else other[:6] + "*" * 12)
    assert card["birth_date"] == ("1970-01-03" if unmask else "1970-01")
    assert HANDLES.open(card["handle"]) == other
    assert card["names"] == ["陈建国", "陳建國"]
    assert [(c["source"], c["label"], c["count"]) for c in card["counts"]] == [
        ("household", "户籍", 4), ("official", "公职", 1)]  # fmt: skip


def test_profile_searches_link_the_subject_within_the_scope_per_source() -> None:
    in_scope = scope(sources=(Source.HOUSEHOLD, Source.INSURED),
                     subjects=(Subject(SubjectKind.PERSON, PERSON_ID),))  # fmt: skip
    searches = linked_records_searches(in_scope, "persons", PERSON_ID, 20)
    assert [s for s, _ in searches] == [Source.HOUSEHOLD, Source.INSURED]
    for source, body in searches:
        filters = body["query"]["bool"]["filter"]
        assert filters[:2] == [{"term": {"persons": PERSON_ID}}, {"term": {"source": str(source)}}]
        assert filters[2:] == scope_filters(in_scope)
        assert "all_text" in body["_source"]["excludes"]


def test_household_members_drop_the_subject_filter_but_keep_sources_and_regions() -> None:
    in_scope = scope(subjects=(Subject(SubjectKind.PERSON, PERSON_ID),))
    body = household_members_search(in_scope, ["46010600000001"], 30)
    filters = body["query"]["bool"]["filter"]
    assert filters[2:] == scope_filters(scope())  # sources and regions, no subjects
    assert {"terms": {"household_no": ["46010600000001"]}} in filters
    assert body["_source"] == ["name", "relation", "id_number", "household_no"]
    assert body["size"] == 31


def test_petition_references_return_no_content_and_no_person() -> None:
    in_scope = scope(subjects=(Subject(SubjectKind.COMPANY, CODE),))
    body = petition_references_search(in_scope, ["琼海天成宏远物流有限责任公司"])
    assert body["query"]["bool"]["filter"][1:] == scope_filters(scope())
    fields = body["_source"]
    assert "content" not in fields
    assert not [f for f in fields if "name" in f or "id_number" in f]


def test_a_profile_record_masks_ids_phones_and_numbers_in_prose() -> None:
    source = {
        "source": "petition",
        "content": f"举报人电话13800001234，被反映人身份证{PERSON_ID}",
        "reported": [{"name": "陈建国", "id_number": PERSON_ID}],
        "persons": [PERSON_ID],
    }
    hit = {"_id": "x", "_source": source}
    masked = masked_record(hit, False, HANDLES)
    assert PERSON_ID not in json.dumps(masked.record)
    assert "13800001234" not in masked.record["content"]
    assert masked.record["reported"][0]["id_number"] == PERSON_ID[:6] + "*" * 12
    assert masked.id == HANDLES.record_id("x")
    unmasked = masked_record(hit, True, HANDLES).record
    assert unmasked["content"] == hit["_source"]["content"]


def test_a_corporate_shareholder_keeps_its_code_and_a_person_is_masked() -> None:
    holders = [
        {"credit_code": CODE, "holder_name": "海口信诚", "holder_id": "9146010636381868QY",
         "companies": [CODE, "9146010636381868QY"], "share_percent": 60.0},
        {"credit_code": CODE, "holder_name": "陈建国", "holder_id": PERSON_ID,
         "persons": [PERSON_ID], "companies": [CODE], "share_percent": 40.0},
    ]  # fmt: skip
    hits = [{"_id": str(i), "_source": h} for i, h in enumerate(holders)]
    answers = [(Source.SHAREHOLDER, {"hits": {"total": {"value": 2}, "hits": hits}})]
    profile = company_profile(CODE, answers, ([], 0), False, HANDLES)
    assert [(h.holder_id, h.handle) for h in profile.shareholders] == [
        ("9146010636381868QY", None),
        (PERSON_ID[:6] + "*" * 12, HANDLES.handle(PERSON_ID))]  # fmt: skip
    assert [(c.source, c.count) for c in profile.counts] == [("shareholder", 2)]


def test_mentions_need_name_and_unit_on_an_entry_without_id_and_skip_linked_petitions() -> None:
    in_scope = scope(subjects=(Subject(SubjectKind.PERSON, PERSON_ID),))
    body = person_mentions_search(in_scope, PERSON_ID, ["陈建国", "陳建國"], "龙华区农业农村局")
    query = body["query"]["bool"]
    assert query["filter"][2:] == scope_filters(scope())
    entry = query["filter"][1]["nested"]["query"]["bool"]
    assert {"terms": {"reported.name": ["陈建国", "陳建國"]}} in entry["filter"]
    assert {"match_phrase": {"reported.unit": "龙华区农业农村局"}} in entry["filter"]
    assert entry["must_not"] == [{"exists": {"field": "reported.id_number"}}]
    assert query["must_not"] == [{"term": {"persons": PERSON_ID}}]
    assert "content" not in body["_source"]


@pytest.mark.parametrize(
    ("score", "query_type", "label"),
    [(10.0, QueryType.PERSON_ID, "公民身份号码"), (10.0, QueryType.PHONE, "联系电话"),
     (SCORE_EXACT, QueryType.NAME, "姓名"), (SCORE_NODOT, QueryType.NAME, "姓名（不计间隔号）"),
     (4.0, QueryType.PINYIN, "全拼"), (2.0, QueryType.PINYIN, "拼音首字母"),
     (1.0, QueryType.NAME, "部分姓名或名称"), (0.0, QueryType.NAME, "部分姓名或名称")],
)  # fmt: skip
def test_a_card_says_how_it_matched(score: float, query_type: QueryType, label: str) -> None:
    assert match_label(score, query_type) == label
