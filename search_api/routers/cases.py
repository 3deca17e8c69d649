"""Cases (案件): open one, list and read one's own, add and remove members. No registry data here.

Only accounts that file applications (the apply permission) use these routes; the rules (the
owner changes the members, only the owner and members see a case or file under it) are
``query_logs.cases``'. Every change is written ahead by the desk (``admin_action`` intent, then a
``case_change``), every read is logged, every refusal is a denial.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from accounts.users import User, get_user
from common.db import RowId
from query_logs.audit import AuditKind
from query_logs.cases import (
    MAX_CASE_NO_CHARS,
    MAX_TITLE_CHARS,
    Case,
    add_case_member,
    get_case,
    remove_case_member,
    require_case_access,
)
from search_api.access import Access, access
from search_api.applicant_desk import list_cases as list_cases_at
from search_api.applicant_desk import open_case as open_case_at
from search_api.desk import Action, ApplicantDesk, Desk, StrictBody
from search_api.models.cases import CaseResponse

router = APIRouter(tags=["cases"])
AUTH = access(Access.AUTH)
MAX_USERNAME_CHARS = 64
Username = Annotated[str, Path(min_length=1, max_length=MAX_USERNAME_CHARS)]


class CaseRequest(StrictBody):
    case_no: str = Field(min_length=1, max_length=MAX_CASE_NO_CHARS)
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)


class MemberRequest(StrictBody):
    username: str = Field(min_length=1, max_length=MAX_USERNAME_CHARS)


def _members(case: Case) -> list[str]:
    return [m.username for m in case.members]


@router.post("/cases", response_model=CaseResponse, status_code=201, openapi_extra=AUTH)
def open_case(body: CaseRequest, desk: ApplicantDesk) -> CaseResponse:
    return CaseResponse.of(open_case_at(desk, body.case_no, body.title))


@router.get("/cases", response_model=list[CaseResponse], openapi_extra=AUTH)
def list_cases(desk: ApplicantDesk) -> list[CaseResponse]:
    """The cases the caller owns or is a member of."""
    return [CaseResponse.of(case) for case in list_cases_at(desk)]


def _case_of_member(desk: Desk, case_id: int, action: Action) -> Case:
    """The case, if the caller owns it or is a member (a logged 404 or 403 otherwise)."""
    with desk.refusals(action, f"case {case_id}"):
        case = get_case(desk.db, case_id)
        require_case_access(case, desk.actor)
    return case


@router.get("/cases/{case_id}", response_model=CaseResponse, openapi_extra=AUTH)
def read_case(case_id: RowId, desk: ApplicantDesk) -> CaseResponse:
    case = _case_of_member(desk, case_id, Action.READ_CASE)
    desk.read(Action.READ_CASE, {"case": case.id}, case.case_no, case_id=case.case_no)
    return CaseResponse.of(case)


def _change_members(
    desk: Desk,
    case_id: int,
    username: str,
    action: Action,
    apply: Callable[[Case, User], Case],
) -> CaseResponse:
    """Add or remove a member: the caller sees the case and the account exists (logged 403/404),
    the intent is written, then ``apply`` (owner only, who may join; refusals are denials)."""
    case = _case_of_member(desk, case_id, action)
    with desk.refusals(action, case.case_no):
        member = get_user(desk.db, username)
    with desk.change(action, case.case_no, {"member": member.username}, case_id=case.case_no):
        after = apply(case, member)
    changed = {"members": {"before": _members(case), "after": _members(after)}}
    desk.done(AuditKind.CASE_CHANGE, action, case.case_no, changed, case_id=case.case_no)
    return CaseResponse.of(after)


@router.post("/cases/{case_id}/members", response_model=CaseResponse, openapi_extra=AUTH)
def add_member(case_id: RowId, body: MemberRequest, desk: ApplicantDesk) -> CaseResponse:
    """The owner adds an account that files applications."""

    def apply(case: Case, member: User) -> Case:
        return add_case_member(desk.db, desk.actor, case.id, member, datetime.now(UTC))

    return _change_members(desk, case_id, body.username, Action.ADD_CASE_MEMBER, apply)


@router.delete(
    "/cases/{case_id}/members/{username}", response_model=CaseResponse, openapi_extra=AUTH
)
def remove_member(case_id: RowId, username: Username, desk: ApplicantDesk) -> CaseResponse:
    """The owner removes a member; applications they filed stay as they are."""

    def apply(case: Case, member: User) -> Case:
        return remove_case_member(desk.db, desk.actor, case.id, member)

    return _change_members(desk, case_id, username, Action.REMOVE_CASE_MEMBER, apply)
