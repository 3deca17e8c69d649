"""/ and /ui/: the landing page (the user's pages by role) and the application picker.

Choosing an application (POST /ui/application) is not a query: it only names, on the session,
the application the next data pages ask the gate for; the gate checks it at every query (a
foreign or unapproved one is refused there, and logged).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accounts.sessions import choose_application
from common.db import RowId
from search_api.access import Access, access
from search_api.deps import Database
from search_api.web.security import same_origin
from search_api.web.sessions import CheckedSession, PageChoice, PageSession, application_exists
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
DEFAULT_AFTER_CHOICE = "/ui/search"


@router.get("/", openapi_extra=access(Access.PUBLIC))
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/", openapi_extra=access(Access.AUTH))
def home(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    return render(request, "home.html", session=session, choice=choice)


@router.post("/ui/application", openapi_extra=access(Access.AUTH))
def choose(
    request: Request,
    session: CheckedSession,
    db: Database,
    application_id: Annotated[RowId, Form()],
) -> Response:
    application_exists(db, application_id)  # a logged 404 for an id that names nothing
    choose_application(db, session.id_hash, application_id)
    referer = request.headers.get("referer", "")
    back = DEFAULT_AFTER_CHOICE
    if referer and same_origin(request):  # back to the page the picker was on
        path = referer.split("//", 1)[-1].partition("/")[2]
        back = "/" + path if path.startswith("ui/") else DEFAULT_AFTER_CHOICE
    return RedirectResponse(back, status_code=303)
