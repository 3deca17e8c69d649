"""FastAPI dependencies as Annotated aliases: the one place routes get their collaborators.

`Gate` is the only door to registry data: a governed route asks it to admit a `QueryRequest`,
which checks the application (query_logs.gate), counts the quota and commits the write-ahead
log entry before the route may query; the route then completes the admission with its outcome
entry before it returns anything. If the log cannot be written, the request ends in 503.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Header, Request
from opensearchpy.exceptions import OpenSearchException
from sqlalchemy import Connection, Engine

from accounts.auth import TokenError, decode_token
from accounts.auth import current_user as current_account
from accounts.users import User
from common.db import Bind, RowId
from common.errors import DomainError, InvalidInputError, NotAuthenticatedError
from common.settings import Settings
from common.vocab import Source
from query_logs.applications import (
    Application,
    ApplicationNotFoundError,
    Subject,
    SubjectKind,
    consume_query_in,
    get_application,
    parse_subject,
)
from query_logs.audit import (
    AuditEntry,
    AuditEntryIn,
    AuditKind,
    AuditLog,
    AuditOutcome,
    digest_record_ids,
)
from query_logs.gate import GateDeniedError, QueryRequest, QuotaExhaustedError, Scope, decide_scope
from query_logs.grants import active_grant_regions
from search_api.handles import Handles, handles_for, looks_like_handle
from search_api.masking import protect_identifiers
from search_api.provider import EngineUnavailableError, OpenSearchProvider

log = structlog.get_logger(__name__)


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_provider(request: Request) -> OpenSearchProvider:
    return cast(OpenSearchProvider, request.app.state.provider)


async def get_db(request: Request) -> Engine:
    return cast(Engine, request.app.state.db)


async def get_audit_log(request: Request) -> AuditLog:
    return cast(AuditLog, request.app.state.audit_log)


# The accessors only read app.state: async, so FastAPI spends no thread-pool hop on them.
SettingsDep = Annotated[Settings, Depends(get_settings)]
Provider = Annotated[OpenSearchProvider, Depends(get_provider)]
Database = Annotated[Engine, Depends(get_db)]
Audit = Annotated[AuditLog, Depends(get_audit_log)]


def client_ip(request: Request) -> str | None:
    """The peer address. X-Forwarded-For has replaced it only if the peer is one of
    XIANSUO_TRUSTED_PROXIES (see search_api.app); a client cannot write its own address."""
    return request.client.host if request.client else None


UNMATCHED_ROUTE = "(no route)"  # the raw path may hold an ID number: never a log's route


def route_of(request: Request) -> str:
    """The matched route as "METHOD /path/{template}" (never the path as typed)."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', UNMATCHED_ROUTE)}"


# Per-request facts on ``request.state``, read by the app's refusal handlers (search_api.refusals).
CALLER = "caller"  # the authenticated account, once `authenticate` has passed
REFUSAL_LOGGED = "refusal_logged"  # a denial of this request is in the log already


def caller_of(request: Request) -> User | None:
    """The account `authenticate` admitted for this request, if it ran and passed."""
    return cast(User | None, getattr(request.state, CALLER, None))


def mark_refusal_logged(request: Request) -> None:
    """Say that this request's refusal is logged (a denial or a failed login): the app's handlers
    then add no second entry."""
    setattr(request.state, REFUSAL_LOGGED, True)


def refusal_logged(request: Request) -> bool:
    return bool(getattr(request.state, REFUSAL_LOGGED, False))


# Appends between two probes for a due checkpoint (two reads); checkpoints fall due every
# `audit_checkpoint_every` entries (100 by default), so a probe every 16 appends is ample.
CHECKPOINT_PROBE_EVERY = 16
_appends = itertools.count(1)


def record(
    audit: AuditLog,
    request: Request,
    entry: AuditEntryIn,
    first: Callable[[Connection], None] | None = None,
) -> AuditEntry:
    """Append an entry and checkpoint when due; a log that cannot be written raises 503.

    ``first`` runs in the entry's transaction (see `AuditLog.append`)."""
    written = audit.append(entry, first=first)
    key = cast(Ed25519PrivateKey | None, getattr(request.app.state, "audit_signing_key", None))
    settings = cast(Settings, request.app.state.settings)
    if key is not None and next(_appends) % CHECKPOINT_PROBE_EVERY == 0:
        try:
            audit.maybe_checkpoint(
                key,
                every_n_entries=settings.audit_checkpoint_every,
                max_age=timedelta(seconds=settings.audit_checkpoint_max_age_s),
            )
        except DomainError:  # the entry itself is committed; the next append retries the checkpoint
            log.warning("audit.checkpoint_failed")
    return written


WITHHELD = "what was asked is withheld: it holds credential-like or non-JSON text"


class UnloggableInputError(InvalidInputError):
    """The request holds text the log refuses to keep (a pasted token, a control character, a
    lone surrogate): what cannot be logged is not done."""

    def __init__(self) -> None:
        super().__init__(
            "the request holds text the query log cannot keep (a credential, a control "
            "character or invalid Unicode); remove it and ask again"
        )


def log_key(request: Request) -> bytes:
    """The key of the log's pseudonyms (search_api.masking.pseudonym)."""
    settings = cast(Settings, request.app.state.settings)
    return settings.secret_key.get_secret_value().encode()


def deny(audit: AuditLog, request: Request, user: User | None, reason: str, **fields: Any) -> None:
    """Log a refused request (before the refusal is raised by the caller); the app's handlers
    then log no second denial for it.

    A reason may quote what was sent, a refused application id is what the client wrote and the
    parameters may name a key the client chose: all are logged with any number in them
    pseudonymised (pseudonymising twice changes nothing). What a client typed can also be unfit
    for the log (a JWT pasted into a query, a NUL character): the log refuses such an entry, and
    the denial is then written without the client's text, so that the refusal is still logged
    and still a 4xx."""
    key = log_key(request)
    for name in ("application_id", "params"):
        if fields.get(name) is not None:
            fields[name] = protect_identifiers(fields[name], key)
    entry = AuditEntryIn(
        kind=AuditKind.DENIAL,
        actor=user.username if user else None,
        actor_role=",".join(sorted(user.roles)) if user else None,
        source_ip=client_ip(request),
        route=route_of(request),
        outcome=AuditOutcome.DENIED,
        detail={"reason": protect_identifiers(reason, key)},
        **fields,
    )
    try:
        record(audit, request, entry)
    except ValueError:
        bare = replace(entry, params=None, purpose=None, case_id=None, detail={"reason": WITHHELD})
        record(audit, request, bare)
    mark_refusal_logged(request)


def authenticate(request: Request, db: Bind, audit: AuditLog, settings: Settings) -> User:
    """The account behind the bearer token, re-read now; every refusal is logged."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    now = datetime.now(UTC)
    try:
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticatedError("a bearer token is required")
        user = current_account(db, decode_token(token.strip(), settings, now), now)
    except TokenError as exc:
        deny(audit, request, None, f"token refused: {exc.reason}")
        raise
    except NotAuthenticatedError as exc:
        deny(audit, request, None, exc.detail)
        raise
    setattr(request.state, CALLER, user)  # a later refusal of this request is this user's
    return user


def get_current_user(request: Request, db: Database, audit: Audit, settings: SettingsDep) -> User:
    return authenticate(request, db, audit, settings)


CurrentUser = Annotated[User, Depends(get_current_user)]


@dataclass
class Admission:
    """A request the gate let through; `complete` logs its outcome and must precede the reply."""

    scope: Scope
    application: Application
    user: User
    request_seq: int  # the write-ahead entry; the outcome entry names it
    _gate: GateKeeper
    _started: float

    def complete(self, hit_count: int, record_ids: list[str]) -> None:
        self._gate.outcome(self, AuditOutcome.OK, hit_count, record_ids)

    def fail(self, error: str) -> None:
        self._gate.outcome(self, AuditOutcome.ERROR, None, [], error)

    def note(
        self,
        kind: AuditKind,
        detail: dict[str, Any],
        *,
        params: dict[str, Any] | None = None,
        hit_count: int | None = None,
        result_digest: str | None = None,
    ) -> None:
        """Log another entry of this admission (see `GateKeeper.note`)."""
        self._gate.note(
            self, kind, detail, params=params, hit_count=hit_count, result_digest=result_digest
        )

    def search(
        self,
        provider: OpenSearchProvider,
        body: dict[str, Any],
        sources: tuple[Source, ...] | None = None,
    ) -> dict[str, Any]:
        """One search over the indices of the scope's sources (or of those of ``sources`` that
        are in scope); an engine failure is logged as this admission's outcome, then 503."""
        wanted = [s for s in self.scope.sources if sources is None or s in sources]
        indices = ",".join(provider.index_name(str(s)) for s in wanted)
        try:
            result: dict[str, Any] = provider.client.search(
                index=indices, body=body, params={"ignore_unavailable": "true"}
            )
        except (OpenSearchException, OSError) as exc:
            self.fail(type(exc).__name__)
            raise EngineUnavailableError("the search engine did not answer") from exc
        return result


class GateKeeper:
    """Per request: admits governed queries under the application named in X-Application-Id.

    It authenticates the caller itself, inside `admit`: a governed route runs in one worker
    thread from the token to the reply (a separate user dependency would cost a second hop
    between the event loop and the thread pool on every query).
    """

    def __init__(
        self,
        request: Request,
        db: Engine,
        audit: AuditLog,
        settings: Settings,
        application_id: int | None = None,
    ) -> None:
        self._request, self._db, self._audit, self._settings = request, db, audit, settings
        self._application_id = application_id  # X-Application-Id, validated as a RowId
        self._log_key = settings.secret_key.get_secret_value().encode()
        self._handles = handles_for(settings.secret_key.get_secret_value())
        self._account: User | None = None

    def _authenticated(self, bind: Bind) -> User:
        if self._account is None:
            self._account = authenticate(self._request, bind, self._audit, self._settings)
        return self._account

    def _refuse(
        self, error: DomainError, params: dict[str, Any], application_id: str | None = None
    ) -> DomainError:
        # What was asked is logged with the refusal (pseudonymised): a refused attempt to look
        # oneself up must be as visible to the review as a successful one.
        deny(
            self._audit,
            self._request,
            self._account,
            error.detail,
            application_id=application_id,
            params=protect_identifiers(params, self._log_key),
        )
        return error

    def refuse(self, error: DomainError, params: dict[str, Any]) -> DomainError:
        """Log a refusal the route decided itself (a malformed query, say) as the authenticated
        caller's denial, with what was asked pseudonymised; returns ``error`` for the route to
        raise. The caller is authenticated first: without a valid token this is a logged 401."""
        self._authenticated(self._db)
        return self._refuse(error, params, self._named_application())

    def _named_application(self) -> str | None:
        return None if self._application_id is None else str(self._application_id)

    def subject(self, kind: SubjectKind, value: str) -> Subject:
        """The subject a subject-bound route names, validated; malformed input is a logged
        refusal (422) whose log entry and message name the field, never what was typed. A
        person may be named by a handle (search_api.handles) instead of the number."""
        if kind is SubjectKind.PERSON and looks_like_handle(value):
            kind = SubjectKind.HANDLE
        try:
            return parse_subject(kind, value, self._handles.open)
        except InvalidInputError as exc:
            raise self.refuse(exc, {"invalid": [str(kind)]}) from None

    def admit(self, query: QueryRequest, params: dict[str, Any]) -> Admission:
        """Check, count and log (write-ahead) the request; raises a logged 4xx when refused."""
        now = datetime.now(UTC)
        with self._db.connect() as conn:  # one checkout for all of the gate's reads
            user = self._authenticated(conn)  # a logged 401 when the token does not hold
            if self._application_id is None:
                raise self._refuse(
                    GateDeniedError("a governed request names its application in X-Application-Id"),
                    params,
                )
            named = self._named_application()
            try:
                application = get_application(conn, self._application_id)
                grant_regions = active_grant_regions(conn, user.id, now)
                scope = decide_scope(user, application, query, grant_regions, now)
            except (ApplicationNotFoundError, GateDeniedError) as exc:
                raise self._refuse(exc, params, named) from None

        def count_quota(conn: Connection) -> None:
            if not consume_query_in(conn, application.id):
                raise QuotaExhaustedError("the application's query quota is spent")

        try:  # the quota and the write-ahead entry commit together, or neither does
            written = record(
                self._audit,
                self._request,
                AuditEntryIn(
                    kind=AuditKind.QUERY_REQUEST,
                    actor=user.username,
                    actor_role=",".join(sorted(user.roles)),
                    source_ip=client_ip(self._request),
                    route=route_of(self._request),
                    application_id=str(application.id),
                    case_id=application.case_no,
                    purpose=protect_identifiers(application.purpose, self._log_key),
                    params=protect_identifiers(params, self._log_key),
                    scope=_logged_scope(scope, self._log_key),
                ),
                first=count_quota,
            )
        except QuotaExhaustedError as exc:
            raise self._refuse(exc, params, named) from None
        except ValueError:  # nothing was counted: the entry and the quota are one transaction
            raise self._refuse(UnloggableInputError(), params, named) from None
        return Admission(scope, application, user, written.seq, self, time.perf_counter())

    def _envelope(self, admission: Admission) -> dict[str, Any]:
        """Who, from where, on which route, under which application and case."""
        return {
            "actor": admission.user.username,
            "actor_role": ",".join(sorted(admission.user.roles)),
            "source_ip": client_ip(self._request),
            "route": route_of(self._request),
            "application_id": str(admission.application.id),
            "case_id": admission.application.case_no,
        }

    def note(
        self,
        admission: Admission,
        kind: AuditKind,
        detail: dict[str, Any],
        *,
        params: dict[str, Any] | None = None,
        hit_count: int | None = None,
        result_digest: str | None = None,
    ) -> None:
        """An entry besides the admission's pair (an export, an analyst's decision), with the
        same envelope; numbers in ``params`` pseudonymised as in the request entry."""
        record(
            self._audit,
            self._request,
            AuditEntryIn(
                kind=kind,
                **self._envelope(admission),
                outcome=AuditOutcome.OK,
                hit_count=hit_count,
                result_digest=result_digest,
                params=None if params is None else protect_identifiers(params, self._log_key),
                detail=detail,
            ),
        )

    def outcome(
        self,
        admission: Admission,
        outcome: AuditOutcome,
        hit_count: int | None,
        record_ids: list[str],
        error: str | None = None,
    ) -> None:
        record(
            self._audit,
            self._request,
            AuditEntryIn(
                kind=AuditKind.QUERY_OUTCOME,
                **self._envelope(admission),
                outcome=outcome,
                hit_count=hit_count,
                result_digest=digest_record_ids(record_ids),
                duration_ms=round((time.perf_counter() - admission._started) * 1000, 3),
                detail={"request_seq": admission.request_seq} | ({"error": error} if error else {}),
            ),
        )


def _logged_scope(scope: Scope, key: bytes) -> dict[str, Any]:
    """The scope as logged: numbers pseudonymised, but the validated codes of an approved
    application (region prefixes, companies' credit codes) logged as codes, readable to the
    auditor: as free text, a 12-digit region code starting 13-19 or a credit code holding 11
    digits that start 1[3-9] reads as a phone number and would be hidden."""
    logged: dict[str, Any] = protect_identifiers(_jsonable(asdict(scope)), key)
    logged["regions"] = list(scope.regions)
    logged["subjects"] = [
        {"kind": str(s.kind),
         "value": s.value if s.kind is SubjectKind.COMPANY else protect_identifiers(s.value, key)}
        for s in scope.subjects
    ]  # fmt: skip
    return logged


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_jsonable(v) for v in value]
    return value if value is None or isinstance(value, bool | int | float) else str(value)


ApplicationHeader = Annotated[
    RowId | None,
    Header(description="the approved query application (查询申请) the request is made under"),
]


async def get_gate(
    request: Request,
    db: Database,
    audit: Audit,
    settings: SettingsDep,
    x_application_id: ApplicationHeader = None,
) -> GateKeeper:
    """The gate of a governed route; the header is declared here, so the OpenAPI document shows
    it with its bounds on every governed route and a malformed one is a logged 422."""
    return GateKeeper(request, db, audit, settings, x_application_id)


Gate = Annotated[GateKeeper, Depends(get_gate)]


async def get_handles(settings: SettingsDep) -> Handles:
    return handles_for(settings.secret_key.get_secret_value())


HandlesDep = Annotated[Handles, Depends(get_handles)]
