"""The FastAPI app factory: builds the provider, the stores and the log; maps domain errors once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.settings import Environment, Settings
from query_logs.applications import create_application_schema
from query_logs.audit import (
    AuditLog,
    create_audit_schema,
    generate_signing_key,
    load_signing_key,
)
from query_logs.db import create_db_engine
from query_logs.errors import DomainError, NotAuthenticatedError
from query_logs.users import create_user_schema
from search_api.access import ACCESS_KEY, Access
from search_api.deps import deny
from search_api.masking import mask_text
from search_api.provider import EngineUnavailableError, OpenSearchProvider
from search_api.routers import (
    admin,
    applications,
    audit,
    auth,
    clues,
    entities,
    grants,
    graph,
    health,
    persons,
    petitions,
    profiles,
    review,
    search,
)


class UnclassifiedRouteError(RuntimeError):
    """A route without an access class: the app refuses to start rather than guess."""


ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    applications.router,
    persons.router,
    search.router,
    entities.router,
    profiles.router,
    clues.router,
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


def create_app(settings: Settings) -> FastAPI:
    """A new app bound to ``settings``; nothing connects until the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.provider = OpenSearchProvider.from_settings(settings)
        app.state.db = db = create_db_engine(settings.effective_database_url)
        create_user_schema(db)
        create_application_schema(db)
        create_audit_schema(db)
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
        try:
            yield
        finally:
            app.state.provider.close()
            db.dispose()

    app = FastAPI(title="线索 xiansuo", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.route_inventory = route_inventory()
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticatedError) else None
        # A message may quote what was sent (a region, a code): numbers in it are masked.
        detail = mask_text(exc.detail)
        return JSONResponse(status_code=exc.status, content={"detail": detail}, headers=headers)

    async def _log_refused_input(request: Request, reason: str, invalid: list[str]) -> None:
        route = request.scope.get("route")
        kind = (getattr(route, "openapi_extra", None) or {}).get(ACCESS_KEY)
        if kind in (Access.GOVERNED, Access.ADMIN):
            await run_in_threadpool(
                deny,
                request.app.state.audit_log,
                request,
                None,
                reason,
                params={"invalid": invalid},
            )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The client's own input is not echoed back (a login body holds a password), and an
        # invalid request to a governed or admin route is a refusal: it is logged.
        # A location may be a key the client chose: numbers in it are masked, like in messages.
        errors = [{"loc": [mask_text(p) if isinstance(p, str) else p for p in e.get("loc", ())],
                   "msg": mask_text(str(e.get("msg"))), "type": e.get("type")}
                  for e in exc.errors()]  # fmt: skip
        invalid = [".".join(str(p) for p in e["loc"]) for e in errors]
        await _log_refused_input(request, "invalid request parameters", invalid)
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # A body that cannot be parsed is refused (400) before authentication runs: log it too.
        if exc.status_code == 400:
            await _log_refused_input(request, "unparseable request body", ["body"])
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail},
                            headers=getattr(exc, "headers", None))  # fmt: skip

    @app.exception_handler(EngineUnavailableError)
    async def _engine_unavailable(_request: Request, exc: EngineUnavailableError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    return app
