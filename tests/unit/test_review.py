"""The review's anomaly rules over seeded entry streams: each rule fires on its planted misuse
and on nothing else, stays quiet on a clean stream, and its thresholds hold at the boundary."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from query_logs.audit import AuditEntry, AuditKind, AuditOutcome, canonical_json
from query_logs.audit.entries import format_ts
from query_logs.review import (
    CSV_HEADER,
    RULE_TABLE,
    ReviewContext,
    ReviewReport,
    RuleId,
    RuleTableError,
    Severity,
    load_rule_book,
    parse_working_hours,
    review,
    review_csv,
    rule_book,
    safe_cell,
    subjects_in,
    tag_of,
)
from search_api.masking import pseudonym

KEY = b"review-test-key"
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2024, 5, 15, 10, 0, tzinfo=SHANGHAI)  # inside Mon-Fri 08:00-19:00
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=SHANGHAI)

ALICE_ID, ALICE_SPOUSE = "110101198001010011", "110101198202020022"
MALLORY_ID, MALLORY_CHILD = "460106197001010016", "460106200001010033"
SPECIFIC = "核查举报反映的某局长配偶经商办企业及收受礼金问题线索"


def subject(number: int) -> str:
    """A distinct, ID-shaped stranger."""
    return f"3201021990{number:08d}"


class Log:
    """Builds a stream of stored entries with chosen times (the real log stamps them itself)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self._seq = count(1)

    def add(self, kind: AuditKind, actor: str | None, at: datetime, **fields: Any) -> int:
        params = fields.pop("params", None)
        seq = next(self._seq)
        self.entries.append(
            AuditEntry(
                seq=seq, ts=format_ts(at), kind=kind.value, actor=actor,
                actor_role=fields.pop("actor_role", "investigator"), source_ip="10.0.0.1",
                route=fields.pop("route", "GET /persons/{id_number}/records"),
                application_id=fields.pop("application_id", None),
                case_id=fields.pop("case_id", None), purpose=fields.pop("purpose", None),
                params=None if params is None else canonical_json(params).decode(),
                scope=None, outcome=fields.pop("outcome", None),
                hit_count=fields.pop("hit_count", None), result_digest=None, duration_ms=None,
                detail=None, prev_hash="0" * 64, entry_hash=f"{seq:064x}",
            )
        )  # fmt: skip
        assert not fields, fields
        return seq

    def query(
        self, actor: str, at: datetime, id_number: str, *, app: str = "1", case: str = "案-1",
        purpose: str = SPECIFIC,
    ) -> int:  # fmt: skip
        """A governed query (request and outcome), as the gate writes it; returns the request's
        seq."""
        seq = self.add(
            AuditKind.QUERY_REQUEST, actor, at, application_id=app, case_id=case, purpose=purpose,
            params={"id_number": pseudonym(id_number, KEY), "sources": [], "page_size": 20},
        )  # fmt: skip
        done = at + timedelta(milliseconds=30)
        self.add(AuditKind.QUERY_OUTCOME, actor, done, application_id=app, case_id=case,
                 outcome=AuditOutcome.OK, hit_count=3)  # fmt: skip
        return seq


def context(**overrides: Any) -> ReviewContext:
    values: dict[str, Any] = {
        "own_tags": {
            "alice": pseudonym(ALICE_ID, KEY),
            "mallory": tag_of(pseudonym(MALLORY_ID, KEY)),  # a bare tag works as well
        },
        "household_tags": {
            "alice": frozenset({pseudonym(ALICE_ID, KEY), pseudonym(ALICE_SPOUSE, KEY)}),
            "mallory": frozenset({pseudonym(MALLORY_ID, KEY), pseudonym(MALLORY_CHILD, KEY)}),
        },
        "working_hours": parse_working_hours("Mon-Fri 08:00-19:00", "Asia/Shanghai"),
    }
    return ReviewContext(**(values | overrides))


def clean_stream(log: Log) -> None:
    """Alice's ordinary day: a few subjects of one case in office hours, under one application;
    Mallory files an application and logs in, nothing more."""
    log.add(AuditKind.LOGIN_OK, "alice", WEDNESDAY_10 - timedelta(minutes=5), outcome="ok")
    log.add(AuditKind.APPLICATION_REQUEST, "alice", WEDNESDAY_10 - timedelta(minutes=4),
            application_id="1", case_id="案-1", purpose=SPECIFIC, outcome="ok")  # fmt: skip
    for i in range(4):
        log.query("alice", WEDNESDAY_10 + timedelta(minutes=10 * i), subject(i))
    log.add(AuditKind.LOGIN_OK, "mallory", WEDNESDAY_10, outcome="ok")
    log.add(AuditKind.APPLICATION_REQUEST, "mallory", WEDNESDAY_10 + timedelta(minutes=1),
            application_id="9", case_id="案-9", purpose="核实某乡镇低保资金被冒领及虚报人口问题",
            outcome="ok")  # fmt: skip


def run(log: Log, ctx: ReviewContext | None = None, actor: str | None = None) -> ReviewReport:
    return review(log.entries, context=ctx or context(), now=NOW, actor=actor)


def rules_of(report: ReviewReport) -> set[RuleId]:
    return {f.rule for f in report.findings}


# --- each rule fires on its planted misuse, and only it ----------------------------------------

MISUSE = "mallory"
APP9 = {"app": "9", "case": "案-9", "purpose": "核实某乡镇低保资金被冒领及虚报人口问题"}


def plant_self(log: Log) -> list[int]:
    return [log.query(MISUSE, WEDNESDAY_10 + timedelta(hours=1), MALLORY_ID, **APP9)]


def plant_household(log: Log) -> list[int]:
    return [log.query(MISUSE, WEDNESDAY_10 + timedelta(hours=1), MALLORY_CHILD, **APP9)]


def plant_after_hours_burst(log: Log) -> list[int]:
    night = WEDNESDAY_10.replace(hour=22)
    return [log.query(MISUSE, night + timedelta(minutes=5 * i), subject(100 + i), **APP9)
            for i in range(5)]  # fmt: skip


def plant_many_subjects(log: Log) -> list[int]:
    start = WEDNESDAY_10 + timedelta(hours=2)
    return [log.query(MISUSE, start + timedelta(minutes=3 * i), subject(200 + i), **APP9)
            for i in range(20)]  # fmt: skip


def plant_denials(log: Log) -> list[int]:
    start = WEDNESDAY_10 + timedelta(hours=3)
    return [log.add(AuditKind.DENIAL, MISUSE, start + timedelta(minutes=10 * i), outcome="denied")
            for i in range(3)]  # fmt: skip


def plant_vague(log: Log) -> list[int]:
    vague = {"app": "10", "case": "案-10", "purpose": "查询了解情况，核查相关人员信息，工作需要。"}
    return [log.query(MISUSE, WEDNESDAY_10 + timedelta(hours=1), subject(300), **vague)]


def plant_copied(log: Log) -> list[int]:
    # The same purpose (spacing and punctuation aside) as application 9, under another case.
    copied = {"app": "11", "case": "案-11", "purpose": " 核实某乡镇低保资金被冒领、及虚报人口问题 "}
    return [log.query(MISUSE, WEDNESDAY_10 + timedelta(hours=1), subject(400), **copied)]


def plant_export(log: Log) -> list[int]:
    return [log.add(AuditKind.EXPORT, MISUSE, WEDNESDAY_10 + timedelta(hours=1),
                    application_id="9", case_id="案-9", outcome="ok", hit_count=120)]  # fmt: skip


PLANTS: dict[RuleId, Callable[[Log], list[int]]] = {
    RuleId.SELF_LOOKUP: plant_self,
    RuleId.HOUSEHOLD_LOOKUP: plant_household,
    RuleId.AFTER_HOURS_BURST: plant_after_hours_burst,
    RuleId.MANY_SUBJECTS: plant_many_subjects,
    RuleId.REPEATED_DENIALS: plant_denials,
    RuleId.VAGUE_PURPOSE: plant_vague,
    RuleId.COPIED_PURPOSE: plant_copied,
    RuleId.EXPORT: plant_export,
}


def test_every_rule_has_a_planted_misuse() -> None:
    assert set(PLANTS) == set(RuleId)


def test_a_clean_stream_has_no_findings_and_no_gaps() -> None:
    log = Log()
    clean_stream(log)
    report = run(log)
    assert report.findings == ()
    assert report.gaps == ()


@pytest.mark.parametrize("rule", list(PLANTS))
def test_planted_misuse_fires_its_rule_and_no_other(rule: RuleId) -> None:
    log = Log()
    clean_stream(log)
    planted = PLANTS[rule](log)
    report = run(log)
    assert rules_of(report) == {rule}
    flagged = {seq for f in report.findings for seq in f.entry_seqs}
    assert set(planted) <= flagged
    assert {f.actor for f in report.findings if f.rule is not RuleId.COPIED_PURPOSE} <= {MISUSE}


def test_findings_carry_the_severity_of_the_table_most_severe_first() -> None:
    log = Log()
    clean_stream(log)
    for plant in PLANTS.values():
        plant(log)
    report = run(log)
    table = {RuleId(row[0]): Severity(row[1]) for row in RULE_TABLE}
    assert all(f.severity is table[f.rule] for f in report.findings)
    ranks = [list(Severity).index(f.severity) for f in report.findings]
    assert ranks == sorted(ranks)


def test_self_lookup_names_the_pseudonym_never_the_id() -> None:
    log = Log()
    plant_self(log)
    (finding,) = run(log).findings
    assert finding.subjects == (pseudonym(MALLORY_ID, KEY),)
    assert MALLORY_ID not in repr(finding)


def test_own_id_is_not_reported_again_as_a_household_member() -> None:
    log = Log()
    plant_self(log)  # the own ID is also in the household set given by the caller
    assert rules_of(run(log)) == {RuleId.SELF_LOOKUP}


# --- thresholds at their boundaries -------------------------------------------------------------

NIGHT = WEDNESDAY_10.replace(hour=22)


@pytest.mark.parametrize(
    ("start", "queries", "step_minutes", "fires"),
    [
        (NIGHT, 5, 5, True),  # 5 within 20 minutes
        (NIGHT, 4, 5, False),  # one short of the threshold
        (NIGHT, 5, 8, False),  # 5 spread over 32 minutes > 30
        (WEDNESDAY_10, 5, 1, False),  # a burst in office hours
        (WEDNESDAY_10.replace(hour=18, minute=59), 5, 1, False),  # only the first at 18:59
        (WEDNESDAY_10.replace(hour=19), 5, 1, True),  # 19:00 is already after hours
        (WEDNESDAY_10.replace(hour=7, minute=50), 5, 2, True),  # before 08:00
        (WEDNESDAY_10.replace(day=18), 5, 1, True),  # Saturday daytime
    ],
)
def test_after_hours_burst_threshold(
    start: datetime, queries: int, step_minutes: int, fires: bool
) -> None:
    log = Log()
    for i in range(queries):
        log.query(MISUSE, start + timedelta(minutes=step_minutes * i), subject(i))
    assert (RuleId.AFTER_HOURS_BURST in rules_of(run(log))) is fires


def test_a_long_burst_is_one_finding_with_every_query() -> None:
    log = Log()
    seqs = [log.query(MISUSE, NIGHT + timedelta(minutes=6 * i), subject(i)) for i in range(12)]
    bursts = [f for f in run(log).findings if f.rule is RuleId.AFTER_HOURS_BURST]
    assert [f.entry_seqs for f in bursts] == [tuple(seqs)]


def test_two_bursts_far_apart_are_two_findings() -> None:
    log = Log()
    for start in (NIGHT, NIGHT + timedelta(hours=3)):
        for i in range(5):
            log.query(MISUSE, start + timedelta(minutes=i), subject(i))
    assert sum(f.rule is RuleId.AFTER_HOURS_BURST for f in run(log).findings) == 2


def test_after_hours_is_judged_in_the_configured_time_zone() -> None:
    log = Log()
    # 01:00-01:04 UTC on a Wednesday is 09:00-09:04 in Shanghai: office hours there.
    utc_morning = datetime(2024, 5, 15, 1, 0, tzinfo=ZoneInfo("UTC"))
    for i in range(5):
        log.query(MISUSE, utc_morning + timedelta(minutes=i), subject(i))
    assert RuleId.AFTER_HOURS_BURST not in rules_of(run(log))
    utc_hours = parse_working_hours("Mon-Fri 08:00-19:00", "UTC")
    assert RuleId.AFTER_HOURS_BURST in rules_of(run(log, context(working_hours=utc_hours)))


def test_no_working_hours_makes_every_query_after_hours() -> None:
    log = Log()
    for i in range(5):
        log.query(MISUSE, WEDNESDAY_10 + timedelta(minutes=i), subject(i))
    hours = parse_working_hours("none")
    assert RuleId.AFTER_HOURS_BURST in rules_of(run(log, context(working_hours=hours)))


@pytest.mark.parametrize(
    ("distinct", "repeats", "step_minutes", "fires"),
    [(20, 1, 3, True), (19, 2, 1, False), (20, 1, 4, False), (1, 30, 1, False)],
)
def test_many_subjects_threshold(
    distinct: int, repeats: int, step_minutes: int, fires: bool
) -> None:
    log = Log()
    moment = WEDNESDAY_10
    for i in range(distinct):
        for _ in range(repeats):
            log.query(MISUSE, moment, subject(i))
            moment += timedelta(minutes=step_minutes)
    assert (RuleId.MANY_SUBJECTS in rules_of(run(log))) is fires


@pytest.mark.parametrize(
    ("denials", "step_minutes", "fires"), [(3, 30, True), (2, 1, False), (3, 31, False)]
)
def test_repeated_denials_threshold(denials: int, step_minutes: int, fires: bool) -> None:
    log = Log()
    for i in range(denials):
        log.add(AuditKind.DENIAL, MISUSE, WEDNESDAY_10 + timedelta(minutes=step_minutes * i))
    assert (RuleId.REPEATED_DENIALS in rules_of(run(log))) is fires


def test_denials_without_a_user_are_a_gap_not_a_finding() -> None:
    log = Log()
    for i in range(5):
        log.add(AuditKind.DENIAL, None, WEDNESDAY_10 + timedelta(minutes=i))
    report = run(log)
    assert report.findings == ()
    assert [(g.rule, g.actors) for g in report.gaps] == [(RuleId.REPEATED_DENIALS, ())]


@pytest.mark.parametrize(
    ("purpose", "vague"),
    [
        ("查询", True),
        ("查询了解情况，核查相关人员信息，工作需要。", True),
        ("工作需要 工作需要 工作需要 核查核实", True),
        ("!!!!!!!!!!!!!!!!!!!!查询", True),  # long only because of punctuation
        (SPECIFIC, False),
        ("核查张某某在任职期间违规收受购物卡问题", False),
    ],
)
def test_vague_purpose(purpose: str, vague: bool) -> None:
    log = Log()
    log.query(MISUSE, WEDNESDAY_10, subject(1), purpose=purpose)
    assert (RuleId.VAGUE_PURPOSE in rules_of(run(log))) is vague


@pytest.mark.parametrize(
    ("uses", "fires"),
    [
        ([("1", "案-1"), ("2", "案-1")], False),  # two applications of one case
        ([("1", "案-1"), ("2", "案-1"), ("3", "案-1")], True),  # three applications
        ([("1", "案-1"), ("2", "案-2")], True),  # two cases
        ([("1", "案-1"), ("1", "案-1"), ("1", "案-1")], False),  # one application, used often
    ],
)
def test_copied_purpose(uses: list[tuple[str, str]], fires: bool) -> None:
    log = Log()
    for i, (app, case) in enumerate(uses):
        log.query(MISUSE, WEDNESDAY_10 + timedelta(minutes=i), subject(i), app=app, case=case)
    assert (RuleId.COPIED_PURPOSE in rules_of(run(log))) is fires


def test_a_purpose_copied_between_users_flags_each_of_them() -> None:
    log = Log()
    log.query("alice", WEDNESDAY_10, subject(1), app="1", case="案-1")
    log.query(MISUSE, WEDNESDAY_10, subject(2), app="2", case="案-2")
    copied = [f for f in run(log).findings if f.rule is RuleId.COPIED_PURPOSE]
    assert sorted(f.actor for f in copied) == ["alice", MISUSE]
    assert all("2 名用户" in f.summary for f in copied)


def test_a_quoted_purpose_never_shows_a_full_id_number() -> None:
    log = Log()
    log.query(MISUSE, WEDNESDAY_10, subject(1), purpose=f"查询 {MALLORY_CHILD}")
    (finding,) = [f for f in run(log).findings if f.rule is RuleId.VAGUE_PURPOSE]
    assert MALLORY_CHILD not in finding.summary
    assert "*" * 18 in finding.summary


def test_every_export_is_its_own_finding() -> None:
    log = Log()
    seqs = [log.add(AuditKind.EXPORT, MISUSE, WEDNESDAY_10 + timedelta(days=i), hit_count=i)
            for i in range(3)]  # fmt: skip
    exports = [f for f in run(log).findings if f.rule is RuleId.EXPORT]
    assert sorted(f.entry_seqs for f in exports) == [(s,) for s in seqs]


# --- what could not be checked is said ----------------------------------------------------------


def test_a_user_without_a_recorded_id_is_a_self_lookup_gap() -> None:
    log = Log()
    log.query("bob", WEDNESDAY_10, subject(1))
    gaps = {g.rule: g.actors for g in run(log).gaps}
    assert gaps[RuleId.SELF_LOOKUP] == ("bob",)


def test_household_not_looked_up_is_a_gap_for_every_checkable_user() -> None:
    log = Log()
    clean_stream(log)
    plant_household(log)
    report = run(log, context(household_tags=None, household_note="index down"))
    assert RuleId.HOUSEHOLD_LOOKUP not in rules_of(report)
    (gap,) = report.gaps
    assert (gap.rule, gap.actors, gap.reason_en) == (
        RuleId.HOUSEHOLD_LOOKUP, ("alice", MISUSE), "index down",
    )  # fmt: skip


def test_a_user_missing_from_the_household_mapping_is_a_gap() -> None:
    log = Log()
    clean_stream(log)
    plant_household(log)
    ctx = context(household_tags={"alice": frozenset()})
    gaps = {g.rule: g.actors for g in run(log, ctx).gaps}
    assert gaps == {RuleId.HOUSEHOLD_LOOKUP: (MISUSE,)}


# --- per-user view --------------------------------------------------------------------------------


def test_actor_filter_keeps_that_users_findings_but_rules_see_everyone() -> None:
    log = Log()
    log.query("alice", WEDNESDAY_10, subject(1), app="1", case="案-1")
    log.query(MISUSE, WEDNESDAY_10, subject(2), app="2", case="案-2")
    plant_self(log)
    report = run(log, actor="alice")
    assert [(f.rule, f.actor) for f in report.findings] == [(RuleId.COPIED_PURPOSE, "alice")]
    assert [t.actor for t in report.timelines] == ["alice"]


def test_timeline_summarises_one_users_activity() -> None:
    log = Log()
    clean_stream(log)
    log.add(AuditKind.DENIAL, "alice", WEDNESDAY_10.replace(hour=21), outcome="denied")
    report = run(log)
    alice = next(t for t in report.timelines if t.actor == "alice")
    assert alice.by_kind == {"application_request": 1, "denial": 1, "login_ok": 1,
                             "query_outcome": 4, "query_request": 4}  # fmt: skip
    assert alice.by_outcome == {"denied": 1, "ok": 6}
    assert (alice.governed_queries, alice.distinct_subjects, alice.after_hours_queries) == (4, 4, 0)
    assert alice.applications == ("1",)
    assert alice.first_ts == WEDNESDAY_10 - timedelta(minutes=5)
    assert alice.last_ts == WEDNESDAY_10.replace(hour=21)
    assert alice.findings_by_rule == {}


def test_rules_by_seq_lists_every_flag_of_an_entry() -> None:
    log = Log()
    seqs = [log.query(MISUSE, NIGHT + timedelta(minutes=i), MALLORY_ID) for i in range(5)]
    flags = run(log).rules_by_seq()
    assert set(flags[seqs[0]]) == {RuleId.SELF_LOOKUP, RuleId.AFTER_HOURS_BURST}


# --- entries, pseudonyms ------------------------------------------------------------------------


def test_subjects_are_found_at_any_depth_of_params_without_repeats() -> None:
    phone = pseudonym("13800001234", KEY)
    person = pseudonym(ALICE_ID, KEY)
    text = canonical_json(
        {"q": f"张三 {person}", "filters": [{"ids": [person, phone]}], "page_size": 20}
    ).decode()
    assert subjects_in(text) == (person, phone)


@pytest.mark.parametrize("text", [None, "not json", '{"id_number": "460106********0016"}'])
def test_params_without_pseudonyms_have_no_subjects(text: str | None) -> None:
    assert subjects_in(text) == ()


@pytest.mark.parametrize("bad", ["", "abc", "460106********0016", "~" + "g" * 16])
def test_tag_of_refuses_what_is_not_a_pseudonym(bad: str) -> None:
    with pytest.raises(ValueError, match="pseudonym"):
        tag_of(bad)


# --- the rule table and the working hours are validated -----------------------------------------


def _table_with(rule: str, **change: Any) -> list[tuple[Any, ...]]:
    rows = [list(row) for row in RULE_TABLE]
    row = next(r for r in rows if r[0] == rule)
    for index, name in enumerate(("id", "severity", "zh", "en", "thresholds")):
        if name in change:
            row[index] = change[name]
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (_table_with("export", id="exports"), "'exports': unknown rule"),
        ([*RULE_TABLE, RULE_TABLE[0]], "'self_lookup': listed twice"),
        (RULE_TABLE[1:], "no entry for self_lookup"),
        (_table_with("export", severity="urgent"), "'export': unknown severity"),
        (_table_with("export", zh=" "), "'export': both descriptions"),
        (_table_with("many_subjects", thresholds={"min_subjects": 20}),
         "'many_subjects': missing threshold window_minutes"),
        (_table_with("many_subjects", thresholds={"min_subjects": 20, "window_minutes": 0}),
         "'many_subjects': threshold 'window_minutes' must be a positive integer"),
        (_table_with("repeated_denials",
                     thresholds={"min_denials": True, "window_minutes": 60}),
         "'repeated_denials': threshold 'min_denials' must be a positive integer"),
        (_table_with("export", thresholds={"limit": 1}), "'export': unknown threshold limit"),
        (_table_with("vague_purpose",
                     thresholds={"min_chars": 1, "min_specific_chars": 1, "generic_words": ()}),
         "'vague_purpose': threshold 'generic_words' must be a non-empty tuple"),
    ],
)  # fmt: skip
def test_a_bad_rule_table_is_refused_naming_the_entry(rows: Any, message: str) -> None:
    with pytest.raises(RuleTableError, match=message):
        load_rule_book(rows)


def test_the_shipped_table_loads_with_both_descriptions() -> None:
    book = rule_book()
    assert list(book.rules) == list(RuleId)
    assert all(r.description_zh and r.description_en for r in book.rules.values())


@pytest.mark.parametrize(
    ("spec", "local", "working"),
    [
        ("Mon-Fri 08:00-19:00", datetime(2024, 5, 15, 8, 0), True),
        ("Mon-Fri 08:00-19:00", datetime(2024, 5, 15, 19, 0), False),
        ("Mon-Fri 08:00-19:00", datetime(2024, 5, 19, 10, 0), False),  # Sunday
        ("Mon,Wed,Sat 09:00-12:00", datetime(2024, 5, 18, 9, 30), True),  # Saturday
        ("Mon-Sun 00:00-24:00", datetime(2024, 5, 19, 23, 59), True),
        ("none", datetime(2024, 5, 15, 10, 0), False),
    ],
)
def test_working_hours(spec: str, local: datetime, working: bool) -> None:
    assert parse_working_hours(spec).is_working(local.replace(tzinfo=SHANGHAI)) is working


@pytest.mark.parametrize(
    ("spec", "zone", "message"),
    [
        ("Mon-Fri 19:00-08:00", "Asia/Shanghai", "must end after it starts"),
        ("Fri-Mon 08:00-19:00", "Asia/Shanghai", "runs backwards"),
        ("Mon-Fry 08:00-19:00", "Asia/Shanghai", "unknown day"),
        ("weekdays", "Asia/Shanghai", "expected e.g."),
        ("Mon-Fri 08:00-25:00", "Asia/Shanghai", "not a time of day"),
        ("Mon-Fri 08:00-19:00", "Asia/Beijing", "unknown time zone"),
    ],
)
def test_bad_working_hours_are_refused(spec: str, zone: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_working_hours(spec, zone)


# --- the readable export ------------------------------------------------------------------------


def test_csv_has_a_bom_a_header_and_one_row_per_finding() -> None:
    log = Log()
    clean_stream(log)
    for plant in PLANTS.values():
        plant(log)
    report = run(log)
    data = review_csv(report, SHANGHAI)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 1 + len(report.findings)
    assert [r[1] for r in rows[1:]] == [str(f.rule) for f in report.findings]
    assert rows[1][4] == "2024-05-15 11:00:00"  # the self look-up, in local time


def test_csv_lists_what_was_not_checked_after_the_findings() -> None:
    log = Log()
    log.query("bob", WEDNESDAY_10, subject(1))
    rows = list(csv.reader(io.StringIO(review_csv(run(log), SHANGHAI).decode("utf-8-sig"))))
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [("未检查 not checked", "self_lookup", "bob")]


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@a", "'@a"),
     ("在申请 1 下", "在申请 1 下"), ("bob", "bob")],
)  # fmt: skip
def test_csv_cells_cannot_start_a_formula(value: str, cell: str) -> None:
    assert safe_cell(value) == cell
