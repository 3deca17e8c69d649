"""Entity search (issue 5, item 2): what the typed text is, and the two queries that make cards.

Pure functions returning dicts, tested without a cluster. The search runs in two steps, both
inside ``scope_filters(scope)``:

1. ``candidates_query`` (size 0) matches the records and aggregates the entity keys they link:
   person IDs from the ``persons`` envelope of non-petition records (each such record links one
   person, so a co-occurring person cannot ride along), reported persons of petitions through a
   nested aggregation that re-checks the name or ID on the reported entry itself, and companies
   from ``credit_code`` (company, shareholder, officer records) and ``employer_code`` (insured).
   Buckets are ordered by their best score (the strongest kind of match) and then by count.
2. ``cards_query`` (size 0) has one ``filter`` aggregation per candidate: record counts per
   source, the names recorded for that key, and the few identity fields a card shows (household:
   gender, birth date, region; roster: unit, post; company registry: name, type, status, region).

Phone numbers are matched but never returned; ID numbers are masked by the router.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from analyzers.chinese import normalise_pinyin
from analyzers.ids import compact, normalise_credit_code, normalise_person_id
from analyzers.index_settings import SUBFIELD_KEYWORD
from analyzers.values import clean_name, name_without_dot
from common.errors import InvalidInputError
from common.vocab import Source
from query_logs.gate import Scope
from registry.fields import (
    NAMES_KEYWORD,
    ORGS_KEYWORD,
    REPORTED_ID_NUMBER,
    REPORTED_NAME,
    ColumnField,
    Envelope,
    join_path,
)
from search_api.queries.records import scope_filters

# Longest accepted query: a name, a company name or a number; anything longer is not an entity.
MAX_QUERY_CHARS = 100
# Cards per response (the default and the cap): enough to pick one 王伟 out of a county's.
DEFAULT_CARDS = 20
MAX_CARDS = 50
# Names shown on a card (a person with a former name and a traditional spelling has three).
NAMES_PER_CARD = 5

# Scores of the kinds of match (constant_score boosts under dis_max: a bucket's best score says
# how it matched, so an exact name outranks a pinyin or partial match whatever the counts).
SCORE_ID = 10.0
SCORE_EXACT = 8.0
SCORE_NODOT = 6.0
SCORE_PINYIN = 4.0
SCORE_INITIALS = 2.0
SCORE_PARTIAL = 1.0

# How a card matched, for the investigator (by the best score; an ID-level score by query type).
_MATCH_LABELS = {SCORE_EXACT: "姓名", SCORE_NODOT: "姓名（不计间隔号）", SCORE_PINYIN: "全拼",
                 SCORE_INITIALS: "拼音首字母", SCORE_PARTIAL: "部分姓名或名称"}  # fmt: skip

_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]")
_ID_SHAPE_RE = re.compile(r"\d{15}|\d{17}[\dX]", re.ASCII)
_CODE_SHAPE_RE = re.compile(r"[0-9A-Z]{18}", re.ASCII)
_PHONE_SHAPE_RE = re.compile(r"\+?[\d\s\-()]+", re.ASCII)
_PINYIN_SHAPE_RE = re.compile(r"[a-zA-Z\u00c0-\u024f\u0300-\u036f\s'\-]+")
_PHONE_DIGITS = (7, 15)  # a landline without area code to the longest international number
# Control characters, lone surrogates and private-use characters are never part of a name.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co"})
_COMPANY_SOURCES = (Source.COMPANY, Source.SHAREHOLDER, Source.COMPANY_OFFICER)
_REPORTED = ColumnField.REPORTED


class EntityKind(StrEnum):
    """What the investigator is looking for."""

    PERSON = "person"
    COMPANY = "company"
    AUTO = "auto"


class QueryType(StrEnum):
    """What the typed text was recognised as."""

    PERSON_ID = "person_id"
    CREDIT_CODE = "credit_code"
    PHONE = "phone"
    PINYIN = "pinyin"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """The typed text, recognised and normalised.

    ``value`` is the normalised ID, code, phone digits, pinyin, or the simplified name with one
    middle-dot form; ``forms`` are the spellings a petition's reported entry may hold (as typed
    and simplified); ``nodot`` is the simplified name without middle dots.
    """

    type: QueryType
    value: str
    forms: tuple[str, ...] = ()
    nodot: str = ""

    @property
    def finds_persons(self) -> bool:
        return self.type is not QueryType.CREDIT_CODE

    @property
    def finds_companies(self) -> bool:
        return self.type in (QueryType.CREDIT_CODE, QueryType.PHONE, QueryType.NAME)


def parse_entity_query(raw: str, kind: EntityKind, simplify: Callable[[str], str]) -> EntityQuery:
    """Recognise the typed text; raises InvalidInputError with a message that never echoes it.

    Numbers are tried as a 公民身份号码 (15 or 18 characters, any width, spaces, lower-case x),
    then as a 统一社会信用代码, then as a phone number; Latin letters are pinyin (full or
    initials); anything with a Han character is a person's or a company's name.
    """
    if len(raw) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in raw):
        raise InvalidInputError("the query contains control characters")
    # Invisible format characters (zero-width spaces, joiners) are dropped, as at ingest.
    text = "".join(c for c in unicodedata.normalize("NFKC", raw) if unicodedata.category(c) != "Cf")
    text = text.strip()
    if not text:
        raise InvalidInputError("the query is empty")
    packed = compact(text)
    if _ID_SHAPE_RE.fullmatch(packed) and kind is not EntityKind.COMPANY:
        person = normalise_person_id(packed)
        if person.value:
            return EntityQuery(QueryType.PERSON_ID, person.value)
        if len(packed) != 18 or kind is EntityKind.PERSON:
            raise InvalidInputError(f"not a valid ID number: {person.error}")
    if _CODE_SHAPE_RE.fullmatch(packed) and kind is not EntityKind.PERSON:
        code = normalise_credit_code(packed)
        if code.value:
            return EntityQuery(QueryType.CREDIT_CODE, code.value)
        raise InvalidInputError(f"not a valid 统一社会信用代码 or ID number: {code.error}")
    if _PHONE_SHAPE_RE.fullmatch(text):
        return EntityQuery(QueryType.PHONE, _phone_digits(text))
    if _PINYIN_SHAPE_RE.fullmatch(text):
        if kind is EntityKind.COMPANY:
            raise InvalidInputError("company names are searched in Chinese characters")
        pinyin = normalise_pinyin(text)
        if len(pinyin) < 2:
            raise InvalidInputError("pinyin needs at least 2 letters")
        return EntityQuery(QueryType.PINYIN, pinyin)
    if not _HAN_RE.search(text):
        raise InvalidInputError(
            "type an ID number, a 统一社会信用代码, a phone number, a name or its pinyin"
        )
    typed = clean_name(text) or text
    simple = simplify(typed)
    if len(name_without_dot(simple)) < 2:
        raise InvalidInputError("a name needs at least 2 characters")
    return EntityQuery(
        QueryType.NAME, simple, tuple(dict.fromkeys((simple, typed))), name_without_dot(simple)
    )


def match_label(score: float, query_type: QueryType) -> str:
    """What a candidate's best score says about how it matched."""
    if score >= SCORE_ID:
        return {QueryType.PERSON_ID: "公民身份号码", QueryType.CREDIT_CODE: "统一社会信用代码",
                QueryType.PHONE: "联系电话"}.get(query_type, "编号")  # fmt: skip
    return next((label for s, label in sorted(_MATCH_LABELS.items(), reverse=True) if score >= s),
                "部分姓名或名称")  # fmt: skip


def _phone_digits(text: str) -> str:
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+86") or (text.startswith("0086") and len(digits) > 13):
        digits = digits[2:] if text.startswith("+") else digits[4:]
    if not _PHONE_DIGITS[0] <= len(digits) <= _PHONE_DIGITS[1]:
        raise InvalidInputError(
            f"a phone number has {_PHONE_DIGITS[0]} to {_PHONE_DIGITS[1]} digits"
        )
    return digits


def _scored(clause: dict[str, Any], score: float) -> dict[str, Any]:
    return {"constant_score": {"filter": clause, "boost": score}}


def _source_is(*sources: Source) -> dict[str, Any]:
    return {"terms": {Envelope.SOURCE: [str(s) for s in sources]}}


def person_clause(query: EntityQuery) -> dict[str, Any] | None:
    """Records that name the person sought, scored by the kind of match; None: not a person."""
    value = query.value
    if query.type is QueryType.PERSON_ID:
        return _scored({"term": {Envelope.PERSONS: value}}, SCORE_ID)
    if query.type is QueryType.PHONE:  # only the household registry records a person's phone
        clause = {
            "bool": {"filter": [{"term": {ColumnField.PHONE: value}}, _source_is(Source.HOUSEHOLD)]}
        }
        return _scored(clause, SCORE_ID)
    if query.type is QueryType.PINYIN:
        return {"dis_max": {"queries": [
            _scored({"term": {Envelope.NAMES_PINYIN: value}}, SCORE_PINYIN),
            _scored({"term": {Envelope.NAMES_INITIALS: value}}, SCORE_INITIALS),
        ]}}  # fmt: skip
    if query.type is QueryType.NAME:
        return {"dis_max": {"queries": [
            _scored({"term": {NAMES_KEYWORD: value}}, SCORE_EXACT),
            _scored({"term": {Envelope.NAMES_NODOT: query.nodot}}, SCORE_NODOT),
            _scored({"match_phrase": {Envelope.NAMES: value}}, SCORE_PARTIAL),
        ]}}  # fmt: skip
    return None


def reported_clause(query: EntityQuery) -> dict[str, Any] | None:
    """The clause on a petition's nested reported entry: the entry itself must be the match.

    Reported entries keep the name as written (one dot form, maybe traditional), so a name is
    matched in its typed and simplified forms; pinyin and phones do not reach reported entries.
    """
    if query.type is QueryType.PERSON_ID:
        return {"term": {REPORTED_ID_NUMBER: query.value}}
    if query.type is QueryType.NAME:
        return {"terms": {REPORTED_NAME: list(query.forms)}}
    return None


def company_clause(query: EntityQuery) -> dict[str, Any] | None:
    """Records that name the company sought, by its own code or name fields; None: no company."""
    value = query.value
    if query.type is QueryType.CREDIT_CODE:
        return _scored(
            {"bool": {"should": [{"term": {ColumnField.CREDIT_CODE: value}},
                                 {"term": {ColumnField.EMPLOYER_CODE: value}}],
                      "minimum_should_match": 1}},
            SCORE_ID,
        )  # fmt: skip
    if query.type is QueryType.PHONE:  # the company registry's own phone
        clause = {
            "bool": {"filter": [{"term": {ColumnField.PHONE: value}}, _source_is(Source.COMPANY)]}
        }
        return _scored(clause, SCORE_ID)
    if query.type is QueryType.NAME:
        # ``orgs`` holds the simplified company name of company, shareholder and officer
        # records and the employer's name of insured records (other sources' units have no code).
        named = {"dis_max": {"queries": [
            _scored({"term": {ORGS_KEYWORD: value}}, SCORE_EXACT),
            _scored({"match_phrase": {Envelope.ORGS: value}}, SCORE_PARTIAL),
        ]}}  # fmt: skip
        return {
            "bool": {"must": [named], "filter": [_source_is(*_COMPANY_SOURCES, Source.INSURED)]}
        }
    return None


def _best_first(field: str, size: int) -> dict[str, Any]:
    """Terms on ``field``, best-scoring bucket first, then the one with more records."""
    return {
        "terms": {"field": field, "size": size, "order": [{"best": "desc"}, {"_count": "desc"}]},
        "aggs": {"best": {"max": {"script": {"source": "_score", "lang": "painless"}}}},
    }


def candidates_query(
    scope: Scope, query: EntityQuery, kind: EntityKind, size: int
) -> dict[str, Any]:
    """Step 1: the entity keys that the matching records in scope link, best first.

    ``size`` + 1 buckets are asked per aggregation so the router can say the list was cut.
    """
    clauses: list[dict[str, Any]] = []
    aggs: dict[str, Any] = {}
    want_persons = kind is not EntityKind.COMPANY and query.finds_persons
    want_companies = kind is not EntityKind.PERSON and query.finds_companies
    if want_persons and (person := person_clause(query)) is not None:
        clauses.append(person)
        aggs[Envelope.PERSONS] = {
            "filter": {"bool": {"must": [person],
                                "must_not": [_source_is(Source.PETITION)]}},
            "aggs": {"keys": _best_first(Envelope.PERSONS, size + 1)},
        }  # fmt: skip
        if (reported := reported_clause(query)) is not None:
            nested = {"nested": {"path": _REPORTED, "query": reported, "ignore_unmapped": True}}
            clauses.append(_scored({"bool": {"filter": [nested,
                                                        _source_is(Source.PETITION)]}},
                                   SCORE_EXACT))  # fmt: skip
            aggs[_REPORTED] = {
                "nested": {"path": _REPORTED},
                "aggs": {"match": {
                    "filter": reported,
                    "aggs": {"keys": {"terms": {"field": REPORTED_ID_NUMBER,
                                                "size": size + 1}}},
                }},
            }  # fmt: skip
    if want_companies and (company := company_clause(query)) is not None:
        clauses.append(company)
        aggs[Envelope.COMPANIES] = {
            "filter": company,
            "aggs": {
                "registered": {"filter": _source_is(*_COMPANY_SOURCES),
                               "aggs": {"keys": _best_first(ColumnField.CREDIT_CODE, size + 1)}},
                "employers": {"filter": _source_is(Source.INSURED),
                              "aggs": {"keys": _best_first(ColumnField.EMPLOYER_CODE, size + 1)}},
            },
        }  # fmt: skip
    if not clauses:
        clauses.append({"match_none": {}})
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": scope_filters(scope),
                           "should": clauses, "minimum_should_match": 1}},
        "aggs": aggs,
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entity key from step 1 with its best score and matching record count."""

    kind: EntityKind  # PERSON or COMPANY
    key: str
    score: float
    matched: int


def read_candidates(aggregations: dict[str, Any], size: int) -> tuple[list[Candidate], bool]:
    """The candidates of step 1's answer, best first and capped; True when there were more."""
    found: dict[tuple[EntityKind, str], Candidate] = {}

    def add(kind: EntityKind, buckets: list[dict[str, Any]], default_score: float) -> None:
        for bucket in buckets:
            # Keyword keys come back through the lower-casing normaliser: 271x -> 271X.
            key = str(bucket["key"]).upper()
            score = float((bucket.get("best") or {}).get("value") or default_score)
            old = found.get((kind, key))
            if old is not None:  # matched in two ways: the best score, all the records
                score = max(score, old.score)
            matched = int(bucket["doc_count"]) + (old.matched if old else 0)
            found[(kind, key)] = Candidate(kind, key, score, matched)

    persons = aggregations.get(Envelope.PERSONS, {}).get("keys", {}).get("buckets", [])
    add(EntityKind.PERSON, persons, 0.0)
    reported = aggregations.get(_REPORTED, {}).get("match", {}).get("keys", {}).get("buckets", [])
    add(EntityKind.PERSON, reported, SCORE_EXACT)
    companies = aggregations.get(Envelope.COMPANIES, {})
    add(EntityKind.COMPANY, companies.get("registered", {}).get("keys", {}).get("buckets", []), 0)
    add(EntityKind.COMPANY, companies.get("employers", {}).get("keys", {}).get("buckets", []), 0)
    ranked = sorted(found.values(), key=lambda c: (-c.score, -c.matched, c.kind, c.key))
    return ranked[:size], len(ranked) > size


_PERSON_FIELDS = [
    ColumnField.GENDER,
    ColumnField.BIRTH_DATE,
    ColumnField.REGION_CODE,
    ColumnField.STATUS,
]
_ROSTER_FIELDS = [ColumnField.UNIT, ColumnField.POST, ColumnField.RANK]
_COMPANY_FIELDS = [
    ColumnField.COMPANY_NAME,
    ColumnField.COMPANY_TYPE,
    ColumnField.STATUS,
    ColumnField.REGION_CODE,
    ColumnField.LEGAL_REP,
]
NEWEST_FIRST = [{Envelope.RECORD_DATE: {"order": "desc", "missing": "_last"}}]
_COMPANY_NAME_KEYWORD = join_path(ColumnField.COMPANY_NAME, SUBFIELD_KEYWORD)
_EMPLOYER_NAME_KEYWORD = join_path(ColumnField.EMPLOYER_NAME, SUBFIELD_KEYWORD)


def _person_card_aggs(id_number: str) -> dict[str, Any]:
    return {
        "filter": {"term": {Envelope.PERSONS: id_number}},
        "aggs": {
            "sources": {"terms": {"field": Envelope.SOURCE, "size": len(Source)}},
            # Petitions may name several persons: their names are read from the entry itself.
            Envelope.NAMES: {"filter": {"bool": {"must_not": [_source_is(Source.PETITION)]}},
                             "aggs": {"values": {"terms": {"field": NAMES_KEYWORD,
                                                           "size": NAMES_PER_CARD}}}},
            _REPORTED: {"nested": {"path": _REPORTED}, "aggs": {"self": {
                "filter": {"term": {REPORTED_ID_NUMBER: id_number}},
                "aggs": {"values": {"terms": {"field": REPORTED_NAME,
                                              "size": NAMES_PER_CARD}}}}}},
            "household": {"filter": _source_is(Source.HOUSEHOLD), "aggs": {"top": {"top_hits": {
                "size": 1, "sort": NEWEST_FIRST, "_source": _PERSON_FIELDS}}}},
            "roster": {"filter": _source_is(Source.OFFICIAL), "aggs": {"top": {"top_hits": {
                "size": 1, "sort": NEWEST_FIRST, "_source": _ROSTER_FIELDS}}}},
        },
    }  # fmt: skip


def _company_card_aggs(code: str) -> dict[str, Any]:
    return {
        "filter": {"term": {Envelope.COMPANIES: code}},
        "aggs": {
            "sources": {"terms": {"field": Envelope.SOURCE, "size": len(Source)}},
            # Only the records where the company is itself (not a corporate shareholder of it).
            Envelope.NAMES: {"filter": {"term": {ColumnField.CREDIT_CODE: code}},
                             "aggs": {"values": {"terms": {"field": _COMPANY_NAME_KEYWORD,
                                                           "size": NAMES_PER_CARD}}}},
            "employer_names": {"filter": {"term": {ColumnField.EMPLOYER_CODE: code}},
                               "aggs": {"values": {"terms": {"field": _EMPLOYER_NAME_KEYWORD,
                                                             "size": NAMES_PER_CARD}}}},
            "registry": {"filter": _source_is(Source.COMPANY), "aggs": {"top": {"top_hits": {
                "size": 1, "_source": _COMPANY_FIELDS}}}},
        },
    }  # fmt: skip


def cards_query(scope: Scope, candidates: list[Candidate]) -> dict[str, Any]:
    """Step 2: per candidate (aggregation ``c<i>``), what its card shows, from records in scope."""
    aggs = {
        f"c{i}": _person_card_aggs(c.key)
        if c.kind is EntityKind.PERSON
        else _company_card_aggs(c.key)
        for i, c in enumerate(candidates)
    }
    persons = [c.key for c in candidates if c.kind is EntityKind.PERSON]
    companies = [c.key for c in candidates if c.kind is EntityKind.COMPANY]
    linked = [{"terms": {Envelope.PERSONS: persons}}] if persons else []
    linked += [{"terms": {Envelope.COMPANIES: companies}}] if companies else []
    return {
        "size": 0,
        "query": {"bool": {"filter": [*scope_filters(scope),
                                      {"bool": {"should": linked or [{"match_none": {}}],
                                                "minimum_should_match": 1}}]}},
        "aggs": aggs,
    }  # fmt: skip
