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
from registry.fields import ColumnField, Envelope

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
    return tuple(doc.get(Envelope.REGION_PREFIXES) or ())


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
    company = company_node(doc.get(ColumnField.CREDIT_CODE))
    if company is None:
        return
    base = Edge(
        kind,
        "",
        company,
        Source(doc[Envelope.SOURCE]),
        (doc_id,),
        dst_name=_text(doc, ColumnField.COMPANY_NAME),
        start_date=_text(doc, Envelope.RECORD_DATE),
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
            doc.get(ColumnField.LEGAL_REP_ID),
            _text(doc, ColumnField.LEGAL_REP),
            "legal_rep",
            normalise,
        )
    )


def shareholder_edges(doc_id: str, doc: Doc, normalise: Normalise) -> list[Extracted]:
    """股东 -> company (a person), or holder company -> company (OWNS), with the percentage."""
    percent = doc.get(ColumnField.SHARE_PERCENT)
    attrs = {
        ColumnField.HOLDER_TYPE: _text(doc, ColumnField.HOLDER_TYPE),
        "subscribed": doc.get(ColumnField.SUBSCRIBED_CAPITAL),
    }
    return list(
        _company_party(
            doc_id,
            doc,
            EdgeKind.SHAREHOLDER,
            doc.get(ColumnField.HOLDER_ID),
            _text(doc, ColumnField.HOLDER_NAME),
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
            doc.get(ColumnField.ID_NUMBER),
            _text(doc, ColumnField.NAME),
            "officer",
            normalise,
            post=_text(doc, ColumnField.POST),
        )
    )


def insured_edges(rows: Sequence[tuple[str, Doc]]) -> list[Edge]:
    """One employment edge per person and employer, over all the person's insurance rows."""
    by_pair: dict[tuple[str, str], list[tuple[str, Doc]]] = {}
    for doc_id, doc in rows:
        person, employer = (
            person_node(doc.get(ColumnField.ID_NUMBER)),
            company_node(doc.get(ColumnField.EMPLOYER_CODE)),
        )
        if person and employer and person != employer:
            by_pair.setdefault((person, employer), []).append((doc_id, doc))
    edges = []
    for (person, employer), docs in sorted(by_pair.items()):
        starts = sorted(d[ColumnField.INSURED_ON] for _, d in docs if d.get(ColumnField.INSURED_ON))
        ends = [d.get(ColumnField.STOPPED_ON) for _, d in docs]
        current = any(d.get(ColumnField.STATUS) == "参保缴费" for _, d in docs) or None in ends
        edges.append(
            Edge(
                EdgeKind.EMPLOYEE,
                person,
                employer,
                Source.INSURED,
                tuple(i for i, _ in docs),
                src_name=_text(docs[0][1], ColumnField.NAME),
                dst_name=_text(docs[0][1], ColumnField.EMPLOYER_NAME),
                start_date=starts[0] if starts else None,
                end_date=None if current else max((e for e in ends if e), default=None),
                region_prefixes=shared_prefixes(d for _, d in docs),
                attributes={
                    "insurance_types": sorted(
                        {str(d.get(ColumnField.INSURANCE_TYPE)) for _, d in docs}
                    )
                },
            )
        )
    return edges


def property_edges(rows: Sequence[tuple[str, Doc]]) -> list[Edge]:
    """Co-owners of one 不动产单元 (rows with one unit_no), pairwise; owners by valid number."""
    owners: dict[str, tuple[str, Doc]] = {}
    for doc_id, doc in rows:
        if doc.get(ColumnField.REGISTRATION_TYPE) == "注销登记":
            continue  # a cancelled right links nobody any more
        owner = person_node(doc.get(ColumnField.OWNER_ID)) or company_node(
            doc.get(ColumnField.OWNER_ID)
        )
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
                src_name=_text(doc_a, ColumnField.OWNER_NAME),
                dst_name=_text(doc_b, ColumnField.OWNER_NAME),
                start_date=_text(doc_a, ColumnField.REGISTERED_ON),
                region_prefixes=shared_prefixes((doc_a, doc_b)),
                attributes={
                    ColumnField.UNIT_NO: doc_a.get(ColumnField.UNIT_NO),
                    ColumnField.CO_OWNERSHIP: doc_a.get(ColumnField.CO_OWNERSHIP),
                    ColumnField.LOCATION: doc_a.get(ColumnField.LOCATION),
                    "shares": [doc_a.get(ColumnField.SHARE), doc_b.get(ColumnField.SHARE)],
                },
            )
        )
    return edges


def household_edges(rows: Sequence[tuple[str, Doc]]) -> list[Edge]:
    """Relations among the members of one household (rows with the same household_no)."""
    by_person: dict[str, tuple[str, Doc]] = {}
    for doc_id, doc in rows:
        if (person := person_node(doc.get(ColumnField.ID_NUMBER))) is not None:
            by_person[person] = (doc_id, doc)
    members = [Member(p, _text(d, ColumnField.RELATION)) for p, (_, d) in sorted(by_person.items())]
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
                src_name=_text(doc_a, ColumnField.NAME),
                dst_name=_text(doc_b, ColumnField.NAME),
                relation=pair.relation,
                start_date=max(
                    filter(
                        None,
                        (
                            _text(doc_a, ColumnField.REGISTERED_ON),
                            _text(doc_b, ColumnField.REGISTERED_ON),
                        ),
                    ),
                    default=None,
                ),
                region_prefixes=shared_prefixes((doc_a, doc_b)),
                attributes={
                    ColumnField.HOUSEHOLD_NO: doc_a.get(ColumnField.HOUSEHOLD_NO),
                    "relations_to_head": [
                        doc_a.get(ColumnField.RELATION),
                        doc_b.get(ColumnField.RELATION),
                    ],
                },
            )
        )
    return edges


def petition_edges(doc_id: str, doc: Doc, normalise: Normalise) -> list[Extracted]:
    """Petition -> each reported person (被反映人); the complainant is never in the document."""
    petition_no = _text(doc, ColumnField.PETITION_NO)
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
        start_date=_text(doc, ColumnField.REGISTERED_ON),
        region_prefixes=_prefixes(doc),
        attributes={
            ColumnField.CATEGORY: doc.get(ColumnField.CATEGORY),
            ColumnField.STATUS: doc.get(ColumnField.STATUS),
        },
    )
    out: list[Extracted] = []
    for position, item in enumerate(doc.get(ColumnField.REPORTED) or ()):
        name = item.get(ColumnField.NAME)
        attrs = {
            **base.attributes,
            ColumnField.UNIT: item.get(ColumnField.UNIT),
            ColumnField.POST: item.get(ColumnField.POST),
            ColumnField.RANK: item.get(ColumnField.RANK),
        }
        if (person := person_node(item.get(ColumnField.ID_NUMBER))) is not None:
            out.append(replace(base, dst=person, dst_name=name, attributes=attrs))
        elif name:
            mention = _mention(
                doc_id,
                f"reported#{position}",
                str(name),
                normalise,
                str(EdgeKind.REPORTED),
                unit=normalise(str(item.get(ColumnField.UNIT) or "")) or None,
                post=normalise(str(item.get(ColumnField.POST) or "")) or None,
                region=_text(doc, ColumnField.REGION_CODE),
                id_body=damaged_id_body(item.get(ColumnField.ID_NUMBER)),
            )
            edge = replace(
                base,
                dst=node_id(NodeKind.MENTION, mention.key),
                dst_name=str(name),
                attributes=attrs,
            )
            out.append(PendingEdge(edge, mention, "dst"))
    return out
