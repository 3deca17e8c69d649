"""Query helpers for the auditors' review: filtered entries in log order, streamed.

Reading the log is itself an ``audit_read`` entry; the review routes append it before calling these.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from query_logs.audit.entries import AuditEntry, AuditKind, AuditOutcome, format_ts
from query_logs.audit.log import AuditLogUnavailableError
from query_logs.audit.schema import audit_entry

MAX_LIMIT = 10_000  # one page of a review; page on with after_seq / before_seq


def iter_entries(
    engine: Engine,
    *,
    actor: str | None = None,
    kind: AuditKind | None = None,
    case_id: str | None = None,
    application_id: str | None = None,
    outcome: AuditOutcome | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    before_seq: int | None = None,
    newest_first: bool = False,
    limit: int = 1000,
) -> Iterator[AuditEntry]:
    """Entries matching every given filter, in seq order (or newest first), at most ``limit``.

    ``since`` is inclusive and ``until`` exclusive (timezone-aware datetimes). Consume or close
    the iterator: it holds a database connection until then.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    c = audit_entry.c
    query = select(audit_entry)
    equal = [
        (c.actor, actor),
        (c.kind, kind),
        (c.case_id, case_id),
        (c.application_id, application_id),
        (c.outcome, outcome),
    ]
    for column, value in equal:
        if value is not None:
            query = query.where(column == str(value))
    if since is not None:
        query = query.where(c.ts >= format_ts(since))
    if until is not None:
        query = query.where(c.ts < format_ts(until))
    if after_seq is not None:
        query = query.where(c.seq > after_seq)
    if before_seq is not None:
        query = query.where(c.seq < before_seq)
    query = query.order_by(c.seq.desc() if newest_first else c.seq).limit(limit)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=500).execute(query).mappings()
            for row in result:
                yield AuditEntry.from_row(row)
    except SQLAlchemyError as exc:
        raise AuditLogUnavailableError() from exc
