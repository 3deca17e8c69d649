"""Accounts, roles, jurisdictions and cross-tier grants (三员分立), and the approval of grants.

Access class ADMIN: the system administrator (manage_accounts) creates accounts without roles,
disables, enables and unlocks them and resets passwords; the security administrator (assign_roles,
grant_cross_tier) gives data roles, sets jurisdictions and proposes cross-tier grants. Both may list
accounts. The rules are query_logs' (``check_may_administer``, ``check_may_set_roles``, the store's
constraints); this module speaks HTTP and writes the log.

POST /grants/{grant_id}/approve is access class AUTH: a leader (approve, a data role) decides a
grant as they decide an application; it is an authorisation, not administration, and no officer
holds the permission, so the security administrator cannot approve the grant they proposed.

The log: a refusal is a ``denial`` entry, written before the error is raised. A change is
write-ahead: an ``admin_action`` entry (who, route, action, target, what is asked) is committed
before the store changes, so a log that cannot be written stops the change (503); then a
``user_change``, ``role_change`` or ``grant_change`` entry says what changed, or a ``denial`` why
nothing did. Passwords never reach the log; ID and phone numbers pass through
``protect_identifiers``. Region codes read back from the store are validated 行政区划代码 (12 digits
at most, so never an ID number) and are logged as they are: the identifier pattern would mistake a
12-digit code starting with 1 for a phone number and hide the very fact an auditor needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import Engine

from query_logs.audit import AuditEntryIn, AuditKind, AuditLog, AuditLogUnavailableError
from query_logs.audit import AuditOutcome as Outcome
from query_logs.errors import DomainError, PermissionDeniedError
from query_logs.grants import (
    CrossTierGrant,
    approve_cross_tier_grant,
    create_cross_tier_grant,
    get_cross_tier_grant,
)
from query_logs.roles import (
    Permission,
    Role,
    check_may_administer,
    check_may_set_roles,
    parse_roles,
    role_rules,
)
from query_logs.users import (
    User,
    add_user,
    disable_user,
    enable_user,
    get_user,
    get_user_by_id,
    list_users,
    set_jurisdiction,
    set_password,
    set_roles,
    unlock_user,
)
from search_api.access import Access, access
from search_api.deps import (
    Audit,
    CurrentUser,
    Database,
    SettingsDep,
    client_ip,
    deny,
    record,
    route_of,
)
from search_api.masking import mask_id, protect_identifiers

router = APIRouter(tags=["admin"])
ADMIN = access(Access.ADMIN)
AUTH = access(Access.AUTH)


class Action(StrEnum):
    """What an administration request asks for; logged in ``params.action``."""

    CREATE_USER = "create_user"
    LIST_USERS = "list_users"
    DISABLE = "disable"
    ENABLE = "enable"
    UNLOCK = "unlock"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - an action's name, not a password
    SET_ROLES = "set_roles"
    SET_JURISDICTION = "set_jurisdiction"
    CREATE_GRANT = "create_grant"
    APPROVE_GRANT = "approve_grant"


class _Strict(BaseModel):
    # An unknown field is refused, not ignored: {"roles": [...]} on account creation is a 422.
    model_config = ConfigDict(extra="forbid")


class NewUserRequest(_Strict):
    username: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=64)
    jurisdiction: str = Field(max_length=32)
    password: SecretStr  # the policy (query_logs.passwords) says why it is refused, never echoes
    id_number: str | None = None


class PasswordRequest(_Strict):
    password: SecretStr


class RolesRequest(_Strict):
    roles: list[str] = Field(max_length=len(Role))


class JurisdictionRequest(_Strict):
    jurisdiction: str = Field(max_length=32)


class GrantRequest(_Strict):
    username: str = Field(max_length=64)
    regions: list[str] = Field(min_length=1, max_length=50)
    valid_days: int


class UserResponse(BaseModel):
    """An account as administrators see it: no password hash, the ID number masked."""

    username: str
    display_name: str | None
    roles: list[str]
    jurisdiction: str
    id_number: str | None
    disabled: bool
    locked_until: datetime | None  # only while a lockout runs
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserResponse:
        locked = user.is_locked(datetime.now(UTC))
        return cls(
            username=user.username,
            display_name=user.display_name,
            roles=sorted(user.roles),
            jurisdiction=user.jurisdiction,
            id_number=None if user.id_number is None else mask_id(user.id_number),
            disabled=user.disabled,
            locked_until=user.locked_until if locked else None,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class GrantResponse(BaseModel):
    id: int
    grantee: str
    regions: list[str]
    state: str
    valid_until: datetime

    @classmethod
    def of(cls, grant: CrossTierGrant, grantee: str) -> GrantResponse:
        return cls(
            id=grant.id,
            grantee=grantee,
            regions=list(grant.regions),
            state=grant.effective_state(datetime.now(UTC)),
            valid_until=grant.valid_until,
        )


@dataclass(frozen=True, slots=True)
class Desk:
    """One request's actor, holding ``permission``: finds the target, logs intents and outcomes."""

    request: Request
    actor: User
    permission: Permission
    db: Engine
    audit: AuditLog
    key: bytes  # keys the pseudonyms of identifiers in the log

    def _entry(self, kind: AuditKind, action: Action, target: str, **fields: Any) -> AuditEntryIn:
        return AuditEntryIn(
            kind=kind,
            actor=self.actor.username,
            actor_role=",".join(sorted(self.actor.roles)),
            source_ip=client_ip(self.request),
            route=route_of(self.request),
            params=self._params(action, target),
            **fields,
        )

    def _params(self, action: Action, target: str) -> dict[str, Any]:
        return {"action": str(action), "target": protect_identifiers(target, self.key)}

    @contextmanager
    def refusals(self, action: Action, target: str) -> Iterator[None]:
        """Log a refusal raised inside the block as a denial, then let it propagate."""
        try:
            yield
        except AuditLogUnavailableError:
            raise
        except DomainError as exc:
            reason = protect_identifiers(exc.detail, self.key)
            deny(self.audit, self.request, self.actor, reason, params=self._params(action, target))
            raise

    def target(self, username: str, action: Action) -> User:
        """The account acted on: another, non-officer account (``check_may_administer``)."""
        with self.refusals(action, username):
            target = get_user(self.db, username)
            check_may_administer(
                self.permission, self.actor.roles, target.roles, on_self=target.id == self.actor.id
            )
        return target

    @contextmanager
    def change(self, action: Action, target: str, asked: Mapping[str, Any]) -> Iterator[None]:
        """Commit the intent (write-ahead), then run the block; its refusals are logged."""
        detail = {"asked": protect_identifiers(dict(asked), self.key)}
        self._record(self._entry(AuditKind.ADMIN_ACTION, action, target, detail=detail))
        with self.refusals(action, target):
            yield

    def done(
        self,
        kind: AuditKind,
        action: Action,
        target: str,
        changed: Mapping[str, Any],
        codes: Mapping[str, Any] | None = None,
    ) -> None:
        """Log what changed; ``codes`` are region codes read back from the store (see above)."""
        detail = protect_identifiers(dict(changed), self.key) | dict(codes or {})
        self._record(self._entry(kind, action, target, outcome=Outcome.OK, detail=detail))

    def read(self, action: Action, detail: Mapping[str, Any]) -> None:
        """Log an administrator's read (of accounts); called before anything is returned."""
        self._record(
            self._entry(
                AuditKind.ADMIN_ACTION, action, "*", outcome=Outcome.OK, detail=dict(detail)
            )
        )

    def _record(self, entry: AuditEntryIn) -> None:
        record(self.audit, self.request, entry)

    def change_account(
        self, username: str, action: Action, asked: Mapping[str, Any], apply: Callable[[str], User]
    ) -> tuple[User, User]:
        """Check the target, log the intent and apply the change; the account before and after."""
        before = self.target(username, action)
        with self.change(action, before.username, asked):
            after = apply(before.username)
        return before, after


def _desk(*permissions: Permission) -> Callable[..., Desk]:
    """A dependency admitting holders of any of ``permissions``; runs before the body is parsed,
    so a caller without them gets a logged 403 whatever they sent."""

    def admit(
        request: Request, user: CurrentUser, db: Database, audit: Audit, settings: SettingsDep
    ) -> Desk:
        key = settings.secret_key.get_secret_value().encode()
        held = role_rules().permissions_of(user.roles)
        for permission in permissions:
            if permission in held:
                return Desk(request, user, permission, db, audit, key)
        error = PermissionDeniedError(
            f"this action needs the {' or '.join(permissions)} permission"
        )
        path = protect_identifiers({k: str(v) for k, v in request.path_params.items()}, key)
        deny(audit, request, user, error.detail, params={"path": path})
        raise error

    return admit


AccountsDesk = Annotated[Desk, Depends(_desk(Permission.MANAGE_ACCOUNTS))]
RolesDesk = Annotated[Desk, Depends(_desk(Permission.ASSIGN_ROLES))]
GrantsDesk = Annotated[Desk, Depends(_desk(Permission.GRANT_CROSS_TIER))]
ReadersDesk = Annotated[Desk, Depends(_desk(Permission.MANAGE_ACCOUNTS, Permission.ASSIGN_ROLES))]
ApproverDesk = Annotated[Desk, Depends(_desk(Permission.APPROVE))]


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


@router.post("/admin/grants", response_model=GrantResponse, status_code=201, openapi_extra=ADMIN)
def propose_grant(body: GrantRequest, desk: GrantsDesk) -> GrantResponse:
    action = Action.CREATE_GRANT
    grantee = desk.target(body.username, action)
    asked = {"regions": body.regions, "valid_days": body.valid_days}
    with desk.change(action, grantee.username, asked):
        grant_id = create_cross_tier_grant(
            desk.db, desk.actor, grantee, body.regions, body.valid_days, datetime.now(UTC)
        )
    grant = get_cross_tier_grant(desk.db, grant_id)
    changed = {
        "grant_id": grant.id,
        "state": str(grant.state),
        "valid_until": grant.valid_until.isoformat(),
    }
    desk.done(
        AuditKind.GRANT_CHANGE, action, grantee.username, changed, {"regions": list(grant.regions)}
    )
    return GrantResponse.of(grant, grantee.username)


@router.post(
    "/grants/{grant_id}/approve", response_model=GrantResponse, openapi_extra=AUTH, tags=["grants"]
)
def approve_grant(grant_id: int, desk: ApproverDesk) -> GrantResponse:
    action = Action.APPROVE_GRANT
    with desk.refusals(action, f"grant {grant_id}"):
        before = get_cross_tier_grant(desk.db, grant_id)
        grantee = get_user_by_id(desk.db, before.grantee_id).username
    # The approver's own checks (not a party to the grant, regions within their jurisdiction,
    # still pending) are query_logs'; refused there, the intent is followed by a denial.
    with desk.change(action, grantee, {"grant_id": grant_id}):
        approve_cross_tier_grant(desk.db, desk.actor, grant_id, datetime.now(UTC))
    after = get_cross_tier_grant(desk.db, grant_id)
    state = {"before": str(before.state), "after": str(after.state)}
    changed = {"grant_id": grant_id, "state": state}
    desk.done(AuditKind.GRANT_CHANGE, action, grantee, changed, {"regions": list(after.regions)})
    return GrantResponse.of(after, grantee)
