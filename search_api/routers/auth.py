"""POST /auth/token: a bearer token for a username and password; every attempt is logged."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from accounts.auth import LoginFailedError, authenticate, issue_token
from query_logs.audit import AuditKind
from search_api.access import Access, access
from search_api.deps import Database, RecorderDep, SettingsDep

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
    body: LoginRequest, db: Database, recorder: RecorderDep, settings: SettingsDep
) -> TokenResponse:
    now = datetime.now(UTC)
    try:
        user = authenticate(db, body.username, body.password, now, settings=settings)
    except LoginFailedError as exc:
        # An unknown username may be a password typed into the wrong field: not logged. The
        # failed login is this refusal's entry (the app's handlers add no denial).
        actor = exc.username if exc.user_id is not None else None
        recorder.named(actor).deny(str(exc.reason), kind=AuditKind.LOGIN_FAILED)
        raise
    token = issue_token(user, settings, now)
    recorder.by(user).done(AuditKind.LOGIN_OK)
    return TokenResponse(access_token=token, expires_in=settings.token_lifetime_s)
