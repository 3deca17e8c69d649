"""Watches and notifications in the SQL store: SQLite and PostgreSQL (``sql_engine``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from accounts.roles import Role
from accounts.users import User, add_user
from migrations.store import upgrade_store
from query_logs.applications import file_application
from query_logs.cases import create_case
from watching.store import (
    NotificationIn,
    NotificationKind,
    NotificationNotFoundError,
    WatchNotFoundError,
    active_watches,
    add_notifications,
    add_watch,
    end_watches,
    get_watch,
    mark_read,
    notifications_of,
    unread_count,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PW = "correct horse battery staple 7"
PURPOSE = "核查举报反映的某局副局长违规插手粮食购销问题线索"
PERSON = "460106199812044261"


@pytest.fixture
def engine(sql_engine: Engine) -> Engine:
    upgrade_store(sql_engine)
    return sql_engine


@pytest.fixture
def people(engine: Engine) -> dict[str, User]:
    return {name: add_user(engine, name, (Role.INVESTIGATOR,), "4601", PW, hasher=FAST, now=NOW)
            for name in ("owner", "other")}  # fmt: skip


@pytest.fixture
def application_id(engine: Engine, people: dict[str, User]) -> int:
    case_id = create_case(engine, people["owner"], "案-1", "某局问题线索", NOW)
    filed = file_application(
        engine, people["owner"], case_id=case_id, purpose=PURPOSE, category="初核",
        sources=["household"], regions=["4601"], subjects=[], unmask=False, export=False,
        valid_days=30, now=NOW,
    )  # fmt: skip
    return filed.id


def _notice(owner: User, application_id: int, watch_id: int) -> NotificationIn:
    return NotificationIn(owner.id, NotificationKind.RECORD_CHANGE, application_id, "household",
                          PERSON, record_id="doc-1", watch_id=watch_id)  # fmt: skip


def test_watching_again_reactivates_the_same_watch(
    engine: Engine, people: dict[str, User], application_id: int
) -> None:
    first = add_watch(engine, people["owner"].id, application_id, PERSON, NOW)
    end_watches(engine, [first.id], NOW + timedelta(hours=1))
    assert active_watches(engine) == []
    again = add_watch(engine, people["owner"].id, application_id, PERSON, NOW)
    assert (again.id, again.active, again.ended_at) == (first.id, True, None)


def test_a_watch_is_found_only_for_its_owner(
    engine: Engine, people: dict[str, User], application_id: int
) -> None:
    watch = add_watch(engine, people["owner"].id, application_id, PERSON, NOW)
    assert get_watch(engine, people["owner"].id, watch.id).person_id == PERSON
    with pytest.raises(WatchNotFoundError):
        get_watch(engine, people["other"].id, watch.id)


def test_notifications_are_read_once_and_only_by_their_owner(
    engine: Engine, people: dict[str, User], application_id: int
) -> None:
    owner = people["owner"]
    watch = add_watch(engine, owner.id, application_id, PERSON, NOW)
    ids = add_notifications(engine, [_notice(owner, application_id, watch.id)] * 2, NOW)
    assert unread_count(engine, owner.id) == 2
    read = mark_read(engine, owner.id, ids[0], NOW + timedelta(minutes=5))
    again = mark_read(engine, owner.id, ids[0], NOW + timedelta(days=1))
    assert read.read_at == again.read_at == NOW + timedelta(minutes=5)
    total, unread = notifications_of(engine, owner.id, unread_only=True, offset=0, limit=10)
    assert (total, [n.id for n in unread]) == (1, [ids[1]])
    with pytest.raises(NotificationNotFoundError):
        mark_read(engine, people["other"].id, ids[1], NOW)
    assert (
        notifications_of(engine, people["other"].id, unread_only=False, offset=0, limit=10)[0] == 0
    )
