"""A neighbourhood as data for a front end and as GraphML, shown through the caller's ``View``.

A ``View`` says how node ids appear (``show``: the API masks person numbers unless the
application grants unmasking, so no full 公民身份号码 leaves through an export or a node key),
which handle names a person node (``handle``), how record and edge ids appear (``record_id``:
the API shows keyed pseudonyms of them) and how free text (names, posts, labels, evidence)
appears (``text``: the API masks numbers written into it). A bare ``show`` function is a view with
everything else as it is and no handles.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from graph.model import node_kind
from graph.neighbourhood import LinkEdge, Neighbourhood

Show = Callable[[str], str]


def _no_handle(_node: str) -> str | None:
    return None


def _as_is(value: str) -> str:
    return value


def _text_as_is(value: str | None) -> str | None:
    return value


@dataclass(frozen=True, slots=True)
class View:
    """How node ids, person handles and record/edge ids appear (see the module docstring)."""

    show: Show
    handle: Callable[[str], str | None] = _no_handle
    record_id: Callable[[str], str] = _as_is
    text: Callable[[str | None], str | None] = _text_as_is

    def label(self, value: str) -> str:
        return self.text(value) or ""


def as_view(view: View | Show) -> View:
    return view if isinstance(view, View) else View(view)


def node_data(hood: Neighbourhood, node: str, view: View | Show) -> dict[str, Any]:
    view = as_view(view)
    return {
        "key": view.show(node),
        "kind": str(node_kind(node)),
        "name": view.text(hood.names.get(node)),
        "hop": hood.distance.get(node),
        "handle": view.handle(node),
    }


def resolution_data(edge: LinkEdge, view: View | Show) -> dict[str, Any] | None:
    """How a mention end of ``edge`` was resolved, candidates shown through the view."""
    if not edge.resolution:
        return None
    view = as_view(view)
    res = edge.resolution
    return {
        "mention": res.get("mention"),
        "status": res.get("status"),
        "score": res.get("score"),
        "method": res.get("method"),
        "evidence": [view.label(e) for e in res.get("evidence") or ()],
        "candidates": [
            {"key": view.show(c["node"]), "score": c.get("score"),
             "evidence": [view.label(e) for e in c.get("evidence") or ()]}
            for c in res.get("candidates") or ()
        ],
    }  # fmt: skip


def edge_data(edge: LinkEdge, view: View | Show) -> dict[str, Any]:
    view = as_view(view)
    show = view.show
    return {
        "id": view.record_id(edge.id),
        "kind": str(edge.kind),
        "src": show(edge.src),
        "dst": show(edge.dst),
        "label": view.label(edge.label),
        "label_back": view.label(edge.label_back),
        "strength": edge.strength,
        "percent": edge.percent,
        "post": view.text(edge.post),
        "relation": edge.relation,
        "source": edge.source,
        "record_ids": [view.record_id(r) for r in edge.record_ids],
        "start_date": edge.start_date,
        "end_date": edge.end_date,
        "resolution": resolution_data(edge, view),
    }


def subgraph(hood: Neighbourhood, view: View | Show) -> dict[str, Any]:
    """Nodes (with their hop from the start) and edges (with provenance) of the neighbourhood."""
    nodes = sorted(hood.distance, key=lambda n: (hood.distance[n], n))
    edges = sorted(hood.edges.values(), key=lambda e: (-e.strength, e.id))
    return {
        "nodes": [node_data(hood, n, view) for n in nodes],
        "edges": [edge_data(e, view) for e in edges],
    }


def graphml(hood: Neighbourhood, view: View | Show) -> str:
    """The neighbourhood as GraphML (directed as the records read: holder -> company)."""
    view = as_view(view)
    graph = nx.MultiDiGraph()
    for node in hood.distance:
        data = node_data(hood, node, view)
        graph.add_node(data.pop("key"), **{k: v for k, v in data.items() if v is not None})
    for edge in sorted(hood.edges.values(), key=lambda e: e.id):
        data = edge_data(edge, view)
        resolution = data.pop("resolution")
        flat = {k: v for k, v in data.items() if v is not None and k not in ("src", "dst")}
        flat["record_ids"] = " ".join(data["record_ids"])
        if resolution:
            flat["resolution_status"] = resolution["status"]
            flat["resolution_score"] = resolution["score"]
        graph.add_edge(view.show(edge.src), view.show(edge.dst), key=data["id"], **flat)
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")
