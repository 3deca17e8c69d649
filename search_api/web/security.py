"""The browser-facing defences: response headers on every answer, Origin and CSRF checks.

- ``SecurityHeaders`` (ASGI middleware, every response of the app, API and pages alike): a
  strict Content-Security-Policy (no inline script or style, nothing from another host; ReDoc's
  page alone may inline styles),
  ``nosniff``, no referrer, no framing; pages under ``/ui`` are never cached (they show data).
- ``same_origin``: an unsafe request from a page must come from this server (Origin, the
  browser's Sec-Fetch-Site, or Referer when neither was sent).
- The CSRF token is the session's (accounts.sessions); forms send it as a field, htmx as the
  ``X-CSRF-Token`` header set once on ``<body>`` (``hx-headers``).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# ReDoc (styled-components) writes its styles as <style> elements at run time. On /redoc alone,
# inline styles are allowed; scripts stay 'self' only, as everywhere.
REDOC_PATH: Final = "/redoc"
REDOC_CONTENT_SECURITY_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
SECURITY_HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
PAGE_PREFIX: Final = "/ui"
NO_STORE: Final = "no-store"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response, and ``Cache-Control: no-store`` to the
    pages (``/ui``), which show registry data or a session's token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        is_page = path.startswith(PAGE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if path == REDOC_PATH:
                    headers["content-security-policy"] = REDOC_CONTENT_SECURITY_POLICY
                if is_page:
                    headers["cache-control"] = NO_STORE
                    headers.append("vary", "HX-Request")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """Whether an unsafe request came from a page of this server. ``Origin`` names this host;
    or, as a browser sends ``Origin: null`` on a form post under ``Referrer-Policy:
    no-referrer``, the browser's own ``Sec-Fetch-Site: same-origin`` (a header no page can
    set); or, from a client that sends neither, a ``Referer`` naming this host. A request with
    none of them is refused."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() == own:
        return True
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin" and origin in (None, "null")
    if origin is not None:
        return False
    referer = request.headers.get("referer")
    return referer is not None and _origin_of(referer) == own
