"""Deciding query applications and cross-tier grants, and the queues of what awaits a decision:
shared by the JSON routes (search_api.routers.applications, .grants) and the 待审批 and
administration pages (search_api.web.pages), so both write the same entries.

Every change is written ahead by the desk (search_api.desk): an ``admin_action`` intent is
committed before the store changes, then the ``application_decision`` / ``grant_change`` entry;
every refusal is a denial. Reading a queue is logged as a read (``admin_action``) before it is
returned, as the account and case lists are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from accounts.users import get_user_by_id
from query_logs.applications import (
    Application,
    applications_awaiting,
    decide_application,
    get_application,
    revoke_application,
)
from query_logs.audit import AuditKind
from query_logs.grants import (
    CrossTierGrant,
    approve_cross_tier_grant,
    get_cross_tier_grant,
    grants_awaiting,
    list_cross_tier_grants,
    reject_cross_tier_grant,
    revoke_cross_tier_grant,
)
from search_api.desk import Action, Desk
from search_api.models.applications import ApplicationResponse
from search_api.models.grants import GrantResponse

MAX_NOTE_CHARS = 1000


class DecisionRequest(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)


def under_application(app: Application) -> dict[str, str]:
    """The application's place in an entry: its id, its case, its purpose (the recorder
    pseudonymises numbers in them)."""
    return {"application_id": str(app.id), "case_id": app.case_no, "purpose": app.purpose}


def change_application_state(
    desk: Desk,
    application_id: int,
    action: Action,
    asked: dict[str, Any],
    apply: Callable[[], Application],
) -> ApplicationResponse:
    """Decide or revoke: the application is found (a logged 404), the intent is written, then
    ``apply`` (query_logs' rules: self-approval, jurisdiction, state; refusals are denials)."""
    target = f"application {application_id}"
    with desk.refusals(action, target):
        before = get_application(desk.db, application_id)
    with desk.change(action, target, asked, **under_application(before)):
        after = apply()
    changed = asked | {"state": {"before": str(before.state), "after": str(after.state)}}
    desk.done(AuditKind.APPLICATION_DECISION, action, target, changed,
              {"regions": list(after.regions)}, **under_application(after))  # fmt: skip
    return ApplicationResponse.of(after, datetime.now(UTC))


def decide(desk: Desk, application_id: int, body: DecisionRequest) -> ApplicationResponse:
    """Approve or reject a pending application (``POST /applications/{id}/decision``)."""

    def apply() -> Application:
        return decide_application(desk.db, desk.actor, application_id, approve=body.approve,
                                  note=body.note, now=datetime.now(UTC))  # fmt: skip

    asked = {"approve": body.approve, "note": body.note}
    return change_application_state(desk, application_id, Action.DECIDE_APPLICATION, asked, apply)


def revoke(desk: Desk, application_id: int) -> ApplicationResponse:
    """Withdraw an application (``POST /applications/{id}/revoke``)."""

    def apply() -> Application:
        return revoke_application(desk.db, desk.actor, application_id, datetime.now(UTC))

    action = Action.REVOKE_APPLICATION
    return change_application_state(desk, application_id, action, {"revoke": True}, apply)


GRANT_ACTIONS: dict[Action, Callable[..., None]] = {
    Action.APPROVE_GRANT: approve_cross_tier_grant,
    Action.REJECT_GRANT: reject_cross_tier_grant,
    Action.REVOKE_GRANT: revoke_cross_tier_grant,
}


def decide_grant(desk: Desk, grant_id: int, action: Action) -> GrantResponse:
    """Approve, reject or revoke a grant: found (a logged 404), the intent written, then the
    store's own checks (not a party, regions within the decider's jurisdiction, still pending;
    for a revocation: still in force); refused there, the intent is followed by a denial."""
    apply = GRANT_ACTIONS[action]
    with desk.refusals(action, f"grant {grant_id}"):
        before = get_cross_tier_grant(desk.db, grant_id)
        grantee = get_user_by_id(desk.db, before.grantee_id).username
    with desk.change(action, grantee, {"grant_id": grant_id}):
        apply(desk.db, desk.actor, grant_id, datetime.now(UTC))
    after = get_cross_tier_grant(desk.db, grant_id)
    state = {"before": str(before.state), "after": str(after.state)}
    changed = {"grant_id": grant_id, "state": state}
    desk.done(AuditKind.GRANT_CHANGE, action, grantee, changed, {"regions": list(after.regions)})
    return GrantResponse.of(after, grantee)


def pending_applications(desk: Desk) -> list[ApplicationResponse]:
    """The applications the desk's approver may decide now, masked as every application
    response is; the read is logged first."""
    now = datetime.now(UTC)
    found = applications_awaiting(desk.db, desk.actor, now)
    desk.read(Action.LIST_APPLICATIONS, {"state": "pending", "applications": len(found)})
    return [ApplicationResponse.of(a, now) for a in found]


def _responses(desk: Desk, grants: list[CrossTierGrant]) -> list[GrantResponse]:
    names: dict[int, str] = {}
    for grant in grants:
        if grant.grantee_id not in names:
            names[grant.grantee_id] = get_user_by_id(desk.db, grant.grantee_id).username
    return [GrantResponse.of(g, names[g.grantee_id]) for g in grants]


def pending_grants(desk: Desk) -> list[GrantResponse]:
    """The cross-tier grants the desk's approver (a leader) may decide now; the read is logged."""
    found = grants_awaiting(desk.db, desk.actor, datetime.now(UTC))
    desk.read(Action.LIST_GRANTS, {"state": "pending", "grants": len(found)})
    return _responses(desk, found)


def all_grants(desk: Desk) -> list[GrantResponse]:
    """Every cross-tier grant, newest first (the security administrator's list); logged."""
    found = list_cross_tier_grants(desk.db)
    desk.read(Action.LIST_GRANTS, {"grants": len(found)})
    return _responses(desk, found)
