"""Cross-tier grants: proposed and revoked by the security administrator (ADMIN), approved or
rejected by a leader (AUTH).

Deciding a grant is an authorisation, not administration: it needs the approve permission (a data
role), which no officer holds, so the security administrator cannot approve the grant they
proposed. Revoking is the security administrator's: a grant can be withdrawn before it expires,
and the gate re-checks every user's reach at every query. The desk (``search_api.desk``) writes
the log around each change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import Field

from accounts.users import (
    get_user_by_id,
)
from common.db import RowId
from query_logs.applications import MAX_VALID_DAYS
from query_logs.audit import AuditKind
from query_logs.grants import (
    approve_cross_tier_grant,
    create_cross_tier_grant,
    get_cross_tier_grant,
    reject_cross_tier_grant,
    revoke_cross_tier_grant,
)
from search_api.access import Access, access
from search_api.desk import Action, ApproverDesk, Desk, GrantsDesk, StrictBody
from search_api.models.grants import GrantResponse

router = APIRouter(tags=["grants"])
ADMIN = access(Access.ADMIN)
AUTH = access(Access.AUTH)


class GrantRequest(StrictBody):
    username: str = Field(max_length=64)
    regions: list[str] = Field(min_length=1, max_length=50)
    valid_days: int = Field(ge=1, le=MAX_VALID_DAYS)


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


def _decide(grant_id: int, desk: Desk, action: Action, apply: Callable[..., None]) -> GrantResponse:
    with desk.refusals(action, f"grant {grant_id}"):
        before = get_cross_tier_grant(desk.db, grant_id)
        grantee = get_user_by_id(desk.db, before.grantee_id).username
    # The decider's own checks (not a party to the grant, regions within their jurisdiction,
    # still pending; for a revocation: still in force) are query_logs'; refused there, the
    # intent is followed by a denial.
    with desk.change(action, grantee, {"grant_id": grant_id}):
        apply(desk.db, desk.actor, grant_id, datetime.now(UTC))
    after = get_cross_tier_grant(desk.db, grant_id)
    state = {"before": str(before.state), "after": str(after.state)}
    changed = {"grant_id": grant_id, "state": state}
    desk.done(AuditKind.GRANT_CHANGE, action, grantee, changed, {"regions": list(after.regions)})
    return GrantResponse.of(after, grantee)


@router.post(
    "/grants/{grant_id}/approve", response_model=GrantResponse, openapi_extra=AUTH, tags=["grants"]
)
def approve_grant(grant_id: RowId, desk: ApproverDesk) -> GrantResponse:
    return _decide(grant_id, desk, Action.APPROVE_GRANT, approve_cross_tier_grant)


@router.post(
    "/grants/{grant_id}/reject", response_model=GrantResponse, openapi_extra=AUTH, tags=["grants"]
)
def reject_grant(grant_id: RowId, desk: ApproverDesk) -> GrantResponse:
    return _decide(grant_id, desk, Action.REJECT_GRANT, reject_cross_tier_grant)


@router.post("/admin/grants/{grant_id}/revoke", response_model=GrantResponse, openapi_extra=ADMIN)
def revoke_grant(grant_id: RowId, desk: GrantsDesk) -> GrantResponse:
    return _decide(grant_id, desk, Action.REVOKE_GRANT, revoke_cross_tier_grant)
