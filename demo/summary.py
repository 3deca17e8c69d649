"""What a demo drop contains and what the ingest must make of it (written as ``_truth.json``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from demo.chains import ControlChainTruth
from demo.table import HEADERS, Table


@dataclass(frozen=True, slots=True)
class RowNote:
    """One planted problem: data row number (1-based, header and title excluded), start line."""

    row: int
    line: int  # CSV/JSONL: physical line the record starts on; XLSX: sheet row
    column: str
    kind: str
    raw: str  # the value as written ("" when the cell is empty)


@dataclass(frozen=True, slots=True)
class VersionNote:
    """A superseded row (data row number and start line) and the row whose record replaces it."""

    row: int
    line: int
    winner_row: int
    winner_line: int


@dataclass(frozen=True, slots=True)
class ExpectedReport:
    """The counts ``xiansuo ingest`` must report for the file (``indexer.reports.FileReport``)."""

    read: int
    indexed: int
    rejected: int
    duplicates: int  # exact copies and superseded versions alike
    warnings: int  # unparseable non-key values and invalid non-key ID numbers


@dataclass(frozen=True, slots=True)
class FileTruth:
    """Per file: what was written and the outcome the ingest should report."""

    source: str
    file: str
    encoding: str | None  # None for XLSX
    newline: str | None
    title_row: str | None
    header: list[str]
    extra_columns: list[str]
    rows_written: int  # data rows, not header or title
    rejected: int
    rejected_by_reason: dict[str, int]
    duplicates: int  # exact copies of an earlier row
    # Rows whose record another row replaces: a later version date (登记日期), the later row on
    # an equal date, and the later row in a source without a version date.
    superseded: int
    warnings: int  # unparseable non-key values (the row is indexed)
    warnings_by_kind: dict[str, int]
    expected_documents: int  # rows_written - rejected - duplicates - superseded
    reject_rows: list[RowNote]
    duplicate_rows: list[int]
    superseded_rows: list[int]
    warning_rows: list[RowNote]
    invalid_non_key_ids: list[RowNote]  # bad ID in a non-key column: kept raw, no identity link
    superseded_by: list[VersionNote]  # each superseded row with the row the index must hold
    expected_report: ExpectedReport


@dataclass(frozen=True, slots=True)
class OfficialSpouseCompany:
    """(1) An official whose spouse (same 户号, 配偶) represents and co-owns a company."""

    official_id: str
    official_name: str
    household: str
    spouse_id: str
    spouse_name: str
    company_code: str
    company_name: str
    spouse_percent: float


@dataclass(frozen=True, slots=True)
class DeceasedStillPaid:
    """(2) A person recorded 死亡 who is still paid 基本养老金 for periods after the death."""

    person_id: str
    name: str
    died: str
    benefit_kind: str
    serials_after_death: list[str]
    periods_after_death: list[str]


@dataclass(frozen=True, slots=True)
class ThemePetitions:
    """(3) Petitions on one theme at every tier: numbers by 承办层级, each 问题属地行政区划代码."""

    keyword: str
    category: str
    by_tier: dict[str, list[str]]
    regions: dict[str, str]


@dataclass(frozen=True, slots=True)
class OfficialChildChain:
    """(4) Official -> child (same 户号) -> holding company -> wholly owned subsidiary."""

    official_id: str
    official_name: str
    household: str
    child_id: str
    child_name: str
    child_relation: str
    holding_code: str
    holding_name: str
    child_percent: float
    subsidiary_code: str
    subsidiary_name: str
    holding_percent: float


@dataclass(frozen=True, slots=True)
class SameNameOfficials:
    """(5) A petition names an official by name + unit + post only; another has the same name."""

    petition_number: str
    name: str
    official_id: str
    unit: str
    post: str
    other_official_id: str
    other_unit: str
    other_post: str


@dataclass(frozen=True, slots=True)
class HubCompany:
    """The employer with very many insured staff (a dense node for the graph)."""

    code: str
    name: str
    insured_persons: int


@dataclass(frozen=True, slots=True)
class Patterns:
    official_spouse_company: OfficialSpouseCompany
    deceased_still_paid: DeceasedStillPaid
    theme_petitions: ThemePetitions
    official_child_chain: OfficialChildChain
    same_name_officials: SameNameOfficials
    hub_company: HubCompany


@dataclass(frozen=True, slots=True)
class Complainant:
    """A sealed whistleblower: these values must never appear in any search, graph or export."""

    name: str
    id_number: str
    phone: str
    petitions: list[str]


@dataclass(frozen=True, slots=True)
class PersonRef:
    id_number: str
    name: str


@dataclass(frozen=True, slots=True)
class NameSamples:
    """Canonical names that test analysis: CJK Extension A/B, minority dots, traditional forms."""

    extension_chars: list[PersonRef]
    minority_dots: list[PersonRef]
    traditional_prone: list[PersonRef]


@dataclass(frozen=True, slots=True)
class ComparisonPlantTruth:
    """One comparison model's planted subjects (to be found) and near-misses (never found)."""

    planted: list[str]
    near_misses: list[str]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """The truth about one demo drop; ``files`` is keyed by source."""

    seed: int
    persons: int
    reference_day: str
    total_rows: int
    files: dict[str, FileTruth]
    patterns: Patterns
    complainants: list[Complainant]
    name_samples: NameSamples
    control_chains: list[ControlChainTruth]  # what the graph must rank first (docs/graph.md)
    # Every subject each comparison model must find (demo.comparison_truth: planted or not),
    # and what was planted for it (docs/models.md).
    comparison_models: dict[str, list[str]] = field(default_factory=dict)
    comparison_plants: dict[str, ComparisonPlantTruth] = field(default_factory=dict)
    # The same per province (an application's regions lie in one province): what a run under
    # an application of that province must find.
    comparison_models_by_province: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"


def file_truth(
    table: Table,
    file: str,
    encoding: str | None,
    newline: str | None,
    title: str | None,
    lines: list[int],
) -> FileTruth:
    """Count what the rows of ``table`` were planted to be."""
    rejects, warnings, bad_ids = [], [], []
    duplicates, superseded = [], []
    numbered = {
        id(row): (number, line)
        for number, (row, line) in enumerate(zip(table.rows, lines, strict=True), start=1)
    }
    versions = [
        VersionNote(*numbered[id(row)], *numbered[id(row.winner)])
        for row in table.rows
        if row.superseded and row.winner is not None
    ]
    for number, (row, line) in enumerate(zip(table.rows, lines, strict=True), start=1):
        if row.reject:
            column, kind = row.reject
            rejects.append(RowNote(number, line, column, kind, _raw(row.values.get(column))))
        for column, kind in row.warnings:
            warnings.append(RowNote(number, line, column, kind, _raw(row.values[column])))
        for column in row.invalid_ids:
            bad_ids.append(RowNote(number, line, column, "invalid_id", _raw(row.values[column])))
        if row.duplicate:
            duplicates.append(number)
        if row.superseded:
            superseded.append(number)
    extra = [c for c in table.header if c not in HEADERS[table.source]]
    documents = len(table.rows) - len(rejects) - len(duplicates) - len(superseded)
    expected = ExpectedReport(
        len(table.rows), documents, len(rejects), len(duplicates) + len(superseded),
        len(warnings) + len(bad_ids),
    )  # fmt: skip
    return FileTruth(
        table.source.value, file, encoding, newline, title, list(table.header), extra,
        len(table.rows), len(rejects), dict(Counter(r.kind for r in rejects)),
        len(duplicates), len(superseded), len(warnings), dict(Counter(w.kind for w in warnings)),
        documents, rejects, duplicates, superseded, warnings, bad_ids, versions, expected,
    )  # fmt: skip


def _raw(cell: object) -> str:
    return "" if cell is None else str(cell)
