"""FastAPI dependencies as Annotated aliases: the one place routes get their collaborators.

Only accessors live here. The gate's runtime is search_api.gatekeeper (`Gate` is the only door
to registry data), the request's audit recorder is built by search_api.recording, and the desk
of administration requests is search_api.desk.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Header, Request
from sqlalchemy import Engine

from accounts.users import User
from common.db import RowId
from common.settings import Settings
from query_logs.audit import AuditLog, Recorder
from registry.engine import EngineDoor
from search_api.gatekeeper import GateKeeper, authenticate
from search_api.handles import Handles, handles_for
from search_api.recording import recorder_for


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_provider(request: Request) -> EngineDoor:
    """The engine door the app made at start (``EngineDoor.for_api``)."""
    return cast(EngineDoor, request.app.state.provider)


async def get_db(request: Request) -> Engine:
    return cast(Engine, request.app.state.db)


async def get_audit_log(request: Request) -> AuditLog:
    return cast(AuditLog, request.app.state.audit_log)


async def get_recorder(request: Request) -> Recorder:
    return recorder_for(request)


# The accessors only read app.state: async, so FastAPI spends no thread-pool hop on them.
SettingsDep = Annotated[Settings, Depends(get_settings)]
Provider = Annotated[EngineDoor, Depends(get_provider)]
Database = Annotated[Engine, Depends(get_db)]
Audit = Annotated[AuditLog, Depends(get_audit_log)]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
"""The request's recorder, acting for nobody: ``recorder.by(user)`` names the caller."""


async def get_handles(settings: SettingsDep) -> Handles:
    return handles_for(settings.secret_key.get_secret_value())


HandlesDep = Annotated[Handles, Depends(get_handles)]


def get_current_user(
    request: Request, db: Database, recorder: RecorderDep, settings: SettingsDep
) -> User:
    return authenticate(request, db, recorder, settings)


CurrentUser = Annotated[User, Depends(get_current_user)]


ApplicationHeader = Annotated[
    RowId | None,
    Header(description="the approved query application (查询申请) the request is made under"),
]


async def get_gate(
    request: Request,
    db: Database,
    recorder: RecorderDep,
    settings: SettingsDep,
    handles: HandlesDep,
    x_application_id: ApplicationHeader = None,
) -> GateKeeper:
    """The gate of a governed route; the header is declared here, so the OpenAPI document shows
    it with its bounds on every governed route and a malformed one is a logged 422."""
    return GateKeeper(request, db, recorder, settings, handles, x_application_id)


Gate = Annotated[GateKeeper, Depends(get_gate)]
