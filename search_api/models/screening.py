"""A list screening's answer (名单筛查), and the pure rules that make it.

Rows are matched as the graph's entity resolution matches a mention (graph.resolve: the same
weights, threshold and margin), never on a name alone:

- name + ID number: the person key, exact (the number normalised as analyzers.ids does: a
  15-digit number gains its century and check character).
- name + unit, name + birth date + region: candidates are the persons of the officials roster
  and the household register with the same normalised name, in the application's scope; a row
  is matched when one candidate reaches the threshold and no other comes within the margin.
  A row whose identifiers cannot reach the threshold whatever the candidates (a name alone,
  0.2; name + birth date without a region, 0.6 < 0.7) is answered 不足以比对 before any search.

Each match shows the person's handle, the ID number masked unless the application unmasks, the
name, what the match rests on, and the sources with records of the person in scope (count and
the server's pseudonyms of the newest records: the evidence, as a profile shows it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from graph.extract import person_node
from graph.resolve import (
    THRESHOLD,
    W_BIRTH_DATE,
    W_NAME,
    W_REGION,
    W_UNIT_EXACT,
    Candidate,
    Mention,
    ResolutionStatus,
    resolve,
)
from registry.fields import ColumnField
from search_api.handles import Handles
from search_api.masking import mask_id, mask_text
from search_api.queries.screening import PERSONS_AGG, RECORDS_AGG, SOURCES_AGG
from search_api.screening_list import ListRow, RowKind

ID_BASIS = "身份证号一致"
AMBIGUOUS_REASON = "多名人员同样相符，无法确定是谁"
NO_CANDIDATE_REASON = "范围内没有相符的人员"
NOT_IN_SCOPE_REASON = "范围内没有此人的记录"
TOO_MANY_REASON = "同名人员过多，无法在此比对"
NO_CANDIDATE_SOURCES_REASON = "申请的数据来源不含公职人员名册或户籍登记，无法按姓名比对"
INSUFFICIENT_REASON = (
    "仅凭所给信息不足以确定人员（姓名须与身份证号、工作单位或出生日期及行政区划代码一同提供）"
)


class ScreeningStatus(StrEnum):
    """A row's answer."""

    MATCHED = "匹配"
    UNMATCHED = "未匹配"
    INSUFFICIENT = "不足以比对"
    UNREADABLE = "无法读取"


def reaches_threshold(row: ListRow) -> bool:
    """Whether the row's identifiers could resolve a mention under the graph's weights: an ID
    number always; otherwise name + unit (0.75), or name + birth date + region (0.75)."""
    if row.id_number:
        return True
    score = W_NAME
    score += W_UNIT_EXACT if row.unit else 0.0
    if row.birth_date and row.region:
        score += W_BIRTH_DATE + W_REGION
    return score >= THRESHOLD


def mention_of(row: ListRow, normalise: Callable[[str], str]) -> Mention:
    """The row as the graph's resolution sees a mention (names and units normalised)."""
    return Mention(
        key=f"row:{row.row}",
        name=normalise(row.name),
        display_name=row.name,
        role="screened",
        unit=normalise(row.unit) if row.unit else None,
        region=row.region,
        birth_date=row.birth_date.strftime("%Y%m%d") if row.birth_date else None,
    )


def read_candidates(
    hits: Iterable[Mapping[str, Any]], normalise: Callable[[str], str]
) -> dict[str, list[Candidate]]:
    """Candidates by normalised name from roster and register records: one per person, with
    every unit, post and region its records give."""
    merged: dict[str, dict[str, Any]] = {}
    for hit in hits:
        doc = hit.get("_source", {})
        node = person_node(doc.get(ColumnField.ID_NUMBER))
        if node is None or not doc.get(ColumnField.NAME):
            continue
        entry = merged.setdefault(node, {"name": normalise(str(doc[ColumnField.NAME])),
                                         "units": [], "posts": [], "regions": []})  # fmt: skip
        for key, column in (("units", ColumnField.UNIT), ("posts", ColumnField.POST),
                            ("regions", ColumnField.REGION_CODE)):  # fmt: skip
            value = doc.get(column)
            if value:
                text = str(value) if key == "regions" else normalise(str(value))
                if text not in entry[key]:
                    entry[key].append(text)
    by_name: dict[str, list[Candidate]] = {}
    for node, entry in sorted(merged.items()):
        candidate = Candidate(node, entry["name"], tuple(entry["units"]), tuple(entry["posts"]),
                              tuple(entry["regions"]))  # fmt: skip
        by_name.setdefault(entry["name"], []).append(candidate)
    return by_name


@dataclass(frozen=True, slots=True)
class RowMatch:
    """What resolution made of one readable row: a person and why, or why not."""

    status: ScreeningStatus
    person_id: str | None = None
    basis: tuple[str, ...] = ()
    reason: str | None = None


def match_by_name(mention: Mention, candidates: list[Candidate]) -> RowMatch:
    """The graph's resolution of the row among its candidates."""
    outcome = resolve(mention, candidates)
    status = outcome.resolution.status
    if outcome.target is not None and status is ResolutionStatus.RESOLVED:
        return RowMatch(ScreeningStatus.MATCHED, outcome.target.partition(":")[2],
                        outcome.resolution.evidence)  # fmt: skip
    if status is ResolutionStatus.AMBIGUOUS:
        return RowMatch(ScreeningStatus.UNMATCHED, reason=AMBIGUOUS_REASON)
    return RowMatch(ScreeningStatus.UNMATCHED, reason=NO_CANDIDATE_REASON)


@dataclass(frozen=True, slots=True)
class PersonRecords:
    """A person's records in scope: the name a record gives them, and per source the count and
    the engine ids of the newest records."""

    name: str | None
    sources: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def record_ids(self) -> list[str]:
        return [i for _, ids in self.sources.values() for i in ids]


def read_person_records(answer: Mapping[str, Any]) -> dict[str, PersonRecords]:
    """The persons of one records search's answer (search_api.queries.screening)."""
    found: dict[str, PersonRecords] = {}
    buckets = answer.get("aggregations", {}).get(PERSONS_AGG, {}).get("buckets", [])
    for person in buckets:
        person_id = str(person["key"]).upper()  # the keyword normalizer lower-cased it
        name: str | None = None
        sources: dict[str, tuple[int, tuple[str, ...]]] = {}
        for source in person.get(SOURCES_AGG, {}).get("buckets", []):
            hits = source.get(RECORDS_AGG, {}).get("hits", {}).get("hits", [])
            sources[str(source["key"])] = (int(source["doc_count"]),
                                           tuple(str(h["_id"]) for h in hits))  # fmt: skip
            for hit in hits:
                doc = hit.get("_source", {})
                if name is None and doc.get(ColumnField.ID_NUMBER) == person_id:
                    name = str(doc.get(ColumnField.NAME) or "") or None
        found[person_id] = PersonRecords(name, dict(sorted(sources.items())))
    return found


# --- the response ------------------------------------------------------------------------------


class SourceEvidence(BaseModel):
    source: str
    count: int  # the person's records in this source, in scope
    record_ids: list[str]  # the server's pseudonyms of the newest (search_api.handles)


class ScreeningMatch(BaseModel):
    handle: str
    person_id: str  # masked unless the application unmasks
    name: str | None
    basis: list[str]  # what the match rests on (身份证号一致, 工作单位一致：…)
    sources: list[SourceEvidence]


class ScreeningRowResult(BaseModel):
    row: int  # the row's number in the list (the header is row 1 of a CSV)
    status: ScreeningStatus
    kind: RowKind | None  # which identifiers the row gave (None: unreadable)
    reason: str | None = None  # why it is unreadable, insufficient or unmatched
    matches: list[ScreeningMatch] = []


class ScreeningResponse(BaseModel):
    rows: int
    matched: int
    counts: dict[ScreeningStatus, int]
    format: str
    columns: list[str]  # the known columns the header held
    results: list[ScreeningRowResult]


def row_result(
    row: ListRow,
    match: RowMatch,
    records: Mapping[str, PersonRecords],
    unmask: bool,
    handles: Handles,
) -> ScreeningRowResult:
    """A row's answer: a match becomes 未匹配 when the person has no record in scope."""
    kind = None if row.error else row.kind
    if match.status is not ScreeningStatus.MATCHED or match.person_id is None:
        return ScreeningRowResult(row=row.row, status=match.status, kind=kind, reason=match.reason)
    found = records.get(match.person_id)
    if found is None:
        return ScreeningRowResult(row=row.row, status=ScreeningStatus.UNMATCHED, kind=kind,
                                  reason=NOT_IN_SCOPE_REASON)  # fmt: skip
    person = match.person_id
    name = found.name or row.name
    shown = ScreeningMatch(
        handle=handles.handle(person),
        person_id=person if unmask else mask_id(person),
        name=name if unmask else mask_text(name),
        basis=list(match.basis),
        sources=[SourceEvidence(source=source, count=count,
                                record_ids=[handles.record_id(i) for i in ids])
                 for source, (count, ids) in found.sources.items()],
    )  # fmt: skip
    return ScreeningRowResult(row=row.row, status=ScreeningStatus.MATCHED, kind=kind,
                              matches=[shown])  # fmt: skip


def screening_response(
    results: list[ScreeningRowResult], fmt: str, columns: Iterable[str]
) -> ScreeningResponse:
    counts = {status: 0 for status in ScreeningStatus}
    for result in results:
        counts[result.status] += 1
    return ScreeningResponse(
        rows=len(results), matched=counts[ScreeningStatus.MATCHED], counts=counts, format=fmt,
        columns=[str(c) for c in columns], results=results,
    )  # fmt: skip


def export_rows(response: ScreeningResponse) -> list[list[str]]:
    """The answer as a sheet: one line per match (or per row without one)."""
    out = [["行号", "比对结果", "比对依据类型", "说明", "句柄", "证件号码", "姓名", "命中来源"]]
    for result in response.results:
        kind = str(result.kind) if result.kind else ""
        if not result.matches:
            out.append([str(result.row), str(result.status), kind, result.reason or "",
                        "", "", "", ""])  # fmt: skip
        for match in result.matches:
            hits = "；".join(f"{s.source}:{s.count}" for s in match.sources)
            out.append([str(result.row), str(result.status), kind, "、".join(match.basis),
                        match.handle, match.person_id, match.name or "", hits])  # fmt: skip
    return out
