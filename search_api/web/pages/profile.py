"""一人一档: a person's profile page, its linked-persons panel, its PDF, and the similar
petitions of a petition it lists (all governed, all subject-bound to the current application).

- ``GET /ui/persons/{person}/profile``: the same search as ``GET /persons/{id}/profile``
  (search_api.profile_search), arranged by search_api.web.profile_view.
- ``GET /ui/persons/{person}/linked`` (htmx fragment): the same function as
  ``GET /graph/person_id/{id}/linked`` (search_api.graph_reads): a separate, logged query,
  asked for by the investigator, not run on every profile view.
- ``GET /ui/persons/{person}/profile.pdf``: the export of ``GET /persons/{id}/profile.pdf``
  (search_api.web.profile_pdf): needs the application's export flag, logged as an export.
- ``GET /ui/petitions/{petition_no}/similar`` (htmx fragment): ``GET /petitions/{no}/similar``'s
  function (search_api.similar_search).

``person`` is a handle (links carry handles, never numbers); a number is accepted too, as by
the JSON routes, and the gate refuses anyone who is not a subject of the application.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from graph.neighbourhood import DEFAULT_FAN_OUT
from search_api.access import Access, access
from search_api.deps import HandlesDep, Provider, SettingsDep
from search_api.graph_reads import Expansion, StartKind, find_linked
from search_api.profile_search import read_person_profile
from search_api.queries.profiles import DEFAULT_PER_SOURCE
from search_api.similar_search import find_similar_petitions
from search_api.web.labels import PROFILE_PAGE
from search_api.web.profile_pdf import export_profile_pdf
from search_api.web.profile_view import profile_view, summary
from search_api.web.sessions import PageChoice, PageGate, PageSession
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
GOVERNED = access(Access.GOVERNED)
PROFILE_PATH = "/ui/persons/{person}/profile"
LINKED_HOPS = 2  # the panel shows close relatives and their companies, as the API's default
LINKED_SHOWN = 20
SIMILAR_SHOWN = 5
Person = Annotated[str, Path(min_length=1, max_length=64)]
PetitionNo = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.get(PROFILE_PATH, openapi_extra=GOVERNED)
def profile_page(
    request: Request,
    person: Person,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
) -> HTMLResponse:
    profile, admission = read_person_profile(gate, provider, handles, person, DEFAULT_PER_SOURCE)
    context = {
        "view": profile_view(profile, dict(PROFILE_PAGE)),
        "summary": summary,
        "can_export": admission.application.export,
    }
    return render(request, "profile/page.html", context, session=session, choice=choice)


@router.get("/ui/persons/{person}/linked", openapi_extra=GOVERNED)
def linked_panel(
    request: Request,
    person: Person,
    session: PageSession,
    gate: PageGate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
) -> HTMLResponse:
    expansion = Expansion(LINKED_HOPS, DEFAULT_FAN_OUT, None)
    linked = find_linked(
        gate, provider, settings, handles, StartKind.PERSON, person, expansion, LINKED_SHOWN
    )
    return render(request, "profile/_linked.html", {"linked": linked}, session=session)


@router.get("/ui/persons/{person}/profile.pdf", openapi_extra=GOVERNED)
def profile_pdf(
    person: Person, gate: PageGate, provider: Provider, handles: HandlesDep
) -> Response:
    return export_profile_pdf(gate, provider, handles, person, DEFAULT_PER_SOURCE)


@router.get("/ui/petitions/{petition_no}/similar", openapi_extra=GOVERNED)
def similar_panel(
    request: Request,
    petition_no: PetitionNo,
    session: PageSession,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    page_size: int = Query(default=SIMILAR_SHOWN, ge=1, le=50),
) -> HTMLResponse:
    similar = find_similar_petitions(gate, provider, handles, petition_no, page_size)
    return render(request, "profile/_similar.html", {"similar": similar}, session=session)
