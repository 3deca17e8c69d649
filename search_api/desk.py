"""The desk of an administration or authorisation request: who acts, with which permission, and
the log around the change (shared by the account, grant, case and application routers).

A refusal is a ``denial`` entry, written before the error is raised. A change is write-ahead: an
``admin_action`` entry (who, route, action, target, what is asked) is committed before the store
changes, so a log that cannot be written stops the change (503); then a ``user_change``,
``role_change``, ``grant_change``, ``case_change``, ``application_request`` or
``application_decision`` entry says what changed, or a ``denial`` why nothing did.
Passwords never reach the log; ID and phone numbers pass through ``protect_identifiers``. Region
codes read back from the store are validated 行政区划代码 (12 digits at most, so never an ID
number) and are logged as they are: the identifier pattern would mistake a 12-digit code starting
with 1 for a phone number and hide the very fact an auditor needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from accounts.roles import (
    Permission,
    check_may_administer,
    role_rules,
)
from accounts.users import (
    User,
    get_user,
)
from common.errors import DomainError, PermissionDeniedError
from query_logs.audit import AuditKind, AuditLogUnavailableError, Recorder
from search_api.deps import CurrentUser, Database, RecorderDep


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
    REJECT_GRANT = "reject_grant"
    REVOKE_GRANT = "revoke_grant"
    OPEN_CASE = "open_case"
    LIST_CASES = "list_cases"
    LIST_APPLICATIONS = "list_applications"
    LIST_GRANTS = "list_grants"
    READ_CASE = "read_case"
    ADD_CASE_MEMBER = "add_case_member"
    REMOVE_CASE_MEMBER = "remove_case_member"
    FILE_APPLICATION = "file_application"
    DECIDE_APPLICATION = "decide_application"
    REVOKE_APPLICATION = "revoke_application"


class StrictBody(BaseModel):
    # An unknown field is refused, not ignored: {"roles": [...]} on account creation is a 422.
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Desk:
    """One request's actor, holding ``permission``: finds the target, logs intents and outcomes
    through the request's recorder (acting as the actor)."""

    actor: User
    permission: Permission
    db: Engine
    recorder: Recorder

    def _on(self, action: Action, target: str, **under: str) -> tuple[Recorder, dict[str, str]]:
        """The recorder for this change (under an application or case when named) and the
        entry's params: the action and its target."""
        recorder = self.recorder.under(**under) if under else self.recorder
        return recorder, {"action": str(action), "target": target}

    @contextmanager
    def refusals(self, action: Action, target: str) -> Iterator[None]:
        """Log a refusal raised inside the block as a denial, then let it propagate."""
        try:
            yield
        except AuditLogUnavailableError:
            raise
        except DomainError as exc:
            _, params = self._on(action, target)
            self.recorder.deny(exc.detail, params=params)
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
    def change(
        self, action: Action, target: str, asked: Mapping[str, Any], **under: str
    ) -> Iterator[None]:
        """Commit the intent (write-ahead), then run the block; its refusals are logged.

        ``under``: the application or case the change is made under (``application_id``,
        ``case_id``, ``purpose``); the recorder pseudonymises them."""
        recorder, params = self._on(action, target, **under)
        with self.refusals(action, target):  # what cannot be logged is not done: a denial
            recorder.intent(AuditKind.ADMIN_ACTION, params=params, detail={"asked": dict(asked)})
        with self.refusals(action, target):
            yield

    def done(
        self,
        kind: AuditKind,
        action: Action,
        target: str,
        changed: Mapping[str, Any],
        codes: Mapping[str, Any] | None = None,
        **under: str,
    ) -> None:
        """Log what changed; ``codes`` are region codes read back from the store (see above)."""
        recorder, params = self._on(action, target, **under)
        recorder.done(kind, params=params, detail=changed, facts=codes or {})

    def read(
        self, action: Action, detail: Mapping[str, Any], target: str = "*", **under: str
    ) -> None:
        """Log a read (of accounts, of cases); called before anything is returned."""
        recorder, params = self._on(action, target, **under)
        recorder.read(detail, kind=AuditKind.ADMIN_ACTION, params=params)

    def change_account(
        self, username: str, action: Action, asked: Mapping[str, Any], apply: Callable[[str], User]
    ) -> tuple[User, User]:
        """Check the target, log the intent and apply the change; the account before and after."""
        before = self.target(username, action)
        with self.change(action, before.username, asked):
            after = apply(before.username)
        return before, after


def admit_desk(
    request: Request,
    user: User,
    db: Engine,
    recorder: Recorder,
    permissions: tuple[Permission, ...],
) -> Desk:
    """The desk of ``user`` holding the first of ``permissions`` they hold; a logged 403
    otherwise. Shared by the API's desks (a bearer token's user) and the pages' (a session's:
    search_api.web.desks)."""
    caller = recorder.by(user)
    held = role_rules().permissions_of(user.roles)
    for permission in permissions:
        if permission in held:
            return Desk(user, permission, db, caller)
    error = PermissionDeniedError(f"this action needs the {' or '.join(permissions)} permission")
    path = {k: str(v) for k, v in request.path_params.items()}
    caller.deny(error.detail, params={"path": path})
    raise error


def desk_for(*permissions: Permission) -> Callable[..., Desk]:
    """A dependency admitting holders of any of ``permissions``; runs before the body is parsed,
    so a caller without them gets a logged 403 whatever they sent."""

    def admit(request: Request, user: CurrentUser, db: Database, recorder: RecorderDep) -> Desk:
        return admit_desk(request, user, db, recorder, permissions)

    return admit


AccountsDesk = Annotated[Desk, Depends(desk_for(Permission.MANAGE_ACCOUNTS))]
RolesDesk = Annotated[Desk, Depends(desk_for(Permission.ASSIGN_ROLES))]
GrantsDesk = Annotated[Desk, Depends(desk_for(Permission.GRANT_CROSS_TIER))]
ReadersDesk = Annotated[
    Desk, Depends(desk_for(Permission.MANAGE_ACCOUNTS, Permission.ASSIGN_ROLES))
]
ApproverDesk = Annotated[Desk, Depends(desk_for(Permission.APPROVE))]
ApplicantDesk = Annotated[Desk, Depends(desk_for(Permission.APPLY))]
# An application is withdrawn by its applicant or by an approver over its regions.
RevokerDesk = Annotated[Desk, Depends(desk_for(Permission.APPLY, Permission.APPROVE))]
