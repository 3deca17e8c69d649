"""Runs, hits and clues of comparison models in the SQL store (tables on ``common.db.metadata``,
made by migration 0003).

A run belongs to the application it was admitted under (and so to its applicant and case).
Each hit of a run names its clue: the case's ledger entry for that model and person. A re-run
finds the clue again (the hit is not new) or opens one (the hit is new, 新增): the pair (case,
model, person) is unique, so a clue is never duplicated. The hits keep the engine's record ids;
responses show their keyed pseudonyms (search_api.handles).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from common.db import Bind, connection, in_row_range, metadata
from common.errors import DomainError, NotFoundError
from common.vocab import Source
from comparison.definitions import Level, Relation
from comparison.runner import Evidence, Hit

PERSON_ID_CHARS = 18
STORE_ATTEMPTS = 2  # a batch whose clue another run opened meanwhile is stored once more


class RunState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ClueStatus(StrEnum):
    """Where a clue stands (问题线索台账)."""

    PENDING = "待处置"
    CHECKING = "核查中"
    DONE = "已办结"
    CLOSED = "已了结"


runs = Table(
    "comparison_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", String(48), nullable=False),
    Column("application_id", Integer, ForeignKey("query_application.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("query_case.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("regions", JSON, nullable=False),  # the scope's 行政区划代码 prefixes
    Column("request_seq", Integer, nullable=False),  # the run's write-ahead log entry
    Column("state", String(16), nullable=False),
    Column("hit_count", Integer),
    Column("new_count", Integer),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

clues = Table(
    "comparison_clue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("query_case.id"), nullable=False),
    Column("model_id", String(48), nullable=False),
    Column("person_id", String(PERSON_ID_CHARS), nullable=False),
    Column("name", Text, nullable=False),
    Column("level", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("assignee", String(64)),
    Column("due_on", Date, nullable=False),
    Column("notes", Text, nullable=False),
    # The regions of the run that found it: only an application covering them all shows it.
    Column("scope_key", Text, nullable=False),
    Column("first_run_id", Integer, ForeignKey("comparison_run.id"), nullable=False),
    Column("last_run_id", Integer, ForeignKey("comparison_run.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("case_id", "model_id", "person_id", name="comparison_clue_subject_key"),
)

hits = Table(
    "comparison_hit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("comparison_run.id"), nullable=False, index=True),
    Column("clue_id", Integer, ForeignKey("comparison_clue.id"), nullable=False),
    Column("person_id", String(PERSON_ID_CHARS), nullable=False),
    Column("name", Text, nullable=False),
    Column("evidence", JSON, nullable=False),  # [{registry, record_id, whose}]
    Column("is_new", Boolean, nullable=False),
)

COMPARISON_TABLES: tuple[Table, ...] = (runs, clues, hits)

# Keys of a stored evidence item.
REGISTRY: Final = "registry"
RECORD_ID: Final = "record_id"
WHOSE: Final = "whose"


class RunNotFoundError(NotFoundError):
    """No run with that id."""


class RunStoreError(DomainError):
    """The SQL store did not take a run's hits: the run is failed (503)."""

    status: ClassVar[int] = 503


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    model_id: str
    application_id: int
    case_id: int
    user_id: int
    regions: tuple[str, ...]
    request_seq: int
    state: RunState
    hit_count: int | None
    new_count: int | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredHit:
    """A hit as a response shows it: its clue's number and level, subject and evidence."""

    id: int
    clue_id: int
    clue_no: str
    level: Level
    person_id: str
    name: str
    evidence: tuple[Evidence, ...]
    is_new: bool


def as_utc(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite hands back naive datetimes for timezone columns)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc(moment: datetime | None) -> datetime | None:
    """``as_utc`` of a time that may be absent."""
    return None if moment is None else as_utc(moment)


def clue_number(clue_id: int, created_at: datetime) -> str:
    """The clue's number in the ledger: ``XS`` + the day it was opened + its id."""
    return f"XS{created_at:%Y%m%d}{clue_id:06d}"


def scope_key(regions: Sequence[str]) -> str:
    return ",".join(sorted(regions))


def hit_digest(hit: Hit) -> str:
    """SHA-256 of a hit's cited record ids (the run's outcome entry digests these)."""
    return hashlib.sha256("\n".join(sorted(e.record_id for e in hit.evidence)).encode()).hexdigest()


def _run(row: Any) -> Run:
    started = utc(row["started_at"])
    if started is None:  # pragma: no cover - NOT NULL column
        raise ValueError("a run without its start")
    return Run(
        id=row["id"],
        model_id=row["model_id"],
        application_id=row["application_id"],
        case_id=row["case_id"],
        user_id=row["user_id"],
        regions=tuple(row["regions"]),
        request_seq=row["request_seq"],
        state=RunState(row["state"]),
        hit_count=row["hit_count"],
        new_count=row["new_count"],
        started_at=started,
        finished_at=utc(row["finished_at"]),
    )


def start_run(
    engine: Engine,
    *,
    model_id: str,
    application_id: int,
    case_id: int,
    user_id: int,
    regions: Sequence[str],
    request_seq: int,
    now: datetime,
) -> Run:
    """A new run, ``running`` until ``finish_run``."""
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(runs)
            .values(
                model_id=model_id,
                application_id=application_id,
                case_id=case_id,
                user_id=user_id,
                regions=list(regions),
                request_seq=request_seq,
                state=RunState.RUNNING,
                started_at=now,
            )
            .returning(runs.c.id)
        ).scalar_one()
    return get_run(engine, int(run_id))


def finish_run(
    engine: Engine, run_id: int, *, state: RunState, hit_count: int, new_count: int, now: datetime
) -> Run:
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(state=state, hit_count=hit_count, new_count=new_count, finished_at=now)
        )
    return get_run(engine, run_id)


def get_run(bind: Bind, run_id: int) -> Run:
    if not in_row_range(run_id):
        raise RunNotFoundError(f"no run {run_id}")
    with connection(bind) as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise RunNotFoundError(f"no run {run_id}")
    return _run(row._mapping)


def runs_of_user(bind: Bind, user_id: int, limit: int) -> list[Run]:
    """The user's latest runs, newest first (what they ran, not what it found: no registry
    data; a run's hits are read through the gate)."""
    with connection(bind) as conn:
        rows = conn.execute(
            select(runs).where(runs.c.user_id == user_id).order_by(runs.c.id.desc()).limit(limit)
        )
        return [_run(row._mapping) for row in rows]


def _evidence_json(hit: Hit) -> list[dict[str, str]]:
    return [
        {REGISTRY: str(e.source), RECORD_ID: e.record_id, WHOSE: str(e.relation)}
        for e in hit.evidence
    ]


def store_hits(
    engine: Engine, run: Run, level: Level, due_on: date, found: Sequence[Hit], now: datetime
) -> int:
    """Store a batch of a run's hits in one transaction, each with its clue (a new one due on
    ``due_on``); returns how many opened a new clue. A clue another run opened meanwhile is
    found on the second attempt."""
    for attempt in range(STORE_ATTEMPTS):
        try:
            return _store_batch(engine, run, level, due_on, found, now)
        except IntegrityError:
            if attempt + 1 == STORE_ATTEMPTS:
                raise
    return 0  # pragma: no cover - the loop returns or raises


def _store_batch(
    engine: Engine, run: Run, level: Level, due_on: date, found: Sequence[Hit], now: datetime
) -> int:
    persons = sorted({hit.person_id for hit in found})
    opened = 0
    with engine.begin() as conn:
        known = dict(
            conn.execute(
                select(clues.c.person_id, clues.c.id).where(
                    clues.c.case_id == run.case_id,
                    clues.c.model_id == run.model_id,
                    clues.c.person_id.in_(persons),
                )
            ).all()
        )
        if known:
            conn.execute(
                update(clues).where(clues.c.id.in_(list(known.values()))).values(last_run_id=run.id)
            )
        rows = []
        for hit in found:
            clue_id, new = known.get(hit.person_id), False
            if clue_id is None:
                clue_id = conn.execute(
                    insert(clues)
                    .values(
                        case_id=run.case_id,
                        model_id=run.model_id,
                        person_id=hit.person_id,
                        name=hit.name,
                        level=level,
                        status=ClueStatus.PENDING,
                        assignee=None,
                        due_on=due_on,
                        notes="",
                        scope_key=scope_key(run.regions),
                        first_run_id=run.id,
                        last_run_id=run.id,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(clues.c.id)
                ).scalar_one()
                known[hit.person_id], new = clue_id, True
                opened += 1
            rows.append(
                {"run_id": run.id, "clue_id": clue_id, "person_id": hit.person_id,
                 "name": hit.name, "evidence": _evidence_json(hit), "is_new": new}
            )  # fmt: skip
        if rows:
            conn.execute(insert(hits), rows)
    return opened


def count_hits(bind: Bind, run_id: int) -> int:
    with connection(bind) as conn:
        total = conn.execute(
            select(func.count()).select_from(hits).where(hits.c.run_id == run_id)
        ).scalar_one()
    return int(total)


def run_hits(bind: Bind, run_id: int, offset: int, limit: int) -> list[StoredHit]:
    """A page of a run's hits in the order they were found (the subjects' ID order)."""
    query = (
        select(hits, clues.c.level, clues.c.created_at.label("clue_created"))
        .join(clues, clues.c.id == hits.c.clue_id)
        .where(hits.c.run_id == run_id)
        .order_by(hits.c.id)
        .offset(offset)
        .limit(limit)
    )
    with connection(bind) as conn:
        rows = [row._mapping for row in conn.execute(query)]
    return [
        StoredHit(
            id=row["id"],
            clue_id=row["clue_id"],
            clue_no=clue_number(row["clue_id"], as_utc(row["clue_created"])),
            level=Level(row["level"]),
            person_id=row["person_id"],
            name=row["name"],
            evidence=tuple(
                Evidence(Source(e[REGISTRY]), e[RECORD_ID], Relation(e[WHOSE]))
                for e in row["evidence"]
            ),
            is_new=bool(row["is_new"]),
        )
        for row in rows
    ]
