"""Rendering pages and fragments: one Jinja2 environment (autoescaped), one `render` call.

Every template sees ``L`` (search_api.web.labels), ``csrf`` (the session's token, for forms and
the ``hx-headers`` of ``<body>``), ``user``, ``choice`` (the page header's application facts)
and ``fragment`` (True for an htmx request: the handler renders only the part it replaces).
Templates hold no business rule: they show what the handler's builders made.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from accounts.roles import role_rules
from accounts.sessions import WebSession
from search_api.web.labels import all_labels
from search_api.web.sessions import ApplicationChoice

TEMPLATES = Path(__file__).resolve().parent / "templates"
SHOWN_ZONE = "Asia/Shanghai"  # times are stored in UTC and shown in Beijing time
HTMX_REQUEST = "hx-request"
HTMX_HISTORY_RESTORE = "hx-history-restore-request"
_MARK = re.compile(r"(<em>|</em>)")


def is_fragment_request(request: Request) -> bool:
    """An htmx request that replaces part of a page (a history restore wants the whole page)."""
    return (
        request.headers.get(HTMX_REQUEST) == "true"
        and request.headers.get(HTMX_HISTORY_RESTORE) != "true"
    )


def marked(fragment: str) -> Markup:
    """A highlight fragment as HTML: the engine's ``<em>`` marks become ``<mark>``, everything
    else is escaped (a record's text may hold ``<`` or a script)."""
    out: list[str] = []
    inside = False
    for part in _MARK.split(fragment):
        if part == "<em>":
            inside = True
        elif part == "</em>":
            inside = False
        elif part:
            text = str(escape(part))
            out.append(f"<mark>{text}</mark>" if inside else text)
    return Markup("".join(out))  # noqa: S704 - every part is escaped above


def shown_time(moment: datetime | None) -> str:
    """A stored time as people read it (Beijing time, to the minute)."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(SHOWN_ZONE)).strftime("%Y-%m-%d %H:%M")


@cache
def environment() -> Environment:
    """The templates' environment, built on first use (no import-time work)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["marked"] = marked
    env.filters["shown_time"] = shown_time
    env.globals["L"] = all_labels()
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: WebSession | None = None,
    choice: ApplicationChoice | None = None,
    status: int = 200,
    csrf: str | None = None,
) -> HTMLResponse:
    """``template`` rendered with the common context; ``csrf`` defaults to the session's."""
    values: dict[str, Any] = {
        "request": request,
        "session": session,
        "user": session.user if session else None,
        "csrf": csrf if csrf is not None else (session.csrf_token if session else ""),
        "choice": choice,
        "fragment": is_fragment_request(request),
        "path": request.url.path,
        # where the header's application picker returns to (the path only: a query may hold
        # a number the page must not echo)
        "here": request.url.path,
        # the permissions the header's navigation shows pages for (each page checks its own)
        "held": role_rules().permissions_of(session.user.roles) if session else frozenset(),
    }
    html = environment().get_template(template).render(values | dict(context or {}))
    return HTMLResponse(html, status_code=status)
