"""Analysts' match decisions in the SQL store (SQLite and PostgreSQL): the latest one counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from graph.decisions import (
    MatchDecision,
    create_decision_schema,
    current_decisions,
    record_decision,
)
from graph.resolve import Decision

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def decision(mention: str, candidate: str, verdict: Decision, minutes: int) -> MatchDecision:
    return MatchDecision(
        mention, candidate, verdict, "ana", 1, None, NOW + timedelta(minutes=minutes)
    )


def test_the_latest_decision_per_mention_and_candidate_counts(sql_engine: Engine) -> None:
    create_decision_schema(sql_engine)
    create_decision_schema(sql_engine)  # idempotent: every build and route may call it
    first = record_decision(sql_engine, decision("m1", "p:A", Decision.CONFIRM, 0))
    second = record_decision(sql_engine, decision("m1", "p:A", Decision.REJECT, 5))
    record_decision(sql_engine, decision("m1", "p:B", Decision.CONFIRM, 6))
    record_decision(sql_engine, decision("m2", "p:A", Decision.REJECT, 7))
    assert second > first
    assert current_decisions(sql_engine) == {
        "m1": {"p:A": Decision.REJECT, "p:B": Decision.CONFIRM},
        "m2": {"p:A": Decision.REJECT},
    }


def test_no_decisions_is_an_empty_map(sql_engine: Engine) -> None:
    create_decision_schema(sql_engine)
    assert current_decisions(sql_engine) == {}
