"""One pure function per rule: time-ordered events in, findings out.

Governed queries are ``query_request`` entries (one per admitted request, written before it ran);
their outcomes are not counted again. Summaries are in Chinese, for the auditors, and quote
purposes with any full ID or mobile number masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from query_logs.review.events import Event, dense_runs, normalise_purpose, quote, tag_of
from query_logs.review.hours import WorkingHours
from query_logs.review.model import Finding
from query_logs.review.rules import Rule

ByActor = Mapping[str, Sequence[Event]]


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def make_finding(
    rule: Rule, actor: str, events: Sequence[Event], summary: str, subjects: Iterable[str] = ()
) -> Finding:
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        actor=actor,
        entry_seqs=tuple(e.seq for e in events),
        summary=summary,
        first_ts=events[0].at,
        last_ts=events[-1].at,
        application_ids=tuple(sorted({e.application_id for e in events if e.application_id})),
        subjects=tuple(sorted(set(subjects))),
    )


def _by_application(events: Iterable[Event]) -> list[list[Event]]:
    groups: dict[str | None, list[Event]] = {}
    for event in events:
        groups.setdefault(event.application_id, []).append(event)
    return list(groups.values())


def _where(event: Event) -> str:
    return f"申请 {event.application_id or '—'}（案件 {event.case_id or '—'}）"


def self_lookups(queries: ByActor, rule: Rule, own: Mapping[str, str]) -> Iterator[Finding]:
    for actor, events in queries.items():
        if (tag := own.get(actor)) is None:
            continue
        for group in _by_application(e for e in events if tag in e.tags):
            mine = (s for e in group for s in e.subjects if tag_of(s) == tag)
            summary = f"在{_where(group[0])}下查询本人公民身份号码 {len(group)} 次"
            yield make_finding(rule, actor, group, summary, mine)


def household_lookups(
    queries: ByActor, rule: Rule, own: Mapping[str, str], household: Mapping[str, frozenset[str]]
) -> Iterator[Finding]:
    for actor, events in queries.items():
        members = household.get(actor, frozenset()) - {own.get(actor)}
        for group in _by_application(e for e in events if e.tags & members):
            theirs = [s for e in group for s in e.subjects if tag_of(s) in members]
            people = len({tag_of(s) for s in theirs})
            summary = f"在{_where(group[0])}下查询本人同户成员 {people} 人，共 {len(group)} 次"
            yield make_finding(rule, actor, group, summary, theirs)


def after_hours_bursts(queries: ByActor, rule: Rule, hours: WorkingHours) -> Iterator[Finding]:
    minutes, least = rule.number("window_minutes"), rule.number("min_queries")
    for actor, events in queries.items():
        late = [e for e in events if not hours.is_working(e.at)]
        for run in dense_runs(late, timedelta(minutes=minutes), least, lambda e: (str(e.seq),)):
            summary = (
                f"工作时间（{hours.describe()}）外，{local(run[0].at, hours.zone)} 至 "
                f"{local(run[-1].at, hours.zone)} 发起受控查询 {len(run)} 次"
                f"（{minutes} 分钟内达 {least} 次即标记）"
            )
            yield make_finding(rule, actor, run, summary)


def many_subjects(queries: ByActor, rule: Rule, zone: ZoneInfo) -> Iterator[Finding]:
    minutes, least = rule.number("window_minutes"), rule.number("min_subjects")
    for actor, events in queries.items():
        with_subjects = [e for e in events if e.subjects]
        for run in dense_runs(with_subjects, timedelta(minutes=minutes), least, lambda e: e.tags):
            distinct = len(frozenset().union(*(e.tags for e in run)))
            summary = (
                f"{local(run[0].at, zone)} 至 {local(run[-1].at, zone)} 查询 {distinct} 个不同对象"
                f"（{len(run)} 次查询；{minutes} 分钟内达 {least} 个即标记）"
            )
            yield make_finding(rule, actor, run, summary)


def repeated_denials(denials: ByActor, rule: Rule, zone: ZoneInfo) -> Iterator[Finding]:
    minutes, least = rule.number("window_minutes"), rule.number("min_denials")
    for actor, events in denials.items():
        for run in dense_runs(events, timedelta(minutes=minutes), least, lambda e: (str(e.seq),)):
            summary = (
                f"{local(run[0].at, zone)} 至 {local(run[-1].at, zone)} 被拒绝 {len(run)} 次"
                f"（{minutes} 分钟内达 {least} 次即标记）"
            )
            yield make_finding(rule, actor, run, summary)


def is_vague(purpose: str, rule: Rule) -> bool:
    """Too short, or fewer than a few letters left once the generic words are taken out."""
    text = normalise_purpose(purpose)
    if len(text) < rule.number("min_chars"):
        return True
    words = sorted({normalise_purpose(w) for w in rule.words("generic_words")}, key=len)
    for word in reversed(words):  # longest first: 了解情况 before 了解
        text = text.replace(word, "") if word else text
    # Numbers (an ID, a year) say whom or when, not what and why: only letters count.
    specific = sum(1 for ch in text if not ch.isdigit())
    return specific < rule.number("min_specific_chars")


def vague_purposes(with_purpose: ByActor, rule: Rule) -> Iterator[Finding]:
    for actor, events in with_purpose.items():
        for group in _by_application(events):
            purpose = next(e.purpose for e in group if e.purpose is not None)
            if is_vague(purpose, rule):
                summary = f"{_where(group[0])}的查询事由过于笼统：“{quote(purpose)}”"
                yield make_finding(rule, actor, group, summary)


def copied_purposes(with_purpose: ByActor, rule: Rule) -> Iterator[Finding]:
    by_text: dict[str, list[Event]] = {}
    for events in with_purpose.values():
        for event in events:
            if event.purpose and (text := normalise_purpose(event.purpose)):
                by_text.setdefault(text, []).append(event)
    for events in by_text.values():
        cases = {e.case_id for e in events if e.case_id}
        applications = {e.application_id for e in events if e.application_id}
        if len(cases) < rule.number("min_cases") and len(applications) < rule.number(
            "min_applications"
        ):
            continue
        actors: dict[str, list[Event]] = {}
        for event in sorted(events, key=lambda e: e.seq):
            actors.setdefault(event.actor or "", []).append(event)
        for actor, own_events in actors.items():
            summary = (
                f"同一查询事由用于 {len(cases)} 个案件、{len(applications)} 个申请"
                f"（{len(actors)} 名用户）：“{quote(own_events[0].purpose or '')}”"
            )
            yield make_finding(rule, actor, own_events, summary)


def exports(export_events: ByActor, rule: Rule) -> Iterator[Finding]:
    for actor, events in export_events.items():
        for event in events:
            count = "条数未记录" if event.hit_count is None else f"{event.hit_count} 条记录"
            yield make_finding(rule, actor, [event], f"导出：{_where(event)}，{count}")
