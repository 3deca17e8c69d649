"""The anomaly rules as data: one validated table, with a Chinese description for the auditors.

Each row names a rule, its severity, what it means (中文 and English) and its thresholds. The
loader checks every row against the thresholds the rule's detector reads, so a typo in a key or
a zero window fails at load time with a message naming the entry, not silently at review time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final


class RuleId(StrEnum):
    """The closed set of review rules; the value appears in reports and exports."""

    SELF_LOOKUP = "self_lookup"
    HOUSEHOLD_LOOKUP = "household_lookup"
    AFTER_HOURS_BURST = "after_hours_burst"
    MANY_SUBJECTS = "many_subjects"
    REPEATED_DENIALS = "repeated_denials"
    VAGUE_PURPOSE = "vague_purpose"
    COPIED_PURPOSE = "copied_purpose"
    EXPORT = "export"


class Severity(StrEnum):
    """How urgently an auditor should look; reports list the most severe findings first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_RANK: Final[Mapping[Severity, int]] = {s: rank for rank, s in enumerate(Severity)}

Threshold = int | tuple[str, ...]

# Words that say nothing about what is sought or why; a purpose made only of these is vague.
GENERIC_PURPOSE_WORDS: Final[tuple[str, ...]] = (
    "查询", "了解情况", "了解", "情况", "核查", "核实", "调查", "核对", "查看", "检查",
    "相关", "有关", "人员", "信息", "资料", "工作需要", "办案需要", "工作", "需要", "按规定",
    "依法", "依规", "进行", "开展", "问题", "线索", "一下", "等",
)  # fmt: skip

# rule id, severity, 说明 (shown to the auditors), description, thresholds
RULE_TABLE: Final[tuple[tuple[str, str, str, str, Mapping[str, Threshold]], ...]] = (
    ("self_lookup", "high", "查询了本人的公民身份号码",
     "a governed query for the user's own ID number", {}),
    ("household_lookup", "high", "查询了本人同户（户号相同）的成员",
     "a governed query for a member of the user's own household (same 户号)", {}),
    # 5 queries in 30 minutes at night is a working session, not a stray look-up.
    ("after_hours_burst", "medium", "工作时间外短时间内集中查询",
     "a burst of governed queries outside working hours",
     {"min_queries": 5, "window_minutes": 30}),
    # A case rarely names more than a dozen persons; 20 in an hour looks like browsing.
    ("many_subjects", "medium", "短时间内查询大量不同对象",
     "many distinct subjects queried in a short time",
     {"min_subjects": 20, "window_minutes": 60}),
    # Three refusals in an hour: probing for what the gate lets through.
    ("repeated_denials", "medium", "短时间内多次被拒绝",
     "repeated denials for one user", {"min_denials": 3, "window_minutes": 60}),
    # The filing minimum is 15 characters; after the generic words, 6 must say something.
    ("vague_purpose", "low", "查询事由过短或只有笼统用语",
     "a purpose that is too short or made only of generic words",
     {"min_chars": 15, "min_specific_chars": 6, "generic_words": GENERIC_PURPOSE_WORDS}),
    ("copied_purpose", "low", "同一查询事由用于不同案件或多个申请",
     "the same purpose text across different cases or many applications",
     {"min_cases": 2, "min_applications": 3}),
    ("export", "low", "导出数据，每次导出均需复核", "every export is flagged for review", {}),
)  # fmt: skip

# What each rule's detector reads: the threshold names and their types.
THRESHOLD_SCHEMA: Final[Mapping[RuleId, Mapping[str, type]]] = {
    RuleId.SELF_LOOKUP: {},
    RuleId.HOUSEHOLD_LOOKUP: {},
    RuleId.AFTER_HOURS_BURST: {"min_queries": int, "window_minutes": int},
    RuleId.MANY_SUBJECTS: {"min_subjects": int, "window_minutes": int},
    RuleId.REPEATED_DENIALS: {"min_denials": int, "window_minutes": int},
    RuleId.VAGUE_PURPOSE: {"min_chars": int, "min_specific_chars": int, "generic_words": tuple},
    RuleId.COPIED_PURPOSE: {"min_cases": int, "min_applications": int},
    RuleId.EXPORT: {},
}


class RuleTableError(ValueError):
    """The rule table is malformed; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated row of the table."""

    id: RuleId
    severity: Severity
    description_zh: str
    description_en: str
    thresholds: Mapping[str, Threshold]

    def number(self, name: str) -> int:
        """An integer threshold (validated at load time)."""
        value = self.thresholds[name]
        if not isinstance(value, int):
            raise TypeError(f"threshold {name!r} of {self.id} is not a number")
        return value

    def words(self, name: str) -> tuple[str, ...]:
        """A word-list threshold (validated at load time)."""
        value = self.thresholds[name]
        if not isinstance(value, tuple):
            raise TypeError(f"threshold {name!r} of {self.id} is not a word list")
        return value


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Every rule, by id, in table order."""

    rules: Mapping[RuleId, Rule]

    def __getitem__(self, rule: RuleId) -> Rule:
        return self.rules[rule]


def _check_threshold(where: str, name: str, value: object, expected: type) -> Threshold:
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RuleTableError(f"{where}: threshold {name!r} must be a positive integer")
        return value
    if not isinstance(value, tuple) or not value:
        raise RuleTableError(f"{where}: threshold {name!r} must be a non-empty tuple of words")
    if not all(isinstance(word, str) and word.strip() for word in value):
        raise RuleTableError(f"{where}: threshold {name!r} holds an empty or non-text word")
    return tuple(value)


def load_rule_book(
    rows: Iterable[tuple[str, str, str, str, Mapping[str, Threshold]]],
) -> RuleBook:
    """Validate the table; raises ``RuleTableError`` naming the bad entry."""
    rules: dict[RuleId, Rule] = {}
    for name, severity, zh, en, thresholds in rows:
        where = f"rule table entry {name!r}"
        try:
            rule_id = RuleId(name)
        except ValueError:
            raise RuleTableError(f"{where}: unknown rule") from None
        if rule_id in rules:
            raise RuleTableError(f"{where}: listed twice")
        try:
            level = Severity(severity)
        except ValueError:
            raise RuleTableError(f"{where}: unknown severity {severity!r}") from None
        if not zh.strip() or not en.strip():
            raise RuleTableError(f"{where}: both descriptions (中文 and English) are required")
        schema = THRESHOLD_SCHEMA[rule_id]
        if unknown := sorted(set(thresholds) - set(schema)):
            raise RuleTableError(f"{where}: unknown threshold {', '.join(unknown)}")
        if missing := sorted(set(schema) - set(thresholds)):
            raise RuleTableError(f"{where}: missing threshold {', '.join(missing)}")
        checked = {k: _check_threshold(where, k, thresholds[k], schema[k]) for k in schema}
        rules[rule_id] = Rule(rule_id, level, zh.strip(), en.strip(), checked)
    if missing_rules := sorted(set(RuleId) - set(rules)):
        raise RuleTableError(f"rule table: no entry for {', '.join(missing_rules)}")
    return RuleBook(rules)


@cache
def rule_book() -> RuleBook:
    """The rules of ``RULE_TABLE``, validated on first use."""
    return load_rule_book(RULE_TABLE)
