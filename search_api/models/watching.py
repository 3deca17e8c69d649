"""Wire models of watch lists (布控): watches, standing runs, notifications.

A watched person is shown masked (the region only) with their handle, whatever the application
allows: a notification or a watch list is read outside any one query, so it shows no more
than the least it needs; the profile it links to is read through the gate.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from search_api.handles import Handles
from search_api.masking import mask_id
from watching.store import Notification, StandingRun, Watch


class WatchRequest(BaseModel):
    """The person to watch: a handle (from a card, profile or application) or the number."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=64)


class WatchedPersonResponse(BaseModel):
    person_id: str  # masked: the region only
    handle: str


class WatchResponse(BaseModel):
    id: int
    application_id: int
    subject: WatchedPersonResponse
    created_at: datetime
    active: bool

    @classmethod
    def of(cls, watch: Watch, handles: Handles) -> WatchResponse:
        return cls(
            id=watch.id,
            application_id=watch.application_id,
            subject=_person(watch.person_id, handles),
            created_at=watch.created_at,
            active=watch.active,
        )


class StandingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standing: bool  # 布控运行: re-run after each ingest, notify new clues


class StandingResponse(BaseModel):
    run_id: int
    model_id: str
    application_id: int
    standing: bool
    last_run_id: int

    @classmethod
    def of(cls, standing: StandingRun) -> StandingResponse:
        return cls(
            run_id=standing.run_id,
            model_id=standing.model_id,
            application_id=standing.application_id,
            standing=standing.active,
            last_run_id=standing.last_run_id,
        )


class NotificationResponse(BaseModel):
    id: int
    kind: str  # 记录变更 / 新增线索
    application_id: int
    source: str  # the registry of the record, or the model of the clue
    record_id: str | None  # the server's pseudonym of the record (search_api.handles)
    clue_id: int | None
    run_id: int | None
    subject: WatchedPersonResponse
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, item: Notification, handles: Handles) -> NotificationResponse:
        return cls(
            id=item.id,
            kind=str(item.kind),
            application_id=item.application_id,
            source=item.source,
            record_id=None if item.record_id is None else handles.record_id(item.record_id),
            clue_id=item.clue_id,
            run_id=item.run_id,
            subject=_person(item.person_id, handles),
            created_at=item.created_at,
            read=item.read_at is not None,
        )


class NotificationPageResponse(BaseModel):
    total: int
    unread: int
    notifications: list[NotificationResponse]


def _person(person_id: str, handles: Handles) -> WatchedPersonResponse:
    return WatchedPersonResponse(person_id=mask_id(person_id), handle=handles.handle(person_id))
