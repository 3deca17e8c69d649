"""The clue ledger (问题线索台账) of comparison models, shared by ``GET /models/clues``,
``PATCH /models/clues/{id}`` and ``GET /models/clues/export`` (search_api.routers.models) and
the 问题线索台账 page (search_api.web.pages.models).

Every read passes the gate as a 专项核查 request (``QueryRequest(models=())``); what an
application sees is the ledger of its case, of the models it names, found under regions it
covers (comparison.ledger.LedgerView). A change is written ahead (the request entry holds it)
and recorded as a ``case_change``; an export needs the export flag and is an ``export`` entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi.responses import Response
from sqlalchemy import Engine

from common.errors import DomainError, InvalidInputError
from common.settings import Settings
from comparison.definitions import shipped_catalogue
from comparison.ledger import (
    Clue,
    ClueChange,
    ClueQuery,
    LedgerView,
    check_change,
    get_clue,
    latest_runs,
    list_clues,
    save_clue,
)
from query_logs.audit import AuditKind, digest_record_ids
from query_logs.cases import get_case
from query_logs.gate import QueryRequest
from search_api.clue_ledger import LedgerRow, clue_ledger_rows
from search_api.gatekeeper import Admission, GateKeeper
from search_api.handles import Handles
from search_api.model_runs import ledger_today, now_utc
from search_api.models.comparison import CluePageResponse, ClueResponse, ClueUpdateRequest
from search_api.models.ledger import MEDIA_TYPES, LedgerFormat, write_ledger
from search_api.models.search import Page


@dataclass(frozen=True, slots=True)
class LedgerFile:
    """An exported ledger and what its response headers say of it."""

    content: bytes
    media_type: str
    filename: str
    rows: int
    total: int


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


def _logged_query(query: ClueQuery) -> dict[str, Any]:
    params: dict[str, Any] = {
        "status": sorted(query.statuses), "level": sorted(query.levels),
        "model": sorted(query.models), "flag": str(query.flag) if query.flag else None,
    }  # fmt: skip
    if query.new_only:  # only when asked: the entries of other reads stay as they were
        params["new"] = True
    return params


def read_clues(
    gate: GateKeeper,
    db: Engine,
    handles: Handles,
    settings: Settings,
    page: Page,
    query: ClueQuery,
) -> CluePageResponse:
    """The ledger of the application's case: clues of the models it names, found under regions
    it covers, most urgent first, each flagged 逾期 / 临期 and 新增."""
    params = _logged_query(query) | {"page_size": page.size, "offset": page.offset}
    admission = gate.admit(QueryRequest(models=(), page_size=page.size, offset=page.offset), params)
    scope, view, today = admission.scope, _view(admission), ledger_today(settings)
    total, clues = list_clues(db, view, query, today=today,
                              due_soon_days=shipped_catalogue().due_soon_days,
                              offset=scope.offset, limit=scope.page_size)  # fmt: skip
    rows = _ledger_rows(db, view, clues, today)
    admission.complete(total, [clue.clue_no for clue in clues])
    return CluePageResponse(
        total=total, clues=[_clue_response(r, scope.unmask, handles) for r in rows]
    )


def update_clue(
    gate: GateKeeper,
    db: Engine,
    handles: Handles,
    settings: Settings,
    clue_id: int,
    body: ClueUpdateRequest,
) -> ClueResponse:
    """Set a clue's status, assignee (the case's owner or a member), due date or notes; the
    change is written ahead (the request entry holds it) and recorded as a ``case_change``."""
    change = ClueChange(body.status, body.assignee, body.due_on, body.notes)
    asked = {"clue_id": clue_id, "status": str(body.status) if body.status else None,
             "assignee": body.assignee, "due_on": body.due_on.isoformat() if body.due_on else None,
             "notes": body.notes}  # fmt: skip
    admission = gate.admit(QueryRequest(models=(), page_size=1), asked)
    view, today = _view(admission), ledger_today(settings)
    try:
        before = get_clue(db, view, clue_id)
        if change.assignee:
            case = get_case(db, view.case_id)
            if change.assignee not in {case.owner.username, *(m.username for m in case.members)}:
                raise InvalidInputError("the assignee must be the case's owner or a member")
        after = save_clue(db, before, check_change(before, change, today), now_utc())
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


def export_clues(
    gate: GateKeeper,
    db: Engine,
    settings: Settings,
    query: ClueQuery,
    format: LedgerFormat,
    limit: int,
) -> LedgerFile:
    """The ledger as XLSX (or CSV): only under an application approved for export, capped,
    masked unless it unmasks, logged as an ``export`` entry with its row count and digests."""
    params = {"format": str(format)} | _logged_query(query) | {"limit": limit}
    admission = gate.admit(QueryRequest(models=(), export=True), params)
    scope, view, today = admission.scope, _view(admission), ledger_today(settings)
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
    stamp = now_utc().strftime("%Y%m%dT%H%M%SZ")
    return LedgerFile(
        content=content,
        media_type=MEDIA_TYPES[format],
        filename=f"clue-ledger-{scope.application_id}-{stamp}.{format}",
        rows=len(clues),
        total=total,
    )


def download(ledger: LedgerFile) -> Response:
    """The exported ledger as an attachment (the JSON route's and the page's)."""
    return Response(
        content=ledger.content,
        media_type=ledger.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ledger.filename}"',
            "X-Ledger-Rows": str(ledger.rows),
            "X-Ledger-Total": str(ledger.total),
        },
    )
