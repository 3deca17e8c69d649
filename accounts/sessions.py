"""Web sessions: the UI's login, kept server-side (an opaque id in a cookie, its hash here).

A session proves a login through the web page, as a bearer token does through the API, and
like a token it is not a right to act: the account is re-read on every request and the session
refused when the account was disabled, locked or changed since the login (``token_epoch``).
Only the SHA-256 of the random id is stored, so the table cannot be replayed as cookies. Each
session has its own CSRF token and the query application the user picked in the page header.
A session ends at its absolute expiry, after ``session_idle_s`` without a request, or when
revoked (logout).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)

from accounts.users import User, UtcDateTime, aware_utc, get_user_by_id
from common.db import Bind, connection, metadata
from common.errors import NotAuthenticatedError, UserNotFoundError

SESSION_ID_BYTES = 32  # 256 random bits: an id cannot be guessed, so its plain hash suffices
CSRF_TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(seconds=30)  # last_seen is written at most this often per session

web_sessions = Table(
    "web_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 hex of the cookie's value
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_epoch", Integer, nullable=False),  # the account's epoch at login
    Column("csrf_token", String(64), nullable=False),
    Column("application_id", Integer, ForeignKey("query_application.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)


class SessionFailure(StrEnum):
    """Why a session was refused: for the log."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    IDLE = "idle"
    ACCOUNT = "account"  # gone, disabled, locked or changed since the login


SESSION_DETAIL = "the session has ended; sign in again"


class SessionError(NotAuthenticatedError):
    """A session that does not authenticate; ``reason`` says why, for the log."""

    def __init__(self, reason: SessionFailure) -> None:
        super().__init__(SESSION_DETAIL)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session as read from the store, with its account re-read."""

    id_hash: str
    user: User
    csrf_token: str
    application_id: int | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether ``sent`` is this session's CSRF token (compared in constant time)."""
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf_token.encode())


@dataclass(frozen=True, slots=True)
class OpenedSession:
    cookie_value: str  # the raw id: only the browser keeps it
    session: WebSession


def hash_session_id(raw: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(raw.encode()).hexdigest()


def open_session(engine: Engine, user: User, now: datetime, absolute_s: int) -> OpenedSession:
    """A new session for ``user`` (who just proved a password), valid ``absolute_s`` at most."""
    now = aware_utc(now)
    raw = secrets.token_urlsafe(SESSION_ID_BYTES)
    session = WebSession(
        id_hash=hash_session_id(raw),
        user=user,
        csrf_token=secrets.token_urlsafe(CSRF_TOKEN_BYTES),
        application_id=None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=absolute_s),
    )
    with engine.begin() as conn:
        conn.execute(
            insert(web_sessions).values(
                id_hash=session.id_hash,
                user_id=user.id,
                token_epoch=user.token_epoch,
                csrf_token=session.csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=session.expires_at,
            )
        )
    return OpenedSession(raw, session)


def find_session(bind: Bind, raw: str | None, now: datetime, idle_s: int) -> WebSession:
    """The live session whose cookie value is ``raw``, its last-seen time moved to ``now``;
    ``SessionError`` when there is none, it ended, or its account cannot act any more."""
    if not raw:
        raise SessionError(SessionFailure.MISSING)
    now = aware_utc(now)
    id_hash = hash_session_id(raw)
    with connection(bind) as conn:
        row = conn.execute(select(web_sessions).where(web_sessions.c.id_hash == id_hash)).first()
        if row is None:
            raise SessionError(SessionFailure.UNKNOWN)
        found = row._mapping
        if found["revoked_at"] is not None:
            raise SessionError(SessionFailure.REVOKED)
        last_seen = aware_utc(found["last_seen_at"])
        if now >= aware_utc(found["expires_at"]):
            raise SessionError(SessionFailure.EXPIRED)
        if now >= last_seen + timedelta(seconds=idle_s):
            raise SessionError(SessionFailure.IDLE)
        try:
            user = get_user_by_id(conn, found["user_id"])
        except UserNotFoundError:
            raise SessionError(SessionFailure.ACCOUNT) from None
        if user.disabled or user.is_locked(now) or user.token_epoch != found["token_epoch"]:
            raise SessionError(SessionFailure.ACCOUNT)
        if now - last_seen >= TOUCH_EVERY:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == id_hash)
                .values(last_seen_at=now)
            )
            conn.commit()
            last_seen = now
    return WebSession(
        id_hash=id_hash,
        user=user,
        csrf_token=found["csrf_token"],
        application_id=found["application_id"],
        created_at=aware_utc(found["created_at"]),
        last_seen_at=last_seen,
        expires_at=aware_utc(found["expires_at"]),
    )


def revoke_session(engine: Engine, id_hash: str, now: datetime) -> None:
    """End the session (logout); a revoked session is never accepted again."""
    with engine.begin() as conn:
        conn.execute(
            update(web_sessions)
            .where(web_sessions.c.id_hash == id_hash, web_sessions.c.revoked_at.is_(None))
            .values(revoked_at=aware_utc(now))
        )


def choose_application(engine: Engine, id_hash: str, application_id: int | None) -> None:
    """Remember the application the user picked in the page header (checked by the caller:
    the gate checks it again at every query)."""
    with engine.begin() as conn:
        conn.execute(
            update(web_sessions)
            .where(web_sessions.c.id_hash == id_hash)
            .values(application_id=application_id)
        )
