"""Comparison-model runs, shared by ``POST /models/{id}/runs`` and ``GET /models/runs/{id}/hits``
(search_api.routers.models) and the 比对模型 / 比对运行 pages (search_api.web.pages.models).

A run is a query over many people: the gate admits it only under an approved 专项核查
application that names the model and all of its sources; the request entry is written before
the run starts, the outcome (hit count, digest of the hits' evidence) after. A run's hits are
read under the application the run was made under; another application's run is a 404 after
a logged outcome of 0 hits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from accounts.roles import Permission, role_rules
from accounts.users import User
from common.errors import EngineUnavailableError, NotFoundError, PermissionDeniedError
from common.settings import Settings
from comparison.definitions import ComparisonModel, shipped_catalogue
from comparison.execution import execute_run
from comparison.store import (
    RunNotFoundError,
    RunStoreError,
    count_hits,
    get_run,
    run_hits,
    start_run,
)
from query_logs.gate import QueryRequest
from registry.engine import EngineDoor
from search_api.gatekeeper import GateKeeper
from search_api.handles import Handles
from search_api.models.comparison import HitPageResponse, HitResponse, ModelResponse, RunResponse
from search_api.models.search import Page
from search_api.queries.comparison import run_filters


class ModelNotFoundError(NotFoundError):
    """No comparison model with that id."""


def find_model(model_id: str) -> ComparisonModel:
    """The shipped model of that id; ModelNotFoundError (404) otherwise."""
    model = shipped_catalogue().model(model_id)
    if model is None:
        raise ModelNotFoundError("no comparison model with this id (GET /models lists them)")
    return model


def now_utc() -> datetime:
    return datetime.now(UTC)


def ledger_today(settings: Settings) -> date:
    """The ledger's day: the service's local time zone (due dates are local days)."""
    return datetime.now(ZoneInfo(settings.review_timezone)).date()


def list_models(user: User) -> list[ModelResponse]:
    """The comparison models an application may name (no registry data: the rules only);
    only users who file applications read them."""
    if Permission.APPLY not in role_rules().permissions_of(user.roles):
        raise PermissionDeniedError("only users who file applications read the models")
    catalogue = shipped_catalogue()
    return [ModelResponse.of(m, catalogue) for m in catalogue.models.values()]


def run_model(
    gate: GateKeeper, provider: EngineDoor, db: Engine, settings: Settings, model_id: str
) -> RunResponse:
    """Run the model now under the gate's application; its hits become clues of the
    application's case. An engine or store failure logs an ``error`` outcome (503)."""
    params = {"model": model_id}
    model = gate.checked(lambda: find_model(model_id), params)
    request = QueryRequest(sources=frozenset(model.sources), models=(model.id,))
    admission = gate.admit(request, params)
    scope = admission.scope
    run = start_run(
        db, model_id=model.id, application_id=scope.application_id, case_id=scope.case_id,
        user_id=admission.user.id, regions=scope.regions, request_seq=admission.request_seq,
        now=now_utc(),
    )  # fmt: skip
    try:
        result = execute_run(
            provider, db, shipped_catalogue(), model, run_filters(scope), run, now_utc,
            ledger_today(settings),
        )  # fmt: skip
    except (EngineUnavailableError, SQLAlchemyError) as exc:
        admission.fail(type(exc).__name__)
        if isinstance(exc, EngineUnavailableError):
            raise
        raise RunStoreError("the run's hits could not be stored: run it again") from exc
    admission.complete(len(result.hit_digests), result.hit_digests)
    return RunResponse.of(result.run)


def read_hits(
    gate: GateKeeper, db: Engine, handles: Handles, run_id: int, page: Page
) -> HitPageResponse:
    """A page of a run's hits, under the application the run was made under."""
    params = {"run_id": run_id, "page_size": page.size, "offset": page.offset}
    request = QueryRequest(models=(), page_size=page.size, offset=page.offset)
    admission = gate.admit(request, params)
    scope = admission.scope
    try:
        run = get_run(db, run_id)
    except RunNotFoundError:
        run = None
    if run is None or run.application_id != admission.application.id:
        admission.complete(0, [])
        raise RunNotFoundError("no run with this id under this application")
    total = count_hits(db, run.id)
    shown = run_hits(db, run.id, scope.offset, scope.page_size)
    admission.complete(total, [e.record_id for hit in shown for e in hit.evidence])
    return HitPageResponse(
        run=RunResponse.of(run),
        total=total,
        hits=[HitResponse.of(hit, scope.unmask, handles) for hit in shown],
    )
