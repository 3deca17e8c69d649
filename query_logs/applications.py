"""Query applications (查询申请): who may query what, why, where and until when.

Cases, which applications are filed under, are in query_logs.cases (only a case's owner and
members file under it); cross-tier grants, which widen an applicant's reach, in query_logs.grants.

An application names its case, purpose, category, sources, regions (行政区划代码 prefixes within
the applicant's jurisdiction, or a cross-tier grant), optional subjects, whether unmasking or
export is needed, and a validity period; a 专项核查 application also names the comparison models
it may run (``models``, checked against the ids the caller passes: query_logs does not read the
model file). Another user with the approve permission, whose own
jurisdiction covers the regions, approves or rejects it. The gate (query_logs.gate) reads an
application; only this module changes one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    insert,
    select,
    update,
)

from accounts.roles import Permission, require_permission
from accounts.user_fields import jurisdiction_covers, parse_id_number, parse_jurisdiction
from accounts.users import User
from common.db import Bind, connection, in_row_range, metadata
from common.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from common.vocab import Source
from query_logs.cases import case_for_filing, cases

# A purpose must say what is looked for and why; "查询" alone is refused (the review flags vague
# but long ones).
MIN_PURPOSE_CHARS = 15
MAX_PURPOSE_CHARS = 2000
MAX_VALID_DAYS = 90
MAX_SUBJECTS = 200
MAX_MODELS = 50  # comparison models one application may name
DEFAULT_PAGE_SIZE_CAP = 50
DEFAULT_RESULT_CAP = 1000
DEFAULT_QUERY_QUOTA = 500


class Category(StrEnum):
    """Why the query is made (the 监督执纪 procedure it belongs to)."""

    PRELIMINARY = "初核"
    INVESTIGATION = "审查调查"
    PETITION = "信访办理"
    SPECIAL_CAMPAIGN = "专项整治"
    SUPERVISION = "日常监督"
    SPECIAL_CHECK = "专项核查"  # comparison-model runs over many people (碰撞比对)


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REVOKED = "revoked"


class SubjectKind(StrEnum):
    PERSON = "person_id"  # 公民身份号码
    COMPANY = "credit_code"  # 统一社会信用代码
    NAME = "name"  # a person known by name only (with the regions, never alone in the graph)
    # An opaque handle of a person from a card, profile or graph node (search_api.handles): only
    # ever in a request, resolved to the person's number before it is parsed, never stored.
    HANDLE = "handle"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    value: str


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    case_id: int
    case_no: str
    applicant_id: int
    purpose: str
    category: Category
    sources: frozenset[Source]
    regions: tuple[str, ...]
    subjects: tuple[Subject, ...]
    unmask: bool
    export: bool
    valid_from: datetime
    valid_until: datetime
    state: State
    decided_by: int | None
    decided_at: datetime | None
    page_size_cap: int
    result_cap: int
    query_quota: int
    queries_used: int
    models: tuple[str, ...] = ()  # comparison models a 专项核查 application may run

    def effective_state(self, now: datetime) -> State:
        """The stored state, or expired once the validity period has passed."""
        if self.state in (State.PENDING, State.APPROVED) and now >= self.valid_until:
            return State.EXPIRED
        return self.state


applications = Table(
    "query_application",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("query_case.id"), nullable=False),
    Column("applicant_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("category", String(16), nullable=False),
    Column("sources", JSON, nullable=False),  # list of Source values
    Column("regions", JSON, nullable=False),  # list of 行政区划代码 prefixes
    Column("subjects", JSON, nullable=False),  # list of {kind, value}
    Column("unmask", Boolean, nullable=False),
    Column("export", Boolean, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_by", Integer, ForeignKey("users.id")),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_note", Text),
    Column("page_size_cap", Integer, nullable=False),
    Column("result_cap", Integer, nullable=False),
    Column("query_quota", Integer, nullable=False),
    Column("queries_used", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("models", JSON, nullable=False),  # list of comparison model ids (专项核查)
)


class ApplicationNotFoundError(NotFoundError):
    """No application with that id (the same answer whether it exists for someone else)."""


class ApplicationStateError(ConflictError):
    """The application is not in a state that allows this decision."""


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes must carry a timezone")
    return moment.astimezone(UTC)


def from_db_time(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone=True columns: they were stored as UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_subject(
    kind: str, value: str, open_handle: Callable[[str], str] | None = None
) -> Subject:
    """A validated subject; ID numbers are checked, names must be 2 to 30 characters. A handle
    is resolved by ``open_handle`` (the API's, which holds the key) to a person's number."""
    try:
        subject_kind = SubjectKind(kind)
    except ValueError:
        raise InvalidInputError(f"subject kind is not one of {', '.join(SubjectKind)}") from None
    text = value.strip()
    if subject_kind is SubjectKind.HANDLE:
        if open_handle is None:
            raise InvalidInputError("a handle cannot be resolved here")
        subject_kind, text = SubjectKind.PERSON, open_handle(text)
    if subject_kind is SubjectKind.PERSON:
        text = parse_id_number(text)
    elif subject_kind is SubjectKind.COMPANY:
        text = text.upper()
        if len(text) != 18 or not text.isascii() or not text.isalnum():
            raise InvalidInputError("a 统一社会信用代码 has 18 letters and digits")
    elif not 2 <= len(text) <= 30:
        raise InvalidInputError("a subject name has 2 to 30 characters")
    return Subject(subject_kind, text)


def within_reach(region: str, jurisdiction: str, grant_regions: tuple[str, ...]) -> bool:
    """Whether a region prefix lies inside the jurisdiction or inside a granted region."""
    return any(jurisdiction_covers(area, region) for area in (jurisdiction, *grant_regions))


def file_application(
    engine: Engine,
    applicant: User,
    *,
    case_id: int,
    purpose: str,
    category: str,
    sources: list[str],
    regions: list[str],
    subjects: list[Subject],
    unmask: bool,
    export: bool,
    valid_days: int,
    now: datetime,
    grant_regions: tuple[str, ...] = (),
    models: list[str] | None = None,
    known_models: frozenset[str] = frozenset(),
) -> Application:
    """File a pending application after checking every field against the applicant's reach.

    ``grant_regions``: the regions of the applicant's active cross-tier grants (query_logs.grants).
    ``models``: the comparison models a 专项核查 application may run, each one of
    ``known_models`` (the model file's ids, which the caller reads).
    """
    require_permission(applicant.roles, Permission.APPLY)
    purpose = purpose.strip()
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in purpose):
        raise InvalidInputError("the purpose must not contain control characters")
    if not MIN_PURPOSE_CHARS <= len(purpose) <= MAX_PURPOSE_CHARS:
        raise InvalidInputError(
            f"the purpose must say what is sought and why, in {MIN_PURPOSE_CHARS} to "
            f"{MAX_PURPOSE_CHARS} characters"
        )
    try:
        chosen_category = Category(category)
        chosen_sources = sorted({Source(s) for s in sources})
    except ValueError as exc:
        raise InvalidInputError(f"unknown category or source: {exc}") from None
    if not chosen_sources:
        raise InvalidInputError("an application names at least one source")
    if not regions:
        raise InvalidInputError("an application names at least one region")
    parsed_regions = sorted({parse_jurisdiction(r) for r in regions})
    for region in parsed_regions:
        if not within_reach(region, applicant.jurisdiction, grant_regions):
            raise PermissionDeniedError(
                f"region {region} is outside your jurisdiction and any cross-tier grant you hold"
            )
    if len(subjects) > MAX_SUBJECTS:
        raise InvalidInputError(f"at most {MAX_SUBJECTS} subjects per application")
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise InvalidInputError(f"validity must be 1 to {MAX_VALID_DAYS} days")
    chosen_models = checked_models(chosen_category, models or [], known_models)
    start = as_utc(now)
    with engine.begin() as conn:
        case_for_filing(conn, case_id, applicant)  # the owner or a member of the case
        result = conn.execute(
            insert(applications)
            .values(
                case_id=case_id,
                applicant_id=applicant.id,
                purpose=purpose,
                category=chosen_category,
                sources=[str(s) for s in chosen_sources],
                regions=parsed_regions,
                subjects=[{"kind": str(s.kind), "value": s.value} for s in dict.fromkeys(subjects)],
                unmask=unmask,
                export=export,
                valid_from=start,
                valid_until=start + timedelta(days=valid_days),
                state=State.PENDING,
                page_size_cap=DEFAULT_PAGE_SIZE_CAP,
                result_cap=DEFAULT_RESULT_CAP,
                query_quota=DEFAULT_QUERY_QUOTA,
                queries_used=0,
                created_at=start,
                models=chosen_models,
            )
            .returning(applications.c.id)
        )
        application_id = int(result.scalar_one())
    return get_application(engine, application_id)


def checked_models(category: Category, models: list[str], known: frozenset[str]) -> list[str]:
    """The models an application names, sorted; only a 专项核查 application names any, and
    each must be a known model (the message does not echo what was typed)."""
    if not models:
        return []
    if category is not Category.SPECIAL_CHECK:
        raise InvalidInputError(f"only a {Category.SPECIAL_CHECK} application names models")
    if len(models) > MAX_MODELS:
        raise InvalidInputError(f"at most {MAX_MODELS} models per application")
    if any(model not in known for model in models):
        raise InvalidInputError("models names a comparison model that does not exist")
    return sorted(set(models))


# Built once (the gate reads an application and counts its quota on every query).
_APPLICATION_BY_ID = (
    select(applications, cases.c.case_no)
    .join(cases, cases.c.id == applications.c.case_id)
    .where(applications.c.id == bindparam("application_id"))
)
_COUNT_QUERY = (
    update(applications)
    .where(
        applications.c.id == bindparam("application_id"),
        applications.c.queries_used < applications.c.query_quota,
    )
    .values(queries_used=applications.c.queries_used + 1)
)


def get_application(bind: Bind, application_id: int) -> Application:
    if not in_row_range(application_id):  # beyond any stored id (and any column's range)
        raise ApplicationNotFoundError(f"no application {application_id}")
    with connection(bind) as conn:
        row = conn.execute(_APPLICATION_BY_ID, {"application_id": application_id}).first()
    if row is None:
        raise ApplicationNotFoundError(f"no application {application_id}")
    return _application(row._mapping)


def applications_of(bind: Bind, applicant_id: int) -> list[Application]:
    """The applications ``applicant_id`` filed, newest first (the web page header's picker)."""
    query = (
        select(applications, cases.c.case_no)
        .join(cases, cases.c.id == applications.c.case_id)
        .where(applications.c.applicant_id == applicant_id)
        .order_by(applications.c.id.desc())
    )
    with connection(bind) as conn:
        return [_application(row._mapping) for row in conn.execute(query)]


def may_decide(approver: User, application: Application) -> bool:
    """Whether ``approver`` may decide ``application`` (the rule ``decide_application``
    enforces): another user's, within the approver's jurisdiction."""
    return application.applicant_id != approver.id and all(
        jurisdiction_covers(approver.jurisdiction, r) for r in application.regions
    )


def applications_awaiting(bind: Bind, approver: User, now: datetime) -> list[Application]:
    """The pending, unexpired applications ``approver`` may decide, oldest first (the queue of
    the 待审批 page and of ``GET /approvals/applications``)."""
    query = (
        select(applications, cases.c.case_no)
        .join(cases, cases.c.id == applications.c.case_id)
        .where(applications.c.state == State.PENDING)
        .order_by(applications.c.id)
    )
    with connection(bind) as conn:
        found = [_application(row._mapping) for row in conn.execute(query)]
    return [a for a in found if a.effective_state(now) is State.PENDING and may_decide(approver, a)]


def _application(row: Any) -> Application:
    valid_from, valid_until = from_db_time(row["valid_from"]), from_db_time(row["valid_until"])
    if valid_from is None or valid_until is None:  # pragma: no cover - NOT NULL columns
        raise ValueError("an application row without its validity period")
    return Application(
        id=row["id"],
        case_id=row["case_id"],
        case_no=row["case_no"],
        applicant_id=row["applicant_id"],
        purpose=row["purpose"],
        category=Category(row["category"]),
        sources=frozenset(Source(s) for s in row["sources"]),
        regions=tuple(row["regions"]),
        subjects=tuple(Subject(SubjectKind(s["kind"]), s["value"]) for s in row["subjects"]),
        unmask=bool(row["unmask"]),
        export=bool(row["export"]),
        valid_from=valid_from,
        valid_until=valid_until,
        state=State(row["state"]),
        decided_by=row["decided_by"],
        decided_at=from_db_time(row["decided_at"]),
        page_size_cap=row["page_size_cap"],
        result_cap=row["result_cap"],
        query_quota=row["query_quota"],
        queries_used=row["queries_used"],
        models=tuple(row["models"]),
    )


def decide_application(
    engine: Engine, approver: User, application_id: int, *, approve: bool, note: str, now: datetime
) -> Application:
    """Approve or reject a pending application: another user, whose jurisdiction covers it."""
    require_permission(approver.roles, Permission.APPROVE)
    application = get_application(engine, application_id)
    if application.applicant_id == approver.id:
        raise PermissionDeniedError("no one approves their own application")
    if not all(jurisdiction_covers(approver.jurisdiction, r) for r in application.regions):
        raise PermissionDeniedError("the application's regions are outside your jurisdiction")
    if application.effective_state(now) is not State.PENDING:
        raise ApplicationStateError(
            f"the application is {application.effective_state(now)}, not pending"
        )
    new_state = State.APPROVED if approve else State.REJECTED
    with engine.begin() as conn:
        changed = conn.execute(
            update(applications)
            .where(applications.c.id == application_id, applications.c.state == State.PENDING)
            .values(
                state=new_state,
                decided_by=approver.id,
                decided_at=as_utc(now),
                decision_note=note.strip(),
            )
        ).rowcount
    if changed != 1:
        raise ApplicationStateError("the application was decided by someone else meanwhile")
    return get_application(engine, application_id)


def revoke_application(
    engine: Engine, actor: User, application_id: int, now: datetime
) -> Application:
    """Withdraw an application: its applicant, or an approver who covers its regions."""
    application = get_application(engine, application_id)
    if actor.id != application.applicant_id:
        require_permission(actor.roles, Permission.APPROVE)
        if not all(jurisdiction_covers(actor.jurisdiction, r) for r in application.regions):
            raise PermissionDeniedError("the application's regions are outside your jurisdiction")
    if application.effective_state(now) not in (State.PENDING, State.APPROVED):
        raise ApplicationStateError(f"the application is {application.effective_state(now)}")
    with engine.begin() as conn:
        conn.execute(
            update(applications)
            .where(applications.c.id == application_id)
            .values(state=State.REVOKED, decided_at=as_utc(now))
        )
    return get_application(engine, application_id)


def consume_query(engine: Engine, application_id: int) -> bool:
    """Count one query against the application's quota; False when the quota is spent."""
    with engine.begin() as conn:
        return consume_query_in(conn, application_id)


def consume_query_in(conn: Connection, application_id: int) -> bool:
    """`consume_query` inside the caller's transaction (the gate: with its write-ahead entry)."""
    return conn.execute(_COUNT_QUERY, {"application_id": application_id}).rowcount == 1
