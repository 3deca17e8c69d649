"""Index analysis settings and field templates: the names here are used by mappings and queries.

Chinese text is indexed three ways (see docs/ARCHITECTURE.md): jieba tokens computed in Python and
joined by spaces (precision, analysed by ``whitespace``), overlapping CJK bigrams of the raw text
(recall: every substring of two or more characters is a phrase of bigrams) and keywords for exact
values. Names additionally get pinyin keywords computed in Python.
"""

from __future__ import annotations

from typing import Any

# Analyzer, normalizer and filter names: referenced by mappings, queries and tests.
ANALYZER_TOKENS = "xs_tokens"
ANALYZER_BIGRAM = "xs_bigram"
NORMALIZER_KEYWORD = "xs_keyword"
FILTER_BIGRAM = "xs_cjk_bigram"

# Sub-field names under a text field.
SUBFIELD_BIGRAM = "bigram"
SUBFIELD_KEYWORD = "keyword"

# Longest value kept in a keyword sub-field; longer text is searched through the text fields only.
KEYWORD_IGNORE_ABOVE = 256


def analysis_settings() -> dict[str, Any]:
    """The ``analysis`` block every index of ours carries."""
    return {
        "filter": {
            FILTER_BIGRAM: {
                "type": "cjk_bigram",
                # Lone CJK characters (a one-character name part between punctuation) stay
                # searchable; runs of two or more produce bigrams only, which keeps the index small.
                "output_unigrams": False,
            }
        },
        "analyzer": {
            ANALYZER_TOKENS: {
                # Input is jieba's output, already simplified and joined by spaces.
                "type": "custom",
                "tokenizer": "whitespace",
                "filter": ["lowercase"],
            },
            ANALYZER_BIGRAM: {
                "type": "custom",
                "tokenizer": "standard",
                # cjk_width folds full-width ASCII and half-width kana before bigramming.
                "filter": ["cjk_width", "lowercase", FILTER_BIGRAM],
            },
        },
        "normalizer": {
            NORMALIZER_KEYWORD: {"type": "custom", "filter": ["cjk_width", "lowercase"]},
        },
    }


def index_settings(
    *, shards: int = 1, replicas: int = 0, refresh_interval: str = "1s"
) -> dict[str, Any]:
    """Settings for a new index; a single development node needs ``replicas=0`` to be green."""
    return {
        "index": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "refresh_interval": refresh_interval,
            # Results are paged within a capped window; deep paging is refused by the API.
            "max_result_window": 10_000,
        },
        "analysis": analysis_settings(),
    }


def text_field() -> dict[str, Any]:
    """Free text: bigram recall field as the main field, keyword for exact match and sorting."""
    return {
        "type": "text",
        "analyzer": ANALYZER_BIGRAM,
        "fields": {
            SUBFIELD_KEYWORD: {
                "type": "keyword",
                "normalizer": NORMALIZER_KEYWORD,
                "ignore_above": KEYWORD_IGNORE_ABOVE,
            }
        },
    }


def tokens_field() -> dict[str, Any]:
    """Jieba tokens computed at ingest and joined by spaces."""
    return {"type": "text", "analyzer": ANALYZER_TOKENS}


def keyword_field() -> dict[str, Any]:
    """An exact value (ID number, credit code, region code, closed-set label)."""
    return {"type": "keyword", "normalizer": NORMALIZER_KEYWORD}
