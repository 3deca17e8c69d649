"""The review of the query log for security auditors: findings, CSV export, user timelines.

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial. The review's own-household rule needs household membership: this router looks up the
户号 of the reviewed users' own ID numbers in the household index, through the provider, and logs
that as one more ``audit_read`` naming the users (never an ID). Nothing read from the index
leaves the server: the review receives only pseudonym tags made with the gate's key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

import structlog
from fastapi import APIRouter, Query, Request, Response
from opensearchpy.exceptions import OpenSearchException
from pydantic import BaseModel
from sqlalchemy import Engine

from accounts.user_fields import normalise_username
from accounts.users import User, get_user, list_users
from common.errors import DomainError, InvalidInputError
from common.settings import Settings
from common.vocab import Source
from query_logs.audit import (
    AuditEntry,
    AuditKind,
    iter_entries,
)
from query_logs.audit.read import MAX_LIMIT
from query_logs.review import (
    ReviewContext,
    ReviewReport,
    RuleId,
    Severity,
    WorkingHours,
    parse_working_hours,
    review,
    review_csv,
    subjects_in,
    tag_of,
)
from search_api.access import Access, access
from search_api.deps import (
    Audit,
    CurrentUser,
    Database,
    Provider,
    SettingsDep,
)
from search_api.masking import pseudonym
from search_api.provider import OpenSearchProvider
from search_api.queries.records import (
    MAX_HOUSEHOLD_MEMBERS,
    household_members_query,
    own_household_query,
)
from search_api.routers.audit import audit_filters, check_period, log_audit_read, require_auditor

router = APIRouter(tags=["review"])
AUDIT = access(Access.AUDIT)
log = structlog.get_logger(__name__)

MAX_REVIEW_ENTRIES = 200_000  # one review holds them in memory; a longer period is split


class ReviewConfigurationError(DomainError):
    """The configured working hours cannot be used (a setting to fix, not a client error)."""

    status: ClassVar[int] = 500


class RuleResponse(BaseModel):
    id: RuleId
    severity: Severity
    description_zh: str
    description_en: str
    thresholds: dict[str, int | list[str]]


class FindingResponse(BaseModel):
    rule: RuleId
    severity: Severity
    actor: str
    entry_seqs: list[int]
    summary: str
    first_ts: datetime
    last_ts: datetime
    application_ids: list[str]
    subjects: list[str]


class GapResponse(BaseModel):
    rule: RuleId
    actors: list[str]
    reason_zh: str
    reason_en: str


class UserTimelineResponse(BaseModel):
    actor: str
    roles: str | None
    entries: int
    by_kind: dict[str, int]
    by_outcome: dict[str, int]
    first_ts: datetime
    last_ts: datetime
    applications: list[str]
    cases: list[str]
    governed_queries: int
    distinct_subjects: int
    after_hours_queries: int
    findings_by_rule: dict[str, int]


class ReviewResponse(BaseModel):
    since: datetime | None
    until: datetime | None
    actor: str | None
    generated_at: datetime
    entries_reviewed: int
    first_seq: int | None
    last_seq: int | None
    working_hours: str
    rules: list[RuleResponse]
    findings: list[FindingResponse]
    timelines: list[UserTimelineResponse]
    gaps: list[GapResponse]


class TimelineEventResponse(BaseModel):
    seq: int
    ts: str
    kind: str
    route: str | None
    application_id: str | None
    case_id: str | None
    outcome: str | None
    hit_count: int | None
    subjects: list[str]
    flags: list[RuleId]


class TimelineResponse(BaseModel):
    username: str
    since: datetime | None
    until: datetime | None
    working_hours: str
    summary: UserTimelineResponse | None
    findings: list[FindingResponse]
    gaps: list[GapResponse]
    events: list[TimelineEventResponse]
    events_truncated: bool


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


def _household_members(
    provider: OpenSearchProvider, own_ids: dict[str, str]
) -> dict[str, list[str]]:
    """username -> ID numbers of the members of their own household (collective ones left out)."""
    index = provider.index_name(str(Source.HOUSEHOLD))
    options = {"ignore_unavailable": "true"}
    ids = sorted(set(own_ids.values()))
    found = provider.client.search(index=index, body=own_household_query(ids), params=options)
    household_of = {
        str(h["_source"]["id_number"]).upper(): str(h["_source"]["household_no"]).lower()
        for h in found["hits"]["hits"]
        if h["_source"].get("household_no")
    }
    if not household_of:
        return {}
    body = household_members_query(sorted(set(household_of.values())))
    result = provider.client.search(index=index, body=body, params=options)
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
    request: Request,
    audit: Audit,
    user: User,
    db: Engine,
    provider: OpenSearchProvider,
    settings: Settings,
    found: Iterable[AuditEntry],
    actor: str | None,
) -> ReviewContext:
    """Pseudonym tags of the reviewed users' own IDs and of their households' members."""
    queried = {e.actor for e in found if e.kind == AuditKind.QUERY_REQUEST and e.actor}
    if actor is not None:
        queried &= {actor}
    key = settings.secret_key.get_secret_value().encode()
    own_ids = {
        account.username: account.id_number
        for account in list_users(db)
        if account.username in queried and account.id_number
    }
    hours = _working_hours(settings)
    own_tags = {name: tag_of(pseudonym(number, key)) for name, number in own_ids.items()}
    if not own_ids:
        return ReviewContext(own_tags=own_tags, household_tags={}, working_hours=hours)
    log_audit_read(request, audit, user, {"household_lookup": {
        "index": str(Source.HOUSEHOLD), "users": sorted(own_ids),
    }})  # fmt: skip
    try:
        members = _household_members(provider, own_ids)
    except (OpenSearchException, OSError) as exc:
        log.warning("audit.review.household_unavailable", error=type(exc).__name__)
        return ReviewContext(
            own_tags=own_tags,
            household_tags=None,
            household_note=f"the household index could not be searched ({type(exc).__name__})",
            working_hours=hours,
        )
    household = {
        name: frozenset(tag_of(pseudonym(m, key)) for m in ids) for name, ids in members.items()
    }
    return ReviewContext(own_tags=own_tags, household_tags=household, working_hours=hours)


def _run_review(
    request: Request,
    user: User,
    db: Engine,
    audit: Audit,
    provider: OpenSearchProvider,
    settings: Settings,
    *,
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
    what: str,
) -> tuple[ReviewReport, list[AuditEntry]]:
    """Check, log the read, read the period, look up households, run the rules."""
    require_auditor(request, audit, user)
    check_period(since, until)
    _working_hours(settings)  # a misconfiguration fails before anything is read
    log_audit_read(
        request, audit, user, {what: audit_filters(since=since, until=until, actor=actor)}
    )
    found = _gather(audit.engine, since, until)
    context = _context(request, audit, user, db, provider, settings, found, actor)
    report = review(found, context=context, now=datetime.now(UTC), actor=actor)
    return report, found


def _review_response(
    report: ReviewReport, since: datetime | None, until: datetime | None
) -> ReviewResponse:
    return ReviewResponse(
        since=since,
        until=until,
        actor=report.actor,
        generated_at=report.generated_at,
        entries_reviewed=report.entries_reviewed,
        first_seq=report.first_seq,
        last_seq=report.last_seq,
        working_hours=report.working_hours,
        rules=[RuleResponse.model_validate(r, from_attributes=True) for r in report.rules],
        findings=[FindingResponse.model_validate(f, from_attributes=True) for f in report.findings],
        timelines=[
            UserTimelineResponse.model_validate(t, from_attributes=True) for t in report.timelines
        ],
        gaps=[GapResponse.model_validate(g, from_attributes=True) for g in report.gaps],
    )


def _actor(actor: str | None) -> str | None:
    return None if actor is None else normalise_username(actor)


@router.get("/audit/review", response_model=ReviewResponse, openapi_extra=AUDIT)
def review_report(
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    provider: Provider,
    settings: SettingsDep,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
) -> ReviewResponse:
    report, _ = _run_review(request, user, db, audit, provider, settings, since=since,
                            until=until, actor=_actor(actor), what="review")  # fmt: skip
    return _review_response(report, since, until)


@router.get(
    "/audit/review.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the review, one finding a row"}},
    openapi_extra=AUDIT,
)
def review_export(
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    provider: Provider,
    settings: SettingsDep,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
) -> Response:
    report, _ = _run_review(request, user, db, audit, provider, settings, since=since,
                            until=until, actor=_actor(actor), what="review_csv")  # fmt: skip
    stamp = report.generated_at.strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=review_csv(report, _working_hours(settings).zone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="xiansuo-review-{stamp}.csv"'},
    )


@router.get("/audit/users/{username}/timeline", response_model=TimelineResponse,
            openapi_extra=AUDIT)  # fmt: skip
def user_timeline(
    username: str,
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    provider: Provider,
    settings: SettingsDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=1000, ge=1, le=5000),
) -> TimelineResponse:
    require_auditor(request, audit, user)
    name = get_user(db, username).username  # 404 for an unknown account
    report, found = _run_review(request, user, db, audit, provider, settings, since=since,
                                until=until, actor=name, what="timeline")  # fmt: skip
    flags = report.rules_by_seq()
    own = [e for e in found if e.actor == name]
    events = [
        TimelineEventResponse(
            seq=e.seq, ts=e.ts, kind=e.kind, route=e.route, application_id=e.application_id,
            case_id=e.case_id, outcome=e.outcome, hit_count=e.hit_count,
            subjects=list(subjects_in(e.params)), flags=flags.get(e.seq, []),
        )
        for e in own[-limit:]
    ]  # fmt: skip
    return TimelineResponse(
        username=name,
        since=since,
        until=until,
        working_hours=report.working_hours,
        summary=(
            UserTimelineResponse.model_validate(report.timelines[0], from_attributes=True)
            if report.timelines
            else None
        ),
        findings=[FindingResponse.model_validate(f, from_attributes=True) for f in report.findings],
        gaps=[GapResponse.model_validate(g, from_attributes=True) for g in report.gaps],
        events=events,
        events_truncated=len(own) > limit,
    )
