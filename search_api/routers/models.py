"""Comparison models (碰撞比对): list them, run one, page through a run's hits (governed).

A run is a query over many people: it needs an approved 专项核查 application that names the
model and whose sources include the model's (the gate decides, ``QueryRequest.models``); the
request entry is written before the run starts, the outcome (hit count, digest of the hits'
evidence) after. The run is synchronous (seconds at demo scale; docs/models.md) and streams: a
page of subjects at a time inside the engine, a batch of hits at a time into the store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from common.db import RowId
from comparison.definitions import MODEL_ID_PATTERN
from search_api import model_ledger, model_runs
from search_api.access import Access, access
from search_api.deps import CurrentUser, Database, Gate, HandlesDep, Provider, SettingsDep
from search_api.models.comparison import (
    CluePageResponse,
    ClueResponse,
    ClueUpdateRequest,
    Flag,
    HitPageResponse,
    Levels,
    ModelIds,
    ModelResponse,
    NewOnly,
    RunResponse,
    Statuses,
    clue_query,
)
from search_api.models.ledger import EXPORT_ROW_CAP, MEDIA_TYPES, LedgerFormat
from search_api.models.search import Paging

router = APIRouter(tags=["models"])
GOVERNED = access(Access.GOVERNED)

ModelId = Annotated[str, Path(max_length=48, pattern=MODEL_ID_PATTERN)]


@router.get("/models", response_model=list[ModelResponse], openapi_extra=access(Access.AUTH))
def list_models(user: CurrentUser) -> list[ModelResponse]:
    """The comparison models an application may name (no registry data: the rules only)."""
    return model_runs.list_models(user)


@router.post(
    "/models/{model_id}/runs", response_model=RunResponse, status_code=201, openapi_extra=GOVERNED
)
def run_model(
    model_id: ModelId, gate: Gate, provider: Provider, db: Database, settings: SettingsDep
) -> RunResponse:
    """Run the model now under the application of ``X-Application-Id``; its hits become clues
    of the application's case (GET /models/runs/{run_id}/hits, GET /models/clues)."""
    return model_runs.run_model(gate, provider, db, settings, model_id)


@router.get("/models/runs/{run_id}/hits", response_model=HitPageResponse, openapi_extra=GOVERNED)
def read_hits(
    run_id: RowId, gate: Gate, db: Database, handles: HandlesDep, page: Paging
) -> HitPageResponse:
    """A page of a run's hits, under the application the run was made under."""
    return model_runs.read_hits(gate, db, handles, run_id, page)


# --- the clue ledger (问题线索台账) -----------------------------------------------------------


@router.get("/models/clues", response_model=CluePageResponse, openapi_extra=GOVERNED)
def read_clues(
    gate: Gate,
    db: Database,
    handles: HandlesDep,
    settings: SettingsDep,
    page: Paging,
    status: Statuses = None,
    level: Levels = None,
    model: ModelIds = None,
    flag: Flag = None,
    new: NewOnly = False,
) -> CluePageResponse:
    """The ledger of the application's case: clues of the models it names, found under regions
    it covers, most urgent first, each flagged 逾期 / 临期 and 新增."""
    query = clue_query(status, level, model, flag, new)
    return model_ledger.read_clues(gate, db, handles, settings, page, query)


@router.patch("/models/clues/{clue_id}", response_model=ClueResponse, openapi_extra=GOVERNED)
def update_clue(
    clue_id: RowId,
    body: ClueUpdateRequest,
    gate: Gate,
    db: Database,
    handles: HandlesDep,
    settings: SettingsDep,
) -> ClueResponse:
    """Set a clue's status, assignee (the case's owner or a member), due date or notes; the
    change is written ahead (the request entry holds it) and recorded as a ``case_change``."""
    return model_ledger.update_clue(gate, db, handles, settings, clue_id, body)


@router.get(
    "/models/clues/export",
    response_class=Response,
    openapi_extra=GOVERNED,
    responses={
        200: {"content": {m: {} for m in MEDIA_TYPES.values()}, "description": "the ledger"}
    },
)
def export_clues(
    gate: Gate,
    db: Database,
    settings: SettingsDep,
    format: LedgerFormat = LedgerFormat.XLSX,
    status: Statuses = None,
    level: Levels = None,
    model: ModelIds = None,
    flag: Flag = None,
    new: NewOnly = False,
    limit: int = Query(default=EXPORT_ROW_CAP, ge=1, le=EXPORT_ROW_CAP),
) -> Response:
    """The ledger as XLSX (or CSV): only under an application approved for export, capped,
    masked unless it unmasks, logged as an ``export`` entry with its row count and digests."""
    query = clue_query(status, level, model, flag, new)
    ledger = model_ledger.export_clues(gate, db, settings, query, format, limit)
    return model_ledger.download(ledger)
