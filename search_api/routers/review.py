"""The review of the query log for security auditors: findings, CSV export, user timelines.

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial. The review's own-household rule needs household membership: this router looks up the
户号 of the reviewed users' own ID numbers in the household index, through the engine door, and
logs that as one more ``audit_read`` naming the users (never an ID). Nothing read from the index
leaves the server: the review receives only pseudonym tags made with the gate's key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, ClassVar

import structlog
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Engine

from accounts.user_fields import normalise_username
from accounts.users import User, get_user, list_users
from common.errors import DomainError, EngineUnavailableError, InvalidInputError
from common.settings import Settings
from common.vocab import Source
from query_logs.audit import AuditEntry, AuditKind, AuditLog, Recorder, iter_entries
from query_logs.audit.read import MAX_LIMIT
from query_logs.review import (
    ReviewContext,
    ReviewReport,
    WorkingHours,
    parse_working_hours,
    review,
    review_csv,
    tag_of,
)
from registry.engine import EngineDoor
from registry.fields import ColumnField
from search_api.access import Access, access
from search_api.auditor import admit_auditor, audit_filters, check_period
from search_api.deps import Audit, CurrentUser, Database, Provider, RecorderDep, SettingsDep
from search_api.masking import pseudonym
from search_api.models.review import (
    ReviewResponse,
    TimelineResponse,
    review_response,
    timeline_response,
)
from search_api.queries.records import (
    MAX_HOUSEHOLD_MEMBERS,
    household_members_query,
    own_household_query,
)

router = APIRouter(tags=["review"])
AUDIT = access(Access.AUDIT)
log = structlog.get_logger(__name__)

MAX_REVIEW_ENTRIES = 200_000  # one review holds them in memory; a longer period is split


class ReviewConfigurationError(DomainError):
    """The configured working hours cannot be used (a setting to fix, not a client error)."""

    status: ClassVar[int] = 500


@dataclass(frozen=True, slots=True)
class Reviewer:
    """What a review works with: the caller and the request's recorder, the account store, the
    log, the engine door (the household index) and the settings."""

    user: User
    recorder: Recorder
    db: Engine
    audit: AuditLog
    door: EngineDoor
    settings: Settings


def get_reviewer(
    user: CurrentUser,
    recorder: RecorderDep,
    db: Database,
    audit: Audit,
    provider: Provider,
    settings: SettingsDep,
) -> Reviewer:
    return Reviewer(user, recorder, db, audit, provider, settings)


ReviewerDep = Annotated[Reviewer, Depends(get_reviewer)]


def _working_hours(settings: Settings) -> WorkingHours:
    try:
        return parse_working_hours(settings.review_working_hours, settings.review_timezone)
    except ValueError as exc:
        raise ReviewConfigurationError(
            f"the review working hours are misconfigured: {exc}"
        ) from None


def _gather(engine: Engine, since: datetime | None, until: datetime | None) -> list[AuditEntry]:
    """Every entry of the period in log order, paged; refuses a period too long for one review."""
    found: list[AuditEntry] = []
    after: int | None = None
    while True:
        page = list(
            iter_entries(engine, since=since, until=until, after_seq=after, limit=MAX_LIMIT)
        )
        found.extend(page)
        if len(page) < MAX_LIMIT:
            return found
        if len(found) >= MAX_REVIEW_ENTRIES:
            raise InvalidInputError(
                f"the period holds more than {MAX_REVIEW_ENTRIES} log entries; "
                "review it in shorter periods (since/until)"
            )
        after = page[-1].seq


def _household_members(door: EngineDoor, own_ids: dict[str, str]) -> dict[str, list[str]]:
    """username -> ID numbers of the members of their own household (collective ones left out)."""
    index = door.index_name(str(Source.HOUSEHOLD))
    ids = sorted(set(own_ids.values()))
    found = door.search(index, own_household_query(ids), ignore_unavailable=True)
    household_of = {
        str(h["_source"][ColumnField.ID_NUMBER]).upper(): str(
            h["_source"][ColumnField.HOUSEHOLD_NO]
        ).lower()
        for h in found["hits"]["hits"]
        if h["_source"].get(ColumnField.HOUSEHOLD_NO)
    }
    if not household_of:
        return {}
    body = household_members_query(sorted(set(household_of.values())))
    result = door.search(index, body, ignore_unavailable=True)
    members = {
        str(bucket["key"]).lower(): [str(m["key"]) for m in bucket["members"]["buckets"]]
        for bucket in result["aggregations"]["households"]["buckets"]
        if bucket["doc_count"] <= MAX_HOUSEHOLD_MEMBERS
    }
    return {
        name: members[household_of[number]]
        for name, number in own_ids.items()
        if household_of.get(number) in members
    }


def _context(
    reviewer: Reviewer, auditor: Recorder, found: Iterable[AuditEntry], actor: str | None
) -> ReviewContext:
    """Pseudonym tags of the reviewed users' own IDs and of their households' members."""
    queried = {e.actor for e in found if e.kind == AuditKind.QUERY_REQUEST and e.actor}
    if actor is not None:
        queried &= {actor}
    key = reviewer.settings.secret_key.get_secret_value().encode()
    own_ids = {
        account.username: account.id_number
        for account in list_users(reviewer.db)
        if account.username in queried and account.id_number
    }
    hours = _working_hours(reviewer.settings)
    own_tags = {name: tag_of(pseudonym(number, key)) for name, number in own_ids.items()}
    if not own_ids:
        return ReviewContext(own_tags=own_tags, household_tags={}, working_hours=hours)
    auditor.read({"household_lookup": {"index": str(Source.HOUSEHOLD), "users": sorted(own_ids)}})
    try:
        members = _household_members(reviewer.door, own_ids)
    except EngineUnavailableError as exc:
        log.warning("audit.review.household_unavailable", error=exc.failure)
        return ReviewContext(
            own_tags=own_tags,
            household_tags=None,
            household_note=f"the household index could not be searched ({exc.failure})",
            working_hours=hours,
        )
    household = {
        name: frozenset(tag_of(pseudonym(m, key)) for m in ids) for name, ids in members.items()
    }
    return ReviewContext(own_tags=own_tags, household_tags=household, working_hours=hours)


def _run_review(
    reviewer: Reviewer,
    *,
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
    what: str,
) -> tuple[ReviewReport, list[AuditEntry]]:
    """Check, log the read, read the period, look up households, run the rules."""
    auditor = admit_auditor(reviewer.recorder, reviewer.user)
    check_period(since, until)
    _working_hours(reviewer.settings)  # a misconfiguration fails before anything is read
    auditor.read({what: audit_filters(since=since, until=until, actor=actor)})
    found = _gather(reviewer.audit.engine, since, until)
    context = _context(reviewer, auditor, found, actor)
    report = review(found, context=context, now=datetime.now(UTC), actor=actor)
    return report, found


def _actor(actor: str | None) -> str | None:
    return None if actor is None else normalise_username(actor)


@router.get("/audit/review", response_model=ReviewResponse, openapi_extra=AUDIT)
def review_report(
    reviewer: ReviewerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
) -> ReviewResponse:
    report, _ = _run_review(reviewer, since=since, until=until, actor=_actor(actor), what="review")
    return review_response(report, since, until)


@router.get(
    "/audit/review.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the review, one finding a row"}},
    openapi_extra=AUDIT,
)
def review_export(
    reviewer: ReviewerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
) -> Response:
    report, _ = _run_review(reviewer, since=since, until=until, actor=_actor(actor),
                            what="review_csv")  # fmt: skip
    stamp = report.generated_at.strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=review_csv(report, _working_hours(reviewer.settings).zone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="xiansuo-review-{stamp}.csv"'},
    )


@router.get("/audit/users/{username}/timeline", response_model=TimelineResponse,
            openapi_extra=AUDIT)  # fmt: skip
def user_timeline(
    username: str,
    reviewer: ReviewerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=1000, ge=1, le=5000),
) -> TimelineResponse:
    admit_auditor(reviewer.recorder, reviewer.user)
    name = get_user(reviewer.db, username).username  # 404 for an unknown account
    report, found = _run_review(reviewer, since=since, until=until, actor=name, what="timeline")
    own = [e for e in found if e.actor == name]
    return timeline_response(report, name, own, limit, since, until)
