"""Comparison models (碰撞比对): list them, run one, page through a run's hits (governed).

A run is a query over many people: it needs an approved 专项核查 application that names the
model and whose sources include the model's (the gate decides, ``QueryRequest.models``); the
request entry is written before the run starts, the outcome (hit count, digest of the hits'
evidence) after. The run is synchronous (seconds at demo scale; docs/models.md) and streams: a
page of subjects at a time inside the engine, a batch of hits at a time into the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.exc import SQLAlchemyError

from accounts.roles import Permission, role_rules
from common.db import RowId
from common.errors import EngineUnavailableError, NotFoundError, PermissionDeniedError
from comparison.definitions import MODEL_ID_PATTERN, ComparisonModel, shipped_catalogue
from comparison.execution import execute_run
from comparison.store import RunNotFoundError, count_hits, get_run, run_hits, start_run
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.deps import CurrentUser, Database, Gate, HandlesDep, Provider
from search_api.models.comparison import (
    HitPageResponse,
    HitResponse,
    ModelResponse,
    RunResponse,
)
from search_api.models.search import Paging
from search_api.queries.comparison import run_filters

router = APIRouter(tags=["models"])
GOVERNED = access(Access.GOVERNED)

ModelId = Annotated[str, Path(max_length=48, pattern=MODEL_ID_PATTERN)]


class ModelNotFoundError(NotFoundError):
    """No comparison model with that id."""


def _model(model_id: str) -> ComparisonModel:
    model = shipped_catalogue().model(model_id)
    if model is None:
        raise ModelNotFoundError("no comparison model with this id (GET /models lists them)")
    return model


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/models", response_model=list[ModelResponse], openapi_extra=access(Access.AUTH))
def list_models(user: CurrentUser) -> list[ModelResponse]:
    """The comparison models an application may name (no registry data: the rules only)."""
    if Permission.APPLY not in role_rules().permissions_of(user.roles):
        raise PermissionDeniedError("only users who file applications read the models")
    catalogue = shipped_catalogue()
    return [ModelResponse.of(m, catalogue) for m in catalogue.models.values()]


@router.post(
    "/models/{model_id}/runs", response_model=RunResponse, status_code=201, openapi_extra=GOVERNED
)
def run_model(model_id: ModelId, gate: Gate, provider: Provider, db: Database) -> RunResponse:
    """Run the model now under the application of ``X-Application-Id``; its hits become clues
    of the application's case (GET /models/runs/{run_id}/hits, GET /models/clues)."""
    params = {"model": model_id}
    model = gate.checked(lambda: _model(model_id), params)
    request = QueryRequest(sources=frozenset(model.sources), models=(model.id,))
    admission = gate.admit(request, params)
    scope = admission.scope
    run = start_run(
        db, model_id=model.id, application_id=scope.application_id, case_id=scope.case_id,
        user_id=admission.user.id, regions=scope.regions, request_seq=admission.request_seq,
        now=_now(),
    )  # fmt: skip
    try:
        result = execute_run(
            provider, db, shipped_catalogue(), model, run_filters(scope), run, _now
        )
    except (EngineUnavailableError, SQLAlchemyError) as exc:
        admission.fail(type(exc).__name__)
        if isinstance(exc, EngineUnavailableError):
            raise
        raise EngineUnavailableError("the run could not be stored") from exc
    admission.complete(len(result.hit_digests), result.hit_digests)
    return RunResponse.of(result.run)


@router.get("/models/runs/{run_id}/hits", response_model=HitPageResponse, openapi_extra=GOVERNED)
def read_hits(
    run_id: RowId, gate: Gate, db: Database, handles: HandlesDep, page: Paging
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
