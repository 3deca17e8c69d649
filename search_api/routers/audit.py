"""The query log for security auditors: entries, chain verification and the review.

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial. The review's own-household rule needs household membership: this router looks up the
户号 of the reviewed users' own ID numbers in the household index, through the provider, and logs
that as one more ``audit_read`` naming the users (never an ID). Nothing read from the index
leaves the server: the review receives only pseudonym tags made with the gate's key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

import structlog
from fastapi import APIRouter, Query, Request, Response
from opensearchpy.exceptions import OpenSearchException
from pydantic import BaseModel
from sqlalchemy import Engine

from common.settings import Settings
from common.vocab import Source
from query_logs.audit import (
    AuditEntry,
    AuditEntryIn,
    AuditKind,
    AuditOutcome,
    iter_entries,
    verify_log,
)
from query_logs.audit.read import MAX_LIMIT
from query_logs.errors import DomainError, InvalidInputError, PermissionDeniedError
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
from query_logs.roles import Permission, require_permission
from query_logs.user_fields import normalise_username
from query_logs.users import User, get_user, list_users
from search_api.access import Access, access
from search_api.deps import (
    Audit,
    CurrentUser,
    Database,
    Provider,
    SettingsDep,
    client_ip,
    deny,
    record,
)
from search_api.masking import pseudonym
from search_api.provider import OpenSearchProvider

log = structlog.get_logger(__name__)
router = APIRouter(tags=["audit"])
AUDIT = access(Access.AUDIT)

MAX_REVIEW_ENTRIES = 200_000  # one review holds them in memory; a longer period is split
# A household with more members is a collective household (集体户: a unit's or a school's), whose
# members are not relatives; flagging look-ups of all of them would bury the real findings.
MAX_HOUSEHOLD_MEMBERS = 30


class ReviewConfigurationError(DomainError):
    """The configured working hours cannot be used (a setting to fix, not a client error)."""

    status: ClassVar[int] = 500


class EntryResponse(BaseModel):
    seq: int
    ts: str
    kind: str
    actor: str | None
    actor_role: str | None
    source_ip: str | None
    route: str | None
    application_id: str | None
    case_id: str | None
    purpose: str | None
    params: str | None
    scope: str | None
    outcome: str | None
    hit_count: int | None
    result_digest: str | None
    duration_ms: float | None
    detail: str | None
    entry_hash: str


class VerifyResponse(BaseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None
    reason: str | None


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


def _audit_read(request: Request, audit: Audit, user: CurrentUser, what: dict[str, object]) -> None:
    record(audit, request, AuditEntryIn(
        kind=AuditKind.AUDIT_READ, actor=user.username, actor_role=",".join(sorted(user.roles)),
        source_ip=client_ip(request), route=f"{request.method} {request.scope['route'].path}",
        outcome=AuditOutcome.OK, detail=what,
    ))  # fmt: skip


def _require_auditor(request: Request, audit: Audit, user: User) -> None:
    """403 unless the user may read the log; the refusal is logged first."""
    try:
        require_permission(user.roles, Permission.READ_AUDIT_LOG)
    except PermissionDeniedError as exc:
        deny(audit, request, user, exc.detail)
        raise


def _filters(**values: object) -> dict[str, object]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in values.items()
        if v is not None
    }


@router.get("/audit/entries", response_model=list[EntryResponse], openapi_extra=AUDIT)
def entries(
    request: Request,
    user: CurrentUser,
    db: Database,
    audit: Audit,
    actor: str | None = None,
    kind: AuditKind | None = None,
    case_id: str | None = None,
    application_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[EntryResponse]:
    _require_auditor(request, audit, user)
    _check_period(since, until)
    filters = _filters(actor=actor, kind=kind, case_id=case_id, application_id=application_id,
                       since=since, until=until)  # fmt: skip
    _audit_read(request, audit, user, {"entries": filters})
    found = iter_entries(
        audit.engine, actor=actor, kind=kind, case_id=case_id, application_id=application_id,
        since=since, until=until, newest_first=True, limit=limit,
    )  # fmt: skip
    try:
        return [EntryResponse.model_validate(e, from_attributes=True) for e in found]
    finally:
        close = getattr(found, "close", None)
        if close is not None:
            close()


@router.get("/audit/verify", response_model=VerifyResponse, openapi_extra=AUDIT)
def verify(request: Request, user: CurrentUser, audit: Audit, db: Database) -> VerifyResponse:
    _require_auditor(request, audit, user)
    _audit_read(request, audit, user, {"verify": True})
    public_key = getattr(request.app.state, "audit_public_key", None)
    if public_key is None:
        raise DomainError("no checkpoint key is configured")
    report = verify_log(audit.engine, public_key)
    return VerifyResponse(
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        first_bad_seq=report.first_bad_seq,
        reason=report.reason,
    )


# --- review -------------------------------------------------------------------------------------


def _working_hours(settings: Settings) -> WorkingHours:
    try:
        return parse_working_hours(settings.review_working_hours, settings.review_timezone)
    except ValueError as exc:
        raise ReviewConfigurationError(
            f"the review working hours are misconfigured: {exc}"
        ) from None


def _check_period(since: datetime | None, until: datetime | None) -> None:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInputError(
                "since and until need a time zone (e.g. 2024-05-01T00:00+08:00)"
            )
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("since must be before until")


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


def own_household_query(id_numbers: list[str]) -> dict[str, Any]:
    """The household records of these persons: their 户号 only (pure; the household index)."""
    return {
        "size": len(id_numbers),
        "query": {"bool": {"filter": [
            {"term": {"source": str(Source.HOUSEHOLD)}},
            {"terms": {"id_number": id_numbers}},
        ]}},
        "_source": ["id_number", "household_no"],
    }  # fmt: skip


def household_members_query(household_nos: list[str]) -> dict[str, Any]:
    """The ID numbers in each of these households, counted (pure; the household index)."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [
            {"term": {"source": str(Source.HOUSEHOLD)}},
            {"terms": {"household_no": household_nos}},
        ]}},
        "aggs": {"households": {
            "terms": {"field": "household_no", "size": len(household_nos)},
            "aggs": {"members": {"terms": {"field": "id_number",
                                           "size": MAX_HOUSEHOLD_MEMBERS + 1}}},
        }},
    }  # fmt: skip


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
    _audit_read(request, audit, user, {"household_lookup": {
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
    _require_auditor(request, audit, user)
    _check_period(since, until)
    _working_hours(settings)  # a misconfiguration fails before anything is read
    _audit_read(request, audit, user, {what: _filters(since=since, until=until, actor=actor)})
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
    _require_auditor(request, audit, user)
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
