"""What a review takes and gives back, as plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from query_logs.review.hours import (
    DEFAULT_TIMEZONE,
    DEFAULT_WORKING_HOURS,
    WorkingHours,
    parse_working_hours,
)
from query_logs.review.rules import Rule, RuleBook, RuleId, Severity, rule_book


def _default_hours() -> WorkingHours:
    return parse_working_hours(DEFAULT_WORKING_HOURS, DEFAULT_TIMEZONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewContext:
    """What the log alone cannot say, supplied by the caller.

    ``own_tags``: username -> pseudonym (or its tag) of the user's own ID number, computed with
    the key the gate uses. ``household_tags``: username -> pseudonyms or tags of the members of
    the user's own household; ``None`` when household membership could not be looked up at all
    (``household_note`` says why), and a user missing from the mapping was not checked.
    """

    own_tags: Mapping[str, str] = field(default_factory=dict)
    household_tags: Mapping[str, frozenset[str]] | None = None
    household_note: str | None = None
    working_hours: WorkingHours = field(default_factory=_default_hours)
    rules: RuleBook = field(default_factory=rule_book)


@dataclass(frozen=True, slots=True)
class Finding:
    """One flag for the auditors: which rule, whose entries, and a summary in Chinese."""

    rule: RuleId
    severity: Severity
    actor: str
    entry_seqs: tuple[int, ...]
    summary: str
    first_ts: datetime
    last_ts: datetime
    application_ids: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()  # pseudonyms, for the self and household look-ups only


@dataclass(frozen=True, slots=True)
class Gap:
    """Something a rule could not check: a clean result does not cover these users."""

    rule: RuleId
    actors: tuple[str, ...]
    reason_zh: str
    reason_en: str


@dataclass(frozen=True, slots=True)
class UserTimeline:
    """One user's activity in the reviewed entries, summarised."""

    actor: str
    roles: str | None  # as logged on the user's latest entry
    entries: int
    by_kind: Mapping[str, int]
    by_outcome: Mapping[str, int]
    first_ts: datetime
    last_ts: datetime
    applications: tuple[str, ...]
    cases: tuple[str, ...]
    governed_queries: int
    distinct_subjects: int
    after_hours_queries: int
    findings_by_rule: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ReviewReport:
    """The result of ``review``: findings, most severe first, per-user timelines and gaps."""

    generated_at: datetime
    actor: str | None
    entries_reviewed: int
    first_seq: int | None
    last_seq: int | None
    working_hours: str
    rules: tuple[Rule, ...]
    findings: tuple[Finding, ...]
    timelines: tuple[UserTimeline, ...]
    gaps: tuple[Gap, ...]

    def rules_by_seq(self) -> dict[int, list[RuleId]]:
        """For each flagged entry, the rules that flagged it."""
        flags: dict[int, list[RuleId]] = {}
        for finding in self.findings:
            for seq in finding.entry_seqs:
                if finding.rule not in flags.setdefault(seq, []):
                    flags[seq].append(finding.rule)
        return flags
