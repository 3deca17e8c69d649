"""Analysts' match decisions in the SQL store (SQLite and PostgreSQL): the latest one counts, and
a decision names an application and an account that exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.users import add_user
from graph.decisions import MatchDecision, current_decisions, record_decision
from graph.resolve import Decision
from migrations.store import upgrade_store
from query_logs.applications import file_application
from query_logs.cases import create_case

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
FAST: PasswordHasher = make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)
PASSWORD = "a long enough passphrase 42"  # noqa: S105 - a fictitious test account


@pytest.fixture
def application_id(sql_engine: Engine) -> int:
    """A store at the code's schema with the analyst ``ana`` and one application of hers."""
    upgrade_store(sql_engine)
    ana = add_user(sql_engine, "ana", [Role.ANALYST], "4601", PASSWORD, hasher=FAST, now=NOW)
    case_id = create_case(sql_engine, ana, "案-图谱-1", "关系核查", NOW)
    filed = file_application(
        sql_engine,
        ana,
        case_id=case_id,
        purpose="核查某局干部亲属关系的图谱匹配线索",
        category="初核",
        sources=["household"],
        regions=["460106"],
        subjects=[],
        unmask=False,
        export=False,
        valid_days=30,
        now=NOW,
    )
    return filed.id


def decision(
    mention: str, candidate: str, verdict: Decision, minutes: int, application_id: int
) -> MatchDecision:
    return MatchDecision(
        mention, candidate, verdict, "ana", application_id, None, NOW + timedelta(minutes=minutes)
    )


def test_the_latest_decision_per_mention_and_candidate_counts(
    sql_engine: Engine, application_id: int
) -> None:
    first = record_decision(sql_engine, decision("m1", "p:A", Decision.CONFIRM, 0, application_id))
    second = record_decision(sql_engine, decision("m1", "p:A", Decision.REJECT, 5, application_id))
    record_decision(sql_engine, decision("m1", "p:B", Decision.CONFIRM, 6, application_id))
    record_decision(sql_engine, decision("m2", "p:A", Decision.REJECT, 7, application_id))
    assert second > first
    assert current_decisions(sql_engine) == {
        "m1": {"p:A": Decision.REJECT, "p:B": Decision.CONFIRM},
        "m2": {"p:A": Decision.REJECT},
    }


def test_no_decisions_is_an_empty_map(sql_engine: Engine, application_id: int) -> None:
    assert current_decisions(sql_engine) == {}


@pytest.mark.parametrize(
    ("actor", "application_offset"),
    [("nobody", 0), ("ana", 1)],
    ids=["unknown-analyst", "unknown-application"],
)
def test_a_decision_naming_a_missing_row_is_refused(
    sql_engine: Engine, application_id: int, actor: str, application_offset: int
) -> None:
    missing = MatchDecision(
        "m1", "p:A", Decision.CONFIRM, actor, application_id + application_offset, None, NOW
    )
    with pytest.raises(IntegrityError):
        record_decision(sql_engine, missing)
    assert current_decisions(sql_engine) == {}
