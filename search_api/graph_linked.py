"""The linked entities of a subject (the graph's neighbourhood, ranked), shared by
``GET /graph/{kind}/{value}/linked`` (JSON) and the linked-persons panel of the 一人一档 page
(search_api.web), and the pieces the graph routes share: the start node, the edges in scope,
the view that masks what a node shows.

The start node must be a subject of the application (the gate refuses any other); the edges
followed are those whose records lie in the application's sources and regions
(search_api.queries.graph).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from common.settings import Settings
from graph.export import View
from graph.model import EdgeKind
from graph.neighbourhood import EdgeScope, IndexEdges
from graph.operations import linked_entities
from graph.rank import STANDING_LABELS, Path
from graph.store import edges_alias
from query_logs.applications import Subject, SubjectKind
from query_logs.gate import QueryRequest
from registry.engine import EngineDoor
from search_api.gatekeeper import Admission, GateKeeper
from search_api.handles import Handles
from search_api.models.graph import (
    LinkedEntityResponse,
    LinkedResponse,
    control_response,
    expansion_fields,
    path_response,
    share_responses,
)
from search_api.queries.graph import edge_scope, graph_key, graph_view, subject_node


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


def subject_of(gate: GateKeeper, kind: StartKind, value: str) -> tuple[Subject, str]:
    """The subject and its node; a malformed number is a logged refusal (the gate's rule)."""
    subject = gate.subject(SubjectKind(kind.value), value)
    return subject, subject_node(subject)


def view_of(settings: Settings, admission: Admission, handles: Handles) -> View:
    """How nodes are shown under this admission (masked unless it unmasks)."""
    secret = settings.secret_key.get_secret_value()
    return graph_view(admission.scope.unmask, graph_key(secret), handles)


def edges_of(
    provider: EngineDoor, admission: Admission, kinds: list[EdgeKind] | None
) -> IndexEdges:
    """The edges of the graph index that lie in the admission's scope."""
    scope: EdgeScope = edge_scope(admission.scope, kinds)
    return IndexEdges(provider, edges_alias(provider.index_prefix), scope)


def path_record_ids(paths: Iterable[Path]) -> list[str]:
    return sorted({r for p in paths for s in p.steps for r in s.edge.record_ids})


def graph_params(kind: StartKind, value: str, **more: Any) -> dict[str, Any]:
    return {"subject_kind": kind.value, "subject": value, **more}


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
    subject, start = subject_of(gate, kind, value)
    params = graph_params(kind, subject.value, **expansion.logged(), page_size=page_size)
    admission = gate.admit(QueryRequest(subjects=(subject,), page_size=page_size), params)
    edges = edges_of(provider, admission, expansion.kinds)
    with admission.engine_work():
        result = linked_entities(edges, start, expansion.hops, expansion.fan_out, page_size)
    hood, view = result.hood, view_of(settings, admission, handles)
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
