"""Accounts in the SQL store (SQLite, and PostgreSQL when XIANSUO_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from accounts.cli import read_new_password, run_users_add
from accounts.passwords import default_password_hasher, make_password_hasher, verify_password
from accounts.roles import Role, RoleTableError
from accounts.user_fields import (
    jurisdiction_covers,
    normalise_username,
    parse_id_number,
    parse_jurisdiction,
)
from accounts.users import (
    User,
    add_user,
    disable_user,
    enable_user,
    get_user,
    list_users,
    roles_table,
    set_jurisdiction,
    set_password,
    set_roles,
    user_roles_table,
    users_table,
    write_role_rows,
)
from common.db import create_db_engine
from common.errors import (
    DuplicateUserError,
    InvalidInputError,
    RoleConflictError,
    UnknownRoleError,
    UserNotFoundError,
)
from migrations.store import upgrade_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"  # noqa: S105 - test data
VALID_ID = "11010519491231002X"  # GB 11643's own example


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    """Cheap parameters: these tests are about the store, not about argon2's cost."""
    return make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)


@pytest.fixture
def engine(sql_engine: Engine) -> Engine:
    """A fresh store at the code's schema, on SQLite and on PostgreSQL."""
    upgrade_store(sql_engine)
    return sql_engine


def _add(
    engine: Engine,
    hasher: PasswordHasher,
    name: str = "zhangsan",
    *,
    roles: frozenset[Role] | set[Role] = frozenset({Role.INVESTIGATOR}),
    region: str = "4601",
    display_name: str | None = None,
    id_number: str | None = None,
) -> User:
    return add_user(
        engine,
        name,
        roles,
        region,
        PASSWORD,
        display_name=display_name,
        id_number=id_number,
        now=T0,
        hasher=hasher,
    )


def _stored_hash(engine: Engine, username: str) -> str:
    with engine.connect() as conn:
        query = select(users_table.c.password_hash).where(users_table.c.username == username)
        return str(conn.execute(query).scalar_one())


def test_added_user_reads_back(engine: Engine, hasher: PasswordHasher) -> None:
    _add(engine, hasher, roles={Role.INVESTIGATOR, Role.APPROVER}, display_name=" 张三 ")
    user = get_user(engine, "ZhangSan")
    assert (user.username, user.display_name, user.roles, user.jurisdiction) == (
        "zhangsan",
        "张三",
        frozenset({Role.INVESTIGATOR, Role.APPROVER}),
        "4601",
    )


def test_timestamps_come_back_in_utc(engine: Engine, hasher: PasswordHasher) -> None:
    _add(engine, hasher)
    assert get_user(engine, "zhangsan").created_at == T0


def test_naive_now_is_refused(engine: Engine, hasher: PasswordHasher) -> None:
    with pytest.raises(ValueError, match="timezone"):
        add_user(engine, "lisi", set(), "46", PASSWORD, now=datetime(2026, 1, 1), hasher=hasher)


def test_password_is_stored_as_an_argon2id_hash_that_verifies(
    engine: Engine, hasher: PasswordHasher
) -> None:
    _add(engine, hasher)
    stored = _stored_hash(engine, "zhangsan")
    assert PASSWORD not in stored
    assert stored.startswith("$argon2id$")
    assert verify_password(hasher, stored, PASSWORD)


def test_stored_hash_rejects_another_password(engine: Engine, hasher: PasswordHasher) -> None:
    _add(engine, hasher)
    assert not verify_password(hasher, _stored_hash(engine, "zhangsan"), PASSWORD + "!")


def test_default_hasher_has_the_explicit_parameters() -> None:
    stored = default_password_hasher().hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize("second", ["zhangsan", "ZhangSan", " zhangsan ", "ｚｈａｎｇｓａｎ"])
def test_duplicate_username_is_a_409(engine: Engine, hasher: PasswordHasher, second: str) -> None:
    _add(engine, hasher)
    with pytest.raises(DuplicateUserError) as caught:
        _add(engine, hasher, second)
    assert caught.value.status == 409


def test_duplicate_id_number_is_a_409(engine: Engine, hasher: PasswordHasher) -> None:
    _add(engine, hasher, id_number=VALID_ID)
    with pytest.raises(DuplicateUserError, match="ID number"):
        _add(engine, hasher, "lisi", id_number=VALID_ID.lower())


def test_role_conflict_stores_nothing(engine: Engine, hasher: PasswordHasher) -> None:
    with pytest.raises(RoleConflictError):
        _add(engine, hasher, roles={Role.SYSTEM_ADMIN, Role.SECURITY_AUDITOR})
    assert list_users(engine) == []


def test_short_password_is_a_422(engine: Engine, hasher: PasswordHasher) -> None:
    with pytest.raises(InvalidInputError, match="at least 12") as caught:
        add_user(engine, "lisi", set(), "46", "short", hasher=hasher)
    assert caught.value.status == 422


def test_unknown_user_is_a_404(engine: Engine) -> None:
    with pytest.raises(UserNotFoundError) as caught:
        get_user(engine, "nobody")
    assert caught.value.status == 404


def test_id_number_never_appears_in_repr(engine: Engine, hasher: PasswordHasher) -> None:
    assert VALID_ID not in repr(_add(engine, hasher, id_number=VALID_ID))


def test_set_roles_replaces_roles_and_voids_tokens(engine: Engine, hasher: PasswordHasher) -> None:
    before = _add(engine, hasher)
    after = set_roles(engine, "zhangsan", {Role.ANALYST, Role.SPECIAL_TASK}, now=T0)
    assert (after.roles, after.token_epoch) == (
        frozenset({Role.ANALYST, Role.SPECIAL_TASK}),
        before.token_epoch + 1,
    )


def test_set_roles_can_turn_a_data_account_into_an_officer(
    engine: Engine, hasher: PasswordHasher
) -> None:
    _add(engine, hasher)
    assert set_roles(engine, "zhangsan", {Role.SECURITY_AUDITOR}).roles == {Role.SECURITY_AUDITOR}


def test_refused_role_change_keeps_the_old_roles(engine: Engine, hasher: PasswordHasher) -> None:
    _add(engine, hasher)
    with pytest.raises(RoleConflictError):
        set_roles(engine, "zhangsan", {Role.SECURITY_ADMIN, Role.INVESTIGATOR})
    assert get_user(engine, "zhangsan").roles == {Role.INVESTIGATOR}


@pytest.mark.parametrize(
    "change",
    [
        lambda e: set_jurisdiction(e, "zhangsan", "460106"),
        lambda e: set_password(e, "zhangsan", "another long password", hasher=None),
        lambda e: disable_user(e, "zhangsan"),
        lambda e: enable_user(e, "zhangsan"),
    ],
    ids=["jurisdiction", "password", "disable", "enable"],
)
def test_account_changes_bump_the_token_epoch(
    engine: Engine, hasher: PasswordHasher, change: Callable[[Engine], object]
) -> None:
    before = _add(engine, hasher)
    change(engine)
    assert get_user(engine, "zhangsan").token_epoch == before.token_epoch + 1


def test_disable_user_marks_the_account(engine: Engine, hasher: PasswordHasher) -> None:
    _add(engine, hasher)
    assert disable_user(engine, "zhangsan").disabled


def test_upgrading_a_current_store_keeps_its_accounts(
    engine: Engine, hasher: PasswordHasher
) -> None:
    added = _add(engine, hasher)
    upgrade_store(engine)
    assert get_user(engine, "zhangsan") == added


def test_a_stored_role_of_another_kind_than_the_role_table_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(roles_table).where(roles_table.c.name == "analyst").values(officer=True)
        )
    with pytest.raises(RoleTableError, match="stored role analyst has another kind"):
        write_role_rows(engine)


# The store itself refuses what check_role_set refuses, whichever code writes the rows.
def _insert_role(engine: Engine, user_id: int, role: Role, officer: bool) -> None:
    with engine.begin() as conn:
        row = {"user_id": user_id, "role": role.value, "officer": officer}
        conn.execute(insert(user_roles_table).values(row))


def test_store_refuses_a_second_officer_role(engine: Engine, hasher: PasswordHasher) -> None:
    user = _add(engine, hasher, roles={Role.SYSTEM_ADMIN})
    with pytest.raises(IntegrityError):
        _insert_role(engine, user.id, Role.SECURITY_AUDITOR, True)


def test_store_refuses_a_data_role_on_an_officer_account(
    engine: Engine, hasher: PasswordHasher
) -> None:
    user = _add(engine, hasher, roles={Role.SECURITY_ADMIN})
    with pytest.raises(IntegrityError):
        _insert_role(engine, user.id, Role.INVESTIGATOR, False)


def test_store_refuses_an_officer_role_on_a_data_account(
    engine: Engine, hasher: PasswordHasher
) -> None:
    user = _add(engine, hasher)
    with pytest.raises(IntegrityError):
        _insert_role(engine, user.id, Role.SECURITY_AUDITOR, False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("46", "46"),
        ("4601", "4601"),
        ("460106", "460106"),
        ("460106001", "460106001"),
        ("460106001001", "460106001001"),
        ("441900003", "441900003"),  # 东莞: townships directly below the city
        ("４６０１", "4601"),
        (" 4601 ", "4601"),
    ],
)
def test_valid_jurisdiction(raw: str, expected: str) -> None:
    assert parse_jurisdiction(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "is required"),
        ("4", "not 1"),
        ("46010", "not 5"),
        ("4601060010", "not 10"),
        ("46a1", "only digits"),
        ("0101", "province"),
        ("9101", "province"),
        ("4600", "write its prefix '46'"),
        ("460100", "write its prefix '4601'"),
        ("460000", "write its prefix '46'"),
        ("500000", "write its prefix '50'"),
        ("460106000", "write its prefix '460106'"),
    ],
)
def test_invalid_jurisdiction_is_refused(raw: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_jurisdiction(raw)


def test_add_user_validates_the_jurisdiction(engine: Engine, hasher: PasswordHasher) -> None:
    with pytest.raises(InvalidInputError, match="prefix '4601'"):
        _add(engine, hasher, region="460100")


@pytest.mark.parametrize(
    ("jurisdiction", "region", "inside"),
    [
        ("4601", "460106", True),
        ("4601", "4601", True),
        ("4601", "46", False),
        ("46", "4501", False),
    ],
)
def test_jurisdiction_covers(jurisdiction: str, region: str, inside: bool) -> None:
    assert jurisdiction_covers(jurisdiction, region) is inside


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(VALID_ID, VALID_ID), (VALID_ID.lower(), VALID_ID), ("440524188001010014",) * 2],
)
def test_valid_id_number(raw: str, expected: str) -> None:
    assert parse_id_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("110105194912310021", "check character"),
        ("11010519491231002", "17 digits"),
        ("11010519491231002XX", "17 digits"),
        ("1101051949123100X2", "17 digits"),
    ],
)
def test_invalid_id_number_is_refused_without_echoing_it(raw: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        parse_id_number(raw)
    assert raw not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("zhang.san", True),
        ("z1", True),
        ("Wang_Wu-2", True),
        ("a", False),
        ("张三", False),
        ("-x", False),
        ("a b", False),
        ("a" * 65, False),
    ],
)
def test_username_rules(raw: str, valid: bool) -> None:
    if valid:
        assert normalise_username(raw) == raw.lower()
    else:
        with pytest.raises(InvalidInputError):
            normalise_username(raw)


def test_cli_adds_an_officer_account(tmp_path: Path) -> None:
    store = create_db_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade_store(store)
    line = run_users_add(store, "auditor1", ["security_auditor"], "46", PASSWORD)
    assert line == "added user auditor1 (id 1) roles=security_auditor jurisdiction=46"


def test_cli_refuses_an_unknown_role(tmp_path: Path) -> None:
    store = create_db_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade_store(store)
    with pytest.raises(UnknownRoleError, match="'root'"):
        run_users_add(store, "x1", ["root"], "46", PASSWORD)


def test_password_from_stdin_loses_only_its_newline() -> None:
    assert read_new_password(True, io.StringIO("  pass word  \n")) == "  pass word  "


def test_times_in_other_zones_are_stored_as_the_same_instant(
    engine: Engine, hasher: PasswordHasher
) -> None:
    beijing = timezone(timedelta(hours=8))
    add_user(engine, "lisi", set(), "46", PASSWORD, now=T0.astimezone(beijing), hasher=hasher)
    assert get_user(engine, "lisi").created_at == T0


@pytest.mark.parametrize(
    "name", ["460106197001010016", "46010619700101001x", "13800001234", "zhang13800001234"]
)
def test_username_holding_an_id_or_phone_number_is_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="ID or phone number"):
        normalise_username(name)
