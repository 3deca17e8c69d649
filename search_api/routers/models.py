"""Comparison models (碰撞比对): list them, run one, page through a run's hits (governed).

A run is a query over many people: it needs an approved 专项核查 application that names the
model and whose sources include the model's (the gate decides, ``QueryRequest.models``); the
request entry is written before the run starts, the outcome (hit count, digest of the hits'
evidence) after. The run is synchronous (seconds at demo scale; docs/models.md) and streams: a
page of subjects at a time inside the engine, a batch of hits at a time into the store.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from accounts.roles import Permission, role_rules
from common.db import RowId
from common.errors import (
    DomainError,
    EngineUnavailableError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from common.settings import Settings
from comparison.definitions import MODEL_ID_PATTERN, ComparisonModel, Level, shipped_catalogue
from comparison.execution import execute_run
from comparison.ledger import (
    Clue,
    ClueChange,
    ClueQuery,
    DueFlag,
    LedgerView,
    check_change,
    get_clue,
    latest_runs,
    list_clues,
    save_clue,
)
from comparison.store import (
    ClueStatus,
    RunNotFoundError,
    RunStoreError,
    count_hits,
    get_run,
    run_hits,
    start_run,
)
from query_logs.audit import AuditKind, digest_record_ids
from query_logs.cases import get_case
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.clue_ledger import LedgerRow, clue_ledger_rows
from search_api.deps import CurrentUser, Database, Gate, HandlesDep, Provider, SettingsDep
from search_api.gatekeeper import Admission
from search_api.handles import Handles
from search_api.models.comparison import (
    CluePageResponse,
    ClueResponse,
    ClueUpdateRequest,
    HitPageResponse,
    HitResponse,
    ModelResponse,
    RunResponse,
)
from search_api.models.ledger import EXPORT_ROW_CAP, MEDIA_TYPES, LedgerFormat, write_ledger
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


def _today(settings: Settings) -> date:
    """The ledger's day: the service's local time zone (due dates are local days)."""
    return datetime.now(ZoneInfo(settings.review_timezone)).date()


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
def run_model(
    model_id: ModelId, gate: Gate, provider: Provider, db: Database, settings: SettingsDep
) -> RunResponse:
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
            provider, db, shipped_catalogue(), model, run_filters(scope), run, _now,
            _today(settings),
        )  # fmt: skip
    except (EngineUnavailableError, SQLAlchemyError) as exc:
        admission.fail(type(exc).__name__)
        if isinstance(exc, EngineUnavailableError):
            raise
        raise RunStoreError("the run's hits could not be stored: run it again") from exc
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


# --- the clue ledger (问题线索台账) -----------------------------------------------------------

Statuses = Annotated[
    list[ClueStatus] | None, Query(description="待处置 / 核查中 / 已办结 / 已了结")
]
Levels = Annotated[list[Level] | None, Query(description="red / yellow / blue")]
ModelIds = Annotated[
    list[Annotated[str, Query(max_length=48, pattern=MODEL_ID_PATTERN)]] | None, Query()
]
Flag = Annotated[DueFlag | None, Query(description="逾期 (overdue) or 临期 (due soon)")]


def _view(admission: Admission) -> LedgerView:
    app = admission.application
    return LedgerView(app.case_id, app.models, app.regions)


def _refused(admission: Admission, error: DomainError) -> DomainError:
    """An error found after admission: the outcome (nothing returned) is logged first, then
    the app's handler logs the refusal."""
    admission.complete(0, [])
    return error


def _ledger_rows(db: Engine, view: LedgerView, clues: list[Clue], today: date) -> list[LedgerRow]:
    catalogue = shipped_catalogue()
    latest = latest_runs(db, view.case_id, view.models)
    return [
        LedgerRow(
            clue,
            str(clue.flag(today, catalogue.due_soon_days) or ""),
            latest.get(clue.model_id) == clue.first_run_id,
        )
        for clue in clues
    ]


def _clue_response(row: LedgerRow, unmask: bool, handles: Handles) -> ClueResponse:
    return ClueResponse.of(row.clue, flag=row.flag or None, new=row.new, unmask=unmask,
                           handles=handles)  # fmt: skip


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
) -> CluePageResponse:
    """The ledger of the application's case: clues of the models it names, found under regions
    it covers, most urgent first, each flagged 逾期 / 临期 and 新增."""
    query = ClueQuery(tuple(status or ()), tuple(level or ()), tuple(model or ()), flag)
    params = {"status": sorted(query.statuses), "level": sorted(query.levels),
              "model": sorted(query.models), "flag": str(flag) if flag else None,
              "page_size": page.size, "offset": page.offset}  # fmt: skip
    admission = gate.admit(QueryRequest(models=(), page_size=page.size, offset=page.offset), params)
    scope, view, today = admission.scope, _view(admission), _today(settings)
    total, clues = list_clues(db, view, query, today=today,
                              due_soon_days=shipped_catalogue().due_soon_days,
                              offset=scope.offset, limit=scope.page_size)  # fmt: skip
    rows = _ledger_rows(db, view, clues, today)
    admission.complete(total, [clue.clue_no for clue in clues])
    return CluePageResponse(
        total=total, clues=[_clue_response(r, scope.unmask, handles) for r in rows]
    )


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
    change = ClueChange(body.status, body.assignee, body.due_on, body.notes)
    asked = {"clue_id": clue_id, "status": str(body.status) if body.status else None,
             "assignee": body.assignee, "due_on": body.due_on.isoformat() if body.due_on else None,
             "notes": body.notes}  # fmt: skip
    admission = gate.admit(QueryRequest(models=(), page_size=1), asked)
    view, today = _view(admission), _today(settings)
    try:
        before = get_clue(db, view, clue_id)
        if change.assignee:
            case = get_case(db, view.case_id)
            if change.assignee not in {case.owner.username, *(m.username for m in case.members)}:
                raise InvalidInputError("the assignee must be the case's owner or a member")
        after = save_clue(db, before, check_change(before, change, today), _now())
    except DomainError as exc:
        raise _refused(admission, exc) from None
    changed = {
        name: {"before": str(getattr(before, name)), "after": str(getattr(after, name))}
        for name in ("status", "due_on")
        if getattr(before, name) != getattr(after, name)
    }
    admission.note(
        AuditKind.CASE_CHANGE,
        {"request_seq": admission.request_seq, "clue_no": after.clue_no, "changed": changed,
         "assignee_changed": before.assignee != after.assignee,
         "notes_changed": before.notes != after.notes},
        params={"assignee": after.assignee},
    )  # fmt: skip
    admission.complete(1, [after.clue_no])
    (row,) = _ledger_rows(db, view, [after], today)
    return _clue_response(row, admission.scope.unmask, handles)


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
    limit: int = Query(default=EXPORT_ROW_CAP, ge=1, le=EXPORT_ROW_CAP),
) -> Response:
    """The ledger as XLSX (or CSV): only under an application approved for export, capped,
    masked unless it unmasks, logged as an ``export`` entry with its row count and digests."""
    query = ClueQuery(tuple(status or ()), tuple(level or ()), tuple(model or ()), flag)
    params = {"format": str(format), "status": sorted(query.statuses),
              "level": sorted(query.levels), "model": sorted(query.models),
              "flag": str(flag) if flag else None, "limit": limit}  # fmt: skip
    admission = gate.admit(QueryRequest(models=(), export=True), params)
    scope, view, today = admission.scope, _view(admission), _today(settings)
    cap = min(limit, admission.application.result_cap)
    catalogue = shipped_catalogue()
    total, clues = list_clues(db, view, query, today=today,
                              due_soon_days=catalogue.due_soon_days, offset=0,
                              limit=cap)  # fmt: skip
    rows = clue_ledger_rows(_ledger_rows(db, view, clues, today), catalogue, unmask=scope.unmask)
    content = write_ledger(rows, format)
    numbers = [clue.clue_no for clue in clues]
    admission.note(
        AuditKind.EXPORT,
        {"request_seq": admission.request_seq, "format": str(format), "rows": len(clues),
         "total": total, "row_cap": cap, "truncated": total > len(clues),
         "unmasked": scope.unmask, "file_sha256": hashlib.sha256(content).hexdigest()},
        hit_count=len(clues),
        result_digest=digest_record_ids(numbers),
    )  # fmt: skip
    admission.complete(total, numbers)
    stamp = _now().strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=content,
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="clue-ledger-{scope.application_id}'
            f'-{stamp}.{format}"',
            "X-Ledger-Rows": str(len(clues)),
            "X-Ledger-Total": str(total),
        },
    )
