"""Accounts, roles and jurisdictions (三员分立): what the admin JSON routes
(search_api.routers.admin) and the administration page (search_api.web.pages.admin) do, in one
place, so both write the same entries.

The system administrator (manage_accounts) creates accounts without roles, disables, enables and
unlocks them and resets passwords; the security administrator (assign_roles) gives data roles and
sets jurisdictions. Both may list accounts. The rules are query_logs' (``check_may_administer``,
``check_may_set_roles``, the store's constraints); the desk (``search_api.desk``) writes the
log. Cross-tier grants are in ``search_api.routers.grants``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
from search_api.desk import Action, Desk, StrictBody
from search_api.models.accounts import UserResponse


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


def list_accounts(desk: Desk) -> list[UserResponse]:
    users = [UserResponse.of(u) for u in list_users(desk.db)]
    desk.read(Action.LIST_USERS, {"accounts": len(users)})
    return users


def create_account(desk: Desk, body: NewUserRequest) -> UserResponse:
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


STATUS_CHANGES: dict[Action, tuple[Callable[[Engine, str], User], str, Callable[[User], bool]]] = {
    Action.DISABLE: (disable_user, "disabled", _is_disabled),
    Action.ENABLE: (enable_user, "disabled", _is_disabled),
    Action.UNLOCK: (unlock_user, "locked", _is_locked),
}


def change_status(desk: Desk, username: str, action: Action) -> UserResponse:
    """Disable, enable or unlock an account (``STATUS_CHANGES``)."""
    apply, field, status = STATUS_CHANGES[action]
    return _status_change(desk, username, action, apply, field, status)


def reset_password(desk: Desk, username: str, body: PasswordRequest) -> UserResponse:
    # The entries say that the password was reset, never what to: "password" keys are refused.
    what = {"change": "password_reset"}
    secret = body.password.get_secret_value()
    before, after = desk.change_account(
        username, Action.RESET_PASSWORD, what, lambda name: set_password(desk.db, name, secret)
    )
    changed = what | {"lockout_cleared": _is_locked(before), "tokens_voided": True}
    desk.done(AuditKind.USER_CHANGE, Action.RESET_PASSWORD, after.username, changed)
    return UserResponse.of(after)


def set_account_roles(desk: Desk, username: str, body: RolesRequest) -> UserResponse:
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


def set_account_jurisdiction(desk: Desk, username: str, body: JurisdictionRequest) -> UserResponse:
    action, asked = Action.SET_JURISDICTION, {"jurisdiction": body.jurisdiction}
    before, after = desk.change_account(
        username, action, asked, lambda name: set_jurisdiction(desk.db, name, body.jurisdiction)
    )
    codes = {"jurisdiction": {"before": before.jurisdiction, "after": after.jurisdiction}}
    desk.done(AuditKind.USER_CHANGE, action, after.username, {"tokens_voided": True}, codes)
    return UserResponse.of(after)
