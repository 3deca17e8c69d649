"""Pure pieces of the graph routes: the scope of an expansion and how node ids are shown.

How an application's scope applies to a neighbourhood: the start node must be one of the
application's subjects (the gate refuses any other); every edge followed must be proved by records
of the application's sources whose region lies within the application's regions (an edge proved by
two records, such as a household relation, carries only the region prefixes both share, so both
records must be in scope). The subjects bound where an expansion starts, not whom it may reach:
reaching linked persons is the purpose of the operation, and the application names it.
"""

from __future__ import annotations

import hashlib
import hmac

from common.errors import InvalidInputError
from graph.export import Show, View
from graph.model import EdgeKind, NodeKind, node_id, node_key, node_kind
from graph.neighbourhood import EdgeScope
from query_logs.applications import Subject, SubjectKind
from query_logs.gate import Scope
from search_api.handles import Handles
from search_api.masking import mask_id, mask_text

_GRAPH_SUBJECTS = {SubjectKind.PERSON: NodeKind.PERSON, SubjectKind.COMPANY: NodeKind.COMPANY}


def edge_scope(scope: Scope, kinds: list[EdgeKind] | None) -> EdgeScope:
    """The edges an admitted request may follow."""
    return EdgeScope(
        sources=tuple(str(s) for s in scope.sources),
        regions=scope.regions,
        kinds=tuple(sorted(set(kinds))) if kinds else None,
    )


def subject_node(subject: Subject) -> str:
    """The node a subject starts from; a name alone is never a start (it is not an identity)."""
    kind = _GRAPH_SUBJECTS.get(subject.kind)
    if kind is None:
        raise InvalidInputError("the graph starts from an ID number or a credit code, not a name")
    return node_id(kind, subject.value)


def node_shower(unmask: bool, key: bytes) -> Show:
    """How node ids appear in a response: a person as p:<masked number>~<keyed tag> unless the
    application grants unmasking (the tag tells two persons with the same masked number apart,
    and cannot be turned back into the number without the server's key)."""

    def show(node: str) -> str:
        if unmask or node_kind(node) is not NodeKind.PERSON:
            return node
        number = node_key(node)
        tag = hmac.new(key, number.encode(), hashlib.sha256).hexdigest()[:10]
        return f"p:{mask_id(number)}~{tag}"

    return show


def graph_view(unmask: bool, key: bytes, handles: Handles) -> View:
    """How a route shows a neighbourhood: person keys through ``node_shower``, a handle on each
    person node, record and edge ids as the server's pseudonyms (search_api.handles), numbers in
    names, posts, labels and evidence masked unless the application unmasks."""

    def handle(node: str) -> str | None:
        return handles.of(node_key(node)) if node_kind(node) is NodeKind.PERSON else None

    def text(value: str | None) -> str | None:
        return value if unmask or value is None else mask_text(value)

    return View(node_shower(unmask, key), handle, handles.record_id, text)


def graph_key(secret: str) -> bytes:
    """A key for node tags, derived apart from the log's pseudonym key."""
    return hashlib.sha256(b"xiansuo-graph-node|" + secret.encode()).digest()
