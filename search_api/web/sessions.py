"""The pages' accessors: the session behind the cookie, its checks, the header's application,
and the gate of a page (the same `GateKeeper` as the API's, authenticated by the session and
under the application chosen in the page header).

Like search_api.deps, this module only builds collaborators; the rules are accounts.sessions'
(a session's life), query_logs.gate's (what an application allows) and the gate's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from accounts.sessions import SessionError, WebSession, find_session
from accounts.users import User
from common.db import Bind
from common.errors import PermissionDeniedError
from common.settings import Environment, Settings
from query_logs.applications import Application, State, applications_of, get_application
from query_logs.audit import Recorder
from search_api.deps import Database, HandlesDep, RecorderDep, SettingsDep
from search_api.gatekeeper import GateKeeper
from search_api.recording import remember_caller
from search_api.web.security import CSRF_FIELD, CSRF_HEADER, same_origin

SESSION_COOKIE = "xs_session"
LOGIN_CSRF_COOKIE = "xs_login_csrf"
SESSION_STATE = "web_session"  # request.state: the page's session, for the error pages


class CsrfRefusedError(PermissionDeniedError):
    """An unsafe page request without this session's token, or from another origin: 403."""


CSRF_DETAIL = "the request did not come from this page (CSRF token or origin missing)"


def cookie_options(settings: Settings) -> dict[str, Any]:
    """How every UI cookie is set: HttpOnly, SameSite=Strict, Secure outside development."""
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": settings.environment is not Environment.DEVELOPMENT,
        "path": "/",
    }


def read_page_session(
    request: Request, db: Database, recorder: RecorderDep, settings: SettingsDep
) -> WebSession:
    """The live session of the cookie, its account re-read; a logged 401 otherwise (the page
    renderer turns it into the login page)."""
    raw = request.cookies.get(SESSION_COOKIE)
    try:
        session = find_session(db, raw, datetime.now(UTC), settings.session_idle_s)
    except SessionError as exc:
        recorder.by(None).deny(f"session refused: {exc.reason}")
        raise
    remember_caller(request, session.user)  # a later refusal of this request is this user's
    setattr(request.state, SESSION_STATE, session)
    return session


PageSession = Annotated[WebSession, Depends(read_page_session)]
"""The session of a page that reads (GET)."""


async def read_checked_session(request: Request, session: PageSession) -> WebSession:
    """The session of an unsafe request (POST): same origin, and the session's CSRF token in
    the ``X-CSRF-Token`` header (htmx) or the ``csrf_token`` form field. A refusal is a logged
    403 (the app's refusal handler logs it as this user's denial)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not same_origin(request) or not session.csrf_matches(sent):
        raise CsrfRefusedError(CSRF_DETAIL)
    return session


CheckedSession = Annotated[WebSession, Depends(read_checked_session)]
"""The session of a page request that changes something (POST)."""


def session_authenticator(session: WebSession) -> Any:
    """The gate's authenticator for a page: the session's account (re-read when the session
    was read, this request)."""

    def authenticated(_request: Request, _bind: Bind, _recorder: Recorder, _s: Settings) -> User:
        return session.user

    return authenticated


def get_page_gate(
    request: Request,
    session: PageSession,
    db: Database,
    recorder: RecorderDep,
    settings: SettingsDep,
    handles: HandlesDep,
) -> GateKeeper:
    """The gate of a page that shows registry data: the API's gate, under the session's
    application (None: the gate refuses and logs it, as a request without X-Application-Id)."""
    return GateKeeper(
        request, db, recorder, settings, handles, session.application_id,
        authenticator=session_authenticator(session),
    )  # fmt: skip


PageGate = Annotated[GateKeeper, Depends(get_page_gate)]


@dataclass(frozen=True, slots=True)
class ApplicationChoice:
    """What the page header shows: the current application (only if it is the user's own) and
    the ones the user may switch to (approved, within their validity)."""

    current: Application | None
    current_is_foreign: bool  # the session names an application of another user
    usable: tuple[Application, ...]
    now: datetime

    def quota_left(self, application: Application) -> int:
        return max(application.query_quota - application.queries_used, 0)


def read_application_choice(db: Engine, user: User, session: WebSession) -> ApplicationChoice:
    """The header's application facts for ``user``; another user's application is not shown."""
    now = datetime.now(UTC)
    own = applications_of(db, user.id)
    usable = tuple(a for a in own if a.effective_state(now) is State.APPROVED)
    current: Application | None = None
    foreign = False
    if session.application_id is not None:
        chosen = next((a for a in own if a.id == session.application_id), None)
        if chosen is None:
            foreign = True
        else:
            current = chosen
    return ApplicationChoice(current, foreign, usable, now)


def read_page_choice(session: PageSession, db: Database) -> ApplicationChoice:
    return read_application_choice(db, session.user, session)


PageChoice = Annotated[ApplicationChoice, Depends(read_page_choice)]


def application_exists(db: Engine, application_id: int) -> Application:
    """The application to choose (``ApplicationNotFoundError``, a logged 404, otherwise);
    whether it may be used is the gate's decision at every query."""
    return get_application(db, application_id)
