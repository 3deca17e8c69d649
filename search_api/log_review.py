"""Reading the query log for security auditors: entries, chain verification, the review
(findings, CSV export, user timelines). Shared by the JSON routes (search_api.routers.audit,
.review) and the 日志审查 page (search_api.web.pages.audit), so both log the same reads.

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial. The review's own-household rule needs household membership: this module looks up the
户号 of the reviewed users' own ID numbers in the household index, through the engine door, and logs
that as one more ``audit_read`` naming the users (never an ID). Nothing read from the index
leaves the server: the review receives only pseudonym tags made with the gate's key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, ClassVar

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends
from sqlalchemy import Engine

from accounts.user_fields import normalise_username
from accounts.users import User, get_user, list_users
from common.errors import DomainError, EngineUnavailableError, InvalidInputError
from common.settings import Settings
from common.vocab import Source
from query_logs.audit import (
    AuditEntry,
    AuditKind,
    AuditLog,
    AuditOutcome,
    Recorder,
    iter_entries,
    verify_log,
)
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
from search_api.auditor import admit_auditor, audit_filters, check_period
from search_api.deps import Audit, CurrentUser, Database, Provider, RecorderDep, SettingsDep
from search_api.masking import pseudonym
from search_api.models.audit import EntryResponse, VerifyResponse
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

log = structlog.get_logger(__name__)

MAX_REVIEW_ENTRIES = 200_000  # one review holds them in memory; a longer period is split


class ReviewConfigurationError(DomainError):
    """The configured working hours cannot be used (a setting to fix, not a client error)."""

    status: ClassVar[int] = 500


@dataclass(frozen=True, slots=True)
class Reviewer:
    """What a review works with: the caller and the request's recorder, the account store, the
    log, the household index and the settings."""

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


def normalised_actor(actor: str | None) -> str | None:
    return None if actor is None else normalise_username(actor)


def review_report(
    reviewer: Reviewer, since: datetime | None, until: datetime | None, actor: str | None
) -> ReviewResponse:
    """``GET /audit/review``: the findings of the period (the read logged first)."""
    report, _ = _run_review(reviewer, since=since, until=until, actor=normalised_actor(actor),
                            what="review")  # fmt: skip
    return review_response(report, since, until)


@dataclass(frozen=True, slots=True)
class ReviewExport:
    """The review as CSV (UTF-8 bytes), and the name a browser saves it under."""

    content: bytes
    filename: str


def review_export(
    reviewer: Reviewer, since: datetime | None, until: datetime | None, actor: str | None
) -> ReviewExport:
    """``GET /audit/review.csv``: the review, one finding a row (logged as ``review_csv``)."""
    report, _ = _run_review(reviewer, since=since, until=until, actor=normalised_actor(actor),
                            what="review_csv")  # fmt: skip
    stamp = report.generated_at.strftime("%Y%m%dT%H%M%SZ")
    content = review_csv(report, _working_hours(reviewer.settings).zone)
    return ReviewExport(content, f"xiansuo-review-{stamp}.csv")


def user_timeline(
    reviewer: Reviewer,
    username: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> TimelineResponse:
    """``GET /audit/users/{username}/timeline``: one account's entries with their flags."""
    admit_auditor(reviewer.recorder, reviewer.user)
    name = get_user(reviewer.db, username).username  # 404 for an unknown account
    report, found = _run_review(reviewer, since=since, until=until, actor=name, what="timeline")
    own = [e for e in found if e.actor == name]
    return timeline_response(report, name, own, limit, since, until)


@dataclass(frozen=True, slots=True)
class EntryFilters:
    """What ``GET /audit/entries`` filters by (every one optional), and its page: at most
    ``limit`` entries, newest first, older than ``before_seq`` when given."""

    actor: str | None = None
    kind: AuditKind | None = None
    outcome: AuditOutcome | None = None
    case_id: str | None = None
    application_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None
    limit: int = 200


def read_entries(
    recorder: Recorder, user: User, audit: AuditLog, f: EntryFilters
) -> list[EntryResponse]:
    """The entries matching ``f``, newest first; the reader admitted and the read logged (with
    its filters) before the log is read."""
    auditor = admit_auditor(recorder, user)
    check_period(f.since, f.until)
    filters = audit_filters(actor=f.actor, kind=f.kind, outcome=f.outcome, case_id=f.case_id,
                            application_id=f.application_id, since=f.since, until=f.until,
                            before_seq=f.before_seq)  # fmt: skip
    auditor.read({"entries": filters})
    found = iter_entries(
        audit.engine, actor=f.actor, kind=f.kind, outcome=f.outcome, case_id=f.case_id,
        application_id=f.application_id, since=f.since, until=f.until, before_seq=f.before_seq,
        newest_first=True, limit=f.limit,
    )  # fmt: skip
    try:
        return [EntryResponse.model_validate(e, from_attributes=True) for e in found]
    finally:
        close = getattr(found, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """The chain verification as the page shows it: the API's answer, the head and the last
    signed checkpoint."""

    result: VerifyResponse
    head_seq: int
    last_checkpoint_seq: int | None


def verify_chain(
    recorder: Recorder, user: User, audit: AuditLog, public_key: Ed25519PublicKey | None
) -> ChainStatus:
    """``GET /audit/verify``: the hash chain and the signed checkpoints checked (read logged)."""
    admit_auditor(recorder, user).read({"verify": True})
    if public_key is None:
        raise DomainError("no checkpoint key is configured")
    report = verify_log(audit.engine, public_key)
    result = VerifyResponse(
        ok=report.ok,
        entries_checked=report.entries_checked,
        checkpoints_checked=report.checkpoints_checked,
        first_bad_seq=report.first_bad_seq,
        reason=report.reason,
    )
    return ChainStatus(result, report.head_seq, report.last_checkpoint_seq)
