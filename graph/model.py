"""The graph's plain data: node ids, edge kinds, household relations and their Chinese labels.

Free of networkx and of OpenSearch. A node id is a kind prefix and a key: ``p:`` + the
normalised 18-digit 公民身份号码, ``c:`` + the 统一社会信用代码, ``x:`` + a 信访件编号, ``m:`` + a
mention key (a person or holder named without a valid number and not resolved). An edge names
the records that prove it (source, record ids, dates) and their region, which is what the scope
of an application is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from common.vocab import Source


class NodeKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"
    PETITION = "petition"
    MENTION = "mention"  # a name without a valid number that resolution could not place


_PREFIX = {
    NodeKind.PERSON: "p",
    NodeKind.COMPANY: "c",
    NodeKind.PETITION: "x",
    NodeKind.MENTION: "m",
}
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in _PREFIX.items()}


def node_id(kind: NodeKind, key: str) -> str:
    return f"{_PREFIX[kind]}:{key}"


def node_kind(node: str) -> NodeKind:
    """The kind of a node id; raises ValueError for a string that is not one."""
    prefix, sep, key = node.partition(":")
    if not sep or not key or prefix not in _KIND_OF_PREFIX:
        raise ValueError(f"not a node id: {node!r}")
    return _KIND_OF_PREFIX[prefix]


def node_key(node: str) -> str:
    return node.partition(":")[2]


class EdgeKind(StrEnum):
    """What links two nodes; the edge-kind filter of the API takes these values."""

    HOUSEHOLD = "household"  # same 户号, typed by ``Relation``
    LEGAL_REP = "legal_rep"  # person -> company
    SHAREHOLDER = "shareholder"  # person (or mention) -> company, with percent
    OWNS = "owns"  # company -> company (a corporate shareholder), with percent
    OFFICER = "officer"  # person (or mention) -> company, with post
    EMPLOYEE = "employee"  # person -> employer (insured at it)
    CO_OWNER = "co_owner"  # person <-> person, the same 不动产单元
    REPORTED = "reported"  # petition -> person (or mention); never the complainant


class Relation(StrEnum):
    """A household relation, read from ``src`` to ``dst`` (``PARENT``: src is dst's parent)."""

    SPOUSE = "spouse"
    PARENT = "parent"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    IN_LAW = "in_law"
    MEMBER = "member"  # same household, relation not derivable (其他, or two in-laws)


# What dst is to src (forward) and what src is to dst (backward), as people read it.
_RELATION_LABELS: dict[Relation, tuple[str, str]] = {
    Relation.SPOUSE: ("配偶", "配偶"),
    Relation.PARENT: ("子女", "父母"),
    Relation.GRANDPARENT: ("孙子女", "祖父母"),
    Relation.SIBLING: ("兄弟姐妹", "兄弟姐妹"),
    Relation.IN_LAW: ("姻亲", "姻亲"),
    Relation.MEMBER: ("同户成员", "同户成员"),
}
# How much a link says about influence or benefit, 0..1: ranking and the fan-out order use it.
RELATION_STRENGTH: dict[Relation, float] = {
    Relation.SPOUSE: 0.95,
    Relation.PARENT: 0.9,
    Relation.GRANDPARENT: 0.6,
    Relation.SIBLING: 0.7,
    Relation.IN_LAW: 0.6,
    Relation.MEMBER: 0.4,
}
KIND_STRENGTH: dict[EdgeKind, float] = {
    EdgeKind.LEGAL_REP: 0.9,
    EdgeKind.OFFICER: 0.6,
    EdgeKind.EMPLOYEE: 0.25,  # thousands share an employer: weak evidence of a tie
    EdgeKind.CO_OWNER: 0.7,
    EdgeKind.REPORTED: 0.5,
}


def share_strength(percent: float | None) -> float:
    """A shareholding's strength: 0.3 for a token stake up to 1.0 for full ownership."""
    fraction = min(max((percent or 0.0) / 100.0, 0.0), 1.0)
    return round(0.3 + 0.7 * fraction, 4)


def _percent_text(percent: float | None) -> str:
    return "" if percent is None else f"({percent:g}%)"


@dataclass(frozen=True, slots=True)
class Resolution:
    """How an ID-less mention was placed: the target, the score and the evidence behind it."""

    status: str  # ResolutionStatus value (graph.resolve)
    mention: str  # the mention key
    score: float
    method: str
    evidence: tuple[str, ...] = ()
    candidates: tuple[dict[str, Any], ...] = ()  # proposals: {"node", "score", "evidence"}

    def to_doc(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "mention": self.mention,
            "score": self.score,
            "method": self.method,
            "evidence": list(self.evidence),
            "candidates": [dict(c) for c in self.candidates],
        }


@dataclass(frozen=True, slots=True)
class Edge:
    """One link with its provenance; ``src`` -> ``dst`` as the record reads (holder -> company)."""

    kind: EdgeKind
    src: str
    dst: str
    source: Source
    record_ids: tuple[str, ...]
    src_name: str | None = None
    dst_name: str | None = None
    relation: Relation | None = None
    percent: float | None = None
    post: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    region_prefixes: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    resolution: Resolution | None = None

    @property
    def strength(self) -> float:
        if self.kind is EdgeKind.HOUSEHOLD:
            return RELATION_STRENGTH[self.relation or Relation.MEMBER]
        if self.kind in (EdgeKind.SHAREHOLDER, EdgeKind.OWNS):
            return share_strength(self.percent)
        return KIND_STRENGTH[self.kind]

    @property
    def labels(self) -> tuple[str, str]:
        """(forward, backward) labels: what dst is to src, and what src is to dst."""
        return edge_labels(self.kind, self.relation, self.percent, self.post)


def edge_labels(
    kind: EdgeKind, relation: Relation | None, percent: float | None, post: str | None
) -> tuple[str, str]:
    """The Chinese labels of an edge read forward and backward (配偶, 股东(45%), 法定代表人...)."""
    if kind is EdgeKind.HOUSEHOLD:
        return _RELATION_LABELS[relation or Relation.MEMBER]
    if kind is EdgeKind.SHAREHOLDER:
        label = f"股东{_percent_text(percent)}"
        return label, label
    if kind is EdgeKind.OWNS:
        verb = "控股" if (percent or 0) > 50 else "参股"
        return f"{verb}{_percent_text(percent)}", f"股东{_percent_text(percent)}"
    fixed = {
        EdgeKind.LEGAL_REP: "法定代表人",
        EdgeKind.OFFICER: post or "主要人员",
        EdgeKind.EMPLOYEE: "参保单位职工",
        EdgeKind.CO_OWNER: "共有不动产",
        EdgeKind.REPORTED: "被反映",
    }[kind]
    return fixed, fixed
