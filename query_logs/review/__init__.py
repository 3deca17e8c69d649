"""Review of the query log for security auditors: anomaly rules as data, evaluated over entries.

Pure functions over ``AuditEntry`` streams; no HTTP and no search engine. What the log cannot
say (a user's own ID number, their household) comes in a ``ReviewContext`` as pseudonym tags
computed by the caller with the gate's key, so this package never holds an identity number.
"""

from query_logs.review.events import normalise_purpose, subjects_in, tag_of
from query_logs.review.export import CSV_HEADER, review_csv, safe_cell
from query_logs.review.hours import (
    DEFAULT_TIMEZONE,
    DEFAULT_WORKING_HOURS,
    WorkingHours,
    parse_working_hours,
)
from query_logs.review.model import Finding, Gap, ReviewContext, ReviewReport, UserTimeline
from query_logs.review.report import review
from query_logs.review.rules import (
    RULE_TABLE,
    Rule,
    RuleBook,
    RuleId,
    RuleTableError,
    Severity,
    load_rule_book,
    rule_book,
)

__all__ = [
    "CSV_HEADER",
    "DEFAULT_TIMEZONE",
    "DEFAULT_WORKING_HOURS",
    "RULE_TABLE",
    "Finding",
    "Gap",
    "ReviewContext",
    "ReviewReport",
    "Rule",
    "RuleBook",
    "RuleId",
    "RuleTableError",
    "Severity",
    "UserTimeline",
    "WorkingHours",
    "load_rule_book",
    "normalise_purpose",
    "parse_working_hours",
    "review",
    "review_csv",
    "rule_book",
    "safe_cell",
    "subjects_in",
    "tag_of",
]
