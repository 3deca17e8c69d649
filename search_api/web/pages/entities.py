"""实体: person and company cards, to pick the right 王伟 (the same search as ``GET /entities``).

- ``GET /ui/entities`` (auth): the form only, no registry data.
- ``GET /ui/entities/results`` (governed): the same parameters, gate, builders and masking as
  the JSON route (search_api.entity_search); a whole page, or for htmx the cards fragment.

A person card links to the person's 一人一档 and to the application form by its handle: the
number itself never appears in a URL.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from search_api.access import Access, access
from search_api.deps import HandlesDep, Provider
from search_api.entity_search import find_entities
from search_api.queries.entities import DEFAULT_CARDS, MAX_CARDS, MAX_QUERY_CHARS, EntityKind
from search_api.web.sessions import PageChoice, PageGate, PageSession
from search_api.web.templating import is_fragment_request, render

router = APIRouter(include_in_schema=False)
RESULTS_PATH = "/ui/entities/results"


@router.get("/ui/entities", openapi_extra=access(Access.AUTH))
def entities_form(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    return render(request, "entities/page.html", {"results": None, "form": {}},
                  session=session, choice=choice)  # fmt: skip


@router.get(RESULTS_PATH, openapi_extra=access(Access.GOVERNED))
def entities_results(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS),
    kind: EntityKind = EntityKind.AUTO,
    limit: int = Query(default=DEFAULT_CARDS, ge=1, le=MAX_CARDS),
) -> HTMLResponse:
    response = find_entities(gate, provider, handles, q, kind, limit)
    form = {"q": q, "kind": str(kind)}
    template = "entities/_cards.html" if is_fragment_request(request) else "entities/page.html"
    return render(request, template, {"results": response, "form": form},
                  session=session, choice=choice)  # fmt: skip
