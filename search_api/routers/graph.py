"""Routes of issue 6 (relationship graph). Every route here is governed.

The start node must be a subject of the application (the gate refuses any other); hops are
capped at 3; the edges followed are those whose records lie in the application's sources and
regions (search_api.queries.graph). Person numbers in node keys are masked unless the
application grants unmasking, person nodes carry their handle, and record and edge ids are the
server's pseudonyms (search_api.handles). GraphML is an export: the application must allow
export, and an ``export`` entry is logged besides the query's own pair. The subgraph, GraphML
and path reads are search_api.graph_reads', shared with the web UI's 关系图谱 page.
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
from graph.model import EdgeKind
from graph.neighbourhood import (
    DEFAULT_FAN_OUT,
    MAX_FAN_OUT,
    MAX_HOPS,
)
from query_logs.applications import SubjectKind
from query_logs.audit import AuditKind
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.deps import Database, Gate, HandlesDep, Provider, SettingsDep
from search_api.graph_reads import (
    GRAPHML_MEDIA_TYPE,
    Expansion,
    PathQuery,
    StartKind,
    application_view,
    export_graphml,
    find_linked,
    find_paths,
    read_subgraph,
    scoped_edges,
)
from search_api.models.graph import (
    DecisionRequest,
    DecisionResponse,
    GraphPathResponse,
    LinkedResponse,
    SubgraphResponse,
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
    (search_api.graph_reads, shared with the 一人一档 page's panel)."""
    return find_linked(gate, provider, settings, handles, kind, value, expansion, page_size)


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
    return read_subgraph(gate, provider, settings, handles, kind, value, expansion)


@router.get(
    "/graph/{kind}/{value}/graphml",
    openapi_extra=GOVERNED,
    responses={200: {"content": {GRAPHML_MEDIA_TYPE: {}}}},
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
    exported = export_graphml(gate, provider, settings, handles, kind, value, expansion)
    return Response(
        content=exported.body,
        media_type=GRAPHML_MEDIA_TYPE,
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
    query = PathQuery(from_kind, from_value, to_kind, to_value, hops, fan_out, kinds, limit)
    return find_paths(gate, provider, settings, handles, query)


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
        edges = scoped_edges(provider, admission, None).mention_edges(mention)
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
        candidate=application_view(settings, admission, handles).show(candidate),
        decision=body.decision,
        decision_id=decision_id,
        takes_effect="the next graph build (xiansuo graph build)",
    )
