"""Cross-tier grants (跨层级授权): a special-task user's reach widened beyond their jurisdiction.

A security administrator proposes a grant for a user who may hold one; an approver who is neither
party and whose jurisdiction covers the regions approves it. Only approved, unexpired grants
widen reach: applications (query_logs.applications) and the gate (query_logs.gate) receive the
granted regions from `active_grant_regions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from accounts.roles import Permission, require_permission
from accounts.user_fields import jurisdiction_covers, parse_jurisdiction
from accounts.users import User
from common.db import Bind, connection, metadata
from common.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from query_logs.applications import (
    MAX_VALID_DAYS,
    ApplicationStateError,
    State,
    as_utc,
    from_db_time,
)

grants = Table(
    "cross_tier_grant",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("grantee_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("regions", JSON, nullable=False),  # list of 行政区划代码 prefixes
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("approved_by", Integer, ForeignKey("users.id")),
    Column("state", String(16), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# Built once: the gate reads the grants a user holds on every query.
_GRANTS_HELD = select(grants.c.regions, grants.c.valid_until).where(
    grants.c.grantee_id == bindparam("grantee_id"), grants.c.state == State.APPROVED
)


def active_grant_regions(bind: Bind, user_id: int, now: datetime) -> tuple[str, ...]:
    """Regions of the approved, unexpired cross-tier grants the user holds."""
    with connection(bind) as conn:
        rows = conn.execute(_GRANTS_HELD, {"grantee_id": user_id}).all()
    regions: list[str] = []
    for raw, until in rows:
        if (valid := from_db_time(until)) is not None and as_utc(now) < valid:
            regions.extend(raw)
    return tuple(dict.fromkeys(regions))


def create_cross_tier_grant(
    engine: Engine, admin: User, grantee: User, regions: list[str], valid_days: int, now: datetime
) -> int:
    """A security administrator proposes widening a special-task user's reach (pending)."""
    require_permission(admin.roles, Permission.GRANT_CROSS_TIER)
    require_permission(grantee.roles, Permission.HOLD_CROSS_TIER_GRANT)
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise InvalidInputError(f"validity must be 1 to {MAX_VALID_DAYS} days")
    parsed = sorted({parse_jurisdiction(r) for r in regions})
    if not parsed:
        raise InvalidInputError("a grant names at least one region")
    with engine.begin() as conn:
        result = conn.execute(
            insert(grants)
            .values(
                grantee_id=grantee.id,
                regions=parsed,
                created_by=admin.id,
                state=State.PENDING,
                valid_until=as_utc(now) + timedelta(days=valid_days),
                created_at=as_utc(now),
            )
            .returning(grants.c.id)
        )
        return int(result.scalar_one())


@dataclass(frozen=True, slots=True)
class CrossTierGrant:
    """A proposal (pending) or decision (approved) to widen one user's reach across tiers."""

    id: int
    grantee_id: int
    regions: tuple[str, ...]
    created_by: int
    approved_by: int | None
    state: State
    valid_until: datetime

    def effective_state(self, now: datetime) -> State:
        """The stored state, or expired once the validity period has passed."""
        return _effective(self.state, self.valid_until, now)


def get_cross_tier_grant(engine: Engine, grant_id: int) -> CrossTierGrant:
    """The grant with ``grant_id``, or ``NotFoundError`` (read-only: for responses and the log)."""
    with engine.connect() as conn:
        row = conn.execute(select(grants).where(grants.c.id == grant_id)).first()
    if row is None:
        raise NotFoundError(f"no grant {grant_id}")
    return _grant(row._mapping)


def list_cross_tier_grants(engine: Engine) -> list[CrossTierGrant]:
    """Every grant, newest first (the security administrator's list)."""
    with engine.connect() as conn:
        rows = conn.execute(select(grants).order_by(grants.c.id.desc())).all()
    return [_grant(row._mapping) for row in rows]


def grants_awaiting(engine: Engine, approver: User, now: datetime) -> list[CrossTierGrant]:
    """The pending, unexpired grants ``approver`` may decide (the rule ``_decide`` enforces):
    not a party to them, their regions within the approver's jurisdiction; oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(grants).where(grants.c.state == State.PENDING).order_by(grants.c.id)
        ).all()
    found = [_grant(row._mapping) for row in rows]
    return [
        g for g in found
        if g.effective_state(now) is State.PENDING
        and approver.id not in (g.grantee_id, g.created_by)
        and all(jurisdiction_covers(approver.jurisdiction, r) for r in g.regions)
    ]  # fmt: skip


def _grant(grant: Any) -> CrossTierGrant:
    valid_until = from_db_time(grant["valid_until"])
    if valid_until is None:  # pragma: no cover - a NOT NULL column
        raise ValueError("a grant row without its validity")
    return CrossTierGrant(
        id=grant["id"],
        grantee_id=grant["grantee_id"],
        regions=tuple(grant["regions"]),
        created_by=grant["created_by"],
        approved_by=grant["approved_by"],
        state=State(grant["state"]),
        valid_until=valid_until,
    )


def approve_cross_tier_grant(engine: Engine, approver: User, grant_id: int, now: datetime) -> None:
    """An approver whose jurisdiction covers the granted regions approves the grant."""
    _decide(engine, approver, grant_id, State.APPROVED, now)


def reject_cross_tier_grant(engine: Engine, approver: User, grant_id: int, now: datetime) -> None:
    """The same approver may refuse it instead: the grant never widens anyone's reach."""
    _decide(engine, approver, grant_id, State.REJECTED, now)


def _decide(engine: Engine, approver: User, grant_id: int, decision: State, now: datetime) -> None:
    require_permission(approver.roles, Permission.APPROVE)
    with engine.begin() as conn:
        row = conn.execute(select(grants).where(grants.c.id == grant_id)).first()
        if row is None:
            raise NotFoundError(f"no grant {grant_id}")
        grant = row._mapping
        if approver.id in (grant["grantee_id"], grant["created_by"]):
            raise PermissionDeniedError("a grant is decided by someone other than its parties")
        if not all(jurisdiction_covers(approver.jurisdiction, r) for r in grant["regions"]):
            raise PermissionDeniedError("the granted regions are outside your jurisdiction")
        state = _effective(grant["state"], grant["valid_until"], now)
        if state is not State.PENDING:
            raise ApplicationStateError(f"the grant is {state}, not pending")
        conn.execute(
            update(grants)
            .where(grants.c.id == grant_id)
            .values(state=decision, approved_by=approver.id)
        )


def revoke_cross_tier_grant(engine: Engine, admin: User, grant_id: int, now: datetime) -> None:
    """The security administrator withdraws a pending or approved grant before it expires; the
    gate re-checks reach at every query, so applications that relied on it stop at the next one."""
    require_permission(admin.roles, Permission.GRANT_CROSS_TIER)
    with engine.begin() as conn:
        row = conn.execute(select(grants).where(grants.c.id == grant_id)).first()
        if row is None:
            raise NotFoundError(f"no grant {grant_id}")
        state = _effective(row._mapping["state"], row._mapping["valid_until"], now)
        if state not in (State.PENDING, State.APPROVED):
            raise ApplicationStateError(f"the grant is {state}: nothing to revoke")
        conn.execute(update(grants).where(grants.c.id == grant_id).values(state=State.REVOKED))


def _effective(stored: str, valid_until: datetime | None, now: datetime) -> State:
    state = State(stored)
    until = from_db_time(valid_until)
    if state in (State.PENDING, State.APPROVED) and until is not None and as_utc(now) >= until:
        return State.EXPIRED
    return state
