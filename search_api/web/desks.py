"""The pages' desks and reviewer: the API's (search_api.desk, search_api.log_review) for the
session's account instead of a bearer token's, so a page admits, refuses and logs exactly as
the JSON route does. A page that reads asks ``PageSession``; one that changes something asks
``CheckedSession`` (same origin and the session's CSRF token) before the desk is built.

Like search_api.deps, this module only builds collaborators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from accounts.roles import Permission, role_rules
from search_api.deps import Audit, Database, Provider, RecorderDep, SettingsDep
from search_api.desk import Desk, admit_desk
from search_api.log_review import Reviewer
from search_api.web.sessions import CheckedSession, PageSession


def page_desk_for(*permissions: Permission) -> Callable[..., Desk]:
    """The desk of a page that reads: the session's account holding one of ``permissions``."""

    def admit(request: Request, session: PageSession, db: Database, recorder: RecorderDep) -> Desk:
        return admit_desk(request, session.user, db, recorder, permissions)

    return admit


def checked_desk_for(*permissions: Permission) -> Callable[..., Desk]:
    """The desk of a form that changes something: the CSRF check first, then the desk."""

    def admit(
        request: Request, session: CheckedSession, db: Database, recorder: RecorderDep
    ) -> Desk:
        return admit_desk(request, session.user, db, recorder, permissions)

    return admit


def also_holding(desk: Desk, permission: Permission) -> Desk | None:
    """The same actor's desk under another permission they hold (a page showing a second
    section, e.g. the grants of a security administrator), or None."""
    if permission not in role_rules().permissions_of(desk.actor.roles):
        return None
    return Desk(desk.actor, permission, desk.db, desk.recorder)


PageApproverDesk = Annotated[Desk, Depends(page_desk_for(Permission.APPROVE))]
ApproverForm = Annotated[Desk, Depends(checked_desk_for(Permission.APPROVE))]
PageReadersDesk = Annotated[
    Desk, Depends(page_desk_for(Permission.MANAGE_ACCOUNTS, Permission.ASSIGN_ROLES))
]
AccountsForm = Annotated[Desk, Depends(checked_desk_for(Permission.MANAGE_ACCOUNTS))]
RolesForm = Annotated[Desk, Depends(checked_desk_for(Permission.ASSIGN_ROLES))]
GrantsForm = Annotated[Desk, Depends(checked_desk_for(Permission.GRANT_CROSS_TIER))]


def get_page_reviewer(
    session: PageSession,
    recorder: RecorderDep,
    db: Database,
    audit: Audit,
    provider: Provider,
    settings: SettingsDep,
) -> Reviewer:
    """The review's collaborators for the session's account (admitted by the review itself)."""
    return Reviewer(session.user, recorder, db, audit, provider, settings)


PageReviewer = Annotated[Reviewer, Depends(get_page_reviewer)]
