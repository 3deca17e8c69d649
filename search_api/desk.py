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
from query_logs.audit import AuditEntryIn, AuditKind, AuditLog, AuditLogUnavailableError
from query_logs.audit import AuditOutcome as Outcome
from search_api.deps import (
    Audit,
    CurrentUser,
    Database,
    SettingsDep,
    UnloggableInputError,
    client_ip,
    deny,
    record,
    route_of,
)
from search_api.masking import protect_identifiers


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

    def protect(self, text: str) -> str:
        """``text`` (a case number, say) with any ID or phone number in it pseudonymised."""
        return str(protect_identifiers(text, self.key))

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
    def change(
        self, action: Action, target: str, asked: Mapping[str, Any], **fields: Any
    ) -> Iterator[None]:
        """Commit the intent (write-ahead), then run the block; its refusals are logged.

        ``fields``: more of the entry's envelope (``application_id``, ``case_id``, ``purpose``),
        already safe to log."""
        detail = {"asked": protect_identifiers(dict(asked), self.key)}
        with self.refusals(action, target):
            try:
                intent = self._entry(
                    AuditKind.ADMIN_ACTION, action, target, detail=detail, **fields
                )
                self._record(intent)
            except ValueError:  # what was asked cannot be logged, so it is not done
                raise UnloggableInputError() from None
        with self.refusals(action, target):
            yield

    def done(
        self,
        kind: AuditKind,
        action: Action,
        target: str,
        changed: Mapping[str, Any],
        codes: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Log what changed; ``codes`` are region codes read back from the store (see above)."""
        detail = protect_identifiers(dict(changed), self.key) | dict(codes or {})
        self._record(self._entry(kind, action, target, outcome=Outcome.OK, detail=detail, **fields))

    def read(
        self, action: Action, detail: Mapping[str, Any], target: str = "*", **fields: Any
    ) -> None:
        """Log a read (of accounts, of cases); called before anything is returned."""
        self._record(
            self._entry(
                AuditKind.ADMIN_ACTION,
                action,
                target,
                outcome=Outcome.OK,
                detail=protect_identifiers(dict(detail), self.key),
                **fields,
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


def desk_for(*permissions: Permission) -> Callable[..., Desk]:
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
