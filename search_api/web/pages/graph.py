"""关系图谱: the analyst's graph page (the pattern of pages/search.py; the drawing is
``static/js/graph.js``, cytoscape.js on a canvas).

- ``GET /ui/graph`` (auth): the form (the current application's subjects to start from, hops,
  edges per node, edge kinds); no registry data.
- ``GET /ui/graph/view`` (governed): the neighbourhood as ``GET /graph/{kind}/{value}/subgraph``
  makes it (search_api.graph_reads.read_subgraph: same gate, log entries, masking), drawn from a
  JSON data element; nodes cut by the fan-out cap are listed.
- ``GET /ui/graph/expand`` (governed, JSON for graph.js): a double-clicked node's edges: the same
  function with ``focus`` (one pull from the subject, one hop past the node), gated and logged as
  every pull is.
- ``GET /ui/graph/path`` (governed, a fragment): paths between two subjects of the application
  (search_api.graph_reads.find_paths, as ``GET /graph/path``).
- ``GET /ui/graph/graphml`` (governed): the GraphML export (export_graphml, as the JSON route).
- ``POST /ui/graph/picture`` (governed): the picture export (PNG made in the browser) is logged
  first through the gate (the export flag); the page offers the picture only after a 204 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from graph.model import EdgeKind
from graph.neighbourhood import DEFAULT_FAN_OUT, MAX_FAN_OUT, MAX_HOPS
from query_logs.applications import Application, SubjectKind
from search_api.access import Access, access
from search_api.deps import HandlesDep, Provider, SettingsDep
from search_api.graph_reads import (
    GRAPHML_MEDIA_TYPE,
    Expansion,
    PathQuery,
    StartKind,
    export_graphml,
    find_paths,
    log_picture_export,
    read_subgraph,
)
from search_api.handles import Handles
from search_api.masking import mask_id
from search_api.models.graph import SubgraphResponse
from search_api.web.labels import EDGE_KINDS, NODE_KINDS, SOURCES
from search_api.web.sessions import CheckedSession, PageChoice, PageGate, PageSession
from search_api.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_PATH = "/ui/graph"
VIEW_PATH = "/ui/graph/view"
EXPAND_PATH = "/ui/graph/expand"
PATH_PATH = "/ui/graph/path"
GRAPHML_PATH = "/ui/graph/graphml"
PICTURE_PATH = "/ui/graph/picture"
DEFAULT_PAGE_HOPS = 1  # a first pull of one hop leaves room to expand nodes on double-click
MAX_PATHS = 3
MAX_PICTURE_COUNT = 100_000  # nodes or edges a picture may claim to show (only logged)

Hops = Annotated[int, Query(ge=1, le=MAX_HOPS)]
FanOut = Annotated[int, Query(ge=1, le=MAX_FAN_OUT)]
Kinds = Annotated[list[EdgeKind] | None, Query()]
Focus = Annotated[str, Query(min_length=3, max_length=80)]


def read_page_expansion(
    hops: Hops = DEFAULT_PAGE_HOPS, fan_out: FanOut = DEFAULT_FAN_OUT, kinds: Kinds = None
) -> Expansion:
    return Expansion(hops, fan_out, kinds)


PageExpansion = Annotated[Expansion, Depends(read_page_expansion)]


@dataclass(frozen=True, slots=True)
class SubjectOption:
    """A subject of the current application to start from: handle or credit code, masked label."""

    kind: str
    value: str
    label: str


def subject_options(application: Application | None, handles: Handles) -> list[SubjectOption]:
    """The application's persons (by handle, number masked) and companies (by credit code)."""
    if application is None:
        return []
    options = []
    for subject in application.subjects:
        if subject.kind is SubjectKind.PERSON:
            handle = handles.of(subject.value)
            if handle is not None:
                options.append(SubjectOption(str(StartKind.PERSON), handle, mask_id(subject.value)))
        elif subject.kind is SubjectKind.COMPANY:
            options.append(SubjectOption(str(StartKind.COMPANY), subject.value, subject.value))
    return options


def _form(kind: StartKind, value: str, expansion: Expansion) -> dict[str, Any]:
    return {
        "kind": str(kind),
        "value": value,
        "hops": expansion.hops,
        "fan_out": expansion.fan_out,
        "kinds": [str(k) for k in expansion.kinds or ()],
    }


def _page_context(
    choice: Any, handles: Handles, form: dict[str, Any], graph: dict[str, Any] | None
) -> dict[str, Any]:
    current = choice.current if choice else None
    return {
        "form": form,
        "graph": graph,
        "subjects": subject_options(current, handles),
        "may_export": bool(current and current.export),
        "max_hops": MAX_HOPS,
        "max_fan_out": MAX_FAN_OUT,
    }


def graph_payload(
    response: SubgraphResponse, kind: StartKind, value: str, expansion: Expansion
) -> dict[str, Any]:
    """What graph.js draws from: the neighbourhood, how it was asked (to expand it), labels."""
    start_value = response.start.handle if kind is StartKind.PERSON else value
    return {
        "graph": response.model_dump(),
        "request": {
            "kind": str(kind),
            "value": start_value or value,
            "hops": expansion.hops,
            "fan_out": expansion.fan_out,
            "kinds": [str(k) for k in expansion.kinds or ()],
            "max_hops": MAX_HOPS,
        },
        "labels": {"edge_kinds": dict(EDGE_KINDS), "node_kinds": dict(NODE_KINDS),
                   "sources": dict(SOURCES)},
    }  # fmt: skip


@router.get(PAGE_PATH, openapi_extra=access(Access.AUTH))
def graph_form(
    request: Request, session: PageSession, choice: PageChoice, handles: HandlesDep
) -> HTMLResponse:
    form = _form(StartKind.PERSON, "", Expansion(DEFAULT_PAGE_HOPS, DEFAULT_FAN_OUT, None))
    return render(request, "graph/page.html", _page_context(choice, handles, form, None),
                  session=session, choice=choice)  # fmt: skip


@router.get(VIEW_PATH, openapi_extra=access(Access.GOVERNED))
def graph_view_page(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    kind: StartKind,
    value: Annotated[str, Query(min_length=1, max_length=64)],
    expansion: PageExpansion,
) -> HTMLResponse:
    response = read_subgraph(gate, provider, settings, handles, kind, value, expansion)
    payload = graph_payload(response, kind, value, expansion)
    form = _form(kind, payload["request"]["value"], expansion)  # a person as a handle
    graph = {"payload": payload, "response": response}
    return render(request, "graph/page.html", _page_context(choice, handles, form, graph),
                  session=session, choice=choice)  # fmt: skip


@router.get(EXPAND_PATH, openapi_extra=access(Access.GOVERNED))
def graph_expand(
    session: PageSession,
    gate: PageGate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    kind: StartKind,
    value: Annotated[str, Query(min_length=1, max_length=64)],
    focus: Focus,
    expansion: PageExpansion,
) -> JSONResponse:
    del session  # the gate's authenticator; declared for the route inventory's session rule
    response = read_subgraph(gate, provider, settings, handles, kind, value, expansion, focus)
    return JSONResponse(response.model_dump())


@router.get(PATH_PATH, openapi_extra=access(Access.GOVERNED))
def graph_path_fragment(
    request: Request,
    session: PageSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    from_kind: StartKind,
    from_value: Annotated[str, Query(min_length=1, max_length=64)],
    to_kind: StartKind,
    to_value: Annotated[str, Query(min_length=1, max_length=64)],
    hops: Hops = MAX_HOPS,
    fan_out: FanOut = DEFAULT_FAN_OUT,
    kinds: Kinds = None,
) -> HTMLResponse:
    query = PathQuery(from_kind, from_value, to_kind, to_value, hops, fan_out, kinds, MAX_PATHS)
    response = find_paths(gate, provider, settings, handles, query)
    nodes = sorted({k for p in response.paths for s in p.steps for k in (s.src, s.dst)})
    return render(request, "graph/_path.html", {"paths": response, "path_nodes": nodes},
                  session=session, choice=choice)  # fmt: skip


@router.get(GRAPHML_PATH, openapi_extra=access(Access.GOVERNED))
def graph_graphml(
    session: PageSession,
    gate: PageGate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    kind: StartKind,
    value: Annotated[str, Query(min_length=1, max_length=64)],
    expansion: PageExpansion,
) -> Response:
    del session  # the gate's authenticator; declared for the route inventory's session rule
    exported = export_graphml(gate, provider, settings, handles, kind, value, expansion)
    return Response(
        content=exported.body,
        media_type=GRAPHML_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="graph.graphml"'},
    )


@router.post(PICTURE_PATH, openapi_extra=access(Access.GOVERNED))
def graph_picture(
    session: CheckedSession,
    gate: PageGate,
    kind: Annotated[StartKind, Form()],
    value: Annotated[str, Form(min_length=1, max_length=64)],
    nodes: Annotated[int, Form(ge=0, le=MAX_PICTURE_COUNT)],
    edges: Annotated[int, Form(ge=0, le=MAX_PICTURE_COUNT)],
    hops: Annotated[int, Form(ge=1, le=MAX_HOPS)] = DEFAULT_PAGE_HOPS,
    fan_out: Annotated[int, Form(ge=1, le=MAX_FAN_OUT)] = DEFAULT_FAN_OUT,
    kinds: Annotated[list[EdgeKind] | None, Form()] = None,
) -> Response:
    del session  # checked: same origin and this session's CSRF token
    log_picture_export(gate, kind, value, Expansion(hops, fan_out, kinds), nodes, edges)
    return Response(status_code=204)
