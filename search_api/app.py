"""The FastAPI app factory: builds the engine door, the stores and the log; maps errors once
(search_api.refusals: every refusal it maps is a logged denial)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from common.db import create_db_engine
from common.errors import EngineUnavailableError
from common.settings import Environment, Settings
from migrations.store import prepare_store
from query_logs.audit import (
    AuditLog,
    Checkpoints,
    generate_signing_key,
    load_signing_key,
)
from registry.engine import EngineDoor
from search_api.access import ACCESS_KEY, Access
from search_api.refusals import answer, install_refusal_handlers
from search_api.routers import (
    admin,
    applications,
    audit,
    auth,
    cases,
    clues,
    entities,
    grants,
    graph,
    health,
    models,
    persons,
    petitions,
    profiles,
    review,
    screenings,
    search,
    watches,
)
from search_api.web.routers import WEB_ROUTERS, install_web


class UnclassifiedRouteError(RuntimeError):
    """A route without an access class: the app refuses to start rather than guess."""


ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    cases.router,
    applications.router,
    persons.router,
    search.router,
    entities.router,
    profiles.router,
    clues.router,
    models.router,
    watches.router,
    screenings.router,
    petitions.router,
    graph.router,
    audit.router,
    review.router,
    admin.router,
    grants.router,
)


def route_inventory(routers: tuple[APIRouter, ...] = ROUTERS) -> dict[str, Access]:
    """Every route's access class, by "METHOD path"; raises for an unclassified route.

    The OpenAPI document and the docs pages are the only other routes (tests compare).
    """
    inventory: dict[str, Access] = {}
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise UnclassifiedRouteError(f"route {route!r} is not an API route")
            kind = (route.openapi_extra or {}).get(ACCESS_KEY)
            if kind is None:
                raise UnclassifiedRouteError(f"route {route.path} declares no access class")
            for method in sorted(route.methods or ()):
                inventory[f"{method} {route.path}"] = Access(kind)
    return inventory


def page_inventory() -> dict[str, Access]:
    """Every web page's and docs page's access class (search_api.web), by "METHOD path"; they
    are not in the OpenAPI document."""
    return route_inventory(WEB_ROUTERS)


def create_app(settings: Settings) -> FastAPI:
    """A new app bound to ``settings``; nothing connects until the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.provider = EngineDoor.for_api(settings)
        app.state.db = db = create_db_engine(settings.effective_database_url)
        prepare_store(db)  # SQLite: upgraded in place; PostgreSQL: refused unless current
        app.state.audit_log = AuditLog(db)
        key_file = settings.audit_signing_key_file
        if key_file is None:
            if settings.environment is Environment.PRODUCTION:
                raise RuntimeError("XIANSUO_AUDIT_SIGNING_KEY_FILE must be set in production")
            key_file = settings.state_dir / "keys" / "audit-signing.pem"
        if not key_file.exists():
            generate_signing_key(key_file)
        app.state.audit_signing_key = load_signing_key(key_file)
        app.state.audit_public_key = app.state.audit_signing_key.public_key()
        app.state.checkpoints = Checkpoints(  # the recorders' policy (search_api.recording)
            app.state.audit_signing_key,
            every_n_entries=settings.audit_checkpoint_every,
            max_age=timedelta(seconds=settings.audit_checkpoint_max_age_s),
        )
        try:
            yield
        finally:
            app.state.provider.close()
            db.dispose()

    # /docs and /redoc are search_api.web's, from vendored assets (nothing loads from a CDN)
    app = FastAPI(
        title="线索 xiansuo", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    if settings.trusted_proxies:
        # The peer address is replaced from X-Forwarded-For only when the peer itself is a
        # configured proxy; any other client's forwarded headers are ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.state.route_inventory = route_inventory()
    app.state.page_inventory = page_inventory()
    for router in ROUTERS + WEB_ROUTERS:
        app.include_router(router)

    install_refusal_handlers(app)
    install_web(app)

    @app.exception_handler(EngineUnavailableError)
    async def _engine_unavailable(request: Request, exc: EngineUnavailableError) -> Response:
        return answer(request, 503, {"detail": str(exc)})

    return app
