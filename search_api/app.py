"""The FastAPI app factory: builds the provider and the database engine, maps domain errors once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from common.settings import Settings
from query_logs.db import create_db_engine
from search_api.provider import EngineUnavailableError, OpenSearchProvider
from search_api.routers import health


def create_app(settings: Settings) -> FastAPI:
    """A new app bound to ``settings``; nothing connects until the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.provider = OpenSearchProvider.from_settings(settings)
        app.state.db = create_db_engine(settings.effective_database_url)
        try:
            yield
        finally:
            app.state.provider.close()
            app.state.db.dispose()

    app = FastAPI(title="线索 xiansuo", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(health.router)

    @app.exception_handler(EngineUnavailableError)
    async def _engine_unavailable(_request: Request, exc: EngineUnavailableError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    return app
