"""Cross-tier grants: proposed and revoked by the security administrator (ADMIN), approved or
rejected by a leader (AUTH).

Deciding a grant is an authorisation, not administration: it needs the approve permission (a data
role), which no officer holds, so the security administrator cannot approve the grant they
proposed. Revoking is the security administrator's: a grant can be withdrawn before it expires,
and the gate re-checks every user's reach at every query. The desk (``search_api.desk``) writes
the log around each change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import Field

from common.db import RowId
from query_logs.applications import MAX_VALID_DAYS
from query_logs.audit import AuditKind
from query_logs.grants import create_cross_tier_grant, get_cross_tier_grant
from search_api import approvals
from search_api.access import Access, access
from search_api.desk import Action, ApproverDesk, GrantsDesk, StrictBody
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


@router.post(
    "/grants/{grant_id}/approve", response_model=GrantResponse, openapi_extra=AUTH, tags=["grants"]
)
def approve_grant(grant_id: RowId, desk: ApproverDesk) -> GrantResponse:
    return approvals.decide_grant(desk, grant_id, Action.APPROVE_GRANT)


@router.post(
    "/grants/{grant_id}/reject", response_model=GrantResponse, openapi_extra=AUTH, tags=["grants"]
)
def reject_grant(grant_id: RowId, desk: ApproverDesk) -> GrantResponse:
    return approvals.decide_grant(desk, grant_id, Action.REJECT_GRANT)


@router.post("/admin/grants/{grant_id}/revoke", response_model=GrantResponse, openapi_extra=ADMIN)
def revoke_grant(grant_id: RowId, desk: GrantsDesk) -> GrantResponse:
    return approvals.decide_grant(desk, grant_id, Action.REVOKE_GRANT)


@router.get("/approvals/grants", response_model=list[GrantResponse], openapi_extra=AUTH)
def pending_grants(desk: ApproverDesk) -> list[GrantResponse]:
    """The pending grants the caller (a leader) may decide: not a party, within jurisdiction."""
    return approvals.pending_grants(desk)


@router.get("/admin/grants", response_model=list[GrantResponse], openapi_extra=ADMIN)
def list_grants(desk: GrantsDesk) -> list[GrantResponse]:
    return approvals.all_grants(desk)
