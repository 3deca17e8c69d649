"""One comparison run, streamed: a page of subjects at a time, every query through the door.

``ModelRun.hits()`` pages through the model's subjects with a composite aggregation keyed on the
person (``after_key``), then per page: the subjects' spouses and children through the household
register (two queries), and each condition as one multi-search grouped by person. Only one page
(``SUBJECT_PAGE`` persons, their relatives and at most ``EVIDENCE_PER_CONDITION`` record ids per
person and condition) is held at a time, whatever the size of the registries; hits are yielded
page by page for the caller to store. Every query body carries the run's scope filters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from common.errors import EngineUnavailableError
from common.vocab import Source
from comparison import answers as a
from comparison import queries as q
from comparison.definitions import (
    SUBJECT_SOURCE,
    BenefitPaid,
    CompanyRole,
    CompanyRoleKind,
    ComparisonModel,
    Condition,
    DuplicatePayment,
    InsuredAfterDeath,
    PeriodBound,
    PropertyUnits,
    Relation,
    RelationTable,
)
from registry.fields import ColumnField, Envelope

CODES_PER_QUERY = 5000
"""Credit codes per company lookup: within the engine's 10,000-hit result window."""


class EngineReads(Protocol):
    """What a run needs of the engine door (registry.engine.EngineDoor)."""

    def index_name(self, suffix: str) -> str: ...

    def search(
        self, index: str, body: dict[str, Any], *, ignore_unavailable: bool = False
    ) -> dict[str, Any]: ...

    def msearch(self, lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]: ...


class ComparisonQueryError(EngineUnavailableError):
    """The engine refused one query of a run (its message stays in ``reason``, for the log)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One record that proves a hit: its registry, the engine's id, and whose record it is."""

    source: Source
    record_id: str
    relation: Relation


@dataclass(frozen=True, slots=True)
class Hit:
    """A subject the model found, with every record cited."""

    person_id: str
    name: str
    evidence: tuple[Evidence, ...]


@dataclass(slots=True)
class RunStats:
    """What a run did: pages of subjects, subjects seen, engine requests, hits."""

    pages: int = 0
    subjects: int = 0
    requests: int = 0
    hits: int = 0


@dataclass(frozen=True, slots=True)
class _Subject:
    person_id: str
    name: str
    facts: dict[str, date]
    records: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Link:
    """A person whose records count for a subject: the subject, or a spouse or child."""

    subject: str
    relation: Relation
    evidence: tuple[Evidence, ...]


Found = dict[str, list[tuple[Source, str]]]
"""Person -> (registry, record id) of the records that meet one condition for them."""
Reader = Callable[[Mapping[str, Any]], dict[str, list[str]]]
"""An answer's reader (comparison.answers): person -> record ids."""


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass
class ModelRun:
    """A run of ``model`` inside ``filters`` (the application's scope as filter clauses)."""

    engine: EngineReads
    model: ComparisonModel
    relations: RelationTable
    filters: tuple[dict[str, Any], ...]
    page_size: int = q.SUBJECT_PAGE
    stats: RunStats = field(default_factory=RunStats)

    # --- the engine ---------------------------------------------------------------------------

    def _index(self, source: Source) -> str:
        return self.engine.index_name(str(source))

    def _search(self, source: Source, body: dict[str, Any]) -> dict[str, Any]:
        self.stats.requests += 1
        return self.engine.search(self._index(source), body, ignore_unavailable=True)

    def _msearch(self, source: Source, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        if not bodies:
            return []
        header = {"index": self._index(source), "ignore_unavailable": True}
        lines = [line for body in bodies for line in (header, body)]
        self.stats.requests += 1
        answers = self.engine.msearch(lines)
        for answer in answers:
            if "error" in answer:
                error = answer["error"]
                kind = error.get("type", "error") if isinstance(error, dict) else "error"
                raise ComparisonQueryError(
                    f"the engine refused a query of model {self.model.id}",
                    cause=str(kind),
                    engine_status=answer.get("status"),
                    reason=str(error)[:500],
                )
        return answers

    # --- the stream ---------------------------------------------------------------------------

    def hits(self) -> Iterator[Hit]:
        """Every hit of the model, page by page of subjects, in the order of their ID numbers."""
        source = SUBJECT_SOURCE[self.model.subjects.kind]
        after: dict[str, Any] | None = None
        while True:
            body = q.subject_page_query(self.model.subjects, self.filters, after, self.page_size)
            answer = self._search(source, body)
            page = answer.get("aggregations", {}).get(q.Agg.SUBJECTS, {})
            buckets = page.get("buckets", [])
            if not buckets:
                return
            self.stats.pages += 1
            self.stats.subjects += len(buckets)
            for hit in self._page([self._subject(b) for b in buckets]):
                self.stats.hits += 1
                yield hit
            after = page.get("after_key")
            if after is None:
                return

    @staticmethod
    def _subject(bucket: Mapping[str, Any]) -> _Subject:
        records = bucket[q.Agg.RECORDS]["hits"]["hits"]
        own = records[0].get("_source", {}) if records else {}
        facts = {
            name: day
            for name in (ColumnField.DEATH_DATE, ColumnField.APPOINTED_ON)
            if (day := _date(own.get(name))) is not None
        }
        return _Subject(
            q.person_key(bucket["key"][q.Agg.PERSON]),
            str(own.get(ColumnField.NAME, "")),
            facts,
            tuple(str(r["_id"]) for r in records),
        )

    def _page(self, subjects: list[_Subject]) -> Iterator[Hit]:
        links: dict[str, list[tuple[str, _Link]]] = defaultdict(list)  # subject -> (target, link)
        if Relation.SELF in self.model.via:
            for s in subjects:
                links[s.person_id].append((s.person_id, _Link(s.person_id, Relation.SELF, ())))
        if set(self.model.via) - {Relation.SELF}:
            for target, link in self._relatives([s.person_id for s in subjects]):
                links[link.subject].append((target, link))
        targets = sorted({target for pairs in links.values() for target, _ in pairs})
        if not targets:
            return
        by_id = {s.person_id: s for s in subjects}
        met: list[Found] = [self._condition(c, targets, by_id) for c in self.model.conditions]
        source = SUBJECT_SOURCE[self.model.subjects.kind]
        for subject in subjects:
            evidence: dict[tuple[Source, str], Evidence] = {}
            for target, link in links.get(subject.person_id, []):
                if not all(target in found for found in met):
                    continue
                cited = [*link.evidence]
                cited += [Evidence(s, r, link.relation) for f in met for s, r in f[target]]
                for item in cited:
                    evidence.setdefault((item.source, item.record_id), item)
            if evidence:
                own = [Evidence(source, r, Relation.SELF) for r in subject.records]
                if source in self.model.evidence:
                    evidence = {(e.source, e.record_id): e for e in own} | evidence
                shown = tuple(e for e in evidence.values() if e.source in self.model.evidence)
                yield Hit(subject.person_id, subject.name, shown)

    # --- relatives ----------------------------------------------------------------------------

    def _relatives(self, persons: list[str]) -> Iterator[tuple[str, _Link]]:
        """(relative, link to the subject) for every spouse or child the model follows."""
        answer = self._search(Source.HOUSEHOLD, q.household_records_query(persons, self.filters))
        homes: dict[str, tuple[str, str, str]] = {}  # subject -> (户号, 与户主关系, record id)
        for hit in answer["hits"]["hits"]:
            record = hit["_source"]
            number, relation = (
                record.get(ColumnField.HOUSEHOLD_NO),
                record.get(ColumnField.RELATION),
            )
            for person in record.get(Envelope.PERSONS, []):
                if number and relation:
                    homes[q.person_key(person)] = (str(number), str(relation), str(hit["_id"]))
        if not homes:
            return
        numbers = sorted({number for number, _, _ in homes.values()})
        answer = self._search(Source.HOUSEHOLD, q.household_members_query(numbers, self.filters))
        members: dict[str, list[tuple[str, str, str]]] = {}
        for bucket in answer.get("aggregations", {}).get(q.Agg.HOUSEHOLDS, {}).get("buckets", []):
            hits = bucket[q.Agg.MEMBERS]["hits"]["hits"]
            if len(hits) > q.MAX_HOUSEHOLD_MEMBERS:
                continue  # a collective household: its members are not relatives
            members[str(bucket["key"]).lower()] = [
                (
                    q.person_key(person),
                    str(h["_source"].get(ColumnField.RELATION, "")),
                    str(h["_id"]),
                )
                for h in hits
                for person in h["_source"].get(Envelope.PERSONS, [])
            ]
        wanted = [r for r in self.model.via if r is not Relation.SELF]
        for subject, (number, own_relation, own_record) in sorted(homes.items()):
            for member, relation, record in members.get(number.lower(), []):
                if member == subject:
                    continue
                for kind in wanted:
                    if (own_relation, relation) in self.relations.pairs(kind):
                        cited = (
                            Evidence(Source.HOUSEHOLD, own_record, Relation.SELF),
                            Evidence(Source.HOUSEHOLD, record, kind),
                        )
                        yield member, _Link(subject, kind, cited)

    # --- conditions ---------------------------------------------------------------------------

    def _condition(
        self, condition: Condition, targets: list[str], subjects: dict[str, _Subject]
    ) -> Found:
        if isinstance(condition, BenefitPaid):
            return self._benefit_paid(condition, targets, subjects)
        if isinstance(condition, InsuredAfterDeath):
            deaths = {
                p: day for p in targets
                if p in subjects and (day := subjects[p].facts.get(ColumnField.DEATH_DATE))
            }  # fmt: skip
            bodies = q.insured_after_death_queries(condition, deaths, self.filters)
            return self._tagged(
                Source.INSURED, self._msearch(Source.INSURED, bodies), a.records_by_person
            )
        if isinstance(condition, PropertyUnits):
            body = q.property_units_query(condition, targets, self.filters)
            answer = self._search(Source.PROPERTY, body)
            return self._tagged(
                Source.PROPERTY,
                [answer],
                lambda found: a.units_by_person(found, condition.min_units),
            )
        if isinstance(condition, DuplicatePayment):
            answer = self._search(
                Source.BENEFIT, q.duplicate_payment_query(condition, targets, self.filters)
            )
            bodies = q.slot_records_queries(a.duplicate_slots(answer), self.filters)
            return self._tagged(
                Source.BENEFIT, self._msearch(Source.BENEFIT, bodies), a.records_by_person
            )
        return self._company_role(condition, targets)

    @staticmethod
    def _tagged(source: Source, answers: list[dict[str, Any]], read: Reader) -> Found:
        found: Found = defaultdict(list)
        for answer in answers:
            for person, ids in read(answer).items():
                found[person] += [(source, record) for record in ids]
        return dict(found)

    def _benefit_paid(
        self, condition: BenefitPaid, targets: list[str], subjects: dict[str, _Subject]
    ) -> Found:
        dates: dict[str, date] = {}
        if condition.period is not None:
            fact = (
                ColumnField.DEATH_DATE
                if condition.period is PeriodBound.AFTER_DEATH_MONTH
                else ColumnField.APPOINTED_ON
            )
            dates = {
                p: day for p in targets if p in subjects and (day := subjects[p].facts.get(fact))
            }
        bodies = q.benefit_paid_queries(condition, targets, dates, self.filters)
        return self._tagged(
            Source.BENEFIT, self._msearch(Source.BENEFIT, bodies), a.records_by_person
        )

    def _company_role(self, condition: CompanyRole, targets: list[str]) -> Found:
        found: Found = defaultdict(list)
        if CompanyRoleKind.LEGAL_REP in condition.roles:
            answer = self._search(
                Source.COMPANY, q.legal_rep_query(condition, targets, self.filters)
            )
            for person, ids in a.records_by_person(answer).items():
                found[person] += [(Source.COMPANY, record) for record in ids]
        if CompanyRoleKind.SHAREHOLDER in condition.roles:
            answer = self._search(Source.SHAREHOLDER, q.shareholding_query(targets, self.filters))
            holdings: dict[str, list[tuple[str, str]]] = {}  # person -> (record id, credit code)
            for bucket in a.person_buckets(answer):
                holdings[q.person_key(bucket["key"])] = [
                    (str(h["_id"]), str(h["_source"].get(ColumnField.CREDIT_CODE, "")))
                    for h in bucket[q.Agg.RECORDS]["hits"]["hits"]
                ]
            live = (
                self._companies_in_status(condition, holdings)
                if condition.company_statuses
                else None
            )
            for person, held in holdings.items():
                for record, code in held:
                    if live is None:
                        found[person].append((Source.SHAREHOLDER, record))
                    elif code in live:
                        found[person] += [
                            (Source.SHAREHOLDER, record),
                            (Source.COMPANY, live[code]),
                        ]
        return {person: records for person, records in found.items() if records}

    def _companies_in_status(
        self, condition: CompanyRole, holdings: Mapping[str, list[tuple[str, str]]]
    ) -> dict[str, str]:
        """Credit code -> company record id, of the held companies in the condition's statuses."""
        codes = sorted({code for held in holdings.values() for _, code in held if code})
        chunks = [codes[i : i + CODES_PER_QUERY] for i in range(0, len(codes), CODES_PER_QUERY)]
        bodies = [q.companies_in_status_query(condition, chunk, self.filters) for chunk in chunks]
        live: dict[str, str] = {}
        for answer in self._msearch(Source.COMPANY, bodies):
            for hit in answer["hits"]["hits"]:
                live[str(hit["_source"][ColumnField.CREDIT_CODE]).upper()] = str(hit["_id"])
        return live
