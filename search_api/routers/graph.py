"""Routes of issue 6 (relationship graph). Every route here is governed.

The start node must be a subject of the application (the gate refuses any other); hops are
capped at 3; the edges followed are those whose records lie in the application's sources and
regions (search_api.queries.graph). Person numbers in node keys are masked unless the
application grants unmasking, person nodes carry their handle, and record and edge ids are the
server's pseudonyms (search_api.handles). GraphML is an export: the application must allow
export, and an ``export`` entry is logged besides the query's own pair.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from common.errors import DomainError, NotFoundError
from graph.decisions import MatchDecision, record_decision
from graph.export import graphml as to_graphml
from graph.export import node_data, subgraph
from graph.model import EdgeKind
from graph.neighbourhood import (
    DEFAULT_FAN_OUT,
    MAX_FAN_OUT,
    MAX_HOPS,
    Neighbourhood,
    expand,
)
from graph.operations import path_between
from query_logs.applications import SubjectKind
from query_logs.audit import AuditKind
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.deps import Database, Gate, HandlesDep, Provider, SettingsDep
from search_api.gatekeeper import Admission
from search_api.graph_linked import Expansion, StartKind, find_linked
from search_api.graph_linked import edges_of as _edges
from search_api.graph_linked import graph_params as _params
from search_api.graph_linked import path_record_ids as _record_ids
from search_api.graph_linked import subject_of as _subject
from search_api.graph_linked import view_of as _view
from search_api.models.graph import (
    DecisionRequest,
    DecisionResponse,
    GraphPathResponse,
    LinkedResponse,
    NodeResponse,
    SubgraphResponse,
    cut_responses,
    expansion_fields,
    path_response,
)
from search_api.queries.graph import subject_node

router = APIRouter(tags=["graph"])
GOVERNED = access(Access.GOVERNED)
MAX_PATHS = 5


Hops = Annotated[int, Query(ge=1, le=MAX_HOPS, description="hops from the subject (1-3)")]
FanOut = Annotated[int, Query(ge=1, le=MAX_FAN_OUT, description="edges followed per node")]
Kinds = Annotated[list[EdgeKind] | None, Query(description="edge kinds to follow (default: all)")]
DEFAULT_HOPS = 2


def read_expansion(
    hops: Hops = DEFAULT_HOPS, fan_out: FanOut = DEFAULT_FAN_OUT, kinds: Kinds = None
) -> Expansion:
    return Expansion(hops, fan_out, kinds)


ExpansionQuery = Annotated[Expansion, Depends(read_expansion)]


class StoreUnavailableError(DomainError):
    status: ClassVar[int] = 503


@router.get("/graph/{kind}/{value}/linked", response_model=LinkedResponse, openapi_extra=GOVERNED)
def linked(
    kind: StartKind,
    value: str,
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    expansion: ExpansionQuery,
    page_size: int = Query(default=20, ge=1, le=100),
) -> LinkedResponse:
    """The persons and companies linked to a subject, ranked, each with the paths that link it
    (search_api.graph_linked, shared with the 一人一档 page's panel)."""
    return find_linked(gate, provider, settings, handles, kind, value, expansion, page_size)


def _pull(
    provider: Provider, admission: Admission, start: str, expansion: Expansion
) -> Neighbourhood:
    edges = _edges(provider, admission, expansion.kinds)
    with admission.engine_work():
        return expand(edges, start, expansion.hops, expansion.fan_out)


def _edge_records(hood: Neighbourhood) -> list[str]:
    return sorted({r for e in hood.edges.values() for r in e.record_ids})


@router.get(
    "/graph/{kind}/{value}/subgraph", response_model=SubgraphResponse, openapi_extra=GOVERNED
)
def subgraph_json(
    kind: StartKind,
    value: str,
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    expansion: ExpansionQuery,
) -> SubgraphResponse:
    """The neighbourhood's nodes and edges (with provenance) as JSON for a front end."""
    subject, start = _subject(gate, kind, value)
    params = _params(kind, subject.value, **expansion.logged())
    admission = gate.admit(QueryRequest(subjects=(subject,)), params)
    hood = _pull(provider, admission, start, expansion)
    view = _view(settings, admission, handles)
    data = subgraph(hood, view)
    admission.complete(len(data["nodes"]), _edge_records(hood))
    return SubgraphResponse(
        **expansion_fields(hood, view), nodes=data["nodes"], edges=data["edges"]
    )


@router.get(
    "/graph/{kind}/{value}/graphml",
    openapi_extra=GOVERNED,
    responses={200: {"content": {"application/graphml+xml": {}}}},
)
def graphml_export(
    kind: StartKind,
    value: str,
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    expansion: ExpansionQuery,
) -> Response:
    """The neighbourhood as GraphML: an export (the application must allow it; logged)."""
    subject, start = _subject(gate, kind, value)
    params = _params(kind, subject.value, **expansion.logged(), format="graphml")
    admission = gate.admit(QueryRequest(subjects=(subject,), export=True), params)
    hood = _pull(provider, admission, start, expansion)
    body = to_graphml(hood, _view(settings, admission, handles))
    admission.complete(len(hood.distance), _edge_records(hood))
    admission.note(
        AuditKind.EXPORT,
        {"format": "graphml", "request_seq": admission.request_seq, "edges": len(hood.edges)},
        params=params,
        hit_count=len(hood.distance),
    )
    return Response(
        content=body,
        media_type="application/graphml+xml",
        headers={"Content-Disposition": 'attachment; filename="graph.graphml"'},
    )


@router.get("/graph/path", response_model=GraphPathResponse, openapi_extra=GOVERNED)
def graph_path(
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    from_kind: StartKind,
    from_value: str,
    to_kind: StartKind,
    to_value: str,
    hops: Hops = MAX_HOPS,
    fan_out: FanOut = DEFAULT_FAN_OUT,
    kinds: Kinds = None,
    limit: int = Query(default=3, ge=1, le=MAX_PATHS),
) -> GraphPathResponse:
    """The strongest paths of at most ``hops`` edges between two subjects of the application."""
    first, a = _subject(gate, from_kind, from_value)
    second, b = _subject(gate, to_kind, to_value)
    params = {
        "from": first.value,
        "to": second.value,
        "hops": hops,
        "fan_out": fan_out,
        "kinds": sorted(kinds or []),
        "limit": limit,
    }
    admission = gate.admit(QueryRequest(subjects=(first, second)), params)
    with admission.engine_work():
        hood, paths = path_between(_edges(provider, admission, kinds), a, b, hops, fan_out, limit)
    view = _view(settings, admission, handles)
    admission.complete(len(paths), _record_ids(paths))
    return GraphPathResponse(
        start=NodeResponse(**node_data(hood, a, view)),
        end=NodeResponse(**node_data(hood, b, view)),
        max_hops=hops,
        found=bool(paths),
        paths=[path_response(p, hood, view) for p in paths],
        cuts=cut_responses(hood, view),
    )


@router.post(
    "/graph/mentions/{mention}/decision", response_model=DecisionResponse, openapi_extra=GOVERNED
)
def decide_match(
    mention: Annotated[str, PathParam(pattern=r"^[0-9a-f]{16}$")],
    body: DecisionRequest,
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    db: Database,
    handles: HandlesDep,
) -> DecisionResponse:
    """An analyst confirms or rejects that a mention is a person (a subject of the application);
    stored, logged, and respected by every later graph build."""
    subject = gate.subject(SubjectKind.PERSON, body.candidate_id_number)
    params = {"mention": mention, "candidate": subject.value, "decision": str(body.decision)}
    admission = gate.admit(QueryRequest(subjects=(subject,)), params)
    with admission.engine_work():
        edges = _edges(provider, admission, None).mention_edges(mention)
    if not edges:
        admission.complete(0, [])
        raise NotFoundError("no such mention within the application's scope")
    candidate = subject_node(subject)
    # write-ahead: the decision is logged before it is stored
    admission.note(
        AuditKind.ADMIN_ACTION,
        {"action": "graph_match_decision", "request_seq": admission.request_seq},
        params=params,
    )
    try:
        decision = MatchDecision(
            mention,
            candidate,
            body.decision,
            admission.user.username,
            admission.application.id,
            body.note,
            datetime.now(UTC),
        )
        decision_id = record_decision(db, decision)
    except SQLAlchemyError as exc:
        admission.fail(type(exc).__name__)
        raise StoreUnavailableError("the decision could not be stored") from exc
    admission.complete(len(edges), edges)
    return DecisionResponse(
        mention=mention,
        candidate=_view(settings, admission, handles).show(candidate),
        decision=body.decision,
        decision_id=decision_id,
        takes_effect="the next graph build (xiansuo graph build)",
    )
