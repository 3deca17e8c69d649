"""日志审查: the security auditor's pages over the query log. The same functions as the JSON
routes (search_api.log_review: ``GET /audit/entries``, ``/audit/verify``, ``/audit/review``,
``/audit/review.csv``, ``/audit/users/{username}/timeline``), so every read is admitted and
logged (``audit_read``) exactly as the API logs it, a refused reader as a denial.

- ``GET /ui/audit`` entries, filtered by user, date range (Beijing dates, both inclusive),
  kind and outcome, newest first, one page at a time (``before`` = the oldest seq shown).
- ``GET /ui/audit/chain`` (htmx fragment, loaded by the entries page): the chain verification.
- ``GET /ui/audit/review`` the review report, flags coloured by severity; its CSV export at
  ``GET /ui/audit/review.csv``; ``GET /ui/audit/users/{username}`` one user's timeline.

Everything here is presentation: a form's dates become the API's aware times, its empty
fields mean "not given", a value outside a closed set is refused as the API refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from common.db import RowId
from query_logs.audit import AuditKind, AuditOutcome
from query_logs.review import rule_book
from search_api import log_review
from search_api.access import Access, access
from search_api.deps import Audit, RecorderDep
from search_api.log_review import EntryFilters
from search_api.models.audit import EntryResponse
from search_api.web.desks import PageReviewer
from search_api.web.forms import blank_to_none, invalid_form
from search_api.web.sessions import PageChoice, PageSession
from search_api.web.templating import SHOWN_ZONE, is_fragment_request, render

router = APIRouter(include_in_schema=False)
AUDIT = access(Access.AUDIT)
ENTRIES_PATH = "/ui/audit"
PAGE_SIZE = 50
TIMELINE_EVENTS = 500
DETAIL_CHARS = 160  # of an entry's params/detail shown in its row; the rest in its title
PUBLIC_KEY = "audit_public_key"  # app.state (search_api.app)
E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], raw: str | None, field: str) -> E | None:
    value = blank_to_none(raw)
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(f"'{m}'" for m in enum)
        raise invalid_form(None, field=field, message=f"Input should be {allowed}") from None


def _day(raw: str | None, field: str) -> date | None:
    value = blank_to_none(raw)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_form(None, field=field, message="a date such as 2026-05-01") from None


def period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """The form's dates (Beijing, both inclusive) as the API's period: aware times, ``until``
    exclusive (the start of the day after)."""
    zone = ZoneInfo(SHOWN_ZONE)
    first, last = _day(since, "since"), _day(until, "until")
    start = None if first is None else datetime.combine(first, time(), zone)
    end = None if last is None else datetime.combine(last + timedelta(days=1), time(), zone)
    return start, end


@dataclass(frozen=True, slots=True)
class EntryView:
    entry: EntryResponse
    shown_ts: str
    detail: str
    detail_full: str


def _shown_ts(ts: str) -> str:
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return moment.astimezone(ZoneInfo(SHOWN_ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def entry_view(entry: EntryResponse) -> EntryView:
    full = " ".join(p for p in (entry.params, entry.detail) if p)
    short = full if len(full) <= DETAIL_CHARS else full[:DETAIL_CHARS] + "…"
    return EntryView(entry, _shown_ts(entry.ts), short, full)


def _form(request: Request, *names: str) -> dict[str, str]:
    return {n: request.query_params.get(n, "") for n in names}


@router.get(ENTRIES_PATH, openapi_extra=AUDIT)
def entries_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    recorder: RecorderDep,
    audit: Audit,
    actor: str | None = Query(default=None, max_length=64),
    kind: str | None = Query(default=None, max_length=32),
    outcome: str | None = Query(default=None, max_length=16),
    since: str | None = Query(default=None, max_length=10),
    until: str | None = Query(default=None, max_length=10),
    before: RowId | None = None,
) -> HTMLResponse:
    start, end = period(since, until)
    filters = EntryFilters(
        actor=blank_to_none(actor), kind=_choice(AuditKind, kind, "kind"),
        outcome=_choice(AuditOutcome, outcome, "outcome"), since=start, until=end,
        before_seq=before, limit=PAGE_SIZE,
    )  # fmt: skip
    found = log_review.read_entries(recorder, session.user, audit, filters)
    form = _form(request, "actor", "kind", "outcome", "since", "until")
    kept = {k: v for k, v in form.items() if v}
    older = (
        f"{ENTRIES_PATH}?{urlencode(kept | {'before': found[-1].seq})}"
        if len(found) == PAGE_SIZE else None
    )  # fmt: skip
    newest = f"{ENTRIES_PATH}?{urlencode(kept)}" if before is not None else None
    context = {"entries": [entry_view(e) for e in found], "form": form, "older": older,
               "newest": newest}  # fmt: skip
    return render(request, "audit/entries.html", context, session=session, choice=choice)


@router.get(ENTRIES_PATH + "/chain", openapi_extra=AUDIT)
def chain(
    request: Request, session: PageSession, choice: PageChoice, recorder: RecorderDep, audit: Audit
) -> HTMLResponse:
    public_key = getattr(request.app.state, PUBLIC_KEY, None)
    status = log_review.verify_chain(recorder, session.user, audit, public_key)
    template = "audit/_chain.html" if is_fragment_request(request) else "audit/chain.html"
    return render(request, template, {"chain": status}, session=session, choice=choice)


def _severities() -> dict[str, str]:
    return {str(rule_id): str(rule.severity) for rule_id, rule in rule_book().rules.items()}


def _rule_names() -> dict[str, str]:
    return {str(rule_id): rule.description_zh for rule_id, rule in rule_book().rules.items()}


def _period_query(request: Request) -> str:
    kept = {k: v for k, v in _form(request, "since", "until", "actor").items() if v}
    return urlencode(kept)


@router.get(ENTRIES_PATH + "/review", openapi_extra=AUDIT)
def review_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    reviewer: PageReviewer,
    actor: str | None = Query(default=None, max_length=64),
    since: str | None = Query(default=None, max_length=10),
    until: str | None = Query(default=None, max_length=10),
) -> HTMLResponse:
    start, end = period(since, until)
    report = log_review.review_report(reviewer, start, end, blank_to_none(actor))
    query = _period_query(request)
    context: dict[str, Any] = {
        "report": report,
        "form": _form(request, "actor", "since", "until"),
        "export": f"{ENTRIES_PATH}/review.csv" + (f"?{query}" if query else ""),
        "severity_of": _severities(),
        "rule_names": _rule_names(),
    }
    return render(request, "audit/review.html", context, session=session, choice=choice)


@router.get(ENTRIES_PATH + "/review.csv", openapi_extra=AUDIT)
def review_csv(
    session: PageSession,
    reviewer: PageReviewer,
    actor: str | None = Query(default=None, max_length=64),
    since: str | None = Query(default=None, max_length=10),
    until: str | None = Query(default=None, max_length=10),
) -> Response:
    del session  # the reviewer is the session's account; declared for the route inventory
    start, end = period(since, until)
    export = log_review.review_export(reviewer, start, end, blank_to_none(actor))
    return Response(
        content=export.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@router.get(ENTRIES_PATH + "/users/{username}", openapi_extra=AUDIT)
def timeline_page(
    request: Request,
    username: str,
    session: PageSession,
    choice: PageChoice,
    reviewer: PageReviewer,
    since: str | None = Query(default=None, max_length=10),
    until: str | None = Query(default=None, max_length=10),
) -> HTMLResponse:
    start, end = period(since, until)
    timeline = log_review.user_timeline(reviewer, username, start, end, TIMELINE_EVENTS)
    context: dict[str, Any] = {
        "timeline": timeline,
        "events": [(e, _shown_ts(e.ts)) for e in reversed(timeline.events)],
        "form": _form(request, "since", "until"),
        "severity_of": _severities(),
        "rule_names": _rule_names(),
    }
    return render(request, "audit/timeline.html", context, session=session, choice=choice)
