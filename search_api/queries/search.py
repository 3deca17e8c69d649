"""Pure builders for keyword search (the clue search reuses them): parsed query + scope -> dict.

A term finds the records with a text value that contains it, as a substring (docs/search-syntax.md
§1), and no others. A term is split at whitespace (only a quoted phrase has any) into pieces that
must all be contained. A piece of one run (only Han characters, or only letters and digits) is
matched on the bigram field (`xs_bigram`: standard tokenizer, CJK bigrams, lone CJK characters
kept as unigrams): two or more Han characters are a phrase of bigrams; one Han character is a
unigram or the first or second half of a bigram (prefix / ``?X``); letters or digits are a whole
token where the piece bounds them, else a prefix, suffix or infix of one. Any other piece (Han
with digits or letters, ``8栋3单元1``, or with punctuation) is a phrase on the ``grams`` sub-field,
whose overlapping two-character grams chain into exactly the substring as written. Each of those
clauses holds for every value that contains the piece and for no other; the whole value
(keyword), the term standing whole on token boundaries and the jieba word field rank hits. The
scope's filters are always inside the query (`scope_filters`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from analyzers.index_settings import GRAM_CHARS, SUBFIELD_GRAMS, SUBFIELD_KEYWORD
from analyzers.values import unify_dots
from query_logs.gate import Scope
from registry.fields import NAMES_KEYWORD, ORGS_KEYWORD, REPORTED_POST, ColumnField, Envelope
from search_api.queries.records import scope_filters, source_without_hidden
from search_api.queries.syntax import And, Field, Node, Not, Term, terms_of

# Characters that cjk_bigram pairs with their neighbours: Han (URO, Extension A-H, compatibility
# ideographs, 々 〇 and Hangzhou numerals), kana and Hangul syllables.
_HAN = re.compile(
    "[\u3005\u3007\u3021-\u3029\u3038-\u303b\u3041-\u309f\u30a1-\u30fa\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\U00020000-\U0003134f]"
)
# Characters that may join letters or digits into one token (UAX #29 MidLetter/MidNum and the
# like: 3.5, a_b, o'neil): a letter/digit run next to one of them may be part of a longer token.
_JOINERS = frozenset(".,_'’:;·")
_WILDCARD_SPECIAL = re.compile(r"([*?\\])")

# Ranking boosts; recall never depends on them (they are `should` clauses beside the recall
# clauses). A whole-value match beats a name match beats a phrase beats a word match.
BOOST_EXACT_NAME = 8.0  # the term is a whole name (names.keyword)
BOOST_EXACT_ORG = 6.0  # the term is a whole company or unit name (orgs.keyword)
BOOST_EXACT_VALUE = 4.0  # the term is a whole text value (all_text.keyword)
BOOST_PHRASE = 2.0  # the whole term as one phrase of bigrams (adjacent runs, in order)
BOOST_WORD = 1.0  # the term is a jieba word of the prose (all_tokens)
# A term matched on the grams sub-field: a flat bonus when it also stands whole on the standard
# tokens (107号 in 路107号 rather than in 2107号: its numbers are whole numbers), so those hits
# come first whatever their length; then a small share of the grams phrase's BM25 (short values
# and repeated mentions first), far below every other clause.
BOOST_WHOLE = 2.0
BOOST_SUBSTRING = 0.01

# Aggregation sizes: a facet lists its most frequent values only.
FACET_SIZE = 20
# Highlight fragments per field and their length in characters.
HIGHLIGHT_FRAGMENTS = 3
HIGHLIGHT_FRAGMENT_CHARS = 80


@dataclass(frozen=True, slots=True)
class Target:
    """Where a field prefix searches: text fields (contains) and keyword fields (whole value)."""

    text: tuple[str, ...] = ()
    keyword: tuple[str, ...] = ()
    nested_text: tuple[tuple[str, str], ...] = ()  # (path, field) of nested text fields


# Field prefixes -> index fields (see registry.sources for the columns behind them).
TARGETS: dict[Field, Target] = {
    Field.ANY: Target(text=(Envelope.ALL_TEXT,)),
    Field.NAME: Target(text=(Envelope.NAMES,)),
    Field.UNIT: Target(text=(Envelope.ORGS,)),
    Field.COMPANY: Target(text=(ColumnField.COMPANY_NAME,)),
    Field.ADDRESS: Target(text=(ColumnField.ADDRESS, ColumnField.LOCATION)),
    Field.CONTENT: Target(text=(ColumnField.CONTENT, ColumnField.BUSINESS_SCOPE)),
    Field.POST: Target(
        text=(ColumnField.POST,), nested_text=((ColumnField.REPORTED, REPORTED_POST),)
    ),
    Field.NUMBER: Target(
        keyword=(
            ColumnField.PETITION_NO,
            ColumnField.HOUSEHOLD_NO,
            ColumnField.UNIT_NO,
            ColumnField.CERTIFICATE_NO,
            ColumnField.PAYMENT_NO,
            ColumnField.CREDIT_CODE,
        )
    ),
    Field.CATEGORY: Target(keyword=(ColumnField.CATEGORY,)),
    Field.HANDLING_UNIT: Target(text=(ColumnField.HANDLING_UNIT,)),
}


class Sort(StrEnum):
    """Stable orders: every one ends with the record's source and natural key."""

    RELEVANCE = "relevance"
    DATE_DESC = "date_desc"
    DATE_ASC = "date_asc"


class Facet(StrEnum):
    SOURCE = "source"
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    TIER = "tier"
    CATEGORY = "category"
    YEAR = "year"


# region_prefixes holds 2, 4, 6 and 9 digit prefixes; each level is a facet of its own.
_REGION_LEVELS = {Facet.PROVINCE: 2, Facet.CITY: 4, Facet.COUNTY: 6, Facet.TOWNSHIP: 9}


@dataclass(frozen=True, slots=True)
class Filters:
    """Narrowing chosen by the user beyond the scope (sources and regions go through the gate)."""

    tiers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None


def fold_width(text: str) -> str:
    """Full-width ASCII -> ASCII and lower case, as the index's cjk_width + lowercase do."""
    return "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text).lower()


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of a term that the index analyses as one unit: Han characters or a word."""

    text: str
    han: bool
    open_left: bool  # the value may continue this run to the left
    open_right: bool


def _char_class(char: str) -> str:
    if _HAN.match(char):
        return "han"
    if unicodedata.category(char)[0] in "LN":
        return "word"
    return "sep"


def split_runs(text: str, *, open_start: bool = True, open_end: bool = True) -> list[Run]:
    """The runs of a term; a run at the term's edge (or by a joiner) is open on that side.

    ``open_start`` / ``open_end``: whether the term's own edges are open (a piece of a phrase
    that whitespace bounds is not: the record must have a break there too).
    """
    folded = fold_width(text)
    classes = [_char_class(c) for c in folded]
    runs: list[Run] = []
    i = 0
    while i < len(folded):
        kind = classes[i]
        j = i
        while j < len(folded) and classes[j] == kind:
            j += 1
        if kind != "sep":
            before = folded[i - 1] if i > 0 else None
            after = folded[j] if j < len(folded) else None
            at_start = before is None and open_start
            at_end = after is None and open_end
            if kind == "han":  # a separator or a word beside Han text ends its bigram run
                runs.append(Run(folded[i:j], True, at_start, at_end))
            else:
                runs.append(
                    Run(
                        folded[i:j],
                        False,
                        at_start or before in _JOINERS,
                        at_end or after in _JOINERS,
                    )
                )
        i = j
    return runs


def _escape_wildcard(text: str) -> str:
    return _WILDCARD_SPECIAL.sub(r"\\\1", text)


def _run_clause(run: Run, field: str) -> dict[str, Any]:
    """A clause that every value containing this run (at this place of the term) satisfies."""
    text = run.text
    if run.han and len(text) >= 2:
        return {"match_phrase": {field: {"query": text}}}
    if run.han:  # one character: a unigram, or the first or second half of a bigram
        options: list[dict[str, Any]] = []
        if run.open_right:
            options.append({"prefix": {field: {"value": text}}})
        else:
            options.append({"term": {field: {"value": text}}})
        if run.open_left:
            options.append({"wildcard": {field: {"value": f"?{_escape_wildcard(text)}"}}})
        return (
            options[0]
            if len(options) == 1
            else {"bool": {"should": options, "minimum_should_match": 1}}
        )
    escaped = _escape_wildcard(text)
    if run.open_left and run.open_right:
        return {"wildcard": {field: {"value": f"*{escaped}*"}}}
    if run.open_left:
        return {"wildcard": {field: {"value": f"*{escaped}"}}}
    if run.open_right:
        return {"prefix": {field: {"value": text}}}
    return {"term": {field: {"value": text}}}


_PIECE = re.compile(r"\S+")


def uses_grams(piece: str) -> bool:
    """Whether a whitespace-free piece is matched on the grams sub-field: it has two characters
    or more and is not a single run (it mixes Han with digits or letters, or holds punctuation),
    so only its characters as written, side by side, may match it."""
    runs = split_runs(piece)
    single = len(runs) == 1 and runs[0].text == fold_width(piece)
    return len(piece) >= GRAM_CHARS and not single


def contains_clause(text: str, field: str) -> dict[str, Any]:
    """Every document with a value of ``field`` that contains ``text`` matches, and no other
    (pieces of a phrase that whitespace separates are each contained, anywhere)."""
    clauses: list[dict[str, Any]] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        if uses_grams(piece):
            clauses.append({"match_phrase": {f"{field}.{SUBFIELD_GRAMS}": {"query": piece}}})
            continue
        runs = split_runs(piece, open_start=match.start() == 0, open_end=match.end() == len(text))
        clauses += [_run_clause(run, field) for run in runs]
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"filter": clauses}}


def grams_term(text: str) -> bool:
    """Whether any piece of ``text`` is matched on the grams sub-field."""
    return any(uses_grams(piece) for piece in _PIECE.findall(text))


def term_variants(text: str, simplify: Callable[[str], str] | None = None) -> list[str]:
    """The forms of a term that are searched: as typed, simplified, and with middle dots in the
    one form names are stored with (阿依古丽•买买提 finds 阿依古丽·买买提)."""
    simple = simplify(text) if simplify else text
    return list(dict.fromkeys([text, simple, unify_dots(simple)]))


def term_recall(term: Term, simplify: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The clause deciding whether a record matches ``term`` (never misses a containing one)."""
    target = TARGETS[term.field]
    options: list[dict[str, Any]] = []
    for variant in term_variants(term.text, simplify):
        options += [contains_clause(variant, f) for f in target.text]
        options += [{"term": {f: {"value": variant}}} for f in target.keyword]
        options += [
            {"nested": {"path": path, "query": contains_clause(variant, f)}}
            for path, f in target.nested_text
        ]
    return (
        options[0]
        if len(options) == 1
        else {"bool": {"should": options, "minimum_should_match": 1}}
    )


def _phrase_ranking(variant: str, field: str) -> list[dict[str, Any]]:
    """The phrase clauses of a term's ranking on one text field."""
    if not grams_term(variant):
        return [{"match_phrase": {field: {"query": variant, "boost": BOOST_PHRASE}}}]
    whole = {"match_phrase": {field: {"query": variant}}}
    grams = {"query": variant, "boost": BOOST_SUBSTRING}
    return [
        {"constant_score": {"filter": whole, "boost": BOOST_WHOLE}},
        {"match_phrase": {f"{field}.{SUBFIELD_GRAMS}": grams}},
    ]


def term_ranking(term: Term, simplify: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Should-clauses that score exact values, whole phrases and jieba words first."""
    target = TARGETS[term.field]
    clauses: list[dict[str, Any]] = []
    for variant in term_variants(term.text, simplify):
        for f in target.text:
            clauses += _phrase_ranking(variant, f)
            clauses.append(
                {
                    "term": {
                        f"{f}.{SUBFIELD_KEYWORD}": {"value": variant, "boost": BOOST_EXACT_VALUE}
                    }
                }
            )
        if term.field in (Field.ANY, Field.NAME):
            clauses.append({"term": {NAMES_KEYWORD: {"value": variant, "boost": BOOST_EXACT_NAME}}})
        if term.field in (Field.ANY, Field.UNIT):
            clauses.append({"term": {ORGS_KEYWORD: {"value": variant, "boost": BOOST_EXACT_ORG}}})
        if term.field in (Field.ANY, Field.CONTENT):
            # The whitespace-analysed jieba field: scores when the term is a word of the prose.
            clauses.append(
                {
                    "match_phrase": {
                        Envelope.ALL_TOKENS: {"query": fold_width(variant), "boost": BOOST_WORD}
                    }
                }
            )
    return clauses


def node_clause(node: Node, simplify: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The boolean recall query of a parsed query tree (filter context: no scores)."""
    if isinstance(node, Term):
        return term_recall(node, simplify)
    if isinstance(node, Not):
        return {"bool": {"must_not": [node_clause(node.child, simplify)]}}
    children = [node_clause(child, simplify) for child in node.children]
    if isinstance(node, And):
        return {"bool": {"filter": children}}
    return {"bool": {"should": children, "minimum_should_match": 1}}


def _restrictions(filters: Filters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if filters.tiers:
        clauses.append({"terms": {Envelope.TIER: list(filters.tiers)}})
    if filters.categories:
        clauses.append({"terms": {ColumnField.CATEGORY: list(filters.categories)}})
    if filters.date_from or filters.date_to:
        bounds = {}
        if filters.date_from:
            bounds["gte"] = filters.date_from.isoformat()
        if filters.date_to:
            bounds["lte"] = filters.date_to.isoformat()
        clauses.append({"range": {Envelope.RECORD_DATE: bounds | {"format": "strict_date"}}})
    return clauses


def matching_query(
    node: Node,
    scope: Scope,
    filters: Filters,
    simplify: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The scored query: recall and scope as filters, ranking as should-clauses."""
    ranking = [c for term in terms_of(node) for c in term_ranking(term, simplify)]
    return {
        "bool": {
            "filter": [node_clause(node, simplify), *scope_filters(scope), *_restrictions(filters)],
            "should": ranking,
        }
    }


def sort_clause(sort: Sort) -> list[Any]:
    tie_break = [{Envelope.SOURCE: "asc"}, {Envelope.RECORD_KEY: "asc"}]
    if sort is Sort.RELEVANCE:
        return ["_score", *tie_break]
    order = "desc" if sort is Sort.DATE_DESC else "asc"
    return [{Envelope.RECORD_DATE: {"order": order, "missing": "_last"}}, *tie_break]


def facet_aggregations() -> dict[str, Any]:
    aggs: dict[str, Any] = {
        Facet.SOURCE: {"terms": {"field": Envelope.SOURCE, "size": FACET_SIZE}},
        Facet.TIER: {"terms": {"field": Envelope.TIER, "size": FACET_SIZE}},
        Facet.CATEGORY: {"terms": {"field": ColumnField.CATEGORY, "size": FACET_SIZE}},
        Facet.YEAR: {
            "date_histogram": {
                "field": Envelope.RECORD_DATE,
                "calendar_interval": "year",
                "format": "yyyy",
                "min_doc_count": 1,
                "order": {"_key": "desc"},
            }
        },
    }
    for facet, digits in _REGION_LEVELS.items():
        aggs[facet] = {
            "terms": {
                "field": Envelope.REGION_PREFIXES,
                "size": FACET_SIZE,
                "include": f"[0-9]{{{digits}}}",
            }
        }
    return aggs


def highlight_clause(node: Node, simplify: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Highlights on the text fields the positive terms searched (raw text, with offsets); a term
    matched on the grams sub-field is highlighted there (`merge_highlights` names it back)."""
    terms = terms_of(node)
    fields = {f for t in terms for f in TARGETS[t.field].text}
    fields |= {
        f"{f}.{SUBFIELD_GRAMS}" for t in terms if grams_term(t.text) for f in TARGETS[t.field].text
    }
    query = {"bool": {"should": [term_recall(t, simplify) for t in terms]}}
    return {
        "type": "unified",
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
        "fragment_size": HIGHLIGHT_FRAGMENT_CHARS,
        "number_of_fragments": HIGHLIGHT_FRAGMENTS,
        "require_field_match": False,
        "highlight_query": query,
        "fields": {f: {} for f in sorted(fields)},
    }


def merge_highlights(highlight: dict[str, list[str]]) -> dict[str, list[str]]:
    """Fragments per searched field: a grams sub-field's fragments under its field's name, first
    (they mark a whole mixed term), without repeats and at most `HIGHLIGHT_FRAGMENTS` each."""
    suffix = f".{SUBFIELD_GRAMS}"
    merged: dict[str, list[str]] = {}
    for name in sorted(highlight, key=lambda n: not n.endswith(suffix)):
        fragments = merged.setdefault(name.removesuffix(suffix), [])
        fragments += [f for f in highlight[name] if f not in fragments]
    return {name: fragments[:HIGHLIGHT_FRAGMENTS] for name, fragments in merged.items()}


def keyword_search_query(
    node: Node,
    scope: Scope,
    filters: Filters,
    sort: Sort = Sort.RELEVANCE,
    simplify: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Keyword search: one page of hits in the scope, highlights and facets."""
    return {
        "query": matching_query(node, scope, filters, simplify),
        "sort": sort_clause(sort),
        "from": scope.offset,
        "size": scope.page_size,
        "track_total_hits": True,
        "_source": source_without_hidden(),
        "highlight": highlight_clause(node, simplify),
        "aggs": facet_aggregations(),
    }
