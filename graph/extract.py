"""Edges from source documents (as the indexer stored them): pure functions, one per source.

Every edge names the records that prove it (their document ids), their dates and the region
prefixes that all of those records share, so that an application's regions bound the edge exactly
as they bound the records. A party named without a valid number becomes a ``PendingEdge``: its
end is a mention, resolved later (graph.resolve). Complainant fields are not in the documents at
all (the indexer seals them), so no edge can reach a complainant.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from analyzers.ids import compact, normalise_credit_code, normalise_person_id, to_halfwidth
from common.vocab import Source
from graph.household import Member, household_pairs
from graph.model import Edge, EdgeKind, NodeKind, node_id
from graph.resolve import Mention

Doc = Mapping[str, Any]
Normalise = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class PendingEdge:
    """An edge whose ``side`` end is ``mention``, waiting for resolution."""

    edge: Edge
    mention: Mention
    side: Literal["src", "dst"]


Extracted = Edge | PendingEdge


def person_node(value: object) -> str | None:
    """p:<id> when ``value`` is a valid 公民身份号码."""
    if not isinstance(value, str) or not value:
        return None
    result = normalise_person_id(value)
    return node_id(NodeKind.PERSON, result.value) if result.value else None


def company_node(value: object) -> str | None:
    """c:<code> when ``value`` is a valid 统一社会信用代码."""
    if not isinstance(value, str) or not value:
        return None
    result = normalise_credit_code(value)
    return node_id(NodeKind.COMPANY, result.value) if result.value else None


def mention_key(doc_id: str, slot: str) -> str:
    """Stable across runs: document ids are deterministic and the slot names the position."""
    return hashlib.blake2b(f"{doc_id}|{slot}".encode(), digest_size=8).hexdigest()


def damaged_id_body(raw: object) -> str | None:
    """The first 17 digits of an 18-character number whose check character is wrong."""
    if not isinstance(raw, str):
        return None
    text = compact(to_halfwidth(raw)).upper()
    return text[:17] if len(text) == 18 and text[:17].isdigit() else None


def _prefixes(doc: Doc) -> tuple[str, ...]:
    return tuple(doc.get("region_prefixes") or ())


def shared_prefixes(docs: Iterable[Doc]) -> tuple[str, ...]:
    """The region prefixes every document has: the edge is in a scope only if all records are."""
    sets = [set(_prefixes(d)) for d in docs]
    return tuple(sorted(set.intersection(*sets))) if sets else ()


def _text(doc: Doc, name: str) -> str | None:
    value = doc.get(name)
    return str(value) if value not in (None, "") else None


def _mention(
    doc_id: str, slot: str, name: str, normalise: Normalise, role: str, **fields: str | None
) -> Mention:
    return Mention(mention_key(doc_id, slot), normalise(name), name, role, **fields)


def _company_party(
    doc_id: str,
    doc: Doc,
    kind: EdgeKind,
    party_id: object,
    party_name: str | None,
    slot: str,
    normalise: Normalise,
    **attrs: Any,
) -> Iterator[Extracted]:
    """Person (or company) -> the record's company; a mention when the number is not valid."""
    company = company_node(doc.get("credit_code"))
    if company is None:
        return
    base = Edge(
        kind,
        "",
        company,
        Source(doc["source"]),
        (doc_id,),
        dst_name=_text(doc, "company_name"),
        start_date=_text(doc, "record_date"),
        region_prefixes=_prefixes(doc),
        **attrs,
    )
    if (person := person_node(party_id)) is not None:
        yield replace(base, src=person, src_name=party_name)
        return
    if kind is EdgeKind.SHAREHOLDER and (holder := company_node(party_id)) is not None:
        yield replace(base, kind=EdgeKind.OWNS, src=holder, src_name=party_name)
        return
    if not party_name:
        return
    code = company[2:]
    mention = _mention(
        doc_id,
        slot,
        party_name,
        normalise,
        str(kind),
        company=code,
        region=code[2:8],
        id_body=damaged_id_body(party_id),
    )
    edge = replace(base, src=node_id(NodeKind.MENTION, mention.key), src_name=party_name)
    yield PendingEdge(edge, mention, "src")


def company_edges(doc_id: str, doc: Doc, normalise: Normalise) -> list[Extracted]:
    """法定代表人 -> company."""
    return list(
        _company_party(
            doc_id,
            doc,
            EdgeKind.LEGAL_REP,
            doc.get("legal_rep_id"),
            _text(doc, "legal_rep"),
            "legal_rep",
            normalise,
        )
    )


def shareholder_edges(doc_id: str, doc: Doc, normalise: Normalise) -> list[Extracted]:
    """股东 -> company (a person), or holder company -> company (OWNS), with the percentage."""
    percent = doc.get("share_percent")
    attrs = {"holder_type": _text(doc, "holder_type"), "subscribed": doc.get("subscribed_capital")}
    return list(
        _company_party(
            doc_id,
            doc,
            EdgeKind.SHAREHOLDER,
            doc.get("holder_id"),
            _text(doc, "holder_name"),
            "holder",
            normalise,
            percent=float(percent) if isinstance(percent, int | float) else None,
            attributes={k: v for k, v in attrs.items() if v is not None},
        )
    )


def officer_edges(doc_id: str, doc: Doc, normalise: Normalise) -> list[Extracted]:
    """主要人员 -> company, with the post."""
    return list(
        _company_party(
            doc_id,
            doc,
            EdgeKind.OFFICER,
            doc.get("id_number"),
            _text(doc, "name"),
            "officer",
            normalise,
            post=_text(doc, "post"),
        )
    )


def insured_edges(rows: Sequence[tuple[str, Doc]]) -> list[Edge]:
    """One employment edge per person and employer, over all the person's insurance rows."""
    by_pair: dict[tuple[str, str], list[tuple[str, Doc]]] = {}
    for doc_id, doc in rows:
        person, employer = person_node(doc.get("id_number")), company_node(doc.get("employer_code"))
        if person and employer and person != employer:
            by_pair.setdefault((person, employer), []).append((doc_id, doc))
    edges = []
    for (person, employer), docs in sorted(by_pair.items()):
        starts = sorted(d["insured_on"] for _, d in docs if d.get("insured_on"))
        ends = [d.get("stopped_on") for _, d in docs]
        current = any(d.get("status") == "参保缴费" for _, d in docs) or None in ends
        edges.append(
            Edge(
                EdgeKind.EMPLOYEE,
                person,
                employer,
                Source.INSURED,
                tuple(i for i, _ in docs),
                src_name=_text(docs[0][1], "name"),
                dst_name=_text(docs[0][1], "employer_name"),
                start_date=starts[0] if starts else None,
                end_date=None if current else max((e for e in ends if e), default=None),
                region_prefixes=shared_prefixes(d for _, d in docs),
                attributes={
                    "insurance_types": sorted({str(d.get("insurance_type")) for _, d in docs})
                },
            )
        )
    return edges


def property_edges(rows: Sequence[tuple[str, Doc]]) -> list[Edge]:
    """Co-owners of one 不动产单元 (rows with one unit_no), pairwise; owners by valid number."""
    owners: dict[str, tuple[str, Doc]] = {}
    for doc_id, doc in rows:
        if doc.get("registration_type") == "注销登记":
            continue  # a cancelled right links nobody any more
        owner = person_node(doc.get("owner_id")) or company_node(doc.get("owner_id"))
        if owner:
            owners.setdefault(owner, (doc_id, doc))
    edges = []
    for (a, (id_a, doc_a)), (b, (id_b, doc_b)) in itertools.combinations(sorted(owners.items()), 2):
        edges.append(
            Edge(
                EdgeKind.CO_OWNER,
                a,
                b,
                Source.PROPERTY,
                (id_a, id_b),
                src_name=_text(doc_a, "owner_name"),
                dst_name=_text(doc_b, "owner_name"),
                start_date=_text(doc_a, "registered_on"),
                region_prefixes=shared_prefixes((doc_a, doc_b)),
                attributes={
                    "unit_no": doc_a.get("unit_no"),
                    "co_ownership": doc_a.get("co_ownership"),
                    "location": doc_a.get("location"),
                    "shares": [doc_a.get("share"), doc_b.get("share")],
                },
            )
        )
    return edges


def household_edges(rows: Sequence[tuple[str, Doc]]) -> list[Edge]:
    """Relations among the members of one household (rows with the same household_no)."""
    by_person: dict[str, tuple[str, Doc]] = {}
    for doc_id, doc in rows:
        if (person := person_node(doc.get("id_number"))) is not None:
            by_person[person] = (doc_id, doc)
    members = [Member(p, _text(d, "relation")) for p, (_, d) in sorted(by_person.items())]
    edges = []
    for pair in household_pairs(members):
        (id_a, doc_a), (id_b, doc_b) = by_person[pair.src.person_id], by_person[pair.dst.person_id]
        edges.append(
            Edge(
                EdgeKind.HOUSEHOLD,
                pair.src.person_id,
                pair.dst.person_id,
                Source.HOUSEHOLD,
                (id_a, id_b),
                src_name=_text(doc_a, "name"),
                dst_name=_text(doc_b, "name"),
                relation=pair.relation,
                start_date=max(
                    filter(None, (_text(doc_a, "registered_on"), _text(doc_b, "registered_on"))),
                    default=None,
                ),
                region_prefixes=shared_prefixes((doc_a, doc_b)),
                attributes={
                    "household_no": doc_a.get("household_no"),
                    "relations_to_head": [doc_a.get("relation"), doc_b.get("relation")],
                },
            )
        )
    return edges


def petition_edges(doc_id: str, doc: Doc, normalise: Normalise) -> list[Extracted]:
    """Petition -> each reported person (被反映人); the complainant is never in the document."""
    petition_no = _text(doc, "petition_no")
    if petition_no is None:
        return []
    petition = node_id(NodeKind.PETITION, petition_no)
    base = Edge(
        EdgeKind.REPORTED,
        petition,
        "",
        Source.PETITION,
        (doc_id,),
        src_name=petition_no,
        start_date=_text(doc, "registered_on"),
        region_prefixes=_prefixes(doc),
        attributes={"category": doc.get("category"), "status": doc.get("status")},
    )
    out: list[Extracted] = []
    for position, item in enumerate(doc.get("reported") or ()):
        name = item.get("name")
        attrs = {
            **base.attributes,
            "unit": item.get("unit"),
            "post": item.get("post"),
            "rank": item.get("rank"),
        }
        if (person := person_node(item.get("id_number"))) is not None:
            out.append(replace(base, dst=person, dst_name=name, attributes=attrs))
        elif name:
            mention = _mention(
                doc_id,
                f"reported#{position}",
                str(name),
                normalise,
                "reported",
                unit=normalise(str(item.get("unit") or "")) or None,
                post=normalise(str(item.get("post") or "")) or None,
                region=_text(doc, "region_code"),
                id_body=damaged_id_body(item.get("id_number")),
            )
            edge = replace(
                base,
                dst=node_id(NodeKind.MENTION, mention.key),
                dst_name=str(name),
                attributes=attrs,
            )
            out.append(PendingEdge(edge, mention, "dst"))
    return out
