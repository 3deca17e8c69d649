"""FastAPI dependencies as Annotated aliases: the one place routes get their collaborators."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy import Engine

from common.settings import Settings
from search_api.provider import OpenSearchProvider


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_provider(request: Request) -> OpenSearchProvider:
    return cast(OpenSearchProvider, request.app.state.provider)


def get_db(request: Request) -> Engine:
    return cast(Engine, request.app.state.db)


SettingsDep = Annotated[Settings, Depends(get_settings)]
Provider = Annotated[OpenSearchProvider, Depends(get_provider)]
Database = Annotated[Engine, Depends(get_db)]
