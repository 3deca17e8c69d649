"""/docs and /redoc from the vendored Swagger UI and ReDoc (FastAPI's custom docs assets
recipe, with our own page templates: FastAPI's hold an inline script and style). Nothing loads
from another host, and Swagger UI's start-up code is a static file (static/js/swagger-init.js),
so the Content-Security-Policy holds on these pages too."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from search_api.access import Access, access
from search_api.web.templating import environment

router = APIRouter(include_in_schema=False)
VENDOR = "/static/vendor"
OPENAPI_URL = "/openapi.json"
TITLE = "线索 xiansuo API"


@router.get("/docs", openapi_extra=access(Access.PUBLIC))
def swagger_ui() -> HTMLResponse:
    html = environment().get_template("swagger.html").render(title=TITLE, vendor=VENDOR)
    return HTMLResponse(html)


@router.get("/redoc", openapi_extra=access(Access.PUBLIC))
def redoc() -> HTMLResponse:
    html = (
        environment()
        .get_template("redoc.html")
        .render(title=TITLE, vendor=VENDOR, openapi_url=OPENAPI_URL)
    )
    return HTMLResponse(html)
