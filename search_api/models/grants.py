"""Response models of cross-tier grants (search_api.routers.grants)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from query_logs.grants import CrossTierGrant


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
