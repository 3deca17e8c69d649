"""Accounts, roles and jurisdictions (三员分立): access class ADMIN.

The system administrator (manage_accounts) creates accounts without roles, disables, enables and
unlocks them and resets passwords; the security administrator (assign_roles) gives data roles and
sets jurisdictions. Both may list accounts. The rules are query_logs' (``check_may_administer``,
``check_may_set_roles``, the store's constraints); this module speaks HTTP, and its desk
(``search_api.desk``) writes the log. Cross-tier grants are in ``search_api.routers.grants``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field, SecretStr
from sqlalchemy import Engine

from accounts.roles import (
    Role,
    check_may_administer,
    check_may_set_roles,
    parse_roles,
)
from accounts.users import (
    User,
    add_user,
    disable_user,
    enable_user,
    list_users,
    set_jurisdiction,
    set_password,
    set_roles,
    unlock_user,
)
from query_logs.audit import AuditKind
from search_api.access import Access, access
from search_api.desk import AccountsDesk, Action, Desk, ReadersDesk, RolesDesk, StrictBody
from search_api.models.accounts import UserResponse

router = APIRouter(tags=["admin"])
ADMIN = access(Access.ADMIN)


class NewUserRequest(StrictBody):
    username: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=64)
    jurisdiction: str = Field(max_length=32)
    password: SecretStr  # the policy (accounts.passwords) says why it is refused, never echoes
    id_number: str | None = None


class PasswordRequest(StrictBody):
    password: SecretStr


class RolesRequest(StrictBody):
    roles: list[str] = Field(max_length=len(Role))


class JurisdictionRequest(StrictBody):
    jurisdiction: str = Field(max_length=32)


@router.get("/admin/users", response_model=list[UserResponse], openapi_extra=ADMIN)
def list_accounts(desk: ReadersDesk) -> list[UserResponse]:
    users = [UserResponse.of(u) for u in list_users(desk.db)]
    desk.read(Action.LIST_USERS, {"accounts": len(users)})
    return users


@router.post("/admin/users", response_model=UserResponse, status_code=201, openapi_extra=ADMIN)
def create_account(body: NewUserRequest, desk: AccountsDesk) -> UserResponse:
    action = Action.CREATE_USER
    asked = body.model_dump(exclude={"password"}) | {"roles": []}
    with desk.refusals(action, body.username):  # the new account is another's, with no role
        check_may_administer(desk.permission, desk.actor.roles, (), on_self=False)
    with desk.change(action, body.username, asked):
        user = add_user(
            desk.db,
            body.username,
            (),
            body.jurisdiction,
            body.password.get_secret_value(),
            display_name=body.display_name,
            id_number=body.id_number,
        )
    created: dict[str, Any] = {"display_name": user.display_name, "id_number": user.id_number}
    created["roles"] = []  # roles are the security administrator's to give
    codes = {"jurisdiction": user.jurisdiction}
    desk.done(AuditKind.USER_CHANGE, action, user.username, {"created": created}, codes)
    return UserResponse.of(user)


def _is_disabled(user: User) -> bool:
    return user.disabled


def _is_locked(user: User) -> bool:
    return user.is_locked(datetime.now(UTC))


def _status_change(
    desk: Desk,
    username: str,
    action: Action,
    apply: Callable[[Engine, str], User],
    field: str,
    status: Callable[[User], bool],
) -> UserResponse:
    """Disable, enable or unlock: the change entry gives the status before and after."""
    before, after = desk.change_account(username, action, {}, lambda name: apply(desk.db, name))
    changed = {field: {"before": status(before), "after": status(after)}}
    desk.done(AuditKind.USER_CHANGE, action, after.username, changed)
    return UserResponse.of(after)


@router.post("/admin/users/{username}/disable", response_model=UserResponse, openapi_extra=ADMIN)
def disable(username: str, desk: AccountsDesk) -> UserResponse:
    return _status_change(desk, username, Action.DISABLE, disable_user, "disabled", _is_disabled)


@router.post("/admin/users/{username}/enable", response_model=UserResponse, openapi_extra=ADMIN)
def enable(username: str, desk: AccountsDesk) -> UserResponse:
    return _status_change(desk, username, Action.ENABLE, enable_user, "disabled", _is_disabled)


@router.post("/admin/users/{username}/unlock", response_model=UserResponse, openapi_extra=ADMIN)
def unlock(username: str, desk: AccountsDesk) -> UserResponse:
    return _status_change(desk, username, Action.UNLOCK, unlock_user, "locked", _is_locked)


@router.post("/admin/users/{username}/password", response_model=UserResponse, openapi_extra=ADMIN)
def reset_password(username: str, body: PasswordRequest, desk: AccountsDesk) -> UserResponse:
    # The entries say that the password was reset, never what to: "password" keys are refused.
    what = {"change": "password_reset"}
    secret = body.password.get_secret_value()
    before, after = desk.change_account(
        username, Action.RESET_PASSWORD, what, lambda name: set_password(desk.db, name, secret)
    )
    changed = what | {"lockout_cleared": _is_locked(before), "tokens_voided": True}
    desk.done(AuditKind.USER_CHANGE, Action.RESET_PASSWORD, after.username, changed)
    return UserResponse.of(after)


@router.put("/admin/users/{username}/roles", response_model=UserResponse, openapi_extra=ADMIN)
def put_roles(username: str, body: RolesRequest, desk: RolesDesk) -> UserResponse:
    action = Action.SET_ROLES
    target = desk.target(username, action)  # self and officer accounts first: 403 before 422
    with desk.refusals(action, target.username):
        roles = parse_roles(body.roles)
        check_may_set_roles(
            desk.actor.roles, target.roles, roles, on_self=target.id == desk.actor.id
        )
    with desk.change(action, target.username, {"roles": sorted(roles)}):
        after = set_roles(desk.db, target.username, roles)
    roles_changed = {"before": sorted(target.roles), "after": sorted(after.roles)}
    desk.done(
        AuditKind.ROLE_CHANGE,
        action,
        after.username,
        {"roles": roles_changed, "tokens_voided": True},
    )
    return UserResponse.of(after)


@router.put(
    "/admin/users/{username}/jurisdiction", response_model=UserResponse, openapi_extra=ADMIN
)
def put_jurisdiction(username: str, body: JurisdictionRequest, desk: RolesDesk) -> UserResponse:
    action, asked = Action.SET_JURISDICTION, {"jurisdiction": body.jurisdiction}
    before, after = desk.change_account(
        username, action, asked, lambda name: set_jurisdiction(desk.db, name, body.jurisdiction)
    )
    codes = {"jurisdiction": {"before": before.jurisdiction, "after": after.jurisdiction}}
    desk.done(AuditKind.USER_CHANGE, action, after.username, {"tokens_voided": True}, codes)
    return UserResponse.of(after)
