"""The pure builders of a comparison run: the scope inside every body, date groups split so no
query outgrows the engine's clause limit, and the readers of grouped answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from comparison import answers
from comparison import queries as q
from comparison.definitions import (
    BenefitPaid,
    CompanyRole,
    DuplicatePayment,
    InsuredAfterDeath,
    PeriodBound,
    PropertyUnits,
    shipped_catalogue,
)
from registry.fields import ColumnField, Envelope

SCOPE = ({"terms": {Envelope.REGION_PREFIXES: ["4601"]}}, {"terms": {Envelope.SOURCE: ["x"]}})
PERSONS = ["46010619500703003X", "460106195007030044"]
DATES = {p: date(2023, 4, 12) for p in PERSONS}
PAID = BenefitPaid(kind="benefit_paid", benefit_types=("基本养老金",))
AFTER_DEATH = PAID.model_copy(update={"period": PeriodBound.AFTER_DEATH_MONTH})
FROM_APPOINTMENT = PAID.model_copy(update={"period": PeriodBound.FROM_APPOINTMENT_MONTH})
INSURED = InsuredAfterDeath(kind="insured_after_death", statuses=("参保缴费",))
UNITS = PropertyUnits(kind="property_units", uses=("住宅",), excluded_registrations=("注销登记",),
                      min_units=2)  # fmt: skip
ROLE = CompanyRole(kind="company_role", roles=("legal_rep", "shareholder"),  # type: ignore[arg-type]
                   company_statuses=("存续",))  # fmt: skip
DUPLICATES = DuplicatePayment(kind="duplicate_payment")

BUILDERS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "subject page": lambda: [
        q.subject_page_query(m.subjects, SCOPE, None) for m in shipped_catalogue().models.values()
    ],
    "household records": lambda: [q.household_records_query(PERSONS, SCOPE)],
    "household members": lambda: [q.household_members_query(["4601060001"], SCOPE)],
    "benefit paid": lambda: q.benefit_paid_queries(PAID, PERSONS, {}, SCOPE),
    "benefit after death": lambda: q.benefit_paid_queries(AFTER_DEATH, PERSONS, DATES, SCOPE),
    "insured after death": lambda: q.insured_after_death_queries(INSURED, DATES, SCOPE),
    "property units": lambda: [q.property_units_query(UNITS, PERSONS, SCOPE)],
    "legal rep": lambda: [q.legal_rep_query(ROLE, PERSONS, SCOPE)],
    "shareholding": lambda: [q.shareholding_query(PERSONS, SCOPE)],
    "companies in status": lambda: [
        q.companies_in_status_query(ROLE, ["91460100MA5T000000"], SCOPE)
    ],
    "duplicates": lambda: [q.duplicate_payment_query(DUPLICATES, PERSONS, SCOPE)],
    "duplicate slots": lambda: q.slot_records_queries([(PERSONS[0], "低保", "2024-01")], SCOPE),
}


@pytest.mark.parametrize("builder", list(BUILDERS))
def test_every_query_of_a_run_holds_the_scope_filters(builder: str) -> None:
    bodies = BUILDERS[builder]()
    assert bodies
    for body in bodies:
        filters = body["query"]["bool"]["filter"]
        assert all(clause in filters for clause in SCOPE), builder
        json.dumps(body)  # plain JSON: no set, date or enum leaks into a body


def _groups(body: dict[str, Any]) -> list[dict[str, Any]]:
    clause = next(c for c in body["query"]["bool"]["filter"] if "should" in c.get("bool", {}))
    groups: list[dict[str, Any]] = clause["bool"]["should"]
    return groups


def _cost(group: dict[str, Any]) -> int:
    persons = group["bool"]["filter"][0]["terms"][Envelope.PERSONS]
    return min(len(persons), q.EXPANDED_TERMS) + q.GROUP_CLAUSES


@pytest.mark.parametrize("per_date", [1, 5, 40], ids=["one a date", "five", "forty"])
def test_date_groups_are_split_so_no_query_outgrows_the_clause_limit(per_date: int) -> None:
    start = date(2012, 1, 1)
    dates = {f"p{i:05d}": start + timedelta(days=i // per_date) for i in range(400 * per_date)}
    bodies = q.insured_after_death_queries(INSURED, dates, SCOPE)
    assert len(bodies) > 1
    assert all(sum(_cost(g) for g in _groups(b)) <= q.CLAUSE_BUDGET for b in bodies)
    named = [p for b in bodies for g in _groups(b) for p in g["bool"]["filter"][0]["terms"][
        Envelope.PERSONS]]  # fmt: skip
    assert sorted(named) == sorted(dates)


@pytest.mark.parametrize(
    ("condition", "bound"),
    [(AFTER_DEATH, {"gt": "2023-04"}), (FROM_APPOINTMENT, {"gte": "2023-04"})],
)
def test_the_period_bound_compares_with_the_month_of_the_date(
    condition: BenefitPaid, bound: dict[str, str]
) -> None:
    (body,) = q.benefit_paid_queries(condition, PERSONS, DATES, SCOPE)
    (group,) = _groups(body)
    assert {"range": {ColumnField.PERIOD: bound}} in group["bool"]["filter"]


def test_a_person_without_the_date_is_left_out_of_a_bounded_condition() -> None:
    bodies = q.benefit_paid_queries(AFTER_DEATH, PERSONS, {PERSONS[0]: date(2023, 4, 1)}, SCOPE)
    text = json.dumps(bodies)
    assert PERSONS[0] in text
    assert PERSONS[1] not in text


def test_no_dates_no_bounded_query() -> None:
    assert q.benefit_paid_queries(AFTER_DEATH, PERSONS, {}, SCOPE) == []


def test_the_next_page_starts_after_the_last_key() -> None:
    model = shipped_catalogue().models["duplicate_benefit"]
    body = q.subject_page_query(model.subjects, SCOPE, {q.Agg.PERSON: "x"}, size=7)
    composite = body["aggs"][q.Agg.SUBJECTS]["composite"]
    assert (composite["after"], composite["size"]) == ({q.Agg.PERSON: "x"}, 7)


def _bucket(key: str, **inner: Any) -> dict[str, Any]:
    return {"key": key, **inner}


def _top(*ids: str) -> dict[str, Any]:
    return {"hits": {"hits": [{"_id": i} for i in ids]}}


def test_aggregation_keys_become_canonical_numbers() -> None:
    answer = {"aggregations": {q.Agg.PERSON: {"buckets": [
        _bucket("46010619500703003x", **{q.Agg.RECORDS: _top("a", "b")})]}}}  # fmt: skip
    assert answers.records_by_person(answer) == {"46010619500703003X": ["a", "b"]}


@pytest.mark.parametrize(("units", "found"), [(1, {}), (2, {"P": ["u1", "u2"]})])
def test_units_are_counted_distinct_against_the_threshold(units: int, found: Any) -> None:
    unit_buckets = [{"key": f"U{i}", q.Agg.RECORDS: _top(f"u{i}")} for i in range(1, units + 1)]
    answer = {"aggregations": {q.Agg.PERSON: {"buckets": [
        _bucket("p", **{q.Agg.UNITS: {"buckets": unit_buckets}})]}}}  # fmt: skip
    assert answers.units_by_person(answer, 2) == found


def test_only_periods_paid_twice_are_duplicate_slots() -> None:
    twice = {"key": "2024-01", "doc_count": 2}
    answer = {"aggregations": {q.Agg.PERSON: {"buckets": [
        _bucket("a", **{q.Agg.TYPES: {"buckets": [{"key": "低保", q.Agg.PERIODS: {
            "buckets": [twice]}}]}}),
        _bucket("b", **{q.Agg.TYPES: {"buckets": [{"key": "低保", q.Agg.PERIODS: {
            "buckets": []}}]}}),
    ]}}}  # fmt: skip
    assert answers.duplicate_slots(answer) == [("A", "低保", "2024-01")]


def test_slots_are_fetched_within_the_clause_budget() -> None:
    slots = [(f"p{i}", "低保", "2024-01") for i in range(500)]
    bodies = q.slot_records_queries(slots, SCOPE)
    assert sum(len(_groups(b)) for b in bodies) == len(slots)
    assert all(len(_groups(b)) * q.SLOT_CLAUSES <= q.CLAUSE_BUDGET for b in bodies)
