"""Login, lockout and bearer tokens, against a real SQLite store; time is injected, never slept."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from accounts.auth import (
    LOGIN_FAILED_DETAIL,
    LoginFailedError,
    LoginFailure,
    TokenError,
    TokenFailure,
    authenticate,
    current_user,
    decode_token,
    issue_token,
)
from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.users import (
    User,
    add_user,
    disable_user,
    get_user,
    set_jurisdiction,
    set_password,
    set_roles,
    unlock_user,
    users_table,
)
from common.db import create_db_engine
from common.settings import Settings
from migrations.store import upgrade_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"  # noqa: S105 - test data
WRONG = "incorrect horse battery"
KEY = "k" * 40
THRESHOLD, LOCK_S, LIFETIME_S = 3, 600, 900


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)


@pytest.fixture
def auth_settings(tmp_path: Path) -> Settings:
    return Settings(
        state_dir=tmp_path,
        secret_key=KEY,
        lockout_threshold=THRESHOLD,
        lockout_duration_s=LOCK_S,
        token_lifetime_s=LIFETIME_S,
    )


@pytest.fixture
def engine(tmp_path: Path, hasher: PasswordHasher) -> Iterator[Engine]:
    store = create_db_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    upgrade_store(store)
    add_user(store, "zhangsan", {Role.INVESTIGATOR}, "4601", PASSWORD, now=T0, hasher=hasher)
    yield store
    store.dispose()


def _login(
    engine: Engine, settings: Settings, hasher: PasswordHasher, password: str, at: datetime = T0
) -> User:
    return authenticate(engine, "zhangsan", password, at, settings=settings, hasher=hasher)


def _failure(
    engine: Engine, settings: Settings, hasher: PasswordHasher, password: str, at: datetime = T0
) -> LoginFailedError:
    with pytest.raises(LoginFailedError) as caught:
        _login(engine, settings, hasher, password, at)
    return caught.value


def test_right_password_logs_in(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    assert _login(engine, auth_settings, hasher, PASSWORD).username == "zhangsan"


def test_unknown_user_and_wrong_password_look_the_same_to_the_client(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    wrong = _failure(engine, auth_settings, hasher, WRONG)
    with pytest.raises(LoginFailedError) as unknown:
        authenticate(engine, "lisi", PASSWORD, T0, settings=auth_settings, hasher=hasher)
    client_view = [(type(e), e.status, str(e), e.detail) for e in (wrong, unknown.value)]
    assert client_view[0] == client_view[1] == (LoginFailedError, 401, *[LOGIN_FAILED_DETAIL] * 2)


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("lisi", PASSWORD, LoginFailure.UNKNOWN_USER),
        ("not a name!", PASSWORD, LoginFailure.UNKNOWN_USER),
        ("zhangsan", WRONG, LoginFailure.WRONG_PASSWORD),
    ],
)
def test_login_failure_reports_its_reason_for_the_log(
    engine: Engine,
    auth_settings: Settings,
    hasher: PasswordHasher,
    username: str,
    password: str,
    reason: LoginFailure,
) -> None:
    with pytest.raises(LoginFailedError) as caught:
        authenticate(engine, username, password, T0, settings=auth_settings, hasher=hasher)
    assert caught.value.reason is reason
    assert reason.value not in str(caught.value)


def test_threshold_failures_lock_the_account(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    reasons = [_failure(engine, auth_settings, hasher, WRONG).reason for _ in range(THRESHOLD)]
    assert reasons == [LoginFailure.WRONG_PASSWORD] * (THRESHOLD - 1) + [
        LoginFailure.LOCKOUT_STARTED
    ]


def test_locked_account_refuses_the_right_password(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    for _ in range(THRESHOLD):
        _failure(engine, auth_settings, hasher, WRONG)
    locked = _failure(engine, auth_settings, hasher, PASSWORD, T0 + timedelta(seconds=LOCK_S - 1))
    assert (locked.reason, str(locked)) == (LoginFailure.LOCKED, LOGIN_FAILED_DETAIL)


def test_lock_is_released_after_its_window(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    for _ in range(THRESHOLD):
        _failure(engine, auth_settings, hasher, WRONG)
    user = _login(engine, auth_settings, hasher, PASSWORD, T0 + timedelta(seconds=LOCK_S))
    assert (user.failed_attempts, user.locked_until) == (0, None)


def test_attempts_during_a_lock_do_not_extend_it(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    for _ in range(THRESHOLD):
        _failure(engine, auth_settings, hasher, WRONG)
    _failure(engine, auth_settings, hasher, WRONG, T0 + timedelta(seconds=LOCK_S - 1))
    assert get_user(engine, "zhangsan").locked_until == T0 + timedelta(seconds=LOCK_S)


def test_success_resets_the_count_of_consecutive_failures(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    for _ in range(THRESHOLD - 1):
        _failure(engine, auth_settings, hasher, WRONG)
    _login(engine, auth_settings, hasher, PASSWORD)
    assert _failure(engine, auth_settings, hasher, WRONG).reason is LoginFailure.WRONG_PASSWORD


def test_administrator_unlock_ends_a_lock(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    for _ in range(THRESHOLD):
        _failure(engine, auth_settings, hasher, WRONG)
    unlock_user(engine, "zhangsan", now=T0)
    assert _login(engine, auth_settings, hasher, PASSWORD).username == "zhangsan"


def test_disabled_user_cannot_log_in(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    disable_user(engine, "zhangsan", now=T0)
    refused = _failure(engine, auth_settings, hasher, PASSWORD)
    assert (refused.reason, str(refused)) == (LoginFailure.DISABLED, LOGIN_FAILED_DETAIL)


def test_login_rehashes_when_the_parameters_changed(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    stronger = make_password_hasher(time_cost=2, memory_cost_kib=16, parallelism=1)
    _login(engine, auth_settings, stronger, PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")


# Tokens


def _token(engine: Engine, settings: Settings, at: datetime = T0) -> str:
    return issue_token(get_user(engine, "zhangsan"), settings, at)


def test_token_round_trip(engine: Engine, auth_settings: Settings) -> None:
    claims = decode_token(_token(engine, auth_settings), auth_settings, T0)
    assert (claims.roles, claims.jurisdiction, claims.expires_at - claims.issued_at) == (
        frozenset({Role.INVESTIGATOR}),
        "4601",
        timedelta(seconds=LIFETIME_S),
    )


def test_token_is_valid_until_just_before_expiry(engine: Engine, auth_settings: Settings) -> None:
    last = T0 + timedelta(seconds=LIFETIME_S - 1)
    assert decode_token(_token(engine, auth_settings), auth_settings, last).user_id == 1


def test_expired_token_is_refused(engine: Engine, auth_settings: Settings) -> None:
    with pytest.raises(TokenError) as caught:
        decode_token(
            _token(engine, auth_settings), auth_settings, T0 + timedelta(seconds=LIFETIME_S)
        )
    assert (caught.value.reason, caught.value.status) == (TokenFailure.EXPIRED, 401)


def test_token_from_the_future_is_refused(engine: Engine, auth_settings: Settings) -> None:
    with pytest.raises(TokenError) as caught:
        decode_token(_token(engine, auth_settings, T0 + timedelta(minutes=5)), auth_settings, T0)
    assert caught.value.reason is TokenFailure.ISSUED_IN_FUTURE


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _with_payload(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return ".".join([header, _b64(claims | changes), signature])


def _claims(engine: Engine, settings: Settings) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(
        _token(engine, settings), KEY, algorithms=["HS256"], options={"verify_exp": False}
    )
    return payload


Forge = Callable[[str, dict[str, Any]], str]


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda t, c: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), TokenFailure.SIGNATURE),
        (lambda t, c: _with_payload(t, roles=["security_auditor"]), TokenFailure.SIGNATURE),
        (lambda t, c: _with_payload(t, exp=c["exp"] + 10**6), TokenFailure.SIGNATURE),
        (lambda t, c: jwt.encode(c, "o" * 40, algorithm="HS256"), TokenFailure.SIGNATURE),
        (
            lambda t, c: _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(c) + ".",
            TokenFailure.ALGORITHM,
        ),
        (lambda t, c: jwt.encode(c, KEY + "x" * 30, algorithm="HS512"), TokenFailure.ALGORITHM),
        (
            lambda t, c: jwt.encode(c | {"iss": "elsewhere"}, KEY, algorithm="HS256"),
            TokenFailure.MALFORMED,
        ),
        (
            lambda t, c: jwt.encode({k: v for k, v in c.items() if k != "jti"}, KEY),
            TokenFailure.MALFORMED,
        ),
        (
            lambda t, c: jwt.encode(c | {"roles": ["root"]}, KEY, algorithm="HS256"),
            TokenFailure.MALFORMED,
        ),
        (
            lambda t, c: jwt.encode(c | {"sub": "1 OR 1"}, KEY, algorithm="HS256"),
            TokenFailure.MALFORMED,
        ),
        (lambda t, c: "not.a.token", TokenFailure.MALFORMED),
        (lambda t, c: "", TokenFailure.MALFORMED),
    ],
    ids=[
        "signature-bytes",
        "payload-roles",
        "payload-exp",
        "other-key",
        "alg-none",
        "alg-hs512",
        "issuer",
        "missing-jti",
        "unknown-role",
        "bad-sub",
        "garbage",
        "empty",
    ],
)
def test_forged_or_broken_token_is_refused(
    engine: Engine, auth_settings: Settings, forge: Forge, reason: TokenFailure
) -> None:
    token = forge(_token(engine, auth_settings), _claims(engine, auth_settings))
    with pytest.raises(TokenError) as caught:
        decode_token(token, auth_settings, T0)
    assert (caught.value.reason, caught.value.status) == (reason, 401)


def test_short_secret_key_is_a_configuration_error(engine: Engine, tmp_path: Path) -> None:
    short = Settings(state_dir=tmp_path, secret_key="k" * 16)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        _token(engine, short)


# The account behind a token, re-read on every request


def test_current_user_of_a_fresh_token(engine: Engine, auth_settings: Settings) -> None:
    claims = decode_token(_token(engine, auth_settings), auth_settings, T0)
    assert current_user(engine, claims, T0).username == "zhangsan"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: disable_user(e, "zhangsan", now=T0), TokenFailure.DISABLED),
        (lambda e: set_roles(e, "zhangsan", {Role.ANALYST}, now=T0), TokenFailure.STALE),
        (lambda e: set_roles(e, "zhangsan", {Role.INVESTIGATOR}, now=T0), TokenFailure.STALE),
        (lambda e: set_jurisdiction(e, "zhangsan", "460106", now=T0), TokenFailure.STALE),
        (lambda e: set_password(e, "zhangsan", "new long password", now=T0), TokenFailure.STALE),
    ],
    ids=["disabled", "roles", "same-roles-reassigned", "jurisdiction", "password"],
)
def test_token_is_refused_after_the_account_changed(
    engine: Engine,
    auth_settings: Settings,
    change: Callable[[Engine], object],
    reason: TokenFailure,
) -> None:
    claims = decode_token(_token(engine, auth_settings), auth_settings, T0)
    change(engine)
    with pytest.raises(TokenError) as caught:
        current_user(engine, claims, T0)
    assert (caught.value.reason, caught.value.status) == (reason, 401)


def test_token_is_refused_while_the_account_is_locked(
    engine: Engine, auth_settings: Settings, hasher: PasswordHasher
) -> None:
    claims = decode_token(_token(engine, auth_settings), auth_settings, T0)
    for _ in range(THRESHOLD):
        _failure(engine, auth_settings, hasher, WRONG)
    with pytest.raises(TokenError) as caught:
        current_user(engine, claims, T0 + timedelta(seconds=1))
    assert caught.value.reason is TokenFailure.LOCKED


def test_no_token_is_issued_to_a_disabled_account(engine: Engine, auth_settings: Settings) -> None:
    disabled = disable_user(engine, "zhangsan", now=T0)
    with pytest.raises(TokenError):
        issue_token(disabled, auth_settings, T0)
