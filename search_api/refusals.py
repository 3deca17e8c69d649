"""Every refusal is a logged denial: the app's error handlers log what no route logged.

The gate, the desks and a few routes log their refusals themselves, with what was asked, and
the request's recorder marks the request (``recording.mark_refusal_logged``). Every other 4xx
answer (a request-validation 422, also on a governed route before its gate ran; a 404 of an
object; a 409; a body that is not JSON; an unknown path) is logged here, by the handler that
turns the error into a response, as a ``denial`` of the authenticated caller
(``identify_caller``), or of nobody when no token holds. A new route therefore cannot forget to
log a refusal, and none is logged twice. A denial that cannot be written turns the answer into
a 503, as every other entry does.

The answer is JSON, unless the app installed a page renderer (``PAGE_RENDERER`` on
``app.state``: search_api.web.errors) that answers this request itself: the web UI's pages get
the same refusal, logged the same way, as a Chinese page or fragment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from accounts.auth import TokenError, decode_token
from accounts.auth import current_user as current_account
from accounts.users import User
from common.db import Bind
from common.errors import DomainError, NotAuthenticatedError
from common.settings import Settings
from query_logs.audit import find_secret
from search_api.masking import mask_text, protect_identifiers
from search_api.recording import caller_of, log_key, recorder_for, refusal_logged

# What a handler-logged denial keeps of the request: enough to see what was tried, bounded so
# that a hostile query string cannot blow up one log entry.
MAX_LOGGED_PARAMS = 20
MAX_LOGGED_CHARS = 200
APPLICATION_HEADER = "x-application-id"
UNPARSEABLE_BODY = "unparseable request body"
LOG_UNAVAILABLE = "the query log cannot be written"
PAGE_RENDERER = "refusal_page"  # app.state: a RefusalPage, or absent (JSON only)

RefusalPage = Callable[[Request, int, Any, dict[str, str] | None], Response | None]
"""``(request, status, content, headers)`` -> the page answering this refusal, or None for the
JSON answer (a request that is not a page's)."""


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_LOGGED_CHARS]
    if isinstance(value, dict):
        return {_clip(k): _clip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip(v) for v in value]
    return value


def requested_params(request: Request, key: bytes) -> dict[str, Any]:
    """What the request named (path and query parameters, the application header; never the
    body, which may hold a password), identifiers pseudonymised, every value clipped, and
    credential-like items (``?token=…``, a pasted JWT) left out and counted."""
    asked: dict[str, Any] = {}
    withheld = 0
    if request.scope.get("route") is None:
        asked["url_path"] = request.url.path  # unmatched: the path as typed is all there is
    named: dict[str, list[tuple[str, str | None]]] = {
        "path": [(name, str(value)) for name, value in request.path_params.items()],
        "query": list(request.query_params.multi_items()),
        "header": [(APPLICATION_HEADER, request.headers.get(APPLICATION_HEADER))],
    }
    for where, items in named.items():
        kept: dict[str, list[str]] = {}
        for name, value in items[:MAX_LOGGED_PARAMS]:
            if value is None:
                continue
            if find_secret({name: value}) is not None:
                withheld += 1
                continue
            kept.setdefault(name, []).append(value)
        if kept:
            asked[where] = kept
    if withheld:
        asked["withheld"] = withheld
    protected = protect_identifiers(asked, key)
    # keys are the client's too (?420102...=1): pseudonymised like the values
    protected = {k: _protect_keys(v, key) for k, v in protected.items()}
    return dict(_clip(protected))


def _protect_keys(value: Any, key: bytes) -> Any:
    if isinstance(value, dict):
        return {protect_identifiers(k, key): v for k, v in value.items()}
    return value


def identify_caller(request: Request, db: Bind, settings: Settings) -> User | None:
    """The account behind the bearer token, if it holds, without logging anything: names the
    actor of a refusal decided before the route authenticated (an invalid parameter)."""
    if (known := caller_of(request)) is not None:
        return known
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    now = datetime.now(UTC)
    try:
        return current_account(db, decode_token(token.strip(), settings, now), now)
    except (TokenError, NotAuthenticatedError):
        return None


def log_refusal(request: Request, reason: str, extra: dict[str, Any] | None = None) -> None:
    """Log the request's refusal as a denial unless one is logged already."""
    if refusal_logged(request):
        return
    state = request.app.state
    settings: Settings = state.settings
    user = identify_caller(request, state.db, settings)
    params = requested_params(request, log_key(settings)) | dict(extra or {})
    recorder_for(request).by(user).deny(reason, params=params)


async def _logged(request: Request, reason: str, extra: dict[str, Any] | None = None) -> bool:
    """`log_refusal` off the event loop; False when the log could not be written."""
    try:
        await run_in_threadpool(log_refusal, request, reason, extra)
    except (DomainError, SQLAlchemyError):
        return False
    return True


def answer(
    request: Request, status: int, content: Any, headers: dict[str, str] | None = None
) -> Response:
    """The refusal's answer: the installed page renderer's, or JSON."""
    render: RefusalPage | None = getattr(request.app.state, PAGE_RENDERER, None)
    if render is not None and (page := render(request, status, content, headers)) is not None:
        return page
    return JSONResponse(status_code=status, content=content, headers=headers)


def _log_unavailable(request: Request) -> Response:
    return answer(request, 503, {"detail": LOG_UNAVAILABLE})


def install_refusal_handlers(app: FastAPI) -> None:
    """Map domain errors, invalid requests and HTTP errors to responses, logging each refusal."""

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if exc.status < 500 and not await _logged(request, exc.detail):
            return _log_unavailable(request)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticatedError) else None
        # A message may quote what was sent (a region, a code): numbers in it are masked.
        detail = mask_text(exc.detail)
        return answer(request, exc.status, {"detail": detail}, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # The client's own input is not echoed back (a login body holds a password); the denial
        # names the invalid fields, never their values. A location may be a key the client
        # chose: numbers in it are masked, like in messages.
        errors = [{"loc": [mask_text(p) if isinstance(p, str) else p for p in e.get("loc", ())],
                   "msg": mask_text(str(e.get("msg"))), "type": e.get("type")}
                  for e in exc.errors()]  # fmt: skip
        invalid = [".".join(str(p) for p in e["loc"]) for e in errors]
        if not await _logged(request, "invalid request parameters", {"invalid": invalid}):
            return _log_unavailable(request)
        return answer(request, 422, {"detail": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A body that cannot be parsed (400) is refused before authentication runs; an unknown
        # path (404) or method (405) never reaches a route.
        if 400 <= exc.status_code < 500:
            reason = UNPARSEABLE_BODY if exc.status_code == 400 else str(exc.detail)
            if not await _logged(request, reason):
                return _log_unavailable(request)
        return answer(request, exc.status_code, {"detail": exc.detail},
                      getattr(exc, "headers", None))  # fmt: skip
