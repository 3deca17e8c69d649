"""Refusals and failures of the pages, in Chinese: the app's refusal handlers (search_api.
refusals) log every refusal as they do for the API, then ask `refusal_page` for the answer.

A page request (path under ``/ui``) gets a page, an htmx request a fragment; a refused or ended
session goes to the login page (htmx: ``HX-Redirect``). The API's message (numbers masked) is
shown under the Chinese heading of its status; a validation error names the fields. A failure
nobody foresaw is a 500 page without the stack trace (the server's log has it).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from search_api.web.labels import ERRORS, field_labels, refusal_text
from search_api.web.security import PAGE_PREFIX
from search_api.web.sessions import SESSION_STATE
from search_api.web.templating import is_fragment_request, render

LOGIN_PATH = "/ui/login"
SERVER_ERROR = 500


def is_page_request(request: Request) -> bool:
    return request.url.path.startswith(PAGE_PREFIX)


def _messages(content: Any) -> list[str]:
    """The API's message(s): a string, or per invalid field "字段：message"."""
    detail = content.get("detail") if isinstance(content, dict) else content
    if isinstance(detail, list):
        fields = field_labels()
        shown = []
        for error in detail:
            loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path")]
            name = "/".join(fields.get(p, p) for p in loc)
            shown.append(f"{name}：{error.get('msg', '')}" if name else str(error.get("msg", "")))
        return shown
    return [refusal_text(str(detail))] if detail else []


def refusal_page(
    request: Request, status: int, content: Any, headers: dict[str, str] | None
) -> Response | None:
    """The page or fragment answering a refusal of a page request; None for the API's."""
    del headers  # WWW-Authenticate is the API's; a page answers with the login page
    if not is_page_request(request):
        return None
    if status == 401 and request.url.path != LOGIN_PATH:
        if is_fragment_request(request):
            return Response(status_code=200, headers={"HX-Redirect": LOGIN_PATH})
        return RedirectResponse(LOGIN_PATH, status_code=303)
    template = "_error.html" if is_fragment_request(request) else "error.html"
    return render(
        request,
        template,
        {"status": status, "heading": ERRORS.get(status, ERRORS[400]),
         "messages": _messages(content)},
        session=getattr(request.state, SESSION_STATE, None),
        status=status,
    )  # fmt: skip


async def server_error_page(request: Request, exc: Exception) -> Response:
    """An unforeseen failure: a Chinese page for the pages, plain text for the API; never the
    stack trace (it goes to the server's log)."""
    structlog.get_logger().error("unhandled error", path=request.url.path, error=type(exc).__name__)
    if is_page_request(request):
        return render(
            request, "error.html",
            {"status": SERVER_ERROR, "heading": ERRORS[SERVER_ERROR], "messages": []},
            status=SERVER_ERROR,
        )  # fmt: skip
    return Response("Internal Server Error", status_code=SERVER_ERROR, media_type="text/plain")
