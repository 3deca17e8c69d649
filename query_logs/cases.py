"""Cases (案件): the file every query application belongs to, its owner and its members.

A case is opened by a user who may file applications; the opener owns it. The owner adds and
removes members (other accounts that may file applications); only the owner and the members read
the case and file applications under it (``case_for_filing``, called by
``query_logs.applications.file_application`` inside its transaction).

The tables live on the store's one ``common.db.metadata``; every column that names an account
or a case is a foreign key. The migrations (``migrations/``) make them; revision 0002 added the
owner (backfilled from ``created_by``) and the members table to stores of the first release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    or_,
    select,
)

from accounts.roles import Permission, require_permission, role_rules
from accounts.users import User, users_table
from analyzers.identifiers import holds_identifier
from common.db import Bind, connection, in_row_range, metadata
from common.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

MAX_CASE_NO_CHARS = 64
MAX_TITLE_CHARS = 200
MAX_MEMBERS = 50  # a case team, not a department: a longer list says the case is too broad

cases = Table(
    "query_case",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_no", String(MAX_CASE_NO_CHARS), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
case_members = Table(
    "query_case_member",
    metadata,
    Column("case_id", Integer, ForeignKey("query_case.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("added_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)


class CaseNotFoundError(NotFoundError):
    """No case with that id."""


@dataclass(frozen=True, slots=True)
class CaseMember:
    user_id: int
    username: str


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    case_no: str
    title: str
    owner: CaseMember
    members: tuple[CaseMember, ...]  # besides the owner, by username
    created_at: datetime

    def admits(self, user: User) -> bool:
        """Whether ``user`` may read the case and file applications under it."""
        return user.id == self.owner.user_id or any(m.user_id == user.id for m in self.members)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must carry a timezone")
    return moment.astimezone(UTC)


def _stored_utc(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone=True columns: they were stored as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def create_case(engine: Engine, actor: User, case_no: str, title: str, now: datetime) -> int:
    """Open a case owned by ``actor``; the case number is unique. Returns the case id."""
    require_permission(actor.roles, Permission.APPLY)
    case_no, title = case_no.strip(), title.strip()
    if not case_no or not title:
        raise InvalidInputError("a case needs a case number and a title")
    if holds_identifier(case_no):  # the case number is written into every entry of the log
        raise InvalidInputError("a case number must not contain an ID or phone number")
    with engine.begin() as conn:
        if conn.execute(select(cases.c.id).where(cases.c.case_no == case_no)).first():
            raise ConflictError(f"case {case_no} exists already")
        return int(
            conn.execute(
                insert(cases)
                .values(
                    case_no=case_no,
                    title=title,
                    created_by=actor.id,
                    owner_id=actor.id,
                    created_at=_utc(now),
                )
                .returning(cases.c.id)
            ).scalar_one()
        )


_OWNER = users_table.alias("owner")


def _read_case(conn: Connection, case_id: int) -> Case:
    if not in_row_range(case_id):
        raise CaseNotFoundError(f"no case {case_id}")
    row = conn.execute(
        select(cases, _OWNER.c.username)
        .join(_OWNER, _OWNER.c.id == cases.c.owner_id)
        .where(cases.c.id == case_id)
    ).first()
    if row is None:
        raise CaseNotFoundError(f"no case {case_id}")
    members = conn.execute(
        select(case_members.c.user_id, users_table.c.username)
        .join(users_table, users_table.c.id == case_members.c.user_id)
        .where(case_members.c.case_id == case_id)
        .order_by(users_table.c.username)
    ).all()
    found = row._mapping
    return Case(
        id=found["id"],
        case_no=found["case_no"],
        title=found["title"],
        owner=CaseMember(found["owner_id"], found["username"]),
        members=tuple(CaseMember(user_id, username) for user_id, username in members),
        created_at=_stored_utc(found["created_at"]),
    )


def get_case(bind: Bind, case_id: int) -> Case:
    """The case with its owner and members, or ``CaseNotFoundError``."""
    with connection(bind) as conn:
        return _read_case(conn, case_id)


def require_case_access(case: Case, user: User) -> None:
    """403 unless ``user`` owns the case or is one of its members."""
    if not case.admits(user):
        raise PermissionDeniedError(f"only the owner and members of case {case.case_no} may use it")


def case_for_filing(conn: Connection, case_id: int, applicant: User) -> Case:
    """The case an application is filed under, read in the filing's transaction: it exists and
    the applicant owns it or is a member (a member removed meanwhile files nothing)."""
    case = _read_case(conn, case_id)
    require_case_access(case, applicant)
    return case


def cases_of(bind: Bind, user: User) -> list[Case]:
    """The cases ``user`` owns or is a member of, newest first."""
    member_of = select(case_members.c.case_id).where(case_members.c.user_id == user.id)
    with connection(bind) as conn:
        ids = conn.execute(
            select(cases.c.id)
            .where(or_(cases.c.owner_id == user.id, cases.c.id.in_(member_of)))
            .order_by(cases.c.id.desc())
        ).scalars()
        return [_read_case(conn, case_id) for case_id in list(ids)]


def _require_owner(case: Case, actor: User) -> None:
    if actor.id != case.owner.user_id:
        raise PermissionDeniedError(f"only the owner of case {case.case_no} changes its members")


def add_case_member(engine: Engine, actor: User, case_id: int, member: User, now: datetime) -> Case:
    """The owner adds ``member``, an account that may file applications; returns the case after."""
    with engine.begin() as conn:
        case = _read_case(conn, case_id)
        _require_owner(case, actor)
        if Permission.APPLY not in role_rules().permissions_of(member.roles):
            raise InvalidInputError("only an account that files applications can join a case")
        if member.disabled:
            raise InvalidInputError("a disabled account cannot join a case")
        if case.admits(member):
            raise ConflictError(f"{member.username} is on case {case.case_no} already")
        if len(case.members) >= MAX_MEMBERS:
            raise InvalidInputError(f"a case has at most {MAX_MEMBERS} members")
        conn.execute(
            insert(case_members).values(
                case_id=case.id, user_id=member.id, added_by=actor.id, added_at=_utc(now)
            )
        )
        return _read_case(conn, case.id)


def remove_case_member(engine: Engine, actor: User, case_id: int, member: User) -> Case:
    """The owner removes ``member``; applications already filed stay as they are."""
    with engine.begin() as conn:
        case = _read_case(conn, case_id)
        _require_owner(case, actor)
        removed = conn.execute(
            delete(case_members).where(
                case_members.c.case_id == case.id, case_members.c.user_id == member.id
            )
        ).rowcount
        if removed != 1:
            raise NotFoundError(f"{member.username} is not a member of case {case.case_no}")
        return _read_case(conn, case.id)
