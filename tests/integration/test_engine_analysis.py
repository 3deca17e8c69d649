"""The project's analysis settings on the real engine, checked with _analyze and exact tokens."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy import OpenSearch

from analyzers.index_settings import (
    ANALYZER_BIGRAM,
    ANALYZER_TOKENS,
    NORMALIZER_KEYWORD,
    index_settings,
    keyword_field,
    text_field,
    tokens_field,
)
from search_api.provider import OpenSearchProvider


@pytest.fixture(scope="module")
def analysis_index(provider: OpenSearchProvider) -> str:
    name = provider.index_name("analysis-probe")
    provider.client.indices.create(
        index=name,
        body={
            "settings": index_settings(),
            "mappings": {
                "properties": {
                    "content": text_field(),
                    "content_tokens": tokens_field(),
                    "id_number": keyword_field(),
                }
            },
        },
    )
    provider.client.cluster.health(index=name, wait_for_status="green")
    return name


def _analyze(client: OpenSearch, index: str, body: dict[str, Any]) -> list[str]:
    return [t["token"] for t in client.indices.analyze(index=index, body=body)["tokens"]]


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
    os_client: OpenSearch, analysis_index: str, text: str, tokens: list[str]
) -> None:
    assert (
        _analyze(os_client, analysis_index, {"analyzer": ANALYZER_BIGRAM, "text": text}) == tokens
    )


def test_tokens_analyzer_keeps_jieba_tokens_whole(
    os_client: OpenSearch, analysis_index: str
) -> None:
    text = "海口市 粮食 局 ABC 460106196002100010"
    assert _analyze(os_client, analysis_index, {"analyzer": ANALYZER_TOKENS, "text": text}) == [
        "海口市",
        "粮食",
        "局",
        "abc",
        "460106196002100010",
    ]


def test_keyword_normalizer_folds_width_and_case(
    os_client: OpenSearch, analysis_index: str
) -> None:
    body = {"normalizer": NORMALIZER_KEYWORD, "text": "４６０１０６１９６００２１０００１Ｘ"}
    assert _analyze(os_client, analysis_index, body) == ["46010619600210001x"]


def test_text_field_finds_substring_as_phrase(os_client: OpenSearch, analysis_index: str) -> None:
    os_client.index(
        index=analysis_index,
        id="1",
        body={"content": "反映五指山市粮食和物资储备局副局长问题"},
        refresh=True,
    )
    os_client.index(
        index=analysis_index, id="2", body={"content": "粮食局和物资储备"}, refresh=True
    )
    hits = os_client.search(
        index=analysis_index, body={"query": {"match_phrase": {"content": "粮食和物资"}}}
    )["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["1"]
