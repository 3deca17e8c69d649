"""Response models of account administration (search_api.routers.admin)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from accounts.users import User
from search_api.masking import mask_id


class UserResponse(BaseModel):
    """An account as administrators see it: no password hash, the ID number masked."""

    username: str
    display_name: str | None
    roles: list[str]
    jurisdiction: str
    id_number: str | None
    disabled: bool
    locked_until: datetime | None  # only while a lockout runs
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserResponse:
        locked = user.is_locked(datetime.now(UTC))
        return cls(
            username=user.username,
            display_name=user.display_name,
            roles=sorted(user.roles),
            jurisdiction=user.jurisdiction,
            id_number=None if user.id_number is None else mask_id(user.id_number),
            disabled=user.disabled,
            locked_until=user.locked_until if locked else None,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
