"""Keyword and clue search builders: the dicts they return, without a cluster."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from common.vocab import Source
from query_logs.gate import Scope
from search_api.models.ledger import EXCERPT_CHARS, HEADER, LedgerFormat, ledger_rows, write_ledger
from search_api.queries.search import (
    BOOST_SUBSTRING,
    BOOST_WHOLE,
    Filters,
    Run,
    Sort,
    contains_clause,
    keyword_search_query,
    merge_highlights,
    split_runs,
    term_variants,
    uses_grams,
)
from search_api.queries.syntax import parse_query

SCOPE = Scope(7, 3, (Source.PETITION, Source.OFFICIAL), ("4601",), (), False, 20, 40)


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("王伟", [Run("王伟", True, True, True)]),
        ("王", [Run("王", True, True, True)]),
        ("12号楼", [Run("12", False, True, False), Run("号楼", True, False, True)]),
        ("路12号", [Run("路", True, True, False), Run("12", False, False, False),
                   Run("号", True, False, True)]),
        ("王伟，李", [Run("王伟", True, True, False), Run("李", True, False, True)]),
        ("3.5米", [Run("3", False, True, True), Run("5", False, True, False),
                  Run("米", True, False, True)]),
        ("ＡＢ区", [Run("ab", False, True, False), Run("区", True, False, True)]),
        ("かな王", [Run("かな王", True, True, True)]),  # kana and Han share bigrams
    ],
)  # fmt: skip
def test_terms_split_into_the_runs_the_index_analyses(text: str, runs: list[Run]) -> None:
    assert split_runs(text) == runs


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("王伟", {"match_phrase": {"f": {"query": "王伟"}}}),
        ("王", {"bool": {"should": [{"prefix": {"f": {"value": "王"}}},
                                    {"wildcard": {"f": {"value": "?王"}}}],
                         "minimum_should_match": 1}}),
        ("ab", {"wildcard": {"f": {"value": "*ab*"}}}),
        ("１２３", {"wildcard": {"f": {"value": "*123*"}}}),
        # Whitespace in a phrase: each piece on its own, closed where the space bounds it.
        ("王 伟", {"bool": {"filter": [
            {"bool": {"should": [{"term": {"f": {"value": "王"}}},
                                 {"wildcard": {"f": {"value": "?王"}}}],
                      "minimum_should_match": 1}},
            {"prefix": {"f": {"value": "伟"}}},
        ]}}),
    ],
)  # fmt: skip
def test_contains_clause_per_run(text: str, clause: dict[str, Any]) -> None:
    assert contains_clause(text, "f") == clause


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("路12号", {"match_phrase": {"f.grams": {"query": "路12号"}}}),
        ("元６９２", {"match_phrase": {"f.grams": {"query": "元６９２"}}}),
        ("琼A12345", {"match_phrase": {"f.grams": {"query": "琼A12345"}}}),
        ("3.5米", {"match_phrase": {"f.grams": {"query": "3.5米"}}}),
        ("阿依古丽·买买提", {"match_phrase": {"f.grams": {"query": "阿依古丽·买买提"}}}),
        ("海口 8栋3单元", {"bool": {"filter": [
            {"match_phrase": {"f": {"query": "海口"}}},
            {"match_phrase": {"f.grams": {"query": "8栋3单元"}}},
        ]}}),
    ],
)  # fmt: skip
def test_a_piece_that_is_not_one_run_is_a_phrase_of_grams(
    text: str, clause: dict[str, Any]
) -> None:
    assert contains_clause(text, "f") == clause


@pytest.mark.parametrize(
    ("piece", "grams"),
    [("8栋3单元1", True), ("A区", True), ("王伟", False), ("2107", False), ("Ａb12", False),
     ("王", False), ("5", False), ("（集团）", True), ("王，", True)],
)  # fmt: skip
def test_which_pieces_use_grams(piece: str, grams: bool) -> None:
    assert uses_grams(piece) is grams


def test_a_term_with_a_look_alike_dot_also_searches_the_stored_dot() -> None:
    assert term_variants("阿依古丽•买买提") == ["阿依古丽•买买提", "阿依古丽·买买提"]
    assert term_variants("陳偉", lambda _: "陈伟") == ["陳偉", "陈伟"]


def test_a_mixed_term_ranks_whole_numbers_first_then_by_the_grams_phrase() -> None:
    body = keyword_search_query(parse_query("地址:107号"), SCOPE, Filters())
    should = body["query"]["bool"]["should"]
    assert {"constant_score": {"filter": {"match_phrase": {"address": {"query": "107号"}}},
                               "boost": BOOST_WHOLE}} in should  # fmt: skip
    assert {"match_phrase": {"address.grams": {"query": "107号", "boost": BOOST_SUBSTRING}}} in (
        should
    )
    assert "address.grams" in body["highlight"]["fields"]


@pytest.mark.parametrize(
    ("highlight", "merged"),
    [
        ({"all_text": ["a"], "all_text.grams": ["<em>8栋</em>", "a"]},
         {"all_text": ["<em>8栋</em>", "a"]}),
        ({"address.grams": ["1", "2", "3", "4"]}, {"address": ["1", "2", "3"]}),
        ({"names": ["x"]}, {"names": ["x"]}),
    ],
)  # fmt: skip
def test_grams_highlights_are_named_after_their_field(
    highlight: dict[str, list[str]], merged: dict[str, list[str]]
) -> None:
    assert merge_highlights(highlight) == merged


def _filters(body: dict[str, Any]) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = body["query"]["bool"]["filter"]
    return filters


def test_keyword_query_keeps_the_scope_inside_the_filter() -> None:
    body = keyword_search_query(parse_query("粮食购销"), SCOPE, Filters())
    filters = _filters(body)
    assert {"terms": {"source": ["petition", "official"]}} in filters
    assert {"terms": {"region_prefixes": ["4601"]}} in filters
    assert (body["from"], body["size"]) == (40, 20)
    assert "all_text" in body["_source"]["excludes"]


def test_user_text_never_reaches_a_query_string_query() -> None:
    body = keyword_search_query(parse_query('王伟 OR "a:b" -x'), SCOPE, Filters())
    text = json.dumps(body, ensure_ascii=False)
    assert "query_string" not in text
    assert "simple_query_string" not in text


def test_filters_and_negation_are_clauses() -> None:
    filters = Filters(("县",), ("粮食购销领域",), date(2020, 1, 1), date(2021, 12, 31))
    body = keyword_search_query(parse_query("粮库 -王伟"), SCOPE, filters)
    clauses = _filters(body)
    assert {"terms": {"tier": ["县"]}} in clauses
    assert {"terms": {"category": ["粮食购销领域"]}} in clauses
    assert {"range": {"record_date": {"gte": "2020-01-01", "lte": "2021-12-31",
                                      "format": "strict_date"}}} in clauses  # fmt: skip
    recall = clauses[0]["bool"]["filter"]
    assert recall[1] == {"bool": {"must_not": [{"match_phrase": {"all_text": {"query": "王伟"}}}]}}


def test_a_traditional_term_also_searches_its_simplified_form() -> None:
    body = keyword_search_query(parse_query("陳偉"), SCOPE, Filters(), simplify=lambda _: "陈伟")
    text = json.dumps(_filters(body)[0], ensure_ascii=False)
    assert "陳偉" in text
    assert "陈伟" in text


@pytest.mark.parametrize(
    ("sort", "first"),
    [(Sort.RELEVANCE, "_score"), (Sort.DATE_DESC, {"record_date": {"order": "desc",
                                                                  "missing": "_last"}})],
)  # fmt: skip
def test_every_sort_ends_with_a_unique_tie_break(sort: Sort, first: Any) -> None:
    body = keyword_search_query(parse_query("王伟"), SCOPE, Filters(), sort)
    assert body["sort"] == [first, {"source": "asc"}, {"record_key": "asc"}]


def test_field_prefixes_search_their_fields() -> None:
    body = keyword_search_query(parse_query("职务:局长 编号:XF1"), SCOPE, Filters())
    text = json.dumps(_filters(body)[0], ensure_ascii=False)
    assert '"post"' in text
    assert '"path": "reported"' in text
    assert '{"term": {"petition_no": {"value": "XF1"}}}' in text
    assert "all_text" not in text


def test_facets_cover_every_region_level() -> None:
    aggs = keyword_search_query(parse_query("王伟"), SCOPE, Filters())["aggs"]
    assert aggs["county"]["terms"]["include"] == "[0-9]{6}"
    assert aggs["year"]["date_histogram"]["calendar_interval"] == "year"


# --- the ledger ---------------------------------------------------------------------------------

PETITION_HIT = {
    "_id": "abc123",
    "_source": {
        "source": "petition",
        "petition_no": "XF-1",
        "tier": "县",
        "handling_unit": "某县纪委监委",
        "persons": ["460106197001010016"],
        "names": ["王伟"],
        "reported": [{"name": "王伟", "post": "=局长"}],
        "content": "反映王伟（460106197001010016，电话13800001234）违规经商。",
    },
}


def _pseudonym(record_id: str) -> str:
    return f"r-{record_id}"


def test_ledger_rows_are_masked_and_follow_the_header() -> None:
    rows = ledger_rows([PETITION_HIT], unmask=False, record_id=_pseudonym)
    assert rows[0] == list(HEADER)
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["序号"] == "1"
    assert row["记录标识"] == "r-abc123"
    assert row["来源"] == "信访举报件"
    assert row["证件号码"] == "460106************"
    assert "460106197001010016" not in row["内容摘要"]
    assert "13800001234" not in row["内容摘要"]
    assert row["职务"] == "'=局长"  # a spreadsheet would run it as a formula


def test_unmasked_ledger_keeps_the_numbers() -> None:
    rows = ledger_rows([PETITION_HIT], unmask=True, record_id=_pseudonym)
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["证件号码"] == "460106197001010016"


def test_ledger_files_parse_back() -> None:
    rows = ledger_rows([PETITION_HIT], unmask=False, record_id=_pseudonym)
    text = write_ledger(rows, LedgerFormat.CSV).decode("utf-8")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == rows
    sheet = load_workbook(io.BytesIO(write_ledger(rows, LedgerFormat.XLSX))).active
    assert sheet is not None
    assert [[c or "" for c in r] for r in sheet.iter_rows(values_only=True)] == rows


def test_a_number_cut_by_the_excerpt_is_masked_before_the_cut() -> None:
    number = "460106197001010016"
    content = "反" * (EXCERPT_CHARS - 10) + number + "。"
    source = {"source": "petition", "content": content, "orgs": [f"某公司(身份证{number})"],
              "names": [f"王伟{number}"]}  # fmt: skip
    hit = {"_id": "a", "_source": source}
    row = dict(zip(HEADER, ledger_rows([hit], unmask=False, record_id=_pseudonym)[1], strict=True))
    assert row["内容摘要"].endswith("460106****")
    assert row["涉及单位"] == "某公司(身份证460106************)"
    assert number not in "".join(row.values())
