"""Login with lockout, bearer tokens (JWT, HS256) and the per-request check of the account.

A token proves a login, not a right to act: ``current_user`` re-reads the account on every
request and refuses it when the account was disabled, locked or changed since the login.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, select, update

from accounts.passwords import (
    default_password_hasher,
    hash_password,
    needs_rehash,
    spend_verification,
    verify_password,
)
from accounts.roles import Role, parse_roles
from accounts.user_fields import normalise_username, parse_jurisdiction
from accounts.users import User, aware_utc, get_user_by_id, select_accounts, users_table
from common.db import Bind
from common.errors import InvalidInputError, NotAuthenticatedError, UserNotFoundError
from common.settings import Settings

ALGORITHM = "HS256"
ISSUER = "xiansuo"
ISSUED_AT_LEEWAY_S = 30  # clock skew tolerated between API nodes for iat, never for exp
_REQUIRED_CLAIMS = ["sub", "roles", "jurisdiction", "iat", "exp", "jti", "iss", "epoch"]


class LoginFailure(StrEnum):
    """Why a login failed: for the log only, never for the client."""

    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason, not a password
    LOCKOUT_STARTED = "lockout_started"  # a wrong password, and the one that locked the account
    LOCKED = "locked"
    DISABLED = "disabled"


LOGIN_FAILED_DETAIL = "invalid username or password"


class LoginFailedError(NotAuthenticatedError):
    """Every failed login looks the same to the client; ``reason`` and the rest are for the log.

    ``username`` is what was typed, folded. When ``user_id`` is None it may be a password typed
    into the wrong field, so the log should keep it only in a form that cannot be read back.
    """

    def __init__(
        self,
        reason: LoginFailure,
        *,
        username: str,
        user_id: int | None,
        locked_until: datetime | None = None,
    ) -> None:
        super().__init__(LOGIN_FAILED_DETAIL)
        self.reason = reason
        self.username = username
        self.user_id = user_id
        self.locked_until = locked_until


def _record_failure(
    conn: Connection, user_id: int, now: datetime, settings: Settings
) -> datetime | None:
    """Count a wrong password; at the threshold lock the account and restart the count."""
    where = users_table.c.id == user_id
    conn.execute(
        update(users_table).where(where).values(failed_attempts=users_table.c.failed_attempts + 1)
    )
    count = conn.execute(select(users_table.c.failed_attempts).where(where)).scalar_one()
    if count < settings.lockout_threshold:
        return None
    until = now + timedelta(seconds=settings.lockout_duration_s)
    conn.execute(update(users_table).where(where).values(failed_attempts=0, locked_until=until))
    return until


def _record_success(conn: Connection, user_id: int, stored_hash: str) -> bool:
    """Clear the failure count and store a rehashed password; False if disabled meanwhile."""
    done = conn.execute(
        update(users_table)
        .where(users_table.c.id == user_id, users_table.c.disabled.is_(False))
        .values(failed_attempts=0, locked_until=None, password_hash=stored_hash)
    )
    return done.rowcount == 1


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    now: datetime,
    *,
    settings: Settings,
    hasher: PasswordHasher | None = None,
) -> User:
    """The account whose password this is, or ``LoginFailedError`` with the reason for the log.

    Every path verifies one argon2 hash, so timing does not tell an unknown user from a wrong
    password. A disabled or locked account is refused even with the right password; only wrong
    passwords of usable accounts count towards a lockout. A hash with old parameters is replaced.
    No transaction is held while the hash is verified.
    """
    hasher = hasher or default_password_hasher()
    now = aware_utc(now)
    try:
        name = normalise_username(username)
    except InvalidInputError:
        name = ""
    with engine.connect() as conn:
        found = select_accounts(conn, users_table.c.username == name) if name else []
    if not found:
        spend_verification(hasher, password)
        raise LoginFailedError(LoginFailure.UNKNOWN_USER, username=name, user_id=None)
    user, stored = found[0]
    correct = verify_password(hasher, stored, password)
    who = user.username
    if user.disabled:
        raise LoginFailedError(LoginFailure.DISABLED, username=who, user_id=user.id)
    if user.is_locked(now):
        raise LoginFailedError(
            LoginFailure.LOCKED, username=who, user_id=user.id, locked_until=user.locked_until
        )
    if not correct:
        with engine.begin() as conn:
            until = _record_failure(conn, user.id, now, settings)
        reason = LoginFailure.WRONG_PASSWORD if until is None else LoginFailure.LOCKOUT_STARTED
        raise LoginFailedError(reason, username=who, user_id=user.id, locked_until=until)
    fresh = hash_password(hasher, password) if needs_rehash(hasher, stored) else stored
    with engine.begin() as conn:
        if not _record_success(conn, user.id, fresh):
            raise LoginFailedError(LoginFailure.DISABLED, username=who, user_id=user.id)
    return replace(user, failed_attempts=0, locked_until=None)


class TokenFailure(StrEnum):
    """Why a token was refused: for the log."""

    MALFORMED = "malformed"
    ALGORITHM = "algorithm"  # alg none, or anything but HS256
    SIGNATURE = "signature"
    EXPIRED = "expired"
    ISSUED_IN_FUTURE = "issued_in_future"
    UNKNOWN_ACCOUNT = "unknown_account"
    DISABLED = "disabled"
    LOCKED = "locked"
    STALE = "stale"  # roles, jurisdiction, password or status changed since the login


_TOKEN_DETAILS = {
    TokenFailure.EXPIRED: "the token has expired; sign in again",
    TokenFailure.UNKNOWN_ACCOUNT: "the token is no longer valid; sign in again",
    TokenFailure.DISABLED: "the token is no longer valid; sign in again",
    TokenFailure.LOCKED: "the token is no longer valid; sign in again",
    TokenFailure.STALE: "the token is no longer valid; sign in again",
}


class TokenError(NotAuthenticatedError):
    """A bearer token that does not authenticate; ``reason`` says why, for the log."""

    def __init__(self, reason: TokenFailure) -> None:
        super().__init__(_TOKEN_DETAILS.get(reason, "invalid token"))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified content of a token."""

    user_id: int
    roles: frozenset[Role]
    jurisdiction: str
    issued_at: datetime
    expires_at: datetime
    token_id: str  # jti: log it to tie requests to a login; never log the token itself
    epoch: int


@cache
def _codec() -> jwt.PyJWT:
    # Refuse HMAC keys shorter than the hash (32 bytes) instead of only warning.
    return jwt.PyJWT(options={"enforce_minimum_key_length": True})


MIN_KEY_BYTES = 32  # HS256's output size; a shorter key weakens the signature (RFC 7518 §3.2)


def _key(settings: Settings) -> bytes:
    key = settings.secret_key.get_secret_value().encode()
    if len(key) < MIN_KEY_BYTES:  # a configuration error, never a client's
        raise ValueError(f"XIANSUO_SECRET_KEY must have at least {MIN_KEY_BYTES} bytes")
    return key


def issue_token(user: User, settings: Settings, now: datetime) -> str:
    """A signed bearer token for ``user``, valid for ``settings.token_lifetime_s`` seconds."""
    if user.disabled:
        raise TokenError(TokenFailure.DISABLED)
    issued = int(aware_utc(now).timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user.id),
        "roles": sorted(user.roles),
        "jurisdiction": user.jurisdiction,
        "epoch": user.token_epoch,
        "iat": issued,
        "exp": issued + settings.token_lifetime_s,
        "jti": uuid.uuid4().hex,
    }
    return _codec().encode(claims, _key(settings), algorithm=ALGORITHM)


@lru_cache(maxsize=4096)
def _verified_claims(token: str, key: bytes) -> TokenClaims:
    """The claims of a well-signed token, remembered: a client sends the same token with every
    request, and verifying it again would give the same claims (refusals are not remembered;
    times and the account are checked on every request)."""
    return _claims_of(_verified_payload(token, key))


def _verified_payload(token: str, key: bytes) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError(TokenFailure.MALFORMED) from None
    if header.get("alg") != ALGORITHM:
        raise TokenError(TokenFailure.ALGORITHM)
    try:
        payload: dict[str, Any] = _codec().decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            # Times are checked below against the injected ``now``, not the wall clock.
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise TokenError(TokenFailure.SIGNATURE) from None
    except jwt.InvalidAlgorithmError:
        raise TokenError(TokenFailure.ALGORITHM) from None
    except jwt.PyJWTError:
        raise TokenError(TokenFailure.MALFORMED) from None
    return payload


def _claims_of(payload: dict[str, Any]) -> TokenClaims:
    sub, roles, epoch = payload["sub"], payload["roles"], payload["epoch"]
    iat, exp, jti = payload["iat"], payload["exp"], payload["jti"]
    if not (
        isinstance(sub, str)
        and sub.isascii()
        and sub.isdigit()
        and isinstance(roles, list)
        and all(isinstance(r, str) for r in roles)
        and all(type(v) is int for v in (iat, exp, epoch))
        and isinstance(jti, str)
        and isinstance(payload["jurisdiction"], str)
    ):
        raise TokenError(TokenFailure.MALFORMED)
    try:
        return TokenClaims(
            user_id=int(sub),
            roles=parse_roles(roles),
            jurisdiction=parse_jurisdiction(payload["jurisdiction"]),
            issued_at=datetime.fromtimestamp(iat, UTC),
            expires_at=datetime.fromtimestamp(exp, UTC),
            token_id=jti,
            epoch=epoch,
        )
    except (InvalidInputError, ValueError, OverflowError, OSError):
        raise TokenError(TokenFailure.MALFORMED) from None


def decode_token(token: str, settings: Settings, now: datetime) -> TokenClaims:
    """The claims of a token signed with our key and algorithm, unexpired at ``now``.

    ``alg: none``, any other algorithm, a bad signature, a missing or ill-typed claim, a foreign
    issuer, expiry and an issue time in the future all raise ``TokenError`` (401).
    """
    claims = _verified_claims(token, _key(settings))
    moment = aware_utc(now)
    if moment >= claims.expires_at:
        raise TokenError(TokenFailure.EXPIRED)
    if claims.issued_at > moment + timedelta(seconds=ISSUED_AT_LEEWAY_S):
        raise TokenError(TokenFailure.ISSUED_IN_FUTURE)
    return claims


def current_user(bind: Bind, claims: TokenClaims, now: datetime) -> User:
    """The account behind verified claims, re-read now; refused when it cannot act any more.

    Refused: an account that is gone, disabled or locked, or that changed since the token was
    issued (roles, jurisdiction, password, enabled status: each bumps ``token_epoch``).
    """
    try:
        user = get_user_by_id(bind, claims.user_id)
    except UserNotFoundError:
        raise TokenError(TokenFailure.UNKNOWN_ACCOUNT) from None
    if user.disabled:
        raise TokenError(TokenFailure.DISABLED)
    if user.is_locked(now):
        raise TokenError(TokenFailure.LOCKED)
    if (
        user.token_epoch != claims.epoch
        or user.roles != claims.roles
        or user.jurisdiction != claims.jurisdiction
    ):
        raise TokenError(TokenFailure.STALE)
    return user
