"""The clue ledger (问题线索台账): every hit of a case's runs as a clue tracked to closure.

A clue has its number, level, status (待处置 → 核查中 → 已办结 / 已了结, by ``TRANSITIONS``),
assignee, due date (the level's ``due_days`` after it was opened) and notes. An open clue past
its due date is overdue (逾期); one due within the catalogue's ``due_soon_days`` is due soon
(临期提醒). A clue first found by its model's latest run is new (新增).

What an application shows of the ledger: clues of its case, of the models it names, found under
regions its own regions cover (a clue found under a wider application stays out of a narrower
one's view).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, and_, false, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from common.db import Bind, connection, in_row_range
from common.errors import ConflictError, InvalidInputError, NotFoundError
from comparison.definitions import Level
from comparison.store import ClueStatus, RunState, clue_number, clues, runs, utc

MAX_NOTES_CHARS = 2000
MAX_DUE_AHEAD_DAYS = 366  # a due date is set within a year


class DueFlag(StrEnum):
    OVERDUE = "逾期"
    DUE_SOON = "临期"


OPEN_STATUSES = frozenset({ClueStatus.PENDING, ClueStatus.CHECKING})
TRANSITIONS: dict[ClueStatus, frozenset[ClueStatus]] = {
    ClueStatus.PENDING: frozenset({ClueStatus.CHECKING, ClueStatus.CLOSED}),
    ClueStatus.CHECKING: frozenset({ClueStatus.DONE, ClueStatus.CLOSED, ClueStatus.PENDING}),
    ClueStatus.DONE: frozenset({ClueStatus.CHECKING, ClueStatus.CLOSED}),  # reopened, or closed
    ClueStatus.CLOSED: frozenset({ClueStatus.CHECKING}),  # reopened
}
"""Where a clue may go from each status (了结 without 核查 is allowed: a clue found baseless)."""


class ClueNotFoundError(NotFoundError):
    """No clue with that id in the application's view of the ledger."""


class ClueStateError(ConflictError):
    """A status change the ledger does not allow."""


@dataclass(frozen=True, slots=True)
class Clue:
    id: int
    clue_no: str
    case_id: int
    model_id: str
    person_id: str
    name: str
    level: Level
    status: ClueStatus
    assignee: str | None
    due_on: date
    notes: str
    scope_key: str
    first_run_id: int
    last_run_id: int
    created_at: datetime
    updated_at: datetime

    def flag(self, today: date, due_soon_days: int) -> DueFlag | None:
        """逾期 or 临期 for an open clue, None otherwise."""
        if self.status not in OPEN_STATUSES:
            return None
        if self.due_on < today:
            return DueFlag.OVERDUE
        if self.due_on <= today + timedelta(days=due_soon_days):
            return DueFlag.DUE_SOON
        return None


@dataclass(frozen=True, slots=True)
class LedgerView:
    """The part of a case's ledger one application may see."""

    case_id: int
    models: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClueQuery:
    """A reader's narrowing of the ledger."""

    statuses: tuple[ClueStatus, ...] = ()
    levels: tuple[Level, ...] = ()
    models: tuple[str, ...] = ()
    flag: DueFlag | None = None
    new_only: bool = False  # 新增 only: clues opened by their model's latest run


@dataclass(frozen=True, slots=True)
class ClueChange:
    """What an update sets; None leaves a field as it is (``assignee=""`` clears it)."""

    status: ClueStatus | None = None
    assignee: str | None = None
    due_on: date | None = None
    notes: str | None = None


def _clue(row: Any) -> Clue:
    created, updated = utc(row["created_at"]), utc(row["updated_at"])
    if created is None or updated is None:  # pragma: no cover - NOT NULL columns
        raise ValueError("a clue without its times")
    return Clue(
        id=row["id"],
        clue_no=clue_number(row["id"], created),
        case_id=row["case_id"],
        model_id=row["model_id"],
        person_id=row["person_id"],
        name=row["name"],
        level=Level(row["level"]),
        status=ClueStatus(row["status"]),
        assignee=row["assignee"],
        due_on=row["due_on"],
        notes=row["notes"],
        scope_key=row["scope_key"],
        first_run_id=row["first_run_id"],
        last_run_id=row["last_run_id"],
        created_at=created,
        updated_at=updated,
    )


def covered(scope: str, regions: Sequence[str]) -> bool:
    """Whether every region of a clue's scope lies inside one of ``regions``."""
    return all(any(r.startswith(a) for a in regions) for r in scope.split(",") if r)


def _visible(conn: Any, view: LedgerView) -> ColumnElement[bool]:
    scopes = conn.execute(
        select(clues.c.scope_key).where(clues.c.case_id == view.case_id).distinct()
    ).scalars()
    shown = [s for s in scopes if covered(s, view.regions)]
    return and_(
        clues.c.case_id == view.case_id,
        clues.c.model_id.in_(list(view.models)),
        clues.c.scope_key.in_(shown),
    )


def _narrowed(query: ClueQuery, today: date, due_soon_days: int) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.statuses:
        where.append(clues.c.status.in_([str(s) for s in query.statuses]))
    if query.levels:
        where.append(clues.c.level.in_([str(level) for level in query.levels]))
    if query.models:
        where.append(clues.c.model_id.in_(list(query.models)))
    if query.flag is not None:
        where.append(clues.c.status.in_([str(s) for s in OPEN_STATUSES]))
        if query.flag is DueFlag.OVERDUE:
            where.append(clues.c.due_on < today)
        else:
            where.append(clues.c.due_on.between(today, today + timedelta(days=due_soon_days)))
    return where


def _opened_by_latest(latest: dict[str, int]) -> ColumnElement[bool]:
    """A clue is new (新增) while the latest run of its model is the run that opened it."""
    if not latest:
        return false()
    return or_(*(and_(clues.c.model_id == model, clues.c.first_run_id == run_id)
                 for model, run_id in latest.items()))  # fmt: skip


def list_clues(
    bind: Bind,
    view: LedgerView,
    query: ClueQuery,
    *,
    today: date,
    due_soon_days: int,
    offset: int,
    limit: int,
) -> tuple[int, list[Clue]]:
    """(how many clues match, one page of them): most urgent first (due date, then number)."""
    with connection(bind) as conn:
        where = [_visible(conn, view), *_narrowed(query, today, due_soon_days)]
        if query.new_only:
            where.append(_opened_by_latest(latest_runs(conn, view.case_id, view.models)))
        total = conn.execute(select(func.count()).select_from(clues).where(*where)).scalar_one()
        rows = conn.execute(
            select(clues)
            .where(*where)
            .order_by(clues.c.due_on, clues.c.id)
            .offset(offset)
            .limit(limit)
        )
        found = [_clue(row._mapping) for row in rows]
    return int(total), found


def latest_runs(bind: Bind, case_id: int, models: Sequence[str]) -> dict[str, int]:
    """Model -> its latest finished run in the case (a clue it opened is new: 新增)."""
    with connection(bind) as conn:
        rows = conn.execute(
            select(runs.c.model_id, func.max(runs.c.id))
            .where(
                runs.c.case_id == case_id,
                runs.c.model_id.in_(list(models)),
                runs.c.state == RunState.DONE,
            )
            .group_by(runs.c.model_id)
        ).all()
    return {str(model): int(run_id) for model, run_id in rows}


def get_clue(bind: Bind, view: LedgerView, clue_id: int) -> Clue:
    """A clue the view shows; ClueNotFoundError for any other (whether it exists or not)."""
    if not in_row_range(clue_id):
        raise ClueNotFoundError(f"no clue {clue_id}")
    with connection(bind) as conn:
        row = conn.execute(select(clues).where(clues.c.id == clue_id, _visible(conn, view))).first()
    if row is None:
        raise ClueNotFoundError(f"no clue {clue_id}")
    return _clue(row._mapping)


def check_change(clue: Clue, change: ClueChange, today: date) -> Clue:
    """The clue as ``change`` would leave it; raises for a move the ledger does not allow."""
    changed = clue
    if change.status is not None and change.status is not clue.status:
        if change.status not in TRANSITIONS[clue.status]:
            raise ClueStateError(f"a clue {clue.status} cannot become {change.status}")
        changed = replace(changed, status=change.status)
    if change.assignee is not None:
        changed = replace(changed, assignee=change.assignee or None)
    if change.due_on is not None:
        if not today <= change.due_on <= today + timedelta(days=MAX_DUE_AHEAD_DAYS):
            raise InvalidInputError(
                f"the due date lies within {MAX_DUE_AHEAD_DAYS} days from today"
            )
        changed = replace(changed, due_on=change.due_on)
    if change.notes is not None:
        if len(change.notes) > MAX_NOTES_CHARS:
            raise InvalidInputError(f"notes hold at most {MAX_NOTES_CHARS} characters")
        changed = replace(changed, notes=change.notes.strip())
    return changed


def save_clue(engine: Engine, before: Clue, after: Clue, now: datetime) -> Clue:
    """Write ``after`` over ``before``; ConflictError if someone changed the clue meanwhile."""
    with engine.begin() as conn:
        written = conn.execute(
            update(clues)
            .where(clues.c.id == before.id, clues.c.updated_at == before.updated_at)
            .values(
                status=after.status,
                assignee=after.assignee,
                due_on=after.due_on,
                notes=after.notes,
                updated_at=now,
            )
        ).rowcount
    if written != 1:
        raise ClueStateError("the clue was changed by someone else meanwhile: read it again")
    return replace(after, updated_at=now)
