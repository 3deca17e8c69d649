"""Response models of the query log's routes for auditors (search_api.routers.audit)."""

from __future__ import annotations

from pydantic import BaseModel


class EntryResponse(BaseModel):
    seq: int
    ts: str
    kind: str
    actor: str | None
    actor_role: str | None
    source_ip: str | None
    route: str | None
    application_id: str | None
    case_id: str | None
    purpose: str | None
    params: str | None
    scope: str | None
    outcome: str | None
    hit_count: int | None
    result_digest: str | None
    duration_ms: float | None
    detail: str | None
    entry_hash: str


class VerifyResponse(BaseModel):
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None
    reason: str | None
