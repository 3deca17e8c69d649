"""我的案件: the investigator's cases and applications (with their state), a form to open a
case and one to file a 查询申请. No registry data here (access: auth).

The same desk and functions as ``POST /cases``, ``GET /cases`` and ``POST /applications``
(search_api.applicant_desk), so the page writes the same entries: the list is a logged read, a
change is written ahead, a refusal is a denial. The form's fields become the API's own
``ApplicationRequest``: an invalid form gets the API's messages (a logged 422), never a trace.
Subjects picked on an entity card arrive as handles (``?subject=h…``) and stay handles until
the desk resolves them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from accounts.roles import Permission
from query_logs.applications import Category, SubjectKind, applications_of
from query_logs.cases import MAX_CASE_NO_CHARS, MAX_TITLE_CHARS
from search_api.access import Access, access
from search_api.applicant_desk import file_under_case, list_cases, open_case
from search_api.deps import Database, HandlesDep, RecorderDep
from search_api.desk import Desk, desk_for
from search_api.handles import looks_like_handle
from search_api.models.applications import ApplicationRequest, ApplicationResponse
from search_api.web.sessions import CheckedSession, PageChoice, PageSession
from search_api.web.templating import is_fragment_request, render

router = APIRouter(include_in_schema=False)
AUTH = access(Access.AUTH)
CASES_PATH = "/ui/cases"
SUBJECT_ROWS = 3  # empty subject rows offered besides the ones picked on entity cards
MAX_PICKED = 20
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_apply_desk = desk_for(Permission.APPLY)


def applicant_desk(request: Request, session: PageSession, db: Database,
                   recorder: RecorderDep) -> Desk:  # fmt: skip
    """The API's applicant desk for the session's account (a logged 403 without APPLY)."""
    return _apply_desk(request, session.user, db, recorder)


def split_regions(text: str) -> list[str]:
    """Region codes typed in one field, separated by spaces, commas or 、."""
    return [part for part in _SEPARATORS.split(text) if part]


def subject_rows(kinds: list[str], values: list[str]) -> list[dict[str, str]]:
    """The form's subject rows as the API's subjects; empty rows are dropped."""
    rows = zip(kinds, values, strict=False)
    return [{"kind": kind, "value": value.strip()} for kind, value in rows if value.strip()]


def _back(request: Request) -> Response:
    """After a change: the page again (htmx: a client-side redirect)."""
    if is_fragment_request(request):
        return Response(status_code=200, headers={"HX-Redirect": CASES_PATH})
    return RedirectResponse(CASES_PATH, status_code=303)


@router.get(CASES_PATH, openapi_extra=AUTH)
def cases_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    db: Database,
    recorder: RecorderDep,
    subject: Annotated[list[str] | None, Query(max_length=MAX_PICKED)] = None,
) -> HTMLResponse:
    desk = applicant_desk(request, session, db, recorder)
    cases = list_cases(desk)
    now = datetime.now(UTC)
    filed = [ApplicationResponse.of(a, now) for a in applications_of(db, session.user.id)]
    picked = [h.strip() for h in subject or [] if looks_like_handle(h)]
    context = {
        "cases": cases,
        "applications": filed,
        "picked": picked,
        "empty_rows": SUBJECT_ROWS,
        "categories": [str(c) for c in Category],
        "subject_kinds": [str(k) for k in SubjectKind if k is not SubjectKind.HANDLE],
        "jurisdiction": session.user.jurisdiction,
    }
    return render(request, "cases/page.html", context, session=session, choice=choice)


@router.post(CASES_PATH, openapi_extra=AUTH)
def open_case_form(
    request: Request,
    session: CheckedSession,
    db: Database,
    recorder: RecorderDep,
    case_no: Annotated[str, Form(min_length=1, max_length=MAX_CASE_NO_CHARS)],
    title: Annotated[str, Form(min_length=1, max_length=MAX_TITLE_CHARS)],
) -> Response:
    open_case(applicant_desk(request, session, db, recorder), case_no, title)
    return _back(request)


@router.post("/ui/applications", openapi_extra=AUTH)
def file_form(
    request: Request,
    session: CheckedSession,
    db: Database,
    recorder: RecorderDep,
    handles: HandlesDep,
    case_id: Annotated[str, Form(max_length=20)] = "",
    purpose: Annotated[str, Form(max_length=2000)] = "",
    category: Annotated[str, Form(max_length=20)] = "",
    sources: Annotated[list[str] | None, Form(max_length=20)] = None,
    regions: Annotated[str, Form(max_length=1000)] = "",
    subject_kind: Annotated[list[str] | None, Form(max_length=60)] = None,
    subject_value: Annotated[list[str] | None, Form(max_length=60)] = None,
    unmask: Annotated[bool, Form()] = False,
    export: Annotated[bool, Form()] = False,
    valid_days: Annotated[str, Form(max_length=6)] = "30",
) -> Response:
    desk = applicant_desk(request, session, db, recorder)
    fields = {
        "case_id": case_id,
        "purpose": purpose,
        "category": category,
        "sources": sources or [],
        "regions": split_regions(regions),
        "subjects": subject_rows(subject_kind or [], subject_value or []),
        "unmask": unmask,
        "export": export,
        "valid_days": valid_days,
    }
    try:
        body = ApplicationRequest.model_validate(fields)
    except ValidationError as exc:  # the API's own 422: logged, its messages shown
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    file_under_case(desk, body, handles)
    return _back(request)
