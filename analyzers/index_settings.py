"""Index analysis settings and field templates: the names here are used by mappings and queries.

Chinese text is indexed four ways (see docs/ARCHITECTURE.md): jieba tokens computed in Python and
joined by spaces (precision, analysed by ``whitespace``), overlapping CJK bigrams of the raw text
(recall: every substring of two or more Han characters is a phrase of bigrams), overlapping
bigrams of every character (``grams``: a term that mixes Han, digits, letters or punctuation, such
as ``8栋3单元1``, is a phrase of them exactly where it occurs as written) and keywords for exact
values. Names additionally get pinyin keywords computed in Python.
"""

from __future__ import annotations

from typing import Any

# Analyzer, normalizer and filter names: referenced by mappings, queries and tests.
ANALYZER_TOKENS = "xs_tokens"
ANALYZER_BIGRAM = "xs_bigram"
ANALYZER_GRAMS = "xs_grams"
NORMALIZER_KEYWORD = "xs_keyword"
FILTER_BIGRAM = "xs_cjk_bigram"
TOKENIZER_GRAMS = "xs_char_bigrams"

# Sub-field names under a text field.
SUBFIELD_BIGRAM = "bigram"
SUBFIELD_KEYWORD = "keyword"
SUBFIELD_GRAMS = "grams"

# Characters per gram of the ``grams`` sub-field: two is the shortest length whose overlapping
# grams chain into any longer substring as a phrase; longer grams would multiply the index for
# no recall (a one-character term is answered by the bigram field).
GRAM_CHARS = 2

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
        "tokenizer": {
            TOKENIZER_GRAMS: {
                "type": "ngram",
                "min_gram": GRAM_CHARS,
                "max_gram": GRAM_CHARS,
                # No character classes: digits, letters, Han, punctuation and spaces all chain, so
                # a phrase of grams is the substring as written (9 stays apart from 栋 in 9 栋).
                "token_chars": [],
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
            ANALYZER_GRAMS: {
                "type": "custom",
                "tokenizer": TOKENIZER_GRAMS,
                # Folded per gram: full-width ６ and Ａ are 6 and a, as in the other fields.
                "filter": ["cjk_width", "lowercase"],
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
    """Free text: bigram recall field as the main field, character grams for terms that mix
    Han with digits or letters, keyword for exact match and sorting."""
    return {
        "type": "text",
        "analyzer": ANALYZER_BIGRAM,
        "fields": {
            SUBFIELD_KEYWORD: {
                "type": "keyword",
                "normalizer": NORMALIZER_KEYWORD,
                "ignore_above": KEYWORD_IGNORE_ABOVE,
            },
            SUBFIELD_GRAMS: {"type": "text", "analyzer": ANALYZER_GRAMS},
        },
    }


def tokens_field() -> dict[str, Any]:
    """Jieba tokens computed at ingest and joined by spaces."""
    return {"type": "text", "analyzer": ANALYZER_TOKENS}


def keyword_field() -> dict[str, Any]:
    """An exact value (ID number, credit code, region code, closed-set label)."""
    return {"type": "keyword", "normalizer": NORMALIZER_KEYWORD}
