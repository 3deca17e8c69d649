"""The audit `Recorder` of one HTTP request, and the per-request facts the refusal handlers read.

The envelope is built here, once per request: the peer address (`client_ip`) and the matched
route (`route_of`: the template, never the path as typed, which may hold an ID number). The
pseudonym key is the server's secret; checkpoints follow the app's policy (``app.state.
checkpoints``, made in the lifespan). A denial marks the request (``REFUSAL_LOGGED``), so the
app's handlers (search_api.refusals) add no second entry for it.
"""

from __future__ import annotations

from functools import partial
from typing import cast

from fastapi import Request

from accounts.users import User
from common.settings import Settings
from query_logs.audit import AuditLog, Checkpoints, Envelope, Protect, Recorder
from search_api.masking import protect_identifiers

UNMATCHED_ROUTE = "(no route)"  # the raw path may hold an ID number: never a log's route

# Per-request facts on ``request.state``, read by the app's refusal handlers (search_api.refusals).
CALLER = "caller"  # the authenticated account, once the gate's `authenticate` has passed
REFUSAL_LOGGED = "refusal_logged"  # a denial of this request is in the log already


def client_ip(request: Request) -> str | None:
    """The peer address. X-Forwarded-For has replaced it only if the peer is one of
    XIANSUO_TRUSTED_PROXIES (see search_api.app); a client cannot write its own address."""
    return request.client.host if request.client else None


def route_of(request: Request) -> str:
    """The matched route as "METHOD /path/{template}" (never the path as typed)."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', UNMATCHED_ROUTE)}"


def caller_of(request: Request) -> User | None:
    """The account `authenticate` admitted for this request, if it ran and passed."""
    return cast(User | None, getattr(request.state, CALLER, None))


def remember_caller(request: Request, user: User) -> None:
    """Say who this request's caller is: a later refusal of it is this user's."""
    setattr(request.state, CALLER, user)


def mark_refusal_logged(request: Request) -> None:
    """Say that this request's refusal is logged (a denial or a failed login): the app's handlers
    then add no second entry."""
    setattr(request.state, REFUSAL_LOGGED, True)


def refusal_logged(request: Request) -> bool:
    return bool(getattr(request.state, REFUSAL_LOGGED, False))


def log_key(settings: Settings) -> bytes:
    """The key of the log's pseudonyms (search_api.masking.pseudonym)."""
    return settings.secret_key.get_secret_value().encode()


def protector(settings: Settings) -> Protect:
    """``protect_identifiers`` under the server's key: what the recorder passes text through."""
    return partial(protect_identifiers, key=log_key(settings))


def recorder_for(request: Request) -> Recorder:
    """The request's recorder, acting for nobody yet (``Recorder.by(user)`` names the caller)."""
    state = request.app.state
    return Recorder(
        audit=cast(AuditLog, state.audit_log),
        envelope=Envelope(source_ip=client_ip(request), route=route_of(request)),
        protect=protector(cast(Settings, state.settings)),
        checkpoints=cast(Checkpoints | None, getattr(state, "checkpoints", None)),
        on_deny=partial(mark_refusal_logged, request),
    )
