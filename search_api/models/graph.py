"""Wire models of the graph routes, and the converters from graph results to them.

Everything goes through the route's ``View`` (search_api.queries.graph.graph_view): a person's
number in a node key is masked unless the application grants unmasking, a person node carries
its handle (search_api.handles), and record and edge ids are the server's pseudonyms.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from graph.control import Control
from graph.export import View, node_data
from graph.neighbourhood import Neighbourhood
from graph.rank import Path
from graph.resolve import Decision


class NodeResponse(BaseModel):
    key: str
    kind: str
    name: str | None
    hop: int | None
    handle: str | None = Field(default=None, description="a person's handle (subject kind)")


class ResolutionCandidateResponse(BaseModel):
    key: str
    score: float | None
    evidence: list[str]


class ResolutionResponse(BaseModel):
    mention: str | None
    status: str | None
    score: float | None
    method: str | None
    evidence: list[str]
    candidates: list[ResolutionCandidateResponse]


class EdgeResponse(BaseModel):
    id: str
    kind: str
    src: str
    dst: str
    label: str
    label_back: str
    strength: float
    percent: float | None
    post: str | None
    relation: str | None
    source: str
    record_ids: list[str]
    start_date: str | None
    end_date: str | None
    resolution: ResolutionResponse | None


class StepResponse(BaseModel):
    src: str
    src_name: str | None
    dst: str
    dst_name: str | None
    label: str
    kind: str
    source: str
    record_ids: list[str]
    start_date: str | None
    end_date: str | None


class PathResponse(BaseModel):
    chain: str = Field(description="readable chain of labels, e.g. 配偶 → 股东(45%) → 法定代表人")
    strength: float
    steps: list[StepResponse]


class ShareResponse(BaseModel):
    key: str
    name: str | None
    effective_percent: float


class ControlResponse(BaseModel):
    bases: list[str] = Field(description="why: 担任法定代表人, 合计持股过半, 经受控企业控股")
    effective_percent: float = Field(
        description="the effective holding of the subject and its close relatives together"
    )
    controller: str = Field(description="the subject or the close relative the proof starts from")
    controller_name: str | None


class LinkedEntityResponse(BaseModel):
    key: str
    kind: str
    name: str | None
    handle: str | None = Field(default=None, description="a person's handle (subject kind)")
    hops: int
    standing: str = Field(description="close_relative, controlled or linked: the ranking's band")
    standing_label: str = Field(description="近亲属, 受控企业 or 其他关联")
    score: float
    control: ControlResponse | None = Field(
        description="for a company the subject or a close relative controls: why (the first path "
        "is its proof)"
    )
    edge_kinds: list[str]
    paths: list[PathResponse]
    holders: list[ShareResponse] = Field(description="largest effective holders (companies)")
    holdings: list[ShareResponse] = Field(description="effective holdings (persons, companies)")


class CutResponse(BaseModel):
    key: str
    name: str | None
    hop: int
    degree: int
    kept: int


class ExpansionResponse(BaseModel):
    start: NodeResponse
    hops: int
    fan_out: int
    nodes_reached: int
    edges_pulled: int
    cuts: list[CutResponse] = Field(description="nodes whose edges the fan-out cap cut")
    node_budget_reached: bool


class LinkedResponse(ExpansionResponse):
    start_holdings: list[ShareResponse]
    entities: list[LinkedEntityResponse]


class SubgraphResponse(ExpansionResponse):
    nodes: list[NodeResponse]
    edges: list[EdgeResponse]


class GraphPathResponse(BaseModel):
    start: NodeResponse
    end: NodeResponse
    max_hops: int
    found: bool
    paths: list[PathResponse]
    cuts: list[CutResponse]


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id_number: str = Field(min_length=15, max_length=40)
    decision: Decision
    note: str | None = Field(default=None, max_length=500)


class DecisionResponse(BaseModel):
    mention: str
    candidate: str
    decision: Decision
    decision_id: int
    takes_effect: str


def path_response(path: Path, hood: Neighbourhood, view: View) -> PathResponse:
    show = view.show
    steps = [
        StepResponse(
            src=show(s.frm),
            src_name=view.text(hood.names.get(s.frm)),
            dst=show(s.to),
            dst_name=view.text(hood.names.get(s.to)),
            label=view.label(s.label),
            kind=str(s.edge.kind),
            source=s.edge.source,
            record_ids=[view.record_id(r) for r in s.edge.record_ids],
            start_date=s.edge.start_date,
            end_date=s.edge.end_date,
        )
        for s in path.steps
    ]
    return PathResponse(chain=view.label(path.chain), strength=path.strength, steps=steps)


def cut_responses(hood: Neighbourhood, view: View) -> list[CutResponse]:
    return [
        CutResponse(
            key=view.show(c.node),
            name=view.text(hood.names.get(c.node)),
            hop=c.hop,
            degree=c.degree,
            kept=c.kept,
        )
        for c in hood.cuts
    ]


def expansion_fields(hood: Neighbourhood, view: View) -> dict[str, Any]:
    return {
        "start": NodeResponse(**node_data(hood, hood.start, view)),
        "hops": hood.hops,
        "fan_out": hood.fan_out,
        "nodes_reached": len(hood.distance) - 1,
        "edges_pulled": len(hood.edges),
        "cuts": cut_responses(hood, view),
        "node_budget_reached": hood.node_budget_reached,
    }


def share_responses(
    pairs: Iterable[tuple[str, float]], hood: Neighbourhood, view: View
) -> list[ShareResponse]:
    return [
        ShareResponse(
            key=view.show(n),
            name=view.text(hood.names.get(n)),
            effective_percent=round(f * 100, 4),
        )
        for n, f in pairs
    ]


def control_response(
    control: Control | None, hood: Neighbourhood, view: View
) -> ControlResponse | None:
    if control is None:
        return None
    return ControlResponse(
        bases=[str(b) for b in control.bases],
        effective_percent=round(control.effective * 100, 4),
        controller=view.show(control.controller),
        controller_name=view.text(hood.names.get(control.controller)),
    )
