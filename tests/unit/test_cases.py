"""Cases, their owner and members, on a real store: SQLite and PostgreSQL (``sql_engine``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from accounts.roles import Role
from accounts.users import User, add_user, disable_user
from common.db import MAX_ROW_ID
from common.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from migrations.store import upgrade_store
from query_logs.applications import file_application
from query_logs.cases import (
    CaseNotFoundError,
    add_case_member,
    case_members,
    cases_of,
    create_case,
    get_case,
    remove_case_member,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PW = "correct horse battery staple 7"
PURPOSE = "核查举报反映的某局副局长违规插手粮食购销问题线索"
CASE_NUMBERS = itertools.count(1)
PEOPLE: dict[str, tuple[Role, ...]] = {
    "owner": (Role.INVESTIGATOR,),
    "member": (Role.INVESTIGATOR,),
    "analyst": (Role.ANALYST,),
    "stranger": (Role.INVESTIGATOR,),
    "boss": (Role.APPROVER,),
    "auditor": (Role.SECURITY_AUDITOR,),
    "idle": (Role.INVESTIGATOR,),
}


@pytest.fixture
def engine(sql_engine: Engine) -> Engine:
    upgrade_store(sql_engine)
    return sql_engine


@pytest.fixture
def people(engine: Engine) -> dict[str, User]:
    made = {
        name: add_user(engine, name, roles, "4601", PW, hasher=FAST, now=NOW)
        for name, roles in PEOPLE.items()
    }
    made["idle"] = disable_user(engine, "idle", now=NOW)
    return made


def open_case(engine: Engine, owner: User) -> int:
    return create_case(engine, owner, f"案-{next(CASE_NUMBERS)}", "某局问题线索", NOW)


def file_under(engine: Engine, applicant: User, case_id: int) -> None:
    file_application(engine, applicant, case_id=case_id, purpose=PURPOSE, category="初核",
                     sources=["household"], regions=["4601"], subjects=[], unmask=False,
                     export=False, valid_days=30, now=NOW)  # fmt: skip


def test_the_opener_owns_the_case(engine: Engine, people: dict[str, User]) -> None:
    case = get_case(engine, open_case(engine, people["owner"]))
    assert (case.owner.username, case.members) == ("owner", ())


def test_only_the_owner_and_members_file_under_a_case(
    engine: Engine, people: dict[str, User]
) -> None:
    case_id = open_case(engine, people["owner"])
    add_case_member(engine, people["owner"], case_id, people["member"], NOW)
    file_under(engine, people["owner"], case_id)
    file_under(engine, people["member"], case_id)
    with pytest.raises(PermissionDeniedError):
        file_under(engine, people["stranger"], case_id)


def test_a_removed_member_files_no_more(engine: Engine, people: dict[str, User]) -> None:
    case_id = open_case(engine, people["owner"])
    add_case_member(engine, people["owner"], case_id, people["member"], NOW)
    after = remove_case_member(engine, people["owner"], case_id, people["member"])
    assert after.members == ()
    with pytest.raises(PermissionDeniedError):
        file_under(engine, people["member"], case_id)


def test_members_are_listed_by_username(engine: Engine, people: dict[str, User]) -> None:
    case_id = open_case(engine, people["owner"])
    for name in ("member", "analyst"):
        add_case_member(engine, people["owner"], case_id, people[name], NOW)
    assert [m.username for m in get_case(engine, case_id).members] == ["analyst", "member"]


MemberChange = Callable[[Engine, dict[str, User], int], object]
ADD, REMOVE = add_case_member, remove_case_member


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda e, p, c: ADD(e, p["member"], c, p["analyst"], NOW), PermissionDeniedError),
        (lambda e, p, c: add_case_member(e, p["owner"], c, p["boss"], NOW), InvalidInputError),
        (lambda e, p, c: add_case_member(e, p["owner"], c, p["auditor"], NOW), InvalidInputError),
        (lambda e, p, c: add_case_member(e, p["owner"], c, p["idle"], NOW), InvalidInputError),
        (lambda e, p, c: add_case_member(e, p["owner"], c, p["owner"], NOW), ConflictError),
        (lambda e, p, c: add_case_member(e, p["owner"], c, p["member"], NOW), ConflictError),
        (lambda e, p, c: REMOVE(e, p["member"], c, p["member"]), PermissionDeniedError),
        (lambda e, p, c: remove_case_member(e, p["owner"], c, p["stranger"]), NotFoundError),
        (lambda e, p, c: add_case_member(e, p["owner"], MAX_ROW_ID, p["analyst"], NOW),
         CaseNotFoundError),
    ],
    ids=["by a member", "an approver", "an officer", "a disabled account", "the owner",
         "twice", "removed by a member", "not a member", "no such case"],
)  # fmt: skip
def test_member_changes_are_refused(
    engine: Engine, people: dict[str, User], change: MemberChange, error: type[DomainError]
) -> None:
    case_id = open_case(engine, people["owner"])
    add_case_member(engine, people["owner"], case_id, people["member"], NOW)
    with pytest.raises(error):
        change(engine, people, case_id)
    assert [m.username for m in get_case(engine, case_id).members] == ["member"]


@pytest.mark.parametrize("who", ["owner", "member", "stranger"])
def test_a_user_sees_the_cases_they_own_or_belong_to(
    engine: Engine, people: dict[str, User], who: str
) -> None:
    shared, own = open_case(engine, people["owner"]), open_case(engine, people["stranger"])
    add_case_member(engine, people["owner"], shared, people["member"], NOW)
    seen = {case.id for case in cases_of(engine, people[who])}
    assert seen == {"owner": {shared}, "member": {shared}, "stranger": {own}}[who]


@pytest.mark.parametrize("case_id", [0, -1, MAX_ROW_ID, MAX_ROW_ID + 1, 2**63])
def test_an_id_out_of_range_names_no_case(engine: Engine, case_id: int) -> None:
    with pytest.raises(CaseNotFoundError):
        get_case(engine, case_id)


def test_a_member_row_needs_its_case(engine: Engine, people: dict[str, User]) -> None:
    row = {"case_id": 12345, "user_id": people["member"].id, "added_by": 1, "added_at": NOW}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(case_members).values(**row))
