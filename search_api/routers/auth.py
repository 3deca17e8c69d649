"""POST /auth/token: a bearer token for a username and password; every attempt is logged."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from accounts.auth import LoginFailedError, authenticate, issue_token
from query_logs.audit import AuditEntryIn, AuditKind, AuditOutcome
from search_api.access import Access, access
from search_api.deps import (
    Audit,
    Database,
    SettingsDep,
    client_ip,
    mark_refusal_logged,
    record,
    route_of,
)

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


@router.post("/auth/token", response_model=TokenResponse, openapi_extra=access(Access.PUBLIC))
def login(
    body: LoginRequest, request: Request, db: Database, audit: Audit, settings: SettingsDep
) -> TokenResponse:
    now = datetime.now(UTC)
    try:
        user = authenticate(db, body.username, body.password, now, settings=settings)
    except LoginFailedError as exc:
        record(
            audit,
            request,
            AuditEntryIn(
                kind=AuditKind.LOGIN_FAILED,
                # An unknown username may be a password typed into the wrong field: not logged.
                actor=exc.username if exc.user_id is not None else None,
                source_ip=client_ip(request),
                route=route_of(request),
                outcome=AuditOutcome.DENIED,
                detail={"reason": str(exc.reason)},
            ),
        )
        mark_refusal_logged(request)  # the failed login is this refusal's entry
        raise
    token = issue_token(user, settings, now)
    record(
        audit,
        request,
        AuditEntryIn(
            kind=AuditKind.LOGIN_OK,
            actor=user.username,
            actor_role=",".join(sorted(user.roles)),
            source_ip=client_ip(request),
            route=route_of(request),
            outcome=AuditOutcome.OK,
        ),
    )
    return TokenResponse(access_token=token, expires_in=settings.token_lifetime_s)
