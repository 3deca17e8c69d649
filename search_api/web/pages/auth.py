"""/ui/login and /ui/logout: the UI's login opens a server-side session (accounts.sessions).

A login goes through the API's own ``accounts.auth.authenticate`` (lockout included) and writes
the same entries as ``POST /auth/token``: ``login_ok``, or ``login_failed`` (a denial, actor
only when the name exists); a logout writes ``logout``. The login form is protected by a
double-submit token (a cookie and a field, equal) and the Origin check; once signed in, every
form carries the session's own token.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accounts.auth import LoginFailedError, authenticate
from accounts.sessions import open_session, revoke_session
from query_logs.audit import AuditKind
from search_api.access import Access, access
from search_api.deps import Database, RecorderDep, SettingsDep
from search_api.web.labels import MESSAGES
from search_api.web.security import CSRF_FIELD, same_origin
from search_api.web.sessions import (
    CSRF_DETAIL,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CheckedSession,
    CsrfRefusedError,
    cookie_options,
)
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
HOME = "/ui/"
LOGIN_CSRF_BYTES = 32


def _login_form(
    request: Request, settings_secure: dict[str, object], message: str | None, status: int
) -> HTMLResponse:
    token = secrets.token_urlsafe(LOGIN_CSRF_BYTES)
    response = render(request, "login.html", {"message": message}, csrf=token, status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, **settings_secure)  # type: ignore[arg-type]
    return response


@router.get("/ui/login", openapi_extra=access(Access.PUBLIC))
def login_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _login_form(request, cookie_options(settings), None, 200)


@router.post("/ui/login", openapi_extra=access(Access.PUBLIC))
def login(
    request: Request,
    db: Database,
    recorder: RecorderDep,
    settings: SettingsDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    matches = bool(cookie) and hmac.compare_digest(cookie.encode(), csrf_token.encode())
    if not (same_origin(request) and matches):
        raise CsrfRefusedError(CSRF_DETAIL)  # logged by the refusal handler, as nobody's
    now = datetime.now(UTC)
    try:
        user = authenticate(db, username, password, now, settings=settings)
    except LoginFailedError as exc:
        # as POST /auth/token: an unknown name may be a password typed in the wrong field
        actor = exc.username if exc.user_id is not None else None
        recorder.named(actor).deny(str(exc.reason), kind=AuditKind.LOGIN_FAILED)
        return _login_form(request, cookie_options(settings), MESSAGES["login_failed"], 401)
    opened = open_session(db, user, now, settings.session_absolute_s)
    recorder.by(user).done(AuditKind.LOGIN_OK, facts={"channel": "web"})
    response = RedirectResponse(HOME, status_code=303)
    options = cookie_options(settings)
    response.set_cookie(
        SESSION_COOKIE, opened.cookie_value, max_age=settings.session_absolute_s, **options
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/ui/logout", openapi_extra=access(Access.AUTH))
def logout(session: CheckedSession, db: Database, recorder: RecorderDep) -> Response:
    revoke_session(db, session.id_hash, datetime.now(UTC))
    recorder.by(session.user).done(AuditKind.LOGOUT, facts={"channel": "web"})
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
