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

log = structlog.get_logger(__name__)

_ENVELOPE = ["source", "region_prefixes", "record_date"]
# Only what extraction reads: prose, vectors and search fields stay on the engine.
_FIELDS: dict[Source, list[str]] = {
    Source.COMPANY: [*_ENVELOPE, "credit_code", "company_name", "legal_rep", "legal_rep_id"],
    Source.SHAREHOLDER: [
        *_ENVELOPE,
        "credit_code",
        "company_name",
        "holder_name",
        "holder_type",
        "holder_id",
        "share_percent",
        "subscribed_capital",
    ],
    Source.COMPANY_OFFICER: [
        *_ENVELOPE,
        "credit_code",
        "company_name",
        "name",
        "id_number",
        "post",
    ],
    Source.PETITION: [
        *_ENVELOPE,
        "petition_no",
        "registered_on",
        "region_code",
        "category",
        "status",
        "reported",
    ],
    Source.INSURED: [
        *_ENVELOPE,
        "id_number",
        "name",
        "employer_code",
        "employer_name",
        "insurance_type",
        "insured_on",
        "stopped_on",
        "status",
    ],
    Source.PROPERTY: [
        *_ENVELOPE,
        "unit_no",
        "owner_name",
        "owner_id",
        "co_ownership",
        "share",
        "location",
        "registered_on",
        "registration_type",
    ],
}
_OFFICIAL_FIELDS = ["id_number", "name", "unit", "post", "region_code"]
_HOUSEHOLD_FIELDS = [
    "id_number",
    "name",
    "household_no",
    "relation",
    "registered_on",
    "region_prefixes",
    "region_code",
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
        node = person_node(doc.get("id_number"))
        if node is None or not doc.get("name"):
            return
        name = self.normalise(str(doc["name"]))
        self.roster.setdefault(name, []).append(
            Candidate(
                node,
                name,
                units=(self.normalise(str(doc.get("unit") or "")),),
                posts=(self.normalise(str(doc.get("post") or "")),),
                regions=(str(doc.get("region_code") or ""),),
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
            "_source": ["id_number", "name", "region_code"],
            "query": {"terms": {"names_nodot": batch}},
        }
        for hit in door.search(alias, body)["hits"]["hits"]:
            doc = hit["_source"]
            node = person_node(doc.get("id_number"))
            if node and doc.get("name"):
                name = normalise(str(doc["name"]))
                region = (str(doc.get("region_code") or ""),)
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
        insured = read_source(door, alias(Source.INSURED), "id_number", _FIELDS[Source.INSURED])
        for rows in _grouped(insured, "id_number"):
            yield from direct(insured_edges(rows))
        owners = read_source(door, alias(Source.PROPERTY), "unit_no", _FIELDS[Source.PROPERTY])
        for rows in _grouped(owners, "unit_no"):
            yield from direct(property_edges(rows))
        household = read_source(door, alias(Source.HOUSEHOLD), "household_no", _HOUSEHOLD_FIELDS)
        for rows in _grouped(household, "household_no"):
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
