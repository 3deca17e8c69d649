"""Every route declares its access class; the app refuses to start with an unclassified route."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

ACCESS_KEY = "x-xiansuo-access"


class Access(StrEnum):
    PUBLIC = "public"  # no user: health
    AUTH = "auth"  # a logged-in user, no registry data (login, applications)
    GOVERNED = "governed"  # registry data: only through the gate
    ADMIN = "admin"  # account and grant administration (officers)
    AUDIT = "audit"  # the query log (security auditors)


def access(kind: Access) -> dict[str, Any]:
    """``openapi_extra`` for a route of this access class."""
    return {ACCESS_KEY: str(kind)}
