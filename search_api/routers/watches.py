"""Watch lists (布控) and notifications: watch a subject of an application, list and end
watches, mark a comparison run standing, read one's own notifications (docs/watch.md).

Watches and standing runs are governed (X-Application-Id; search_api.watch_lists): the gate
admits them under the caller's approved application, logs the request and its outcome, and
logs every refusal. Notifications are the caller's own (no other user's is ever found); they
name a record by its pseudonym and a person masked with a handle, and lead to the record only
through the gate (the profile under the application).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Response

from common.db import RowId
from search_api.access import Access, access
from search_api.deps import CurrentUser, Database, Gate, HandlesDep
from search_api.models.watching import (
    NotificationPageResponse,
    NotificationResponse,
    StandingRequest,
    StandingResponse,
    WatchRequest,
    WatchResponse,
)
from search_api.watch_lists import (
    check_watcher,
    end_watch,
    list_watches,
    mark_standing,
    watch_person,
)
from watching.store import NOTIFICATION_PAGE_CAP, mark_read, notifications_of, unread_count

router = APIRouter(tags=["watches"])

GOVERNED = access(Access.GOVERNED)
AUTH = access(Access.AUTH)


@router.post("/watches", response_model=WatchResponse, status_code=201, openapi_extra=GOVERNED)
def create_watch(
    body: WatchRequest, gate: Gate, db: Database, handles: HandlesDep
) -> WatchResponse:
    """Watch a subject person of the application (a handle or the number): after each ingest,
    new or changed records about them in the application's scope become notifications."""
    return WatchResponse.of(watch_person(gate, db, body.subject), handles)


@router.get("/watches", response_model=list[WatchResponse], openapi_extra=GOVERNED)
def read_watches(gate: Gate, db: Database, handles: HandlesDep) -> list[WatchResponse]:
    """The caller's active watches under the application."""
    return [WatchResponse.of(w, handles) for w in list_watches(gate, db)]


@router.delete("/watches/{watch_id}", status_code=204, openapi_extra=GOVERNED)
def delete_watch(watch_id: RowId, gate: Gate, db: Database) -> Response:
    """End one of the caller's watches under the application (kept, marked ended)."""
    end_watch(gate, db, watch_id)
    return Response(status_code=204)


@router.patch("/models/runs/{run_id}", response_model=StandingResponse, openapi_extra=GOVERNED)
def update_run(run_id: RowId, body: StandingRequest, gate: Gate, db: Database) -> StandingResponse:
    """Mark a run of the application standing (布控运行): after each ingest that changes its
    model's sources it is re-run under the application, and its new clues are notified."""
    return StandingResponse.of(mark_standing(gate, db, run_id, body.standing))


@router.get("/notifications", response_model=NotificationPageResponse, openapi_extra=AUTH)
def read_notifications(
    user: CurrentUser,
    db: Database,
    handles: HandlesDep,
    unread: bool = False,
    offset: int = Query(default=0, ge=0, le=10_000),
    limit: int = Query(default=20, ge=1, le=NOTIFICATION_PAGE_CAP),
) -> NotificationPageResponse:
    """The caller's own notifications, newest first (``unread``: only those not read)."""
    check_watcher(user)
    total, items = notifications_of(db, user.id, unread_only=unread, offset=offset, limit=limit)
    return NotificationPageResponse(
        total=total,
        unread=unread_count(db, user.id),
        notifications=[NotificationResponse.of(item, handles) for item in items],
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationResponse,
    openapi_extra=AUTH,
)
def read_notification(
    notification_id: RowId, user: CurrentUser, db: Database, handles: HandlesDep
) -> NotificationResponse:
    """Mark one of the caller's notifications read."""
    check_watcher(user)
    return NotificationResponse.of(
        mark_read(db, user.id, notification_id, datetime.now(UTC)), handles
    )
