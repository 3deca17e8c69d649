"""Per-file accounting of an ingest: read = indexed + rejected + duplicates + failed.

A row is *indexed* when the index holds its document at the end of the run, *rejected* when its
key is missing or invalid or the engine refused it, a *duplicate* when another row of the run (or
a later version already in the index) holds its record instead, and *failed* when its source
stopped on an error before the row was settled (a re-run completes it). Which row of a record is
indexed is the engine's decision (the later 登记日期 via external_gte versioning, the later row on
equal dates and for sources without a version date); ``Tally`` follows the engine's answers, so
the counts are the same for a first ingest, a re-ingest and a re-run after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from indexer.spill import INT_CODEC, SPILL_CAP, Codec, SpillMap, Stored
from registry.bulk import WriteOutcome
from registry.changes import SourceChanges

COUNTS = ("read", "indexed", "rejected", "duplicates", "failed", "warnings")


@dataclass(slots=True)
class FileReport:
    source: str
    file: str
    read: int = 0
    indexed: int = 0
    rejected: int = 0
    duplicates: int = 0
    failed: int = 0  # rows not settled because the source stopped on ``error``
    warnings: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    error: str | None = None  # why the source stopped (None: the file was ingested whole)
    # ids of the records this file's rows created or changed (content digest differs); for the
    # watch step after the ingest, never printed or logged (an id is a hash of a natural key)
    changed: list[str] = field(default_factory=list)
    # the source's index held none of its records before the run (a first load): every record
    # the run indexed is new, so none is listed in ``changed`` (it stays empty); the watch step
    # matches the whole source instead (registry.changes.SourceChanges)
    new_source: bool = False

    @property
    def balanced(self) -> bool:
        return self.read == self.indexed + self.rejected + self.duplicates + self.failed

    @property
    def changed_count(self) -> int:
        """How many records this file's rows created or changed: the listed ids, or on a first
        load every record it indexed (all new)."""
        return self.indexed if self.new_source else len(self.changed)

    def shown(self) -> dict[str, Any]:
        """The report as printed and logged: its fields, with how many records it changed in
        place of their ids (a copy: the ids are not copied, at a million rows they are many)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "changed"}
        out["unknown_columns"] = list(self.unknown_columns)
        out["changed"] = self.changed_count
        return out

    def settle_failure(self, error: str) -> None:
        """Mark the file failed: every row read but not settled counts as failed."""
        self.error = error
        self.failed = self.read - self.indexed - self.rejected - self.duplicates


@dataclass(slots=True)
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no source stopped on an error."""
        return all(report.error is None for report in self.files)

    def failures(self) -> list[FileReport]:
        return [report for report in self.files if report.error is not None]

    def by_source(self) -> dict[str, dict[str, Any]]:
        """Per-source totals in the shape of ``xiansuo ingest --json``."""
        out: dict[str, dict[str, Any]] = {}
        for report in self.files:
            entry = out.setdefault(
                report.source,
                {key: 0 for key in COUNTS} | {"rejects_file": None, "error": None},
            )
            for key in COUNTS:
                entry[key] += getattr(report, key)
            if report.rejects_file:
                entry["rejects_file"] = report.rejects_file
            if report.error and entry["error"] is None:
                entry["error"] = report.error
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sources": self.by_source(),
            "elapsed_s": round(self.elapsed_s, 3),
            "files": [f.shown() for f in self.files],
            "unknown_files": self.unknown_files,
        }


def changed_by_source(reports: Iterable[FileReport]) -> dict[str, SourceChanges]:
    """The records an ingest created or changed, per source that has any: the ids (no repeats),
    or every record of a source loaded for the first time (``FileReport.new_source``), counted
    by the records its files indexed."""
    listed: dict[str, dict[str, None]] = {}
    whole: dict[str, int] = {}
    for report in reports:
        if report.new_source:
            whole[report.source] = whole.get(report.source, 0) + report.indexed
        else:
            listed.setdefault(report.source, {}).update(dict.fromkeys(report.changed))
    out = {source: SourceChanges.listed(list(ids)) for source, ids in listed.items() if ids}
    out |= {s: SourceChanges.whole_source(indexed) for s, indexed in whole.items() if indexed}
    return out


class ReportPositions:
    """A source's file reports by position in its file list: what the spill maps hold in place
    of a report (an object cannot go into the scratch file)."""

    def __init__(self, reports: list[FileReport]) -> None:
        self.reports = reports
        self._by_identity = {id(report): position for position, report in enumerate(reports)}

    def position(self, report: FileReport) -> int:
        """The position of ``report`` (one of ``reports``, by identity: reports compare equal)."""
        return self._by_identity[id(report)]


Write = tuple[str | None, str, int]  # (digest before the run, digest after, file position)


def decode_write(stored: Stored) -> Write:
    """A ``Changes`` entry read back from the scratch file."""
    if not isinstance(stored, bytes):
        raise TypeError(f"expected a JSON array in the spill file, found {type(stored).__name__}")
    before, after, position = orjson.loads(stored)
    return before, after, position


WRITE_CODEC: Codec[Write] = Codec(decode=decode_write, encode=orjson.dumps)


class Changes:
    """Which records a source's run left with new content (the watch lists' input).

    A record counts when its content digest at the end of the run differs from the one the
    index held before the run (none: a new record). Every accepted write is told with the
    digest the index held just before it; only the first differing write of a record keeps its
    "before", so a record written twice in one run (two rows of equal version date: the engine
    keeps the later) counts only if its final content differs from the content before the run.
    What is remembered per record is held in a ``SpillMap``: past ``cap`` records it goes to a
    scratch file (``close`` deletes it). Not made for a first load (no index held the source's
    records before the run): every record is then new, and the reports say so
    (``FileReport.new_source``) instead of listing every id.
    """

    def __init__(
        self,
        reports: list[FileReport],
        *,
        cap: int = SPILL_CAP,
        directory: Path | None = None,
    ) -> None:
        self._files = ReportPositions(reports)
        self._writes: SpillMap[Write] = SpillMap(WRITE_CODEC, cap=cap, directory=directory)

    def written(self, doc_id: str, before: str | None, after: str, report: FileReport) -> None:
        """An accepted write of ``doc_id`` with digest ``after``; ``before``: the index's digest
        just before it."""
        held = self._writes.get(doc_id)
        if held is not None:
            self._writes.set(doc_id, (held[0], after, self._files.position(report)))
        elif before != after:
            self._writes.set(doc_id, (before, after, self._files.position(report)))

    def settle(self) -> None:
        """Put each changed record's id on the report of the file whose row wrote it last."""
        reports = self._files.reports
        for doc_id, (before, after, position) in self._writes.items():
            if after != before:
                reports[position].changed.append(doc_id)
        self._writes.close()

    def close(self) -> None:
        """Forget the writes and delete the scratch file, if any (settled or not)."""
        self._writes.close()


class Tally:
    """Settles rows as the engine answers; one per source, across its files.

    The row whose write the engine accepted last for a record is the indexed one: when a later
    row of the run replaces it, it becomes a duplicate, in whichever file it was. Which file's
    row holds each record is remembered in a ``SpillMap`` (past ``cap`` records, in a scratch
    file that ``close`` deletes), so the memory does not grow with the source.
    """

    def __init__(
        self, reports: list[FileReport], *, cap: int = SPILL_CAP, directory: Path | None = None
    ) -> None:
        self._files = ReportPositions(reports)
        self._holders: SpillMap[int] = SpillMap(INT_CODEC, cap=cap, directory=directory)

    def lost(self, report: FileReport) -> None:
        """A row that lost to a later row of its own batch (never sent)."""
        report.duplicates += 1

    def answered(self, doc_id: str, report: FileReport, outcome: WriteOutcome) -> None:
        """The engine's answer for a row of ``report``'s file (not for a refusal)."""
        if outcome.ok:
            previous = self._holders.get(doc_id)
            if previous is not None:
                holder = self._files.reports[previous]
                holder.indexed -= 1
                holder.duplicates += 1
            self._holders.set(doc_id, self._files.position(report))
            report.indexed += 1
        elif outcome.superseded:
            report.duplicates += 1
        else:
            report.rejected += 1

    def close(self) -> None:
        """Forget the holders and delete the scratch file, if any."""
        self._holders.close()
