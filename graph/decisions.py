"""Analysts' decisions on proposed matches, kept in the SQL store and read by every graph build.

Append-only: a later decision on the same mention and candidate supersedes an earlier one, and
the history stays. The route that records a decision logs it in the query log as well. The
table lives on the store's one ``common.db.metadata``: the application and the deciding account
are foreign keys (the analyst by username, as the decision has always named them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)

from common.db import metadata
from graph.resolve import Decision

match_decisions = Table(
    "graph_match_decision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mention", String(32), nullable=False, index=True),
    Column("candidate", String(64), nullable=False),  # p:<id>
    Column("decision", String(16), nullable=False),
    Column("actor", String(128), ForeignKey("users.username"), nullable=False),
    Column("application_id", Integer, ForeignKey("query_application.id"), nullable=False),
    Column("note", Text),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class MatchDecision:
    mention: str
    candidate: str
    decision: Decision
    actor: str
    application_id: int
    note: str | None
    decided_at: datetime


def record_decision(engine: Engine, decision: MatchDecision) -> int:
    """Store one decision; returns its id."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(match_decisions)
                .values(
                    mention=decision.mention,
                    candidate=decision.candidate,
                    decision=str(decision.decision),
                    actor=decision.actor,
                    application_id=decision.application_id,
                    note=decision.note,
                    decided_at=decision.decided_at,
                )
                .returning(match_decisions.c.id)
            ).scalar_one()
        )


def current_decisions(engine: Engine) -> dict[str, Mapping[str, Decision]]:
    """mention -> candidate -> the latest decision on it."""
    out: dict[str, dict[str, Decision]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                match_decisions.c.mention, match_decisions.c.candidate, match_decisions.c.decision
            ).order_by(match_decisions.c.id)
        )
        for mention, candidate, decision in rows:
            out.setdefault(mention, {})[candidate] = Decision(decision)
    return dict(out)
