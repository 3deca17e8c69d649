"""The project's analysis settings on the real engine, checked with _analyze and exact tokens."""

from __future__ import annotations

from typing import Any

import pytest

from analyzers.index_settings import (
    ANALYZER_BIGRAM,
    ANALYZER_GRAMS,
    ANALYZER_TOKENS,
    NORMALIZER_KEYWORD,
    index_settings,
    keyword_field,
    text_field,
    tokens_field,
)
from registry.engine import EngineDoor
from search_api.queries.search import contains_clause, fold_width, term_ranking, term_recall
from search_api.queries.syntax import Term


@pytest.fixture(scope="module")
def analysis_index(door: EngineDoor) -> str:
    mappings = {
        "properties": {
            "content": text_field(),
            "content_tokens": tokens_field(),
            "id_number": keyword_field(),
        }
    }
    return door.create_index(door.index_name("analysis-probe"), index_settings(), mappings)


def _put(door: EngineDoor, index: str, docs: dict[str, dict[str, Any]]) -> None:
    """Write documents and make them searchable (every write must be accepted)."""
    outcomes = door.send(index, [(doc_id, doc, None) for doc_id, doc in docs.items()])
    assert all(outcome.ok for outcome in outcomes), outcomes
    door.refresh(index)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("海口市粮食局", ["海口", "口市", "市粮", "粮食", "食局"]),
        # A lone CJK character between non-CJK characters stays a unigram.
        ("王 123", ["王", "123"]),
        # Middle dots split a minority name; each part is bigrammed on its own.
        ("阿依古丽·买买提", ["阿依", "依古", "古丽", "买买", "买提"]),
        # Full-width Latin letters and digits fold to ASCII, then lower-case.
        ("ＡＢＣ１２３", ["abc123"]),
        # CJK Extension A (U+4DAE) and B (U+2A6A5) characters are bigrammed like any other.
        ("王䶮", ["王䶮"]),
        ("陈𪚥明", ["陈𪚥", "𪚥明"]),
    ],
)
def test_bigram_analyzer_tokens(
    door: EngineDoor, analysis_index: str, text: str, tokens: list[str]
) -> None:
    assert door.analyze(analysis_index, {"analyzer": ANALYZER_BIGRAM, "text": text}) == tokens


def test_tokens_analyzer_keeps_jieba_tokens_whole(door: EngineDoor, analysis_index: str) -> None:
    text = "海口市 粮食 局 ABC 460106196002100010"
    assert door.analyze(analysis_index, {"analyzer": ANALYZER_TOKENS, "text": text}) == [
        "海口市",
        "粮食",
        "局",
        "abc",
        "460106196002100010",
    ]


def test_keyword_normalizer_folds_width_and_case(door: EngineDoor, analysis_index: str) -> None:
    body = {"normalizer": NORMALIZER_KEYWORD, "text": "４６０１０６１９６００２１０００１Ｘ"}
    assert door.analyze(analysis_index, body) == ["46010619600210001x"]


def test_text_field_finds_substring_as_phrase(door: EngineDoor, analysis_index: str) -> None:
    _put(
        door,
        analysis_index,
        {
            "1": {"content": "反映五指山市粮食和物资储备局副局长问题"},
            "2": {"content": "粮食局和物资储备"},
        },
    )
    query = {"query": {"match_phrase": {"content": "粮食和物资"}}}
    hits = door.search(analysis_index, query)["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["1"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # Han, digits and letters chain into one run of overlapping grams, folded like the rest.
        ("8栋3单元１２Ａ", ["8栋", "栋3", "3单", "单元", "元1", "12", "2a"]),
        # Punctuation and spaces are characters too: 9 and 栋 are not side by side in "9 栋".
        ("琼(2019)", ["琼(", "(2", "20", "01", "19", "9)"]),
        ("9 栋", ["9 ", " 栋"]),
        # CJK Extension B (U+2A6A5) is one character, as in the bigram field.
        ("陈𪚥明", ["陈𪚥", "𪚥明"]),
        ("王", []),
    ],
)
def test_grams_analyzer_tokens(
    door: EngineDoor, analysis_index: str, text: str, tokens: list[str]
) -> None:
    assert door.analyze(analysis_index, {"analyzer": ANALYZER_GRAMS, "text": text}) == tokens


# Values as registries write them: addresses, certificate numbers, plates, unit numbers.
SUBSTRING_VALUES = {
    "a": "海南省海口市龙华区中山路191号5栋4单元2107室",
    "b": "海南省海口市龙华区中山路107号8栋3单元1102室",
    "c": "海口市美兰区和平路2107号",
    "d": "琼(2019)海口市不动产权第0012345号",
    "e": "琼（2020）三亚市不动产权第０６９２１１１号",
    "f": "车牌琼A12345，另有琼A123456",
    "g": "460106000123GB00123F00001234",
    "h": "区中山路 4号（原商住楼,A座）",
    "i": "海口市龙华区中山路4号10栋1单元６９２室",
    "j": "滨海花园8栋3单元1室",
    "k": "滨海花园2栋6单元1801室",
    "l": "龙华区中山路42号",
}
SUBSTRING_TERMS = [
    "8栋3单元1", "0栋1单元", "区中山路4", "元６９２", "元692", "107号", "2107室", "2107号",
    "6单元1", "号5栋", "琼A12345", "琼a123456", "ａ１２３４５", "0012345", "692", "GB00123F",
    "00123f0", "不动产权第0012345号", "琼(2019)海口市不动产权第0012345号",
    "琼(2020)三亚", "（2019）海口", "4号（原", "A座", "a座）", "1102",
]  # fmt: skip


@pytest.fixture(scope="module")
def substring_index(door: EngineDoor) -> str:
    mappings = {"properties": {"all_text": text_field(), "address": text_field()}}
    name = door.create_index(door.index_name("substring-probe"), index_settings(), mappings)
    docs = {k: {"all_text": [v], "address": v} for k, v in SUBSTRING_VALUES.items()}
    _put(door, name, docs)
    return name


def _ids(door: EngineDoor, index: str, query: dict[str, Any]) -> list[str]:
    hits = door.search(index, {"query": query, "size": 50})["hits"]["hits"]
    return [h["_id"] for h in hits]


@pytest.mark.parametrize("term", SUBSTRING_TERMS)
def test_a_term_finds_exactly_the_values_that_contain_it(
    door: EngineDoor, substring_index: str, term: str
) -> None:
    expected = {k for k, v in SUBSTRING_VALUES.items() if fold_width(term) in fold_width(v)}
    assert expected, term  # every term of the table occurs somewhere
    found = _ids(door, substring_index, contains_clause(term, "all_text"))
    assert sorted(found) == sorted(expected)


@pytest.mark.parametrize(
    ("term", "first"),
    [("107号", "b"), ("2107", "c"), ("8栋3单元1", "j"), ("区中山路4", "i")],
)
def test_a_mixed_term_whose_numbers_stand_whole_ranks_first(
    door: EngineDoor, substring_index: str, term: str, first: str
) -> None:
    parsed = Term(term)
    query = {"bool": {"filter": [term_recall(parsed)], "should": term_ranking(parsed)}}
    hits = door.search(substring_index, {"query": query})["hits"]["hits"]
    assert hits[0]["_id"] == first
    assert len(hits) >= 2  # the term also continues a longer number elsewhere
    assert all(h["_score"] > 0 for h in hits)
