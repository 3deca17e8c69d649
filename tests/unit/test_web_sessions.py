"""Web sessions (accounts.sessions) on a real SQLite store: a session lives until it is revoked,
idle too long, past its absolute expiry, or its account changes; only the id's hash is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.sessions import (
    SessionError,
    SessionFailure,
    find_session,
    open_session,
    revoke_session,
    web_sessions,
)
from accounts.users import User, add_user, disable_user, set_jurisdiction
from common.db import create_db_engine
from migrations.store import upgrade_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IDLE_S, ABSOLUTE_S = 600, 3600


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, User]]:
    hasher: PasswordHasher = make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade_store(engine)
    user = add_user(engine, "lisi", {Role.INVESTIGATOR}, "4601", "a long passphrase 42",
                    now=T0, hasher=hasher)  # fmt: skip
    yield engine, user
    engine.dispose()


def _refusal(engine: Engine, raw: str | None, at: datetime) -> SessionFailure:
    with pytest.raises(SessionError) as refused:
        find_session(engine, raw, at, IDLE_S)
    return refused.value.reason


def test_a_fresh_session_is_found_with_its_account_and_token(store: tuple[Engine, User]) -> None:
    engine, user = store
    opened = open_session(engine, user, T0, ABSOLUTE_S)
    found = find_session(engine, opened.cookie_value, T0 + timedelta(seconds=60), IDLE_S)
    assert found.user.id == user.id
    assert found.csrf_matches(opened.session.csrf_token)
    assert not found.csrf_matches("forged")
    assert not found.csrf_matches(None)


def test_only_the_hash_of_the_cookie_is_stored(store: tuple[Engine, User]) -> None:
    engine, user = store
    opened = open_session(engine, user, T0, ABSOLUTE_S)
    with engine.connect() as conn:
        stored = conn.execute(select(web_sessions.c.id_hash)).scalars().all()
    assert stored == [opened.session.id_hash]
    assert opened.cookie_value not in stored


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (timedelta(seconds=IDLE_S), SessionFailure.IDLE),
        (timedelta(seconds=ABSOLUTE_S), SessionFailure.EXPIRED),
    ],
)
def test_a_session_ends_when_idle_or_past_its_absolute_expiry(
    store: tuple[Engine, User], after: timedelta, reason: SessionFailure
) -> None:
    engine, user = store
    opened = open_session(engine, user, T0, ABSOLUTE_S)
    if reason is SessionFailure.EXPIRED:  # kept active, still ends at the absolute expiry
        moment = T0
        while moment + timedelta(seconds=IDLE_S - 60) < T0 + after:
            moment += timedelta(seconds=IDLE_S - 60)
            find_session(engine, opened.cookie_value, moment, IDLE_S)
    assert _refusal(engine, opened.cookie_value, T0 + after) is reason


def test_a_revoked_session_is_never_accepted_again(store: tuple[Engine, User]) -> None:
    engine, user = store
    opened = open_session(engine, user, T0, ABSOLUTE_S)
    revoke_session(engine, opened.session.id_hash, T0)
    assert _refusal(engine, opened.cookie_value, T0) is SessionFailure.REVOKED


@pytest.mark.parametrize("raw", [None, "", "not-a-session"])
def test_a_missing_or_unknown_cookie_is_refused(
    store: tuple[Engine, User], raw: str | None
) -> None:
    engine, _user = store
    expected = SessionFailure.UNKNOWN if raw else SessionFailure.MISSING
    assert _refusal(engine, raw, T0) is expected


@pytest.mark.parametrize("change", ["disable", "jurisdiction"])
def test_a_session_ends_when_its_account_is_disabled_or_changed(
    store: tuple[Engine, User], change: str
) -> None:
    engine, user = store
    opened = open_session(engine, user, T0, ABSOLUTE_S)
    if change == "disable":
        disable_user(engine, user.username, now=T0)
    else:
        set_jurisdiction(engine, user.username, "4602", now=T0)
    assert _refusal(engine, opened.cookie_value, T0) is SessionFailure.ACCOUNT
