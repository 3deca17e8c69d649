"""The gate's runtime: authentication, admission of governed queries, and their log entries.

`GateKeeper` is the only door to registry data: a governed route asks it to admit a
`QueryRequest`, which checks the application (query_logs.gate), counts the quota and commits the
write-ahead entry before the route may query; the route then completes the `Admission` with its
outcome entry before it returns anything. If the log cannot be written, the request ends in 503.
Every entry goes through the request's `Recorder` (search_api.recording).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Connection, Engine

from accounts.auth import TokenError, decode_token
from accounts.auth import current_user as current_account
from accounts.users import User
from common.db import Bind
from common.errors import DomainError, EngineUnavailableError, NotAuthenticatedError
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
    AuditKind,
    AuditOutcome,
    Protect,
    Recorder,
    UnloggableInputError,
    digest_record_ids,
)
from query_logs.gate import GateDeniedError, QueryRequest, QuotaExhaustedError, Scope, decide_scope
from query_logs.grants import active_grant_regions
from registry.engine import EngineDoor
from search_api.handles import Handles, looks_like_handle
from search_api.recording import remember_caller

T = TypeVar("T")
Authenticator = Callable[[Request, Bind, Recorder, Settings], User]
"""Who the caller is, or a logged refusal: the API's bearer token (`authenticate`) or the web
page's session (search_api.web.sessions)."""


def authenticate(request: Request, db: Bind, recorder: Recorder, settings: Settings) -> User:
    """The account behind the bearer token, re-read now; every refusal is logged."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    now = datetime.now(UTC)
    try:
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticatedError("a bearer token is required")
        user = current_account(db, decode_token(token.strip(), settings, now), now)
    except TokenError as exc:
        recorder.by(None).deny(f"token refused: {exc.reason}")
        raise
    except NotAuthenticatedError as exc:
        recorder.by(None).deny(exc.detail)
        raise
    remember_caller(request, user)  # a later refusal of this request is this user's
    return user


@dataclass
class Admission:
    """A request the gate let through; `complete` logs its outcome and must precede the reply."""

    scope: Scope
    application: Application
    user: User
    request_seq: int  # the write-ahead entry; the outcome entry names it
    recorder: Recorder  # the caller's, under the application and its case
    _started: float

    def complete(self, hit_count: int, record_ids: list[str]) -> None:
        self._outcome(AuditOutcome.OK, hit_count, record_ids)

    def fail(self, error: str) -> None:
        self._outcome(AuditOutcome.ERROR, None, [], error)

    def _outcome(
        self,
        outcome: AuditOutcome,
        hit_count: int | None,
        record_ids: list[str],
        error: str | None = None,
    ) -> None:
        self.recorder.done(
            AuditKind.QUERY_OUTCOME,
            outcome=outcome,
            hit_count=hit_count,
            result_digest=digest_record_ids(record_ids),
            duration_ms=round((time.perf_counter() - self._started) * 1000, 3),
            facts={"request_seq": self.request_seq} | ({"error": error} if error else {}),
        )

    def note(
        self,
        kind: AuditKind,
        detail: dict[str, Any],
        *,
        params: dict[str, Any] | None = None,
        hit_count: int | None = None,
        result_digest: str | None = None,
    ) -> None:
        """An entry besides the admission's pair (an export, an analyst's decision), with the
        same envelope; ``detail`` is the server's facts, numbers in ``params`` pseudonymised as
        in the request entry."""
        self.recorder.done(
            kind, params=params, facts=detail, hit_count=hit_count, result_digest=result_digest
        )

    @contextmanager
    def engine_work(self) -> Iterator[None]:
        """Around this admission's engine calls: an engine failure (the door's
        ``EngineUnavailableError``, 503) is logged as the admission's outcome, then re-raised.
        The entry names the client's error class (``ConnectionError``), or ours when none lies
        beneath (``GraphNotBuiltError``)."""
        try:
            yield
        except EngineUnavailableError as exc:
            self.fail(exc.failure)
            raise

    def search(
        self,
        door: EngineDoor,
        body: dict[str, Any],
        sources: tuple[Source, ...] | None = None,
    ) -> dict[str, Any]:
        """One search over the indices of the scope's sources (or of those of ``sources`` that
        are in scope); an engine failure is logged as this admission's outcome, then 503."""
        wanted = [s for s in self.scope.sources if sources is None or s in sources]
        indices = ",".join(door.index_name(str(s)) for s in wanted)
        with self.engine_work():
            return door.search(indices, body, ignore_unavailable=True)


class GateKeeper:
    """Per request: admits governed queries under the application named in X-Application-Id
    (the API) or chosen in the page header (the web UI's session): both are pluggable, the
    caller's proof as ``authenticator`` and the application as ``application_id``.

    It authenticates the caller itself, inside `admit`: a governed route runs in one worker
    thread from the token to the reply (a separate user dependency would cost a second hop
    between the event loop and the thread pool on every query).
    """

    def __init__(
        self,
        request: Request,
        db: Engine,
        recorder: Recorder,
        settings: Settings,
        handles: Handles,
        application_id: int | None = None,
        authenticator: Authenticator = authenticate,
    ) -> None:
        self._request, self._db, self._settings = request, db, settings
        self._authenticator = authenticator
        self._recorder, self._handles = recorder, handles
        self._application_id = application_id  # X-Application-Id, validated as a RowId
        self._account: User | None = None

    def _authenticated(self, bind: Bind) -> User:
        if self._account is None:
            self._account = self._authenticator(self._request, bind, self._recorder, self._settings)
        return self._account

    def _refuse(
        self, error: DomainError, params: dict[str, Any], application_id: str | None = None
    ) -> DomainError:
        # What was asked is logged with the refusal (pseudonymised): a refused attempt to look
        # oneself up must be as visible to the review as a successful one.
        recorder = self._recorder.by(self._account).under(application_id)
        recorder.deny(error.detail, params=params)
        return error

    def refuse(self, error: DomainError, params: dict[str, Any]) -> DomainError:
        """Log a refusal the route decided itself (a malformed query, say) as the authenticated
        caller's denial, with what was asked pseudonymised; returns ``error`` for the route to
        raise. The caller is authenticated first: without a valid token this is a logged 401."""
        self._authenticated(self._db)
        return self._refuse(error, params, self._named_application())

    def _named_application(self) -> str | None:
        return None if self._application_id is None else str(self._application_id)

    def checked(self, check: Callable[[], T], params: dict[str, Any]) -> T:
        """What ``check`` returns (a parsed query, say); the refusal it raises instead is logged
        as the authenticated caller's denial with ``params`` (`refuse`), then raised. Checks run
        before `admit`: a malformed request spends no quota and writes no write-ahead entry."""
        try:
            return check()
        except DomainError as exc:
            raise self.refuse(exc, params) from None

    def subject(self, kind: SubjectKind, value: str) -> Subject:
        """The subject a subject-bound route names, validated; malformed input is a logged
        refusal (422) whose log entry and message name the field, never what was typed. A
        person may be named by a handle (search_api.handles) instead of the number."""
        if kind is SubjectKind.PERSON and looks_like_handle(value):
            kind = SubjectKind.HANDLE
        return self.checked(
            lambda: parse_subject(kind, value, self._handles.open), {"invalid": [str(kind)]}
        )

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

        caller, app_id, case_no = self._recorder.by(user), str(application.id), application.case_no
        try:  # the quota and the write-ahead entry commit together, or neither does
            written = caller.under(app_id, case_no, application.purpose).intent(
                AuditKind.QUERY_REQUEST,
                params=params,
                scope=_logged_scope(scope, caller.protect),
                first=count_quota,
            )
        except (QuotaExhaustedError, UnloggableInputError) as exc:
            # nothing was counted: the entry and the quota are one transaction
            raise self._refuse(exc, params, named) from None
        # the outcome and any other entry of this admission name the application and its case
        admitted = caller.under(app_id, case_no)
        return Admission(scope, application, user, written.seq, admitted, time.perf_counter())


def _logged_scope(scope: Scope, protect: Protect) -> dict[str, Any]:
    """The scope as logged: numbers pseudonymised, but the validated codes of an approved
    application (region prefixes, companies' credit codes) logged as codes, readable to the
    auditor: as free text, a 12-digit region code starting 13-19 or a credit code holding 11
    digits that start 1[3-9] reads as a phone number and would be hidden."""
    logged: dict[str, Any] = protect(_jsonable(asdict(scope)))
    logged["regions"] = list(scope.regions)
    logged["subjects"] = [
        {"kind": str(s.kind),
         "value": s.value if s.kind is SubjectKind.COMPANY else protect(s.value)}
        for s in scope.subjects
    ]  # fmt: skip
    return logged


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_jsonable(v) for v in value]
    return value if value is None or isinstance(value, bool | int | float) else str(value)
