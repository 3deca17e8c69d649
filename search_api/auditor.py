"""What the routes of the security auditors share (search_api.routers.audit and .review): the
permission check (a logged 403), the logged read, and the period's validation."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.roles import Permission, require_permission
from accounts.users import User
from common.errors import InvalidInputError, PermissionDeniedError
from query_logs.audit import Recorder


def admit_auditor(recorder: Recorder, user: User) -> Recorder:
    """``recorder`` acting as ``user``, once ``user`` may read the log; a logged 403 otherwise."""
    caller = recorder.by(user)
    try:
        require_permission(user.roles, Permission.READ_AUDIT_LOG)
    except PermissionDeniedError as exc:
        caller.deny(exc.detail)
        raise
    return caller


def audit_filters(**values: object) -> dict[str, object]:
    """The filters a read named, as logged: the given ones, times in ISO form."""
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in values.items()
        if v is not None
    }


def check_period(since: datetime | None, until: datetime | None) -> None:
    """A period the log can be read over: aware times, within UTC's years, since before until."""
    for moment in (since, until):
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise InvalidInputError(
                "since and until need a time zone (e.g. 2024-05-01T00:00+08:00)"
            )
        try:  # 9999-12-31T23:00-14:00 is a valid datetime but no UTC one: the log is in UTC
            moment.astimezone(UTC)
        except OverflowError:
            raise InvalidInputError(
                "since and until must lie within the years 1 to 9999 in UTC"
            ) from None
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("since must be before until")
