"""Accounts in the SQL store: the schema and administration (login is in ``accounts.auth``).

The store enforces the three-officer separation itself, so no code path can bypass
``check_role_set``: every account is either an officer account or not (``users.officer``);
each role row carries its role's kind, checked against the ``roles`` reference table and against
the account's kind by composite foreign keys; and a partial unique index allows one officer role
per account. Accounts are never deleted (the log refers to them); they are disabled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from accounts.passwords import check_password_policy, default_password_hasher, hash_password
from accounts.roles import Role, RoleRules, RoleTableError, check_role_set, role_rules
from accounts.user_fields import (
    normalise_display_name,
    normalise_username,
    parse_id_number,
    parse_jurisdiction,
)
from common.db import Bind, connection, metadata
from common.errors import DuplicateUserError, InvalidInputError, UserNotFoundError


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else aware_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


roles_table = Table(
    "roles",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("officer", Boolean, nullable=False),
    UniqueConstraint("name", "officer", name="roles_name_kind"),
)

users_table = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(64)),
    Column("jurisdiction", String(12), nullable=False),
    Column("id_number", String(18), unique=True),  # NULLs never clash
    Column("password_hash", String(255), nullable=False),
    Column("officer", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("token_epoch", Integer, nullable=False),  # bumped on every change that voids tokens
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("id", "officer", name="users_id_kind"),
)

user_roles_table = Table(
    "user_roles",
    metadata,
    Column("user_id", Integer, nullable=False),
    Column("role", String(32), nullable=False),
    Column("officer", Boolean, nullable=False),
    PrimaryKeyConstraint("user_id", "role"),
    ForeignKeyConstraint(["user_id", "officer"], ["users.id", "users.officer"]),
    ForeignKeyConstraint(["role", "officer"], ["roles.name", "roles.officer"]),
)

Index(
    "user_roles_one_officer_post",
    user_roles_table.c.user_id,
    unique=True,
    sqlite_where=user_roles_table.c.officer,
    postgresql_where=user_roles_table.c.officer,
)


@dataclass(frozen=True, slots=True)
class User:
    """An account as read from the store; the password hash never leaves this module."""

    id: int
    username: str
    display_name: str | None
    roles: frozenset[Role]
    jurisdiction: str
    id_number: str | None = field(repr=False)  # a full ID: never log it
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    token_epoch: int
    created_at: datetime
    updated_at: datetime

    def is_locked(self, now: datetime) -> bool:
        """True while a lockout runs."""
        return self.locked_until is not None and aware_utc(now) < self.locked_until


def aware_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is a programming error, not a guess."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must carry a timezone")
    return moment.astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else aware_utc(now)


def write_role_rows(engine: Engine, rules: RoleRules | None = None) -> None:
    """Write the ``roles`` reference rows from the role table (the store's schema is made by the
    migrations; these rows follow the code's role table, so they are written at every start).

    A stored role whose kind differs from the table is refused: accounts would have to be
    migrated first, and that is a decision for a person, not for start-up code. Several servers
    starting at once may insert the same rows: on SQLite the write lock is taken before reading;
    on PostgreSQL the one that loses the race reads and checks them again.
    """
    rules = rules or role_rules()
    try:
        _write_role_rows(engine, rules)
    except IntegrityError:
        _write_role_rows(engine, rules)


def _write_role_rows(engine: Engine, rules: RoleRules) -> None:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        rows = conn.execute(select(roles_table.c.name, roles_table.c.officer)).all()
        stored = {name: bool(officer) for name, officer in rows}
        for role in Role:
            officer = role in rules.officer_roles
            if role.value not in stored:
                conn.execute(insert(roles_table).values(name=role.value, officer=officer))
            elif stored[role.value] is not officer:
                raise RoleTableError(f"stored role {role} has another kind than the role table")
        conn.commit()


def _user_of(row: Any, roles: frozenset[Role]) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=roles,
        jurisdiction=row.jurisdiction,
        id_number=row.id_number,
        disabled=bool(row.disabled),
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
        token_epoch=row.token_epoch,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def select_accounts(conn: Connection, where: ColumnElement[bool]) -> list[tuple[User, str]]:
    """Accounts matching ``where`` with their password hashes (for login only), oldest first."""
    rows = conn.execute(select(users_table).where(where).order_by(users_table.c.id)).all()
    ids = [row.id for row in rows]
    roles: dict[int, set[Role]] = {i: set() for i in ids}
    if ids:
        query = select(user_roles_table.c.user_id, user_roles_table.c.role)
        for user_id, role in conn.execute(query.where(user_roles_table.c.user_id.in_(ids))):
            roles[user_id].add(Role(role))
    return [(_user_of(row, frozenset(roles[row.id])), row.password_hash) for row in rows]


# Built once: every authenticated request reads its account, and building a statement (and its
# cache key) costs more than running it on an indexed primary key.
_ACCOUNT_BY_ID = select(users_table).where(users_table.c.id == bindparam("user_id"))
_ROLES_BY_ID = select(user_roles_table.c.role).where(
    user_roles_table.c.user_id == bindparam("user_id")
)


def _one(conn: Connection, where: ColumnElement[bool], label: str) -> tuple[User, str]:
    found = select_accounts(conn, where)
    if not found:
        raise UserNotFoundError(f"no account {label}")
    return found[0]


def get_user(engine: Engine, username: str) -> User:
    """The account named ``username`` (case-folded), or ``UserNotFoundError``."""
    name = _fold_or_missing(username)
    with engine.connect() as conn:
        return _one(conn, users_table.c.username == name, repr(name))[0]


def get_user_by_id(bind: Bind, user_id: int) -> User:
    """The account with ``user_id``, or ``UserNotFoundError``."""
    with connection(bind) as conn:
        row = conn.execute(_ACCOUNT_BY_ID, {"user_id": user_id}).first()
        if row is None:
            raise UserNotFoundError(f"no account with id {user_id}")
        roles = conn.execute(_ROLES_BY_ID, {"user_id": user_id}).scalars()
        return _user_of(row, frozenset(Role(role) for role in roles))


def list_users(engine: Engine) -> list[User]:
    """Every account, oldest first."""
    with engine.connect() as conn:
        return [user for user, _hash in select_accounts(conn, users_table.c.id.is_not(None))]


def _fold_or_missing(username: str) -> str:
    try:
        return normalise_username(username)
    except InvalidInputError:
        raise UserNotFoundError(f"no account {username!r}") from None


def _write_roles(conn: Connection, user_id: int, roles: frozenset[Role], rules: RoleRules) -> None:
    """Replace an account's roles and kind; the caller has run ``check_role_set``."""
    officer = bool(roles & rules.officer_roles)
    conn.execute(user_roles_table.delete().where(user_roles_table.c.user_id == user_id))
    conn.execute(update(users_table).where(users_table.c.id == user_id).values(officer=officer))
    if roles:
        rows = [{"user_id": user_id, "role": r.value, "officer": officer} for r in sorted(roles)]
        conn.execute(insert(user_roles_table), rows)


def add_user(
    engine: Engine,
    username: str,
    roles: Iterable[Role],
    jurisdiction: str,
    password: str,
    *,
    display_name: str | None = None,
    id_number: str | None = None,
    now: datetime | None = None,
    hasher: PasswordHasher | None = None,
    rules: RoleRules | None = None,
) -> User:
    """Create an account. 422 for an invalid field or role set, 409 for a taken username or ID."""
    rules = rules or role_rules()
    role_set = frozenset(roles)
    check_role_set(role_set, rules)
    values: dict[str, Any] = {
        "username": normalise_username(username),
        "display_name": normalise_display_name(display_name),
        "jurisdiction": parse_jurisdiction(jurisdiction),
        "id_number": None if id_number is None else parse_id_number(id_number),
    }
    check_password_policy(password)
    stamp = _now(now)
    values |= {
        "password_hash": hash_password(hasher or default_password_hasher(), password),
        "officer": bool(role_set & rules.officer_roles),
        "disabled": False,
        "failed_attempts": 0,
        "token_epoch": 0,
        "created_at": stamp,
        "updated_at": stamp,
    }
    try:
        with engine.begin() as conn:
            _refuse_taken(conn, values["username"], values["id_number"])
            inserted = conn.execute(insert(users_table).values(values).returning(users_table.c.id))
            user_id: int = inserted.scalar_one()
            _write_roles(conn, user_id, role_set, rules)
    except IntegrityError:
        with engine.connect() as conn:  # a concurrent insert of the same name or ID won the race
            _refuse_taken(conn, values["username"], values["id_number"])
        raise
    return get_user_by_id(engine, user_id)


def _refuse_taken(conn: Connection, username: str | None, id_number: str | None) -> None:
    if conn.execute(select(users_table.c.id).where(users_table.c.username == username)).first():
        raise DuplicateUserError(f"the username {username!r} is taken")
    if id_number is not None:
        query = select(users_table.c.id).where(users_table.c.id_number == id_number)
        if conn.execute(query).first():
            raise DuplicateUserError("another account already records this ID number")


def _change(
    engine: Engine,
    username: str,
    now: datetime | None,
    also: Callable[[Connection, User], None] | None = None,
    **values: Any,
) -> User:
    """In one transaction: update the account's columns, run ``also``, bump its token epoch
    (which voids its tokens) and updated_at. Returns the account afterwards."""
    name = _fold_or_missing(username)
    with engine.begin() as conn:
        user = _one(conn, users_table.c.username == name, repr(name))[0]
        if also is not None:
            also(conn, user)
        conn.execute(
            update(users_table)
            .where(users_table.c.id == user.id)
            .values(token_epoch=users_table.c.token_epoch + 1, updated_at=_now(now), **values)
        )
    return get_user_by_id(engine, user.id)


def set_roles(
    engine: Engine,
    username: str,
    roles: Iterable[Role],
    *,
    now: datetime | None = None,
    rules: RoleRules | None = None,
) -> User:
    """Replace the account's roles (checked by ``check_role_set``); its tokens stop working."""
    rules = rules or role_rules()
    role_set = frozenset(roles)
    check_role_set(role_set, rules)
    return _change(
        engine, username, now, lambda conn, user: _write_roles(conn, user.id, role_set, rules)
    )


def set_jurisdiction(
    engine: Engine, username: str, jurisdiction: str, *, now: datetime | None = None
) -> User:
    """Move the account to another 行政区划代码 prefix; its tokens stop working."""
    return _change(engine, username, now, jurisdiction=parse_jurisdiction(jurisdiction))


def set_password(
    engine: Engine,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    hasher: PasswordHasher | None = None,
) -> User:
    """Replace the password (policy-checked), clear a lockout; the account's tokens stop working."""
    check_password_policy(password)
    stored = hash_password(hasher or default_password_hasher(), password)
    return _change(
        engine, username, now, password_hash=stored, failed_attempts=0, locked_until=None
    )


def disable_user(engine: Engine, username: str, *, now: datetime | None = None) -> User:
    """The account can no longer log in, and its tokens stop working at once."""
    return _change(engine, username, now, disabled=True)


def enable_user(engine: Engine, username: str, *, now: datetime | None = None) -> User:
    """Undo ``disable_user``; tokens issued before the account was disabled stay void."""
    return _change(engine, username, now, disabled=False)


def unlock_user(engine: Engine, username: str, *, now: datetime | None = None) -> User:
    """End a lockout before its time (an administrator's decision)."""
    return _change(engine, username, now, failed_attempts=0, locked_until=None)
