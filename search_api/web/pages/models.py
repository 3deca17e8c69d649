"""比对模型, 比对运行 and 问题线索台账: the comparison models' pages (issue 14), thin over the same
functions as the JSON routes (search_api.model_runs, search_api.model_ledger), so a page run,
read, change or export writes the entries the API's does and is refused where the API's is.

- ``GET /ui/models`` (auth): the catalogue (no registry data); for the header's application,
  which models it names and a 运行 button for each of those.
- ``POST /ui/models/{id}/runs`` (governed, CSRF): ``POST /models/{id}/runs``'s run, then the
  run's hits.
- ``GET /ui/models/runs`` (auth): the user's runs (what ran, when, how many hits: no registry
  data); ``GET /ui/models/runs/{id}`` (governed): a page of a run's hits, as
  ``GET /models/runs/{id}/hits``.
- ``GET /ui/models/clues`` (governed): the ledger with ``GET /models/clues``'s filters; each clue
  opens its 处置 form. ``POST /ui/models/clues/{id}`` (governed, CSRF): the PATCH's change (a
  field left empty stays as it is). ``GET /ui/models/clues/export`` (governed): the XLSX export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine

from common.db import RowId
from comparison.definitions import MODEL_ID_PATTERN
from comparison.ledger import TRANSITIONS, DueFlag
from comparison.store import ClueStatus, Run, runs_of_user
from query_logs.applications import Application, Category
from query_logs.cases import CaseNotFoundError, get_case
from search_api import model_ledger, model_runs
from search_api.access import Access, access
from search_api.deps import Database, HandlesDep, Provider, SettingsDep
from search_api.models.comparison import (
    ClueResponse,
    ClueUpdateRequest,
    Levels,
    ModelIds,
    ModelResponse,
    NewOnly,
    Statuses,
    clue_query,
)
from search_api.models.ledger import EXPORT_ROW_CAP, LedgerFormat
from search_api.models.search import Paging
from search_api.web.forms import invalid_form
from search_api.web.labels import MODELS_TEXT, model_names
from search_api.web.pages.search import url_with
from search_api.web.sessions import (
    ApplicationChoice,
    CheckedSession,
    PageChoice,
    PageGate,
    PageSession,
)
from search_api.web.templating import is_fragment_request, render

router = APIRouter(include_in_schema=False)
GOVERNED = access(Access.GOVERNED)
AUTH = access(Access.AUTH)
MODELS_PATH = "/ui/models"
RUNS_PATH = "/ui/models/runs"
LEDGER_PATH = "/ui/models/clues"
EXPORT_PATH = "/ui/models/clues/export"
PROFILE_PATH = "/ui/persons/{handle}/profile"
SHOWN_RUNS = 50  # the runs page lists the user's latest runs
CLUE_NO_PATTERN = r"^XS[0-9]{8,20}$"  # comparison.store.clue_number
FILTERS = ("status", "level", "model", "flag", "new")

ModelId = Annotated[str, Path(max_length=48, pattern=MODEL_ID_PATTERN)]
# The form's 提醒 select sends "" for 全部 (the API's parameter leaves it out).
PageFlag = Annotated[DueFlag | Literal[""] | None, Query()]


def special_check(choice: ApplicationChoice) -> Application | None:
    """The header's application when it is a 专项核查 one (the only kind that names models)."""
    current = choice.current
    return current if current and current.category is Category.SPECIAL_CHECK else None


@router.get(MODELS_PATH, openapi_extra=AUTH)
def models_page(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    models: list[ModelResponse] = model_runs.list_models(session.user)
    application = special_check(choice)
    named = set(application.models) if application else set()
    context = {"models": models, "application": application, "named": named}
    return render(request, "models/page.html", context, session=session, choice=choice)


@router.post(MODELS_PATH + "/{model_id}/runs", openapi_extra=GOVERNED)
def run_model_form(
    model_id: ModelId,
    session: CheckedSession,
    gate: PageGate,
    provider: Provider,
    db: Database,
    settings: SettingsDep,
) -> RedirectResponse:
    del session  # checked: same origin and this session's CSRF token
    run = model_runs.run_model(gate, provider, db, settings, model_id)
    return RedirectResponse(f"{RUNS_PATH}/{run.run_id}", status_code=303)


@dataclass(frozen=True, slots=True)
class RunRow:
    run: Run
    model: str


@router.get(RUNS_PATH, openapi_extra=AUTH)
def runs_page(
    request: Request, session: PageSession, choice: PageChoice, db: Database
) -> HTMLResponse:
    names = model_names()
    rows = [RunRow(r, names.get(r.model_id, r.model_id))
            for r in runs_of_user(db, session.user.id, SHOWN_RUNS)]  # fmt: skip
    return render(request, "models/runs.html", {"runs": rows}, session=session, choice=choice)


@router.get(RUNS_PATH + "/{run_id}", openapi_extra=GOVERNED)
def hits_page(
    request: Request,
    run_id: RowId,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    db: Database,
    handles: HandlesDep,
    page: Paging,
) -> HTMLResponse:
    answer = model_runs.read_hits(gate, db, handles, run_id, page)
    here = f"{RUNS_PATH}/{run_id}"
    offset, size = page.offset, page.size
    context = {
        "answer": answer,
        "model": model_names().get(answer.run.model_id, answer.run.model_id),
        "profile": PROFILE_PATH,
        "page": offset // size + 1,
        "previous": url_with(request, here, offset=str(max(offset - size, 0)))
        if offset > 0 else None,
        "next": url_with(request, here, offset=str(offset + size))
        if offset + size < answer.total else None,
    }  # fmt: skip
    return render(request, "models/hits.html", context, session=session, choice=choice)


def assignees(db: Engine, application: Application | None) -> list[str]:
    """Who a clue may be assigned to: the case's owner and members (the user's own case)."""
    if application is None:
        return []
    try:
        case = get_case(db, application.case_id)
    except CaseNotFoundError:
        return []
    return [case.owner.username, *(m.username for m in case.members)]


def next_statuses(clue: ClueResponse) -> list[str]:
    """The statuses the ledger lets this clue move to (comparison.ledger.TRANSITIONS)."""
    allowed = TRANSITIONS[ClueStatus(clue.status)]
    return [str(s) for s in ClueStatus if s in allowed]


@router.get(LEDGER_PATH, openapi_extra=GOVERNED)
def ledger_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    db: Database,
    handles: HandlesDep,
    settings: SettingsDep,
    page: Paging,
    status: Statuses = None,
    level: Levels = None,
    model: ModelIds = None,
    flag: PageFlag = None,
    new: NewOnly = False,
    done: Annotated[str | None, Query(max_length=32, pattern=CLUE_NO_PATTERN)] = None,
) -> HTMLResponse:
    query = clue_query(status, level, model, flag or None, new)
    answer = model_ledger.read_clues(gate, db, handles, settings, page, query)
    offset, size = page.offset, page.size
    application = special_check(choice)
    filters = _filters(request)
    export_query = urlencode({"format": str(LedgerFormat.XLSX)} | filters, doseq=True)
    context = {
        "answer": answer,
        "model_names": model_names(),
        "application_models": application.models if application else (),
        "form": {"status": [str(s) for s in status or ()], "level": [str(v) for v in level or ()],
                 "model": list(model or ()), "flag": str(flag) if flag else "", "new": new},
        "statuses": [str(s) for s in ClueStatus],
        "flags": [str(f) for f in DueFlag],
        "next": {c.id: next_statuses(c) for c in answer.clues},
        "assignees": assignees(db, application),
        "profile": PROFILE_PATH,
        "today": model_runs.ledger_today(settings).isoformat(),
        "back": f"?{urlencode(filters, doseq=True)}" if filters else "",
        "may_export": bool(choice.current and choice.current.export),
        "export": f"{EXPORT_PATH}?{export_query}",
        "saved": MODELS_TEXT["saved"].format(clue_no=done) if done else None,
        "page": offset // size + 1,
        "previous": url_with(request, LEDGER_PATH, offset=str(max(offset - size, 0)))
        if offset > 0 else None,
        "next_page": url_with(request, LEDGER_PATH, offset=str(offset + size))
        if offset + size < answer.total else None,
    }  # fmt: skip
    template = "models/_ledger.html" if is_fragment_request(request) else "models/ledger.html"
    return render(request, template, context, session=session, choice=choice)


def _filters(request: Request) -> dict[str, list[str]]:
    """The ledger's filters of this request (the export takes the same ones)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key in FILTERS:
            params.setdefault(key, []).append(value)
    return params


def clue_change(status: str, assignee: str, due_on: str, notes: str) -> ClueUpdateRequest:
    """The form as the PATCH's body: an empty field is left out (it stays as it is)."""
    fields: dict[str, Any] = {"status": status, "assignee": assignee, "due_on": due_on,
                              "notes": notes}  # fmt: skip
    try:
        return ClueUpdateRequest.model_validate({k: v for k, v in fields.items() if v.strip()})
    except ValidationError as exc:
        raise invalid_form(exc) from None


def ledger_after_change(back: str, changed: ClueResponse) -> str:
    """The ledger again, with the filters it was showing (only the ledger's own), the message
    of the change and the changed clue in view."""
    kept = {k: v for k, v in parse_qs(back.removeprefix("?")).items() if k in FILTERS}
    query = urlencode(kept | {"done": [changed.clue_no]}, doseq=True)
    return f"{LEDGER_PATH}?{query}#clue-{changed.id}"


@router.post(LEDGER_PATH + "/{clue_id}", openapi_extra=GOVERNED)
def update_clue_form(
    clue_id: RowId,
    session: CheckedSession,
    gate: PageGate,
    db: Database,
    handles: HandlesDep,
    settings: SettingsDep,
    status: Annotated[str, Form(max_length=8)] = "",
    assignee: Annotated[str, Form(max_length=64)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    del session  # checked: same origin and this session's CSRF token
    body = clue_change(status, assignee, due_on, notes)
    changed = model_ledger.update_clue(gate, db, handles, settings, clue_id, body)
    return RedirectResponse(ledger_after_change(back, changed), status_code=303)


@router.get(EXPORT_PATH, openapi_extra=GOVERNED)
def export_ledger(
    session: PageSession,
    gate: PageGate,
    db: Database,
    settings: SettingsDep,
    format: LedgerFormat = LedgerFormat.XLSX,
    status: Statuses = None,
    level: Levels = None,
    model: ModelIds = None,
    flag: PageFlag = None,
    new: NewOnly = False,
) -> Response:
    del session  # the gate's authenticator; declared for the route inventory's session rule
    query = clue_query(status, level, model, flag or None, new)
    ledger = model_ledger.export_clues(gate, db, settings, query, format, EXPORT_ROW_CAP)
    return model_ledger.download(ledger)
