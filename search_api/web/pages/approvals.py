"""待审批: the approver's queue of pending query applications and the leader's pending cross-tier
grants, each decided with a note. The same desk functions as the JSON routes
(search_api.approvals: ``POST /applications/{id}/decision``, ``POST /grants/{id}/approve|reject``,
``GET /approvals/applications|grants``), so the page writes the same entries: the read of the
queue, the intent before the change, the decision or the denial.

- ``GET /ui/approvals`` (auth, approve permission): both queues; subjects masked as the API
  masks them (``ApplicationResponse``).
- ``POST /ui/approvals/applications/{id}`` (form: ``approve``, ``note``) and
  ``POST /ui/approvals/grants/{id}`` (form: ``decision``): decide, then back to the queue
  with a message (a refusal is the API's message on the refusal page).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from accounts.users import get_user_by_id
from common.db import RowId
from search_api import approvals
from search_api.access import Access, access
from search_api.approvals import DecisionRequest
from search_api.desk import Action
from search_api.web.desks import ApproverForm, PageApproverDesk
from search_api.web.forms import invalid_form
from search_api.web.labels import APPROVALS_TEXT
from search_api.web.sessions import PageChoice, PageSession
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
QUEUE = "/ui/approvals"
AUTH = access(Access.AUTH)
GRANT_DECISIONS = {"approve": Action.APPROVE_GRANT, "reject": Action.REJECT_GRANT}


def done_message(done: str | None) -> str | None:
    """The message after a decision (``state:id`` in the address the form redirected to)."""
    if not done:
        return None
    key, _, number = done.partition(":")
    template = APPROVALS_TEXT.get(key)
    return template.format(id=number) if template and number.isdigit() else None


@router.get(QUEUE, openapi_extra=AUTH)
def queue(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    desk: PageApproverDesk,
    done: str | None = None,
) -> HTMLResponse:
    pending = approvals.pending_applications(desk)
    grants = approvals.pending_grants(desk)
    applicants = {a.applicant_id: get_user_by_id(desk.db, a.applicant_id) for a in pending}
    names = {i: u.display_name or u.username for i, u in applicants.items()}
    context = {"applications": pending, "grants": grants, "applicants": names,
               "done": done_message(done)}  # fmt: skip
    return render(request, "approvals/page.html", context, session=session, choice=choice)


@router.post(QUEUE + "/applications/{application_id}", openapi_extra=AUTH)
def decide_application(
    application_id: RowId,
    desk: ApproverForm,
    approve: Annotated[str, Form(max_length=8)],
    note: Annotated[str, Form(max_length=approvals.MAX_NOTE_CHARS)] = "",
) -> RedirectResponse:
    try:
        body = DecisionRequest.model_validate({"approve": approve, "note": note})
    except ValidationError as exc:
        raise invalid_form(exc) from None
    decided = approvals.decide(desk, application_id, body)
    return RedirectResponse(f"{QUEUE}?done={decided.state}:{decided.id}", status_code=303)


@router.post(QUEUE + "/grants/{grant_id}", openapi_extra=AUTH)
def decide_grant(
    grant_id: RowId, desk: ApproverForm, decision: Annotated[str, Form(max_length=8)]
) -> RedirectResponse:
    action = GRANT_DECISIONS.get(decision)
    if action is None:
        raise invalid_form(None, field="decision", message="must be approve or reject")
    decided = approvals.decide_grant(desk, grant_id, action)
    return RedirectResponse(f"{QUEUE}?done=grant_{decided.state}:{decided.id}", status_code=303)
