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
from search_api.web.sessions import CheckedSession, PageChoice, PageSession, application_exists
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
DEFAULT_AFTER_CHOICE = "/ui/search"
PAGE_ROOT = "/ui/"
MAX_BACK_CHARS = 2000
PROFILE_AREA = "persons"  # /ui/persons/{handle}/profile: a handle, never a number
PROFILE_SUFFIX = "/profile"
# The areas whose own page is /ui/<area> (a form or a list; it needs no query).
AREA_PAGES = frozenset(
    {"search", "entities", "cases", "approvals", "clues", "graph", "audit", "admin", "models"}
)


@router.get("/", openapi_extra=access(Access.PUBLIC))
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/", openapi_extra=access(Access.AUTH))
def home(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    return render(request, "home.html", session=session, choice=choice)


@router.post("/ui/application", openapi_extra=access(Access.AUTH))
def choose(
    session: CheckedSession,
    db: Database,
    application_id: Annotated[RowId, Form()],
    back: Annotated[str, Form(max_length=MAX_BACK_CHARS)] = DEFAULT_AFTER_CHOICE,
) -> Response:
    application_exists(db, application_id)  # a logged 404 for an id that names nothing
    choose_application(db, session.id_hash, application_id)
    return RedirectResponse(page_to_return_to(back), status_code=303)


def page_to_return_to(back: str) -> str:
    """The page the picker was on (its path, sent by the form), when it is one of ours: the
    area's own page (``/ui/search`` for ``/ui/search/results``: a result needs its query, which
    the form does not carry, since a query may hold a number), or a profile by its handle. The
    home page and anything else (another host, ``//``, a backslash) go to the default page."""
    if not back.startswith(PAGE_ROOT) or "//" in back or "\\" in back or not back.isprintable():
        return DEFAULT_AFTER_CHOICE
    path = back.partition("?")[0]
    parts = path[len(PAGE_ROOT) :].split("/")
    if (
        parts[0] == PROFILE_AREA
        and len(parts) == 3
        and path.endswith(PROFILE_SUFFIX)
        and ".." not in path
    ):
        return path
    return PAGE_ROOT + parts[0] if parts[0] in AREA_PAGES else DEFAULT_AFTER_CHOICE
