"""The web UI's routers, in the order the app includes them (search_api.app), and how the app
takes the UI on: static files, security headers, the refusal pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from search_api.refusals import PAGE_RENDERER
from search_api.web.errors import refusal_page, server_error_page
from search_api.web.pages import (
    admin,
    approvals,
    audit,
    auth,
    cases,
    clues,
    docs,
    entities,
    graph,
    home,
    models,
    notifications,
    profile,
    screening,
    search,
)
from search_api.web.security import SecurityHeaders

STATIC = Path(__file__).resolve().parent / "static"

WEB_ROUTERS: tuple[APIRouter, ...] = (
    docs.router,
    auth.router,
    home.router,
    search.router,
    # ui-admin
    approvals.router,
    audit.router,
    admin.router,
    # ui-inv: the investigator's pages
    entities.router,
    profile.router,
    cases.router,
    clues.router,
    graph.router,
    # watch: notifications and 加入布控
    notifications.router,
    screening.router,
    # models-ui: comparison models, their runs, the clue ledger
    models.router,
)


def install_web(app: FastAPI) -> None:
    """Serve the pages' static files, answer page refusals with pages, and put the security
    headers on every response (API and pages alike). The routers are included by the app."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    setattr(app.state, PAGE_RENDERER, refusal_page)
    app.add_exception_handler(Exception, server_error_page)
    app.add_middleware(SecurityHeaders)
