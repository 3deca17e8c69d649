"""Response models of the query log's review (search_api.routers.review), and their builders
from the review's report (query_logs.review)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel

from query_logs.audit import AuditEntry
from query_logs.review import ReviewReport, RuleId, Severity, subjects_in


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


def review_response(
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
        findings=_findings(report),
        timelines=[
            UserTimelineResponse.model_validate(t, from_attributes=True) for t in report.timelines
        ],
        gaps=_gaps(report),
    )


def timeline_response(
    report: ReviewReport,
    name: str,
    own: list[AuditEntry],
    limit: int,
    since: datetime | None,
    until: datetime | None,
) -> TimelineResponse:
    """One account's timeline: its summary, findings and gaps, and its last ``limit`` entries
    (``own``, in log order) with the rules that flagged each."""
    flags: Mapping[int, list[RuleId]] = report.rules_by_seq()
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
        findings=_findings(report),
        gaps=_gaps(report),
        events=events,
        events_truncated=len(own) > limit,
    )


def _findings(report: ReviewReport) -> list[FindingResponse]:
    return [FindingResponse.model_validate(f, from_attributes=True) for f in report.findings]


def _gaps(report: ReviewReport) -> list[GapResponse]:
    return [GapResponse.model_validate(g, from_attributes=True) for g in report.gaps]
