"""通知: the user's notifications (watch lists, 布控), the header's unread badge, and 加入布控.

- ``GET /ui/notifications``: the user's own notifications, newest first (the store's function
  ``GET /notifications`` uses); no registry data: a masked person, a handle, a record pseudonym.
- ``GET /ui/notifications/badge`` (htmx fragment, loaded by the header): the unread count.
- ``POST /ui/notifications/{id}/open``: marks it read, makes its application the session's
  current one, and goes to the person's profile: the profile is read through the gate (logged,
  refused if the application no longer admits it), never from the notification.
- ``POST /ui/notifications/{id}/read``: marks it read.
- ``POST /ui/watches``: 加入布控 from the profile page, through the page's gate
  (search_api.watch_lists, as ``POST /watches``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accounts.sessions import choose_application
from common.db import RowId
from search_api.access import Access, access
from search_api.deps import Database, HandlesDep
from search_api.models.watching import NotificationResponse
from search_api.watch_lists import check_watcher, watch_person
from search_api.web.sessions import CheckedSession, PageChoice, PageGate, PageSession
from search_api.web.templating import is_fragment_request, render
from watching.store import (
    NOTIFICATION_PAGE_CAP,
    NotificationKind,
    mark_read,
    notifications_of,
    unread_count,
)

router = APIRouter(include_in_schema=False)
AUTH = access(Access.AUTH)
PAGE_PATH = "/ui/notifications"
PROFILE_PATH = "/ui/persons/{handle}/profile"


@router.get(PAGE_PATH, openapi_extra=AUTH)
def notifications_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    db: Database,
    handles: HandlesDep,
    unread: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    user = session.user
    check_watcher(user)
    total, items = notifications_of(
        db, user.id, unread_only=unread, offset=0, limit=NOTIFICATION_PAGE_CAP
    )
    context = {
        "total": total,
        "unread": unread_count(db, user.id),
        "unread_only": unread,
        "items": [NotificationResponse.of(item, handles) for item in items],
    }
    return render(request, "notifications/page.html", context, session=session, choice=choice)


@router.get(PAGE_PATH + "/badge", openapi_extra=AUTH)
def notifications_badge(request: Request, session: PageSession, db: Database) -> HTMLResponse:
    check_watcher(session.user)
    count = unread_count(db, session.user.id)
    return render(request, "notifications/_badge.html", {"count": count}, session=session)


@router.post(PAGE_PATH + "/{notification_id}/open", openapi_extra=AUTH)
def open_notification(
    notification_id: RowId, session: CheckedSession, db: Database, handles: HandlesDep
) -> Response:
    check_watcher(session.user)
    item = mark_read(db, session.user.id, notification_id, datetime.now(UTC))
    if item.kind is not NotificationKind.RECORD_CHANGE:  # a clue is read in the clue ledger
        return RedirectResponse(PAGE_PATH, status_code=303)
    choose_application(db, session.id_hash, item.application_id)
    target = PROFILE_PATH.format(handle=handles.handle(item.person_id))
    return RedirectResponse(target, status_code=303)


@router.post(PAGE_PATH + "/{notification_id}/read", openapi_extra=AUTH)
def read_notification(notification_id: RowId, session: CheckedSession, db: Database) -> Response:
    check_watcher(session.user)
    mark_read(db, session.user.id, notification_id, datetime.now(UTC))
    return RedirectResponse(PAGE_PATH, status_code=303)


@router.post("/ui/watches", openapi_extra=access(Access.GOVERNED))
def add_watch_page(
    request: Request,
    session: CheckedSession,
    gate: PageGate,
    db: Database,
    handles: HandlesDep,
    subject: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    watch = watch_person(gate, db, subject)
    if is_fragment_request(request):
        return render(request, "notifications/_watched.html", {"watch": watch}, session=session)
    handle = handles.handle(watch.person_id)  # never the number, whatever was typed
    return RedirectResponse(PROFILE_PATH.format(handle=handle), status_code=303)
