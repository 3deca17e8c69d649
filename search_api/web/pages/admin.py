"""账户管理: accounts, roles, jurisdictions and cross-tier grants (三员分立, as the API splits
them: the system administrator manages accounts, the security administrator gives roles, sets
jurisdictions and revokes grants). The same functions as the admin JSON routes
(search_api.administration, search_api.approvals), so every form writes the same entries: the
intent before the change, then the change or the denial.

- ``GET /ui/admin`` (admin): the accounts (IDs masked by ``UserResponse``), and for a holder of
  the grant permission every cross-tier grant; the forms each role may use.
- ``POST /ui/admin/users`` and ``/ui/admin/users/{username}/{status,password,roles,
  jurisdiction}``, ``POST /ui/admin/grants/{id}/revoke``: a form's input goes through the API's
  request model (its message on refusal, never a stack trace), then back to the list.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from accounts.roles import Permission, role_rules
from common.db import RowId
from search_api import administration, approvals
from search_api.access import Access, access
from search_api.administration import (
    JurisdictionRequest,
    NewUserRequest,
    PasswordRequest,
    RolesRequest,
)
from search_api.desk import Action
from search_api.web.desks import AccountsForm, GrantsForm, PageReadersDesk, RolesForm, also_holding
from search_api.web.forms import blank_to_none, invalid_form
from search_api.web.labels import ADMIN_TEXT, APPROVALS_TEXT
from search_api.web.sessions import PageChoice, PageSession
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
ADMIN_PATH = "/ui/admin"
ADMIN = access(Access.ADMIN)
STATUS_ACTIONS = {"disable": Action.DISABLE, "enable": Action.ENABLE, "unlock": Action.UNLOCK}
MAX_FIELD = 256  # a form field's length before the model's own limits (no field is longer)
M = TypeVar("M", bound=BaseModel)


def parse_form(model: type[M], values: dict[str, Any]) -> M:
    """The API's request model of a form's values; its refusal is the API's 422."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise invalid_form(exc) from None


def done_message(done: str | None) -> str | None:
    """The message after a change (``what:target`` in the address the form redirected to)."""
    if not done:
        return None
    key, _, target = done.partition(":")
    if key == "grant_revoked" and target.isdigit():
        return APPROVALS_TEXT["grant_revoked"].format(id=target)
    if key in ("created", "changed") and target:
        return ADMIN_TEXT[key].format(username=target)
    return None


def _back(done: str) -> RedirectResponse:
    return RedirectResponse(f"{ADMIN_PATH}?done={done}", status_code=303)


@router.get(ADMIN_PATH, openapi_extra=ADMIN)
def admin_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    desk: PageReadersDesk,
    done: str | None = None,
) -> HTMLResponse:
    accounts = administration.list_accounts(desk)
    held = role_rules().permissions_of(desk.actor.roles)
    grants_desk = also_holding(desk, Permission.GRANT_CROSS_TIER)
    context = {
        "accounts": accounts,
        "grants": approvals.all_grants(grants_desk) if grants_desk else None,
        "may_manage": Permission.MANAGE_ACCOUNTS in held,
        "may_assign": Permission.ASSIGN_ROLES in held,
        "data_roles": sorted(role_rules().data_roles),
        "done": done_message(done),
    }
    return render(request, "admin/page.html", context, session=session, choice=choice)


@router.post(ADMIN_PATH + "/users", openapi_extra=ADMIN)
def create_account(
    desk: AccountsForm,
    username: Annotated[str, Form(max_length=MAX_FIELD)],
    jurisdiction: Annotated[str, Form(max_length=MAX_FIELD)],
    password: Annotated[str, Form(max_length=MAX_FIELD)],
    display_name: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    id_number: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> RedirectResponse:
    body = parse_form(NewUserRequest, {
        "username": username, "jurisdiction": jurisdiction, "password": password,
        "display_name": blank_to_none(display_name), "id_number": blank_to_none(id_number),
    })  # fmt: skip
    created = administration.create_account(desk, body)
    return _back(f"created:{created.username}")


@router.post(ADMIN_PATH + "/users/{username}/status", openapi_extra=ADMIN)
def change_status(
    username: str, desk: AccountsForm, action: Annotated[str, Form(max_length=16)]
) -> RedirectResponse:
    chosen = STATUS_ACTIONS.get(action)
    if chosen is None:
        raise invalid_form(None, field="action", message="must be disable, enable or unlock")
    changed = administration.change_status(desk, username, chosen)
    return _back(f"changed:{changed.username}")


@router.post(ADMIN_PATH + "/users/{username}/password", openapi_extra=ADMIN)
def reset_password(
    username: str, desk: AccountsForm, password: Annotated[str, Form(max_length=MAX_FIELD)]
) -> RedirectResponse:
    body = parse_form(PasswordRequest, {"password": password})
    changed = administration.reset_password(desk, username, body)
    return _back(f"changed:{changed.username}")


@router.post(ADMIN_PATH + "/users/{username}/roles", openapi_extra=ADMIN)
def set_roles(
    username: str,
    desk: RolesForm,
    roles: Annotated[list[str] | None, Form(max_length=MAX_FIELD)] = None,
) -> RedirectResponse:
    body = parse_form(RolesRequest, {"roles": roles or []})
    changed = administration.set_account_roles(desk, username, body)
    return _back(f"changed:{changed.username}")


@router.post(ADMIN_PATH + "/users/{username}/jurisdiction", openapi_extra=ADMIN)
def set_jurisdiction(
    username: str, desk: RolesForm, jurisdiction: Annotated[str, Form(max_length=MAX_FIELD)]
) -> RedirectResponse:
    body = parse_form(JurisdictionRequest, {"jurisdiction": jurisdiction})
    changed = administration.set_account_jurisdiction(desk, username, body)
    return _back(f"changed:{changed.username}")


@router.post(ADMIN_PATH + "/grants/{grant_id}/revoke", openapi_extra=ADMIN)
def revoke_grant(grant_id: RowId, desk: GrantsForm) -> RedirectResponse:
    revoked = approvals.decide_grant(desk, grant_id, Action.REVOKE_GRANT)
    return _back(f"grant_revoked:{revoked.id}")
