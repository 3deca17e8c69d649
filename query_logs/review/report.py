"""``review``: run every rule over a stream of log entries and summarise each user's activity."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from query_logs.audit import AuditEntry, AuditKind
from query_logs.review import detect
from query_logs.review.events import Event, tag_of, to_event
from query_logs.review.hours import WorkingHours
from query_logs.review.model import Finding, Gap, ReviewContext, ReviewReport, UserTimeline
from query_logs.review.rules import SEVERITY_RANK, RuleId

_PURPOSE_KINDS = frozenset({AuditKind.QUERY_REQUEST.value, AuditKind.APPLICATION_REQUEST.value})


def _by_actor(events: Iterable[Event], kinds: Iterable[str]) -> dict[str, list[Event]]:
    wanted = frozenset(kinds)
    grouped: dict[str, list[Event]] = {}
    for event in events:
        if event.actor is not None and event.kind in wanted:
            grouped.setdefault(event.actor, []).append(event)
    return grouped


def _findings(events: Sequence[Event], context: ReviewContext) -> Iterator[Finding]:
    rules, hours = context.rules, context.working_hours
    own = {user: tag_of(tag) for user, tag in context.own_tags.items()}
    queries = _by_actor(events, [AuditKind.QUERY_REQUEST])
    yield from detect.self_lookups(queries, rules[RuleId.SELF_LOOKUP], own)
    if context.household_tags is not None:
        household = {
            user: frozenset(tag_of(t) for t in tags)
            for user, tags in context.household_tags.items()
        }
        yield from detect.household_lookups(queries, rules[RuleId.HOUSEHOLD_LOOKUP], own, household)
    yield from detect.after_hours_bursts(queries, rules[RuleId.AFTER_HOURS_BURST], hours)
    yield from detect.many_subjects(queries, rules[RuleId.MANY_SUBJECTS], hours.zone)
    denials = _by_actor(events, [AuditKind.DENIAL])
    yield from detect.repeated_denials(denials, rules[RuleId.REPEATED_DENIALS], hours.zone)
    with_purpose = {
        actor: [e for e in found if e.purpose is not None]
        for actor, found in _by_actor(events, _PURPOSE_KINDS).items()
    }
    with_purpose = {actor: found for actor, found in with_purpose.items() if found}
    yield from detect.vague_purposes(with_purpose, rules[RuleId.VAGUE_PURPOSE])
    yield from detect.copied_purposes(with_purpose, rules[RuleId.COPIED_PURPOSE])
    yield from detect.exports(_by_actor(events, [AuditKind.EXPORT]), rules[RuleId.EXPORT])


def _gaps(events: Sequence[Event], context: ReviewContext) -> Iterator[Gap]:
    queried = sorted(_by_actor(events, [AuditKind.QUERY_REQUEST]))
    if unknown := tuple(u for u in queried if u not in context.own_tags):
        yield Gap(RuleId.SELF_LOOKUP, unknown, "未登记本人公民身份号码，无法检查查询本人",
                  "no own ID number recorded: self look-ups cannot be checked")  # fmt: skip
    checkable = [u for u in queried if u in context.own_tags]
    if context.household_tags is None:
        if checkable:
            note = context.household_note or "household membership was not looked up"
            yield Gap(RuleId.HOUSEHOLD_LOOKUP, tuple(checkable),
                      "未能查询户籍信息，未检查查询同户成员", note)  # fmt: skip
    elif unchecked := tuple(u for u in checkable if u not in context.household_tags):
        yield Gap(RuleId.HOUSEHOLD_LOOKUP, unchecked,
                  "未找到本人户籍记录（或属集体户），无法检查查询同户成员",
                  "own household record not found (or a collective household)")  # fmt: skip
    anonymous = sum(1 for e in events if e.kind == AuditKind.DENIAL and e.actor is None)
    if anonymous:
        yield Gap(
            RuleId.REPEATED_DENIALS,
            (),
            f"{anonymous} 次拒绝无法归属用户（无有效令牌），请按来源地址在日志中查看",
            f"{anonymous} denials carry no user (no valid token); see their source IPs",
        )


def _timeline(
    actor: str, events: Sequence[Event], hours: WorkingHours, flagged: Mapping[RuleId, int]
) -> UserTimeline:
    queries = [e for e in events if e.kind == AuditKind.QUERY_REQUEST]
    return UserTimeline(
        actor=actor,
        roles=events[-1].actor_role,
        entries=len(events),
        by_kind=dict(sorted(Counter(e.kind for e in events).items())),
        by_outcome=dict(sorted(Counter(e.outcome for e in events if e.outcome).items())),
        first_ts=events[0].at,
        last_ts=events[-1].at,
        applications=tuple(sorted({e.application_id for e in events if e.application_id})),
        cases=tuple(sorted({e.case_id for e in events if e.case_id})),
        governed_queries=len(queries),
        distinct_subjects=len(frozenset().union(*(e.tags for e in queries))),
        after_hours_queries=sum(1 for e in queries if not hours.is_working(e.at)),
        findings_by_rule={str(rule): n for rule, n in sorted(flagged.items())},
    )


def review(
    entries: Iterable[AuditEntry],
    *,
    context: ReviewContext,
    now: datetime,
    actor: str | None = None,
) -> ReviewReport:
    """Run every rule over ``entries`` (in log order) and summarise each user's activity.

    With ``actor``, findings and timelines are that user's only, but the rules still see every
    entry: a purpose copied from a colleague's application is found only next to it.
    """
    events = sorted((to_event(e) for e in entries), key=lambda e: e.seq)
    findings = [f for f in _findings(events, context) if actor is None or f.actor == actor]
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.actor, f.entry_seqs[0], f.rule))
    counts: dict[str, Counter[RuleId]] = {}
    for finding in findings:
        counts.setdefault(finding.actor, Counter())[finding.rule] += 1
    everyone: dict[str, list[Event]] = {}
    for event in events:
        if event.actor is not None and (actor is None or event.actor == actor):
            everyone.setdefault(event.actor, []).append(event)
    timelines = tuple(
        _timeline(name, found, context.working_hours, counts.get(name, Counter()))
        for name, found in sorted(everyone.items())
    )
    gaps: list[Gap] = []
    for gap in _gaps(events, context):
        if actor is None:
            gaps.append(gap)
        elif actor in gap.actors:
            gaps.append(Gap(gap.rule, (actor,), gap.reason_zh, gap.reason_en))
    return ReviewReport(
        generated_at=now,
        actor=actor,
        entries_reviewed=len(events),
        first_seq=events[0].seq if events else None,
        last_seq=events[-1].seq if events else None,
        working_hours=context.working_hours.describe(),
        rules=tuple(context.rules.rules.values()),
        findings=tuple(findings),
        timelines=timelines,
        gaps=tuple(gaps),
    )
