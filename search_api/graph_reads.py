"""The graph reads themselves, shared by the graph routes (search_api.routers.graph) and the
关系图谱 page (search_api.web.pages.graph): the subject is validated (a malformed one is a
logged refusal), the gate admits the request under the application, the neighbourhood is pulled
inside the admitted scope, the outcome is logged, and nodes, edges and paths come back through
the application's view (masked unless it unmasks). Both doors therefore log, count and mask alike.

An expansion may name a ``focus``: a node of the subject's neighbourhood (as a response shows
it) whose edges alone are returned. It is the same pull from the same subject, one hop past the
focus (within the hop cap): the subjects bound where a pull starts, so a page expanding a node
that is not a subject still starts from the application's subject.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from common.errors import InvalidInputError
from common.settings import Settings
from graph.export import View, node_data, subgraph
from graph.export import graphml as to_graphml
from graph.model import EdgeKind
from graph.neighbourhood import (
    EdgeScope,
    IndexEdges,
    Neighbourhood,
    expand,
)
from graph.operations import linked_entities, path_between
from graph.rank import STANDING_LABELS, Path
from graph.store import edges_alias
from query_logs.applications import Subject, SubjectKind
from query_logs.audit import AuditKind
from query_logs.gate import QueryRequest
from registry.engine import EngineDoor
from search_api.gatekeeper import Admission, GateKeeper
from search_api.handles import Handles
from search_api.models.graph import (
    GraphPathResponse,
    LinkedEntityResponse,
    LinkedResponse,
    NodeResponse,
    SubgraphResponse,
    control_response,
    cut_responses,
    expansion_fields,
    path_response,
    share_responses,
)
from search_api.queries.graph import edge_scope, graph_key, graph_view, subject_node

GRAPHML_MEDIA_TYPE = "application/graphml+xml"


class StartKind(StrEnum):
    """What a graph request starts from: a person's number or a company's credit code."""

    PERSON = SubjectKind.PERSON.value
    COMPANY = SubjectKind.COMPANY.value


@dataclass(frozen=True, slots=True)
class Expansion:
    """How far a neighbourhood is pulled from its subject: hops, edges per node, edge kinds."""

    hops: int
    fan_out: int
    kinds: list[EdgeKind] | None

    def logged(self) -> dict[str, Any]:
        return {"hops": self.hops, "fan_out": self.fan_out, "kinds": sorted(self.kinds or [])}


class FocusOutsideError(InvalidInputError):
    """The node to expand is not in the subject's neighbourhood (within the hops asked)."""


def read_subject(gate: GateKeeper, kind: StartKind, value: str) -> tuple[Subject, str]:
    """The subject and its node; a malformed number is a logged refusal (the gate's rule)."""
    subject = gate.subject(SubjectKind(kind.value), value)
    return subject, subject_node(subject)


def application_view(settings: Settings, admission: Admission, handles: Handles) -> View:
    secret = settings.secret_key.get_secret_value()
    return graph_view(admission.scope.unmask, graph_key(secret), handles)


def scoped_edges(
    provider: EngineDoor, admission: Admission, kinds: list[EdgeKind] | None
) -> IndexEdges:
    scope: EdgeScope = edge_scope(admission.scope, kinds)
    return IndexEdges(provider, edges_alias(provider.index_prefix), scope)


def path_record_ids(paths: Iterable[Path]) -> list[str]:
    return sorted({r for p in paths for s in p.steps for r in s.edge.record_ids})


def subject_params(kind: StartKind, value: str, **more: Any) -> dict[str, Any]:
    return {"subject_kind": kind.value, "subject": value, **more}


def _pull(
    provider: EngineDoor, admission: Admission, start: str, expansion: Expansion
) -> Neighbourhood:
    edges = scoped_edges(provider, admission, expansion.kinds)
    with admission.engine_work():
        return expand(edges, start, expansion.hops, expansion.fan_out)


def _edge_records(hood: Neighbourhood) -> list[str]:
    return sorted({r for e in hood.edges.values() for r in e.record_ids})


def _focused(hood: Neighbourhood, focus: str, view: View) -> Neighbourhood:
    """The focus node's edges and their ends only (``focus`` as a response shows the node)."""
    node = next((n for n in hood.distance if view.show(n) == focus), None)
    if node is None:
        raise FocusOutsideError("the node to expand is not within the subject's neighbourhood")
    edges = {i: e for i, e in hood.edges.items() if node in (e.src, e.dst)}
    ends = {node} | {n for e in edges.values() for n in (e.src, e.dst)}
    return Neighbourhood(
        start=hood.start,
        hops=hood.hops,
        fan_out=hood.fan_out,
        distance={n: d for n, d in hood.distance.items() if n in ends or n == hood.start},
        edges=edges,
        names=hood.names,
        cuts=[c for c in hood.cuts if c.node == node],
        node_budget_reached=hood.node_budget_reached,
        queries=hood.queries,
    )


def read_subgraph(
    gate: GateKeeper,
    provider: EngineDoor,
    settings: Settings,
    handles: Handles,
    kind: StartKind,
    value: str,
    expansion: Expansion,
    focus: str | None = None,
) -> SubgraphResponse:
    """The neighbourhood's nodes and edges (with provenance), admitted and logged by ``gate``;
    with ``focus``, only that node's edges (see the module docstring; logged as asked)."""
    subject, start = read_subject(gate, kind, value)
    more = {"focus": focus} if focus is not None else {}
    params = subject_params(kind, subject.value, **expansion.logged(), **more)
    admission = gate.admit(QueryRequest(subjects=(subject,)), params)
    hood = _pull(provider, admission, start, expansion)
    view = application_view(settings, admission, handles)
    if focus is not None:
        try:
            hood = _focused(hood, focus, view)
        except FocusOutsideError:
            admission.complete(0, [])
            raise
    data = subgraph(hood, view)
    admission.complete(len(data["nodes"]), _edge_records(hood))
    return SubgraphResponse(
        **expansion_fields(hood, view), nodes=data["nodes"], edges=data["edges"]
    )


@dataclass(frozen=True, slots=True)
class GraphmlFile:
    body: str
    nodes: int
    edges: int


def export_graphml(
    gate: GateKeeper,
    provider: EngineDoor,
    settings: Settings,
    handles: Handles,
    kind: StartKind,
    value: str,
    expansion: Expansion,
) -> GraphmlFile:
    """The neighbourhood as GraphML: an export (the application must allow it; logged)."""
    subject, start = read_subject(gate, kind, value)
    params = subject_params(kind, subject.value, **expansion.logged(), format="graphml")
    admission = gate.admit(QueryRequest(subjects=(subject,), export=True), params)
    hood = _pull(provider, admission, start, expansion)
    body = to_graphml(hood, application_view(settings, admission, handles))
    admission.complete(len(hood.distance), _edge_records(hood))
    admission.note(
        AuditKind.EXPORT,
        {"format": "graphml", "request_seq": admission.request_seq, "edges": len(hood.edges)},
        params=params,
        hit_count=len(hood.distance),
    )
    return GraphmlFile(body, len(hood.distance), len(hood.edges))


def log_picture_export(
    gate: GateKeeper, kind: StartKind, value: str, expansion: Expansion, nodes: int, edges: int
) -> None:
    """A picture of a neighbourhood the page already shows (made in the browser): an export
    like the GraphML one, so the application must allow export and an ``export`` entry is
    written before the page lets the picture be saved. No registry data is read here."""
    subject, _start = read_subject(gate, kind, value)
    params = subject_params(kind, subject.value, **expansion.logged(), format="png")
    admission = gate.admit(QueryRequest(subjects=(subject,), export=True), params)
    admission.complete(nodes, [])
    admission.note(
        AuditKind.EXPORT,
        {"format": "png", "request_seq": admission.request_seq, "edges": edges},
        params=params,
        hit_count=nodes,
    )


@dataclass(frozen=True, slots=True)
class PathQuery:
    """Two subjects and how far a path between them may run."""

    from_kind: StartKind
    from_value: str
    to_kind: StartKind
    to_value: str
    hops: int
    fan_out: int
    kinds: list[EdgeKind] | None
    limit: int


def find_paths(
    gate: GateKeeper,
    provider: EngineDoor,
    settings: Settings,
    handles: Handles,
    query: PathQuery,
) -> GraphPathResponse:
    """The strongest paths of at most ``hops`` edges between two subjects of the application."""
    first, a = read_subject(gate, query.from_kind, query.from_value)
    second, b = read_subject(gate, query.to_kind, query.to_value)
    params = {
        "from": first.value,
        "to": second.value,
        "hops": query.hops,
        "fan_out": query.fan_out,
        "kinds": sorted(query.kinds or []),
        "limit": query.limit,
    }
    admission = gate.admit(QueryRequest(subjects=(first, second)), params)
    edges = scoped_edges(provider, admission, query.kinds)
    with admission.engine_work():
        hood, paths = path_between(edges, a, b, query.hops, query.fan_out, query.limit)
    view = application_view(settings, admission, handles)
    admission.complete(len(paths), path_record_ids(paths))
    return GraphPathResponse(
        start=NodeResponse(**node_data(hood, a, view)),
        end=NodeResponse(**node_data(hood, b, view)),
        max_hops=query.hops,
        found=bool(paths),
        paths=[path_response(p, hood, view) for p in paths],
        cuts=cut_responses(hood, view),
    )


def find_linked(
    gate: GateKeeper,
    provider: EngineDoor,
    settings: Settings,
    handles: Handles,
    kind: StartKind,
    value: str,
    expansion: Expansion,
    page_size: int,
) -> LinkedResponse:
    """The persons and companies linked to a subject, ranked, each with the paths that link it;
    admitted and logged by ``gate``."""
    subject, start = read_subject(gate, kind, value)
    params = subject_params(kind, subject.value, **expansion.logged(), page_size=page_size)
    admission = gate.admit(QueryRequest(subjects=(subject,), page_size=page_size), params)
    edges = scoped_edges(provider, admission, expansion.kinds)
    with admission.engine_work():
        result = linked_entities(edges, start, expansion.hops, expansion.fan_out, page_size)
    hood, view = result.hood, application_view(settings, admission, handles)
    entities = [
        LinkedEntityResponse(
            key=view.show(e.node),
            kind=str(e.kind),
            name=view.text(e.name),
            handle=view.handle(e.node),
            hops=e.hops,
            standing=str(e.standing),
            standing_label=STANDING_LABELS[e.standing],
            score=e.score,
            control=control_response(e.control, hood, view),
            edge_kinds=list(e.edge_kinds),
            paths=[path_response(p, hood, view) for p in e.paths],
            holders=share_responses(result.holders_of(e.node), hood, view),
            holdings=share_responses(result.holdings_of(e.node), hood, view),
        )
        for e in result.linked
    ]
    admission.complete(len(entities), path_record_ids(p for e in result.linked for p in e.paths))
    return LinkedResponse(
        **expansion_fields(hood, view),
        start_holdings=share_responses(result.holdings_of(start), hood, view),
        entities=entities,
    )
