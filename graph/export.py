"""A neighbourhood as data for a front end and as GraphML, with node ids shown through ``show``.

``show`` is the caller's: the API masks person numbers unless the application grants unmasking,
so no full 公民身份号码 leaves through an export or a node key.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import networkx as nx

from graph.model import node_kind
from graph.neighbourhood import LinkEdge, Neighbourhood

Show = Callable[[str], str]


def node_data(hood: Neighbourhood, node: str, show: Show) -> dict[str, Any]:
    return {
        "key": show(node),
        "kind": str(node_kind(node)),
        "name": hood.names.get(node),
        "hop": hood.distance.get(node),
    }


def resolution_data(edge: LinkEdge, show: Show) -> dict[str, Any] | None:
    """How a mention end of ``edge`` was resolved, candidates shown through ``show``."""
    if not edge.resolution:
        return None
    res = edge.resolution
    return {
        "mention": res.get("mention"),
        "status": res.get("status"),
        "score": res.get("score"),
        "method": res.get("method"),
        "evidence": list(res.get("evidence") or ()),
        "candidates": [
            {"key": show(c["node"]), "score": c.get("score"),
             "evidence": list(c.get("evidence") or ())}
            for c in res.get("candidates") or ()
        ],
    }  # fmt: skip


def edge_data(edge: LinkEdge, show: Show) -> dict[str, Any]:
    return {
        "id": edge.id,
        "kind": str(edge.kind),
        "src": show(edge.src),
        "dst": show(edge.dst),
        "label": edge.label,
        "label_back": edge.label_back,
        "strength": edge.strength,
        "percent": edge.percent,
        "post": edge.post,
        "relation": edge.relation,
        "source": edge.source,
        "record_ids": list(edge.record_ids),
        "start_date": edge.start_date,
        "end_date": edge.end_date,
        "resolution": resolution_data(edge, show),
    }


def subgraph(hood: Neighbourhood, show: Show) -> dict[str, Any]:
    """Nodes (with their hop from the start) and edges (with provenance) of the neighbourhood."""
    nodes = sorted(hood.distance, key=lambda n: (hood.distance[n], n))
    edges = sorted(hood.edges.values(), key=lambda e: (-e.strength, e.id))
    return {
        "nodes": [node_data(hood, n, show) for n in nodes],
        "edges": [edge_data(e, show) for e in edges],
    }


def graphml(hood: Neighbourhood, show: Show) -> str:
    """The neighbourhood as GraphML (directed as the records read: holder -> company)."""
    graph = nx.MultiDiGraph()
    for node in hood.distance:
        data = node_data(hood, node, show)
        graph.add_node(data.pop("key"), **{k: v for k, v in data.items() if v is not None})
    for edge in sorted(hood.edges.values(), key=lambda e: e.id):
        data = edge_data(edge, show)
        resolution = data.pop("resolution")
        flat = {k: v for k, v in data.items() if v is not None and k not in ("src", "dst")}
        flat["record_ids"] = " ".join(edge.record_ids)
        if resolution:
            flat["resolution_status"] = resolution["status"]
            flat["resolution_score"] = resolution["score"]
        graph.add_edge(show(edge.src), show(edge.dst), key=edge.id, **flat)
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")
