"""The graph pass after an ingest: read the source indices, extract and resolve, write the edges.

Sources are streamed with search_after (households and property units sorted so that their rows
arrive together); only the roster (officials, a small table) and the company name context are held
in memory for resolution. Edges go into a new index that replaces the old one in one alias swap.
Call ``run_graph_build(settings)`` after ``xiansuo ingest`` (or ``xiansuo graph build``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from sqlalchemy import Engine

from analyzers.values import name_without_dot
from common.settings import Settings
from common.vocab import Source
from graph.decisions import current_decisions
from graph.extract import (
    Doc,
    Extracted,
    Normalise,
    PendingEdge,
    company_edges,
    household_edges,
    insured_edges,
    officer_edges,
    person_node,
    petition_edges,
    property_edges,
    shareholder_edges,
)
from graph.model import Edge
from graph.resolve import Candidate, Decision, Mention, resolve
from graph.store import EdgeWriter, read_source
from registry.engine import EngineDoor
from registry.fields import ColumnField, Envelope

log = structlog.get_logger(__name__)

_ENVELOPE = [Envelope.SOURCE, Envelope.REGION_PREFIXES, Envelope.RECORD_DATE]
# Only what extraction reads: prose, vectors and search fields stay on the engine.
_FIELDS: dict[Source, list[str]] = {
    Source.COMPANY: [
        *_ENVELOPE,
        ColumnField.CREDIT_CODE,
        ColumnField.COMPANY_NAME,
        ColumnField.LEGAL_REP,
        ColumnField.LEGAL_REP_ID,
    ],
    Source.SHAREHOLDER: [
        *_ENVELOPE,
        ColumnField.CREDIT_CODE,
        ColumnField.COMPANY_NAME,
        ColumnField.HOLDER_NAME,
        ColumnField.HOLDER_TYPE,
        ColumnField.HOLDER_ID,
        ColumnField.SHARE_PERCENT,
        ColumnField.SUBSCRIBED_CAPITAL,
    ],
    Source.COMPANY_OFFICER: [
        *_ENVELOPE,
        ColumnField.CREDIT_CODE,
        ColumnField.COMPANY_NAME,
        ColumnField.NAME,
        ColumnField.ID_NUMBER,
        ColumnField.POST,
    ],
    Source.PETITION: [
        *_ENVELOPE,
        ColumnField.PETITION_NO,
        ColumnField.REGISTERED_ON,
        ColumnField.REGION_CODE,
        ColumnField.CATEGORY,
        ColumnField.STATUS,
        ColumnField.REPORTED,
    ],
    Source.INSURED: [
        *_ENVELOPE,
        ColumnField.ID_NUMBER,
        ColumnField.NAME,
        ColumnField.EMPLOYER_CODE,
        ColumnField.EMPLOYER_NAME,
        ColumnField.INSURANCE_TYPE,
        ColumnField.INSURED_ON,
        ColumnField.STOPPED_ON,
        ColumnField.STATUS,
    ],
    Source.PROPERTY: [
        *_ENVELOPE,
        ColumnField.UNIT_NO,
        ColumnField.OWNER_NAME,
        ColumnField.OWNER_ID,
        ColumnField.CO_OWNERSHIP,
        ColumnField.SHARE,
        ColumnField.LOCATION,
        ColumnField.REGISTERED_ON,
        ColumnField.REGISTRATION_TYPE,
    ],
}
_OFFICIAL_FIELDS = [
    ColumnField.ID_NUMBER,
    ColumnField.NAME,
    ColumnField.UNIT,
    ColumnField.POST,
    ColumnField.REGION_CODE,
]
_HOUSEHOLD_FIELDS = [
    ColumnField.ID_NUMBER,
    ColumnField.NAME,
    ColumnField.HOUSEHOLD_NO,
    ColumnField.RELATION,
    ColumnField.REGISTERED_ON,
    Envelope.REGION_PREFIXES,
    ColumnField.REGION_CODE,
]
# Persons fetched per name when a damaged ID number or a birth date asks for the household register.
_NAME_LOOKUP_BATCH = 200


@dataclass
class BuildReport:
    index: str
    edges: int = 0
    failed: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    mentions: Counter[str] = field(default_factory=Counter)  # by resolution status
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "edges": self.edges,
            "failed": self.failed,
            "by_kind": {str(k): v for k, v in sorted(self.by_kind.items())},
            "mentions": {str(k): v for k, v in sorted(self.mentions.items())},
            "elapsed_s": round(self.elapsed_s, 2),
        }


def name_normaliser(simplify: Callable[[str], str]) -> Normalise:
    """Names and units compared for resolution: NFKC, simplified, lower-case, no dots or spaces."""

    def normalise(text: str) -> str:
        return "".join(name_without_dot(simplify(text)).split())

    return normalise


class _Context:
    """What resolution needs: the roster by name, and who is tied to which company by name."""

    def __init__(self, normalise: Normalise) -> None:
        self.normalise = normalise
        self.roster: dict[str, list[Candidate]] = {}
        self.company_people: dict[tuple[str, str], set[str]] = {}

    def add_official(self, doc: Doc) -> None:
        node = person_node(doc.get(ColumnField.ID_NUMBER))
        if node is None or not doc.get(ColumnField.NAME):
            return
        name = self.normalise(str(doc[ColumnField.NAME]))
        self.roster.setdefault(name, []).append(
            Candidate(
                node,
                name,
                units=(self.normalise(str(doc.get(ColumnField.UNIT) or "")),),
                posts=(self.normalise(str(doc.get(ColumnField.POST) or "")),),
                regions=(str(doc.get(ColumnField.REGION_CODE) or ""),),
            )
        )

    def add_company_person(self, edge: Edge) -> None:
        if edge.src.startswith("p:") and edge.src_name:
            key = (edge.dst[2:], self.normalise(edge.src_name))
            self.company_people.setdefault(key, set()).add(edge.src)

    def candidates(
        self, mention: Mention, by_name: Mapping[str, list[Candidate]]
    ) -> list[Candidate]:
        found = list(self.roster.get(mention.name, ()))
        if mention.company:
            for node in sorted(self.company_people.get((mention.company, mention.name), ())):
                found.append(Candidate(node, mention.name, companies=frozenset({mention.company})))
        found += by_name.get(mention.name, [])
        return found


def _register_lookup(
    door: EngineDoor, alias: str, names: list[str], normalise: Normalise
) -> dict[str, list[Candidate]]:
    """Persons of the household register with these (normalised) names."""
    out: dict[str, list[Candidate]] = {}
    if not names or not door.exists(alias):
        return out
    for start in range(0, len(names), _NAME_LOOKUP_BATCH):
        batch = names[start : start + _NAME_LOOKUP_BATCH]
        body = {
            "size": 5000,
            "_source": [ColumnField.ID_NUMBER, ColumnField.NAME, ColumnField.REGION_CODE],
            "query": {"terms": {Envelope.NAMES_NODOT: batch}},
        }
        for hit in door.search(alias, body)["hits"]["hits"]:
            doc = hit["_source"]
            node = person_node(doc.get(ColumnField.ID_NUMBER))
            if node and doc.get(ColumnField.NAME):
                name = normalise(str(doc[ColumnField.NAME]))
                region = (str(doc.get(ColumnField.REGION_CODE) or ""),)
                out.setdefault(name, []).append(Candidate(node, name, regions=region))
    return out


def _grouped(
    rows: Iterable[tuple[str, dict[str, Any]]], field_name: str
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Consecutive rows with the same ``field_name`` value (rows come sorted by it)."""
    group: list[tuple[str, dict[str, Any]]] = []
    current: object = None
    for doc_id, doc in rows:
        value = doc.get(field_name)
        if group and value != current:
            yield group
            group = []
        current = value
        if value is not None:
            group.append((doc_id, doc))
    if group:
        yield group


def build_graph(
    door: EngineDoor,
    normalise: Normalise,
    decisions: Mapping[str, Mapping[str, Decision]] | None = None,
) -> BuildReport:
    """Rebuild the edges index from the source indices; returns what was written."""
    started = time.perf_counter()
    decisions = decisions or {}
    writer = EdgeWriter(door)
    writer.create()
    report = BuildReport(writer.index)
    context = _Context(normalise)
    pending: list[PendingEdge] = []

    def alias(source: Source) -> str:
        return door.index_name(str(source))

    def direct(extracted: Iterable[Extracted]) -> Iterator[Edge]:
        for item in extracted:
            if isinstance(item, PendingEdge):
                pending.append(item)
                continue
            if item.src.startswith("p:") and item.dst.startswith("c:"):
                context.add_company_person(item)
            report.by_kind[item.kind] += 1
            yield item

    def edges() -> Iterator[Edge]:
        for _, doc in read_source(door, alias(Source.OFFICIAL), fields=_OFFICIAL_FIELDS):
            context.add_official(doc)
        per_doc = (
            (Source.COMPANY, company_edges),
            (Source.SHAREHOLDER, shareholder_edges),
            (Source.COMPANY_OFFICER, officer_edges),
            (Source.PETITION, petition_edges),
        )
        for source, extract in per_doc:
            for doc_id, doc in read_source(door, alias(source), fields=_FIELDS[source]):
                yield from direct(extract(doc_id, doc, normalise))
        insured = read_source(
            door, alias(Source.INSURED), ColumnField.ID_NUMBER, _FIELDS[Source.INSURED]
        )
        for rows in _grouped(insured, ColumnField.ID_NUMBER):
            yield from direct(insured_edges(rows))
        owners = read_source(
            door, alias(Source.PROPERTY), ColumnField.UNIT_NO, _FIELDS[Source.PROPERTY]
        )
        for rows in _grouped(owners, ColumnField.UNIT_NO):
            yield from direct(property_edges(rows))
        household = read_source(
            door, alias(Source.HOUSEHOLD), ColumnField.HOUSEHOLD_NO, _HOUSEHOLD_FIELDS
        )
        for rows in _grouped(household, ColumnField.HOUSEHOLD_NO):
            yield from direct(household_edges(rows))
        yield from _resolved(pending, context, decisions, report, door, alias(Source.HOUSEHOLD))

    try:
        writer.write(edges())
        writer.publish()
    except BaseException:
        writer.discard()
        raise
    report.edges, report.failed = writer.written, writer.failed
    report.elapsed_s = time.perf_counter() - started
    log.info("graph.built", **report.to_json())
    return report


def _resolved(
    pending: list[PendingEdge],
    context: _Context,
    decisions: Mapping[str, Mapping[str, Decision]],
    report: BuildReport,
    door: EngineDoor,
    household_alias: str,
) -> Iterator[Edge]:
    """Each pending edge with its mention resolved to a person, or kept as a mention node."""
    needs_register = sorted(
        {p.mention.name for p in pending if p.mention.id_body or p.mention.birth_date}
    )
    by_name = _register_lookup(door, household_alias, needs_register, context.normalise)
    for item in pending:
        mention = item.mention
        outcome = resolve(mention, context.candidates(mention, by_name), decisions.get(mention.key))
        report.mentions[outcome.resolution.status] += 1
        edge = replace(item.edge, resolution=outcome.resolution)
        if outcome.target is not None and item.side == "src":
            edge = replace(edge, src=outcome.target)
        elif outcome.target is not None:
            edge = replace(edge, dst=outcome.target)
        if edge.src == edge.dst:
            continue
        report.by_kind[edge.kind] += 1
        yield edge


def run_graph_build(settings: Settings, store: Engine) -> BuildReport:
    """The graph pass with the settings' engine and analyzer cache; decisions come from ``store``
    (the SQL store of users and the log, at the code's schema: the caller prepares it)."""
    from analyzers.chinese import build_text_analyzer

    analyzer = build_text_analyzer((), settings.analysis_dir / "jieba")
    with EngineDoor.for_ingest(settings) as door:
        return build_graph(door, name_normaliser(analyzer.normalise), current_decisions(store))
