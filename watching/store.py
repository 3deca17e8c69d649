"""Watches, standing runs and notifications in the SQL store (tables on ``common.db.metadata``,
made by migration 0005).

A watch (布控) is one user's interest in one subject person of one of their approved
applications: the person is kept as the application keeps its subjects (the normalised number,
in the store only; log entries and responses never show it). A standing run (布控运行) is a
comparison run whose model is re-run after each ingest under the same application. A
notification tells one user of a new or changed record about a watched person (记录变更) or of
a clue a standing run opened (新增线索); it is read by its owner only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)

from common.db import Bind, connection, in_row_range, metadata
from common.errors import NotFoundError

PERSON_ID_CHARS = 18
NOTIFICATION_PAGE_CAP = 100  # notifications one page shows


class NotificationKind(StrEnum):
    """What a notification tells (the values are the labels users read)."""

    RECORD_CHANGE = "记录变更"  # a new or changed record about a watched person
    NEW_CLUE = "新增线索"  # a clue a standing run opened


watches = Table(
    "watch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("application_id", Integer, ForeignKey("query_application.id"), nullable=False),
    Column("person_id", String(PERSON_ID_CHARS), nullable=False),  # as the subjects are kept
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    UniqueConstraint("owner_id", "application_id", "person_id", name="watch_subject_key"),
)

standing_runs = Table(
    "standing_run",
    metadata,
    Column("run_id", Integer, ForeignKey("comparison_run.id"), primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("application_id", Integer, ForeignKey("query_application.id"), nullable=False),
    Column("model_id", String(48), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("last_run_id", Integer, ForeignKey("comparison_run.id"), nullable=False),
)

notifications = Table(
    "notification",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("application_id", Integer, ForeignKey("query_application.id"), nullable=False),
    Column("watch_id", Integer, ForeignKey("watch.id")),  # 记录变更
    Column("run_id", Integer, ForeignKey("comparison_run.id")),  # 新增线索: the re-run
    Column("clue_id", Integer, ForeignKey("comparison_clue.id")),  # 新增线索
    Column("source", String(32), nullable=False),  # the registry (or the model's first)
    Column("record_id", String(64)),  # the engine's id (responses show its pseudonym)
    Column("person_id", String(PERSON_ID_CHARS), nullable=False),  # the subject
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
)

WATCHING_TABLES: tuple[Table, ...] = (watches, standing_runs, notifications)


class WatchNotFoundError(NotFoundError):
    """No watch of this user with that id."""


class NotificationNotFoundError(NotFoundError):
    """No notification of this user with that id."""


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    owner_id: int
    application_id: int
    person_id: str
    created_at: datetime
    active: bool
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class StandingRun:
    run_id: int  # the run marked standing
    owner_id: int
    application_id: int
    model_id: str
    active: bool
    last_run_id: int  # the latest re-run (the run itself until one was made)


@dataclass(frozen=True, slots=True)
class NotificationIn:
    """A notification about to be stored."""

    owner_id: int
    kind: NotificationKind
    application_id: int
    source: str
    person_id: str
    record_id: str | None = None
    watch_id: int | None = None
    run_id: int | None = None
    clue_id: int | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    owner_id: int
    kind: NotificationKind
    application_id: int
    source: str
    person_id: str
    record_id: str | None
    watch_id: int | None
    run_id: int | None
    clue_id: int | None
    created_at: datetime
    read_at: datetime | None


def utc(moment: datetime | None) -> datetime | None:
    """A stored time as UTC (SQLite hands back naive datetimes for timezone columns)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _watch(row: Any) -> Watch:
    return Watch(
        row.id,
        row.owner_id,
        row.application_id,
        row.person_id,
        utc(row.created_at) or row.created_at,
        bool(row.active),
        utc(row.ended_at),
    )


def _notification(row: Any) -> Notification:
    return Notification(
        row.id,
        row.owner_id,
        NotificationKind(row.kind),
        row.application_id,
        row.source,
        row.person_id,
        row.record_id,
        row.watch_id,
        row.run_id,
        row.clue_id,
        utc(row.created_at) or row.created_at,
        utc(row.read_at),
    )


def add_watch(
    engine: Engine, owner_id: int, application_id: int, person_id: str, now: datetime
) -> Watch:
    """Watch ``person_id`` under the application; watching again reactivates an ended watch."""
    key = (
        (watches.c.owner_id == owner_id)
        & (watches.c.application_id == application_id)
        & (watches.c.person_id == person_id)
    )
    with engine.begin() as conn:
        row = conn.execute(select(watches).where(key)).first()
        if row is None:
            conn.execute(
                insert(watches).values(
                    owner_id=owner_id,
                    application_id=application_id,
                    person_id=person_id,
                    created_at=now,
                    active=True,
                )
            )
        elif not row.active:
            conn.execute(update(watches).where(key).values(active=True, ended_at=None))
        return _watch(conn.execute(select(watches).where(key)).one())


def get_watch(bind: Bind, owner_id: int, watch_id: int) -> Watch:
    """The user's watch ``watch_id``; another user's is not found."""
    if in_row_range(watch_id):
        with connection(bind) as conn:
            row = conn.execute(
                select(watches).where(watches.c.id == watch_id, watches.c.owner_id == owner_id)
            ).first()
        if row is not None:
            return _watch(row)
    raise WatchNotFoundError("no watch of yours with this id")


def watches_of(bind: Bind, owner_id: int, application_id: int | None = None) -> list[Watch]:
    """The user's active watches (of one application when given), oldest first."""
    query = select(watches).where(watches.c.owner_id == owner_id, watches.c.active.is_(True))
    if application_id is not None:
        query = query.where(watches.c.application_id == application_id)
    with connection(bind) as conn:
        return [_watch(r) for r in conn.execute(query.order_by(watches.c.id))]


def active_watches(bind: Bind) -> list[Watch]:
    """Every active watch (the step after an ingest reads them), by application."""
    query = select(watches).where(watches.c.active.is_(True))
    with connection(bind) as conn:
        rows = conn.execute(query.order_by(watches.c.application_id, watches.c.id))
        return [_watch(r) for r in rows]


def end_watches(engine: Engine, watch_ids: list[int], now: datetime) -> None:
    """End watches (removed by their owner, or their application no longer admits them)."""
    if watch_ids:
        with engine.begin() as conn:
            conn.execute(
                update(watches)
                .where(watches.c.id.in_(watch_ids), watches.c.active.is_(True))
                .values(active=False, ended_at=now)
            )


def set_standing(
    engine: Engine,
    run_id: int,
    owner_id: int,
    application_id: int,
    model_id: str,
    standing: bool,
    now: datetime,
) -> StandingRun:
    """Mark a run standing (re-run after each ingest) or stop it."""
    with engine.begin() as conn:
        row = conn.execute(select(standing_runs).where(standing_runs.c.run_id == run_id)).first()
        if row is None:
            conn.execute(
                insert(standing_runs).values(
                    run_id=run_id,
                    owner_id=owner_id,
                    application_id=application_id,
                    model_id=model_id,
                    created_at=now,
                    active=standing,
                    last_run_id=run_id,
                )
            )
        else:
            conn.execute(
                update(standing_runs)
                .where(standing_runs.c.run_id == run_id)
                .values(active=standing)
            )
        return _standing(
            conn.execute(select(standing_runs).where(standing_runs.c.run_id == run_id)).one()
        )


def _standing(row: Any) -> StandingRun:
    return StandingRun(
        row.run_id,
        row.owner_id,
        row.application_id,
        row.model_id,
        bool(row.active),
        row.last_run_id,
    )


def is_standing(bind: Bind, run_id: int) -> bool:
    """Whether the run is marked standing now."""
    with connection(bind) as conn:
        active = conn.execute(
            select(standing_runs.c.active).where(standing_runs.c.run_id == run_id)
        ).scalar()
    return bool(active)


def active_standing_runs(bind: Bind) -> list[StandingRun]:
    """Every run marked standing, oldest first."""
    query = select(standing_runs).where(standing_runs.c.active.is_(True))
    with connection(bind) as conn:
        return [_standing(r) for r in conn.execute(query.order_by(standing_runs.c.run_id))]


def record_rerun(engine: Engine, run_id: int, rerun_id: int) -> None:
    """Remember the latest re-run of a standing run."""
    with engine.begin() as conn:
        conn.execute(
            update(standing_runs)
            .where(standing_runs.c.run_id == run_id)
            .values(last_run_id=rerun_id)
        )


def end_standing(engine: Engine, run_id: int) -> None:
    """Stop re-running a run (its application no longer admits it)."""
    with engine.begin() as conn:
        conn.execute(
            update(standing_runs).where(standing_runs.c.run_id == run_id).values(active=False)
        )


def add_notifications(engine: Engine, items: list[NotificationIn], now: datetime) -> list[int]:
    """Store notifications in one transaction; their ids, in order."""
    ids: list[int] = []
    with engine.begin() as conn:
        for item in items:
            ids.append(
                conn.execute(
                    insert(notifications)
                    .values(
                        owner_id=item.owner_id,
                        kind=str(item.kind),
                        application_id=item.application_id,
                        watch_id=item.watch_id,
                        run_id=item.run_id,
                        clue_id=item.clue_id,
                        source=item.source,
                        record_id=item.record_id,
                        person_id=item.person_id,
                        created_at=now,
                    )
                    .returning(notifications.c.id)
                ).scalar_one()
            )
    return ids


def notifications_of(
    bind: Bind, owner_id: int, *, unread_only: bool, offset: int, limit: int
) -> tuple[int, list[Notification]]:
    """(total, a page) of the user's notifications, newest first."""
    where = [notifications.c.owner_id == owner_id]
    if unread_only:
        where.append(notifications.c.read_at.is_(None))
    with connection(bind) as conn:
        total = conn.execute(select(func.count()).select_from(notifications).where(*where))
        rows = conn.execute(
            select(notifications)
            .where(*where)
            .order_by(notifications.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return int(total.scalar_one()), [_notification(r) for r in rows]


def unread_count(bind: Bind, owner_id: int) -> int:
    """How many of the user's notifications are unread (the header's badge)."""
    query = (
        select(func.count())
        .select_from(notifications)
        .where(notifications.c.owner_id == owner_id, notifications.c.read_at.is_(None))
    )
    with connection(bind) as conn:
        return int(conn.execute(query).scalar_one())


def get_notification(bind: Bind, owner_id: int, notification_id: int) -> Notification:
    """The user's notification; another user's is not found."""
    if in_row_range(notification_id):
        with connection(bind) as conn:
            row = conn.execute(
                select(notifications).where(
                    notifications.c.id == notification_id, notifications.c.owner_id == owner_id
                )
            ).first()
        if row is not None:
            return _notification(row)
    raise NotificationNotFoundError("no notification of yours with this id")


def mark_read(engine: Engine, owner_id: int, notification_id: int, now: datetime) -> Notification:
    """Mark the user's notification read (once: the first reading time is kept)."""
    found = get_notification(engine, owner_id, notification_id)
    if found.read_at is None:
        with engine.begin() as conn:
            conn.execute(
                update(notifications)
                .where(notifications.c.id == found.id, notifications.c.read_at.is_(None))
                .values(read_at=now)
            )
    return get_notification(engine, owner_id, notification_id)
