"""Pure builders of a comparison run's engine queries, and readers of their answers.

A run streams its subjects with a composite aggregation keyed on the person (``persons``: valid
ID numbers only), one page of keys at a time; every later query of a page names that page's
persons in a ``terms`` filter and groups its answer by person, so nothing grows with the size of
a registry. The run's scope (the application's sources and regions, as search_api builds them
for every governed query) arrives as ``filters`` and is put inside every query body here.

Keyword fields have a lower-casing normalizer: aggregation keys come back with a lower-case
``x``; ``person_key`` turns them back into the canonical number (query terms are normalised by
the engine, so either form matches).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from comparison.definitions import (
    BenefitPaid,
    CompanyRole,
    DuplicatePayment,
    InsuredAfterDeath,
    OfficialSubjects,
    PeriodBound,
    PropertyUnits,
    RecipientSubjects,
    Subjects,
)
from comparison.vocab import DECEASED
from registry.fields import ColumnField, Envelope

Filters = Sequence[dict[str, Any]]
"""The scope's filter clauses (search_api.queries.records.scope_filters)."""

SUBJECT_PAGE = 500
"""Persons per composite page: each later query of the page names at most these (and their
relatives) in one ``terms`` filter, far below the engine's 65,536 terms."""
CLAUSE_BUDGET = 640
"""Estimated clauses of the per-date groups in one query body. The engine refuses a query of
more than 1,024 clauses, counted after rewriting over every nested query, and a rewrite expands
a ``terms`` filter or a range over a keyword (所属期) matching at most 16 indexed terms into one
clause per term; the rest of the budget is left to the scope filters and the outer clauses."""
EXPANDED_TERMS = 16  # the engine rewrites up to this many matched terms into clauses
GROUP_CLAUSES = 24  # a group's own clauses: a 所属期 range's terms, date ranges, its bools
EVIDENCE_PER_CONDITION = 20
"""Records cited per person and condition (the first by 所属期 or date): enough to prove it."""
SUBJECT_EVIDENCE = 3
"""Records of the subject's own registry cited per hit (the newest payments of a recipient)."""
MAX_HOUSEHOLD_MEMBERS = 30
"""A household with more members is a collective household (集体户: a unit's or a school's),
whose members are not relatives: it links no spouse or child."""
MAX_BENEFIT_TYPES = 16  # 待遇类型 per person: six in the contract, room for local ones
MAX_PERIODS = 1200  # 所属期 per person and type: a hundred years of months


class Agg:
    """Aggregation names of the run's queries (the readers take buckets by these). Plain
    strings, not a StrEnum: orjson (the ingest door's serializer) refuses a str-subclass key."""

    SUBJECTS: Final = "subjects"
    PERSON: Final = "person"
    RECORDS: Final = "records"
    HOUSEHOLDS: Final = "households"
    MEMBERS: Final = "members"
    UNITS: Final = "units"
    TYPES: Final = "types"
    PERIODS: Final = "periods"


SUBJECT_FACTS: tuple[str, ...] = (
    ColumnField.NAME,
    ColumnField.DEATH_DATE,
    ColumnField.APPOINTED_ON,
)
"""What a subject's own record tells the run: the name shown, the dates conditions compare."""


def person_key(key: object) -> str:
    """The canonical ID number of an aggregation key (upper-case check character)."""
    return str(key).upper()


def _bool_filter(clauses: Iterable[dict[str, Any]], filters: Filters) -> dict[str, Any]:
    return {"bool": {"filter": [*clauses, *filters]}}


def _records(
    size: int, sort: list[dict[str, Any]] | None = None, fields: Sequence[str] = ()
) -> dict[str, Any]:
    """Top hits: the ids (and ``fields``) of the records that prove a bucket."""
    hits: dict[str, Any] = {"size": size, "_source": list(fields) if fields else False}
    if sort:
        hits["sort"] = sort
    return {"top_hits": hits}


def _by_person(
    field: str, persons: int, inner: dict[str, Any], min_count: int = 1
) -> dict[str, Any]:
    """Buckets per person of ``field``, at most one per person named in the query."""
    terms: dict[str, Any] = {"field": field, "size": max(1, persons)}
    if min_count > 1:
        terms["min_doc_count"] = min_count
    return {Agg.PERSON: {"terms": terms, "aggs": inner}}


def _stable(field: str, order: str = "asc") -> list[dict[str, Any]]:
    """``field`` then the natural key: the same records are cited on every run."""
    return [{field: {"order": order, "missing": "_last"}}, {Envelope.RECORD_KEY: "asc"}]


# --- subjects ---------------------------------------------------------------------------------


def subject_clauses(subjects: Subjects) -> list[dict[str, Any]]:
    """The filter that makes a record of the subject registry a subject's."""
    if isinstance(subjects, OfficialSubjects):
        if subjects.state_funded is None:
            return []
        return [{"term": {ColumnField.STATE_FUNDED: subjects.state_funded}}]
    if isinstance(subjects, RecipientSubjects):
        if not subjects.benefit_types:
            return []
        return [{"terms": {ColumnField.BENEFIT_TYPE: list(subjects.benefit_types)}}]
    return [
        {"term": {ColumnField.STATUS: DECEASED}},
        {"exists": {"field": ColumnField.DEATH_DATE}},
    ]


def subject_page_query(
    subjects: Subjects, filters: Filters, after: Mapping[str, Any] | None, size: int = SUBJECT_PAGE
) -> dict[str, Any]:
    """One page of subjects: a composite aggregation keyed on the person, with the records that
    make each one a subject (newest first) and the facts conditions need."""
    composite: dict[str, Any] = {
        "size": size,
        "sources": [{Agg.PERSON: {"terms": {"field": Envelope.PERSONS}}}],
    }
    if after is not None:
        composite["after"] = dict(after)
    sort = _stable(Envelope.RECORD_DATE, "desc")
    return {
        "size": 0,
        "query": _bool_filter(subject_clauses(subjects), filters),
        "aggs": {
            Agg.SUBJECTS: {
                "composite": composite,
                "aggs": {Agg.RECORDS: _records(SUBJECT_EVIDENCE, sort, SUBJECT_FACTS)},
            }
        },
    }


# --- relatives through the household register -------------------------------------------------


def household_records_query(persons: Sequence[str], filters: Filters) -> dict[str, Any]:
    """The household record of each person (the register's key is the ID: one at most)."""
    return {
        "size": len(persons),
        "query": _bool_filter([{"terms": {Envelope.PERSONS: list(persons)}}], filters),
        "_source": [Envelope.PERSONS, ColumnField.HOUSEHOLD_NO, ColumnField.RELATION],
    }


def household_members_query(household_nos: Sequence[str], filters: Filters) -> dict[str, Any]:
    """Every member of each household (up to one past the collective-household limit)."""
    members = _records(MAX_HOUSEHOLD_MEMBERS + 1, fields=(Envelope.PERSONS, ColumnField.RELATION))
    return {
        "size": 0,
        "query": _bool_filter(
            [{"terms": {ColumnField.HOUSEHOLD_NO: list(household_nos)}}], filters
        ),
        "aggs": {
            Agg.HOUSEHOLDS: {
                "terms": {"field": ColumnField.HOUSEHOLD_NO, "size": max(1, len(household_nos))},
                "aggs": {Agg.MEMBERS: members},
            }
        },
    }


# --- conditions -------------------------------------------------------------------------------


def month_of(day: date) -> str:
    """The 所属期 a date falls in, as the index holds it (``2024-05``: analyzers.dates)."""
    return f"{day.year:04d}-{day.month:02d}"


def _chunks(groups: Mapping[Any, list[str]]) -> list[list[tuple[Any, list[str]]]]:
    """The groups in order, as many to a query body as fit in ``CLAUSE_BUDGET``."""
    chunks: list[list[tuple[Any, list[str]]]] = []
    current: list[tuple[Any, list[str]]] = []
    used = 0
    for key, members in sorted(groups.items()):
        cost = min(len(members), EXPANDED_TERMS) + GROUP_CLAUSES
        if current and used + cost > CLAUSE_BUDGET:
            chunks.append(current)
            current, used = [], 0
        current.append((key, members))
        used += cost
    if current:
        chunks.append(current)
    return chunks


def _grouped(dates: Mapping[str, date]) -> dict[date, list[str]]:
    groups: dict[date, list[str]] = defaultdict(list)
    for person, day in dates.items():
        groups[day].append(person)
    return groups


def benefit_paid_queries(
    condition: BenefitPaid, persons: Sequence[str], dates: Mapping[str, date], filters: Filters
) -> list[dict[str, Any]]:
    """Payments of the condition's types to the persons, by person. With a period bound, the
    persons are grouped by the month of their date (``dates``: death or appointment) and each
    group's payments must fall after (or from) that month, the groups split over as many bodies
    as the clause budget needs; a person without the date is left out (nothing to compare
    with)."""
    types = {"terms": {ColumnField.BENEFIT_TYPE: list(condition.benefit_types)}}
    evidence = _records(EVIDENCE_PER_CONDITION, _stable(ColumnField.PERIOD))
    if condition.period is None:
        body = {
            "size": 0,
            "query": _bool_filter([types, {"terms": {Envelope.PERSONS: list(persons)}}], filters),
        }
        return [
            body | {"aggs": _by_person(Envelope.PERSONS, len(persons), {Agg.RECORDS: evidence})}
        ]
    bound = "gt" if condition.period is PeriodBound.AFTER_DEATH_MONTH else "gte"
    months: dict[str, list[str]] = defaultdict(list)
    for person in persons:
        if (day := dates.get(person)) is not None:
            months[month_of(day)].append(person)
    bodies = []
    for chunk in _chunks(months):
        groups = [
            {"bool": {"filter": [
                {"terms": {Envelope.PERSONS: members}},
                {"range": {ColumnField.PERIOD: {bound: month}}},
            ]}}
            for month, members in chunk
        ]  # fmt: skip
        named = sum(len(members) for _, members in chunk)
        clause = {"bool": {"should": groups, "minimum_should_match": 1}}
        bodies.append({
            "size": 0,
            "query": _bool_filter([types, clause], filters),
            "aggs": _by_person(Envelope.PERSONS, named, {Agg.RECORDS: evidence}),
        })  # fmt: skip
    return bodies


def insured_after_death_queries(
    condition: InsuredAfterDeath, deaths: Mapping[str, date], filters: Filters
) -> list[dict[str, Any]]:
    """Insurance records in the condition's statuses that run past the death: 参保日期 after
    it, or no 停保日期 on or before it; persons grouped by death date."""
    statuses = {"terms": {ColumnField.STATUS: list(condition.statuses)}}
    evidence = _records(EVIDENCE_PER_CONDITION, _stable(ColumnField.INSURED_ON))
    bodies = []
    for chunk in _chunks(_grouped(deaths)):
        groups = []
        for died, members in chunk:
            day = died.isoformat()
            groups.append({"bool": {
                "filter": [{"terms": {Envelope.PERSONS: members}}],
                "should": [
                    {"range": {ColumnField.INSURED_ON: {"gt": day}}},
                    {"bool": {"must_not": [{"exists": {"field": ColumnField.STOPPED_ON}}]}},
                    {"range": {ColumnField.STOPPED_ON: {"gt": day}}},
                ],
                "minimum_should_match": 1,
            }})  # fmt: skip
        named = sum(len(members) for _, members in chunk)
        clause = {"bool": {"should": groups, "minimum_should_match": 1}}
        bodies.append({
            "size": 0,
            "query": _bool_filter([statuses, clause], filters),
            "aggs": _by_person(Envelope.PERSONS, named, {Agg.RECORDS: evidence}),
        })  # fmt: skip
    return bodies


def property_units_query(
    condition: PropertyUnits, persons: Sequence[str], filters: Filters
) -> dict[str, Any]:
    """Each person's distinct units of the condition's uses, not in an excluded registration
    type; only persons with at least ``min_units`` such rows come back (one row per owner and
    unit, so fewer rows cannot make enough units)."""
    query = _bool_filter(
        [
            {"terms": {Envelope.PERSONS: list(persons)}},
            {"terms": {ColumnField.USE: list(condition.uses)}},
        ],
        filters,
    )
    if condition.excluded_registrations:
        excluded = {
            "terms": {ColumnField.REGISTRATION_TYPE: list(condition.excluded_registrations)}
        }
        query["bool"]["must_not"] = [excluded]
    units = {
        "terms": {"field": ColumnField.UNIT_NO, "size": EVIDENCE_PER_CONDITION},
        "aggs": {Agg.RECORDS: _records(1, _stable(ColumnField.UNIT_NO))},
    }
    return {
        "size": 0,
        "query": query,
        "aggs": _by_person(Envelope.PERSONS, len(persons), {Agg.UNITS: units}, condition.min_units),
    }


def legal_rep_query(
    condition: CompanyRole, persons: Sequence[str], filters: Filters
) -> dict[str, Any]:
    """Companies the persons represent (法定代表人), in the condition's statuses if any."""
    clauses: list[dict[str, Any]] = [{"terms": {ColumnField.LEGAL_REP_ID: list(persons)}}]
    if condition.company_statuses:
        clauses.append({"terms": {ColumnField.STATUS: list(condition.company_statuses)}})
    evidence = _records(EVIDENCE_PER_CONDITION, _stable(ColumnField.CREDIT_CODE))
    return {
        "size": 0,
        "query": _bool_filter(clauses, filters),
        "aggs": _by_person(ColumnField.LEGAL_REP_ID, len(persons), {Agg.RECORDS: evidence}),
    }


def shareholding_query(persons: Sequence[str], filters: Filters) -> dict[str, Any]:
    """The persons' shareholdings (a natural person's 证照号码), with each company's code."""
    evidence = _records(
        EVIDENCE_PER_CONDITION, _stable(ColumnField.CREDIT_CODE), (ColumnField.CREDIT_CODE,)
    )
    return {
        "size": 0,
        "query": _bool_filter([{"terms": {ColumnField.HOLDER_ID: list(persons)}}], filters),
        "aggs": _by_person(ColumnField.HOLDER_ID, len(persons), {Agg.RECORDS: evidence}),
    }


def companies_in_status_query(
    condition: CompanyRole, codes: Sequence[str], filters: Filters
) -> dict[str, Any]:
    """The company records of ``codes`` whose 登记状态 is one of the condition's."""
    clauses = [
        {"terms": {ColumnField.CREDIT_CODE: list(codes)}},
        {"terms": {ColumnField.STATUS: list(condition.company_statuses)}},
    ]
    return {
        "size": len(codes),
        "query": _bool_filter(clauses, filters),
        "_source": [ColumnField.CREDIT_CODE],
    }


def duplicate_payment_query(
    condition: DuplicatePayment, persons: Sequence[str], filters: Filters
) -> dict[str, Any]:
    """Per person and benefit type, the 所属期 paid at least ``min_payments`` times: counts
    only (the payments themselves are fetched for the few slots found: ``slot_records_queries``;
    top hits under every period bucket of a page cost seconds)."""
    clauses: list[dict[str, Any]] = [{"terms": {Envelope.PERSONS: list(persons)}}]
    if condition.benefit_types:
        clauses.append({"terms": {ColumnField.BENEFIT_TYPE: list(condition.benefit_types)}})
    periods = {
        "terms": {
            "field": ColumnField.PERIOD,
            "size": MAX_PERIODS,
            "min_doc_count": condition.min_payments,
        }
    }
    types = {
        "terms": {"field": ColumnField.BENEFIT_TYPE, "size": MAX_BENEFIT_TYPES},
        "aggs": {Agg.PERIODS: periods},
    }
    return {
        "size": 0,
        "query": _bool_filter(clauses, filters),
        "aggs": _by_person(Envelope.PERSONS, len(persons), {Agg.TYPES: types}),
    }


Slot = tuple[str, str, str]
"""(person, benefit type, 所属期): one payment slot."""
SLOT_CLAUSES = 4  # a slot's bool and its three terms


def slot_records_queries(slots: Sequence[Slot], filters: Filters) -> list[dict[str, Any]]:
    """The payments of each slot, by person (as many slots to a body as the clause budget
    allows)."""
    per_body = CLAUSE_BUDGET // SLOT_CLAUSES
    ordered = sorted(slots)
    evidence = _records(EVIDENCE_PER_CONDITION, _stable(ColumnField.PERIOD))
    bodies = []
    for start in range(0, len(ordered), per_body):
        chunk = ordered[start : start + per_body]
        groups = [
            {"bool": {"filter": [
                {"term": {Envelope.PERSONS: person}},
                {"term": {ColumnField.BENEFIT_TYPE: kind}},
                {"term": {ColumnField.PERIOD: period}},
            ]}}
            for person, kind, period in chunk
        ]  # fmt: skip
        named = len({person for person, _, _ in chunk})
        clause = {"bool": {"should": groups, "minimum_should_match": 1}}
        bodies.append({
            "size": 0,
            "query": _bool_filter([clause], filters),
            "aggs": _by_person(Envelope.PERSONS, named, {Agg.RECORDS: evidence}),
        })  # fmt: skip
    return bodies
