"""The review of the query log for security auditors: findings, CSV export, user timelines.

Every read is logged (``audit_read``) before the log is read, and a refused reader is logged as a
denial. What each route does is search_api.log_review's (shared with the 日志审查 page,
including the household look-up of the own-household rule); this module speaks HTTP.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response

from search_api import log_review
from search_api.access import Access, access
from search_api.log_review import ReviewerDep
from search_api.models.review import ReviewResponse, TimelineResponse

router = APIRouter(tags=["review"])
AUDIT = access(Access.AUDIT)


@router.get("/audit/review", response_model=ReviewResponse, openapi_extra=AUDIT)
def review_report(
    reviewer: ReviewerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
) -> ReviewResponse:
    return log_review.review_report(reviewer, since, until, actor)


@router.get(
    "/audit/review.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the review, one finding a row"}},
    openapi_extra=AUDIT,
)
def review_export(
    reviewer: ReviewerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
) -> Response:
    export = log_review.review_export(reviewer, since, until, actor)
    return Response(
        content=export.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@router.get("/audit/users/{username}/timeline", response_model=TimelineResponse,
            openapi_extra=AUDIT)  # fmt: skip
def user_timeline(
    username: str,
    reviewer: ReviewerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=1000, ge=1, le=5000),
) -> TimelineResponse:
    return log_review.user_timeline(reviewer, username, since, until, limit)
