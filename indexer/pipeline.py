"""The ingest pipeline: drop -> readers -> records -> sink, with exact per-file accounting.

For every file, ``read = indexed + rejected + duplicates``. A duplicate is a row whose natural
key was already written in this run (an exact repeat, or an older or newer version of the same
record: the engine keeps the later 登记日期), or one the index already holds in a later version.
Rejected rows are written whole to ``<rejects_dir>/<source>.rejects.jsonl`` with file, line and
reason; a person can fix them and feed the file back (renamed ``<source>.jsonl``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import structlog
from opensearchpy import OpenSearch
from sqlalchemy import Engine

from analyzers.values import clean_name, clean_text, split_aligned
from common.vocab import Source
from indexer.building import Record, record_builder
from indexer.drop import Drop, DropInput, discover_drop, read_file
from indexer.readers import RawRow
from indexer.records import Rejected, TextAnalysis
from indexer.sealed import store_complainants
from indexer.sink import IndexSink
from indexer.sources import Kind, SourceSpec, load_sources
from indexer.vectors import EMBEDDED_SOURCES, TextEmbedder, with_vectors

log = structlog.get_logger(__name__)

# Sources without prose come first: their person, company and unit names go into jieba's user
# dictionary as they are indexed. Before the prose sources are segmented, the names in their own
# files are harvested too, so the dictionary is the same for all prose of a run and equals the
# one the next run starts with: re-ingesting a drop gives the same tokens (idempotence).
PROSE_SOURCES: tuple[Source, ...] = (Source.COMPANY, Source.PETITION)
INGEST_ORDER: tuple[Source, ...] = (
    Source.OFFICIAL,
    Source.HOUSEHOLD,
    Source.SHAREHOLDER,
    Source.COMPANY_OFFICER,
    Source.INSURED,
    Source.BENEFIT,
    Source.PROPERTY,
    *PROSE_SOURCES,
)

Progress = Callable[[str, int], None]  # (file name, rows read so far)
Records = Iterator[tuple[RawRow, Record]]


@dataclass(slots=True)
class FileReport:
    source: str
    file: str
    read: int = 0
    indexed: int = 0
    rejected: int = 0
    duplicates: int = 0
    warnings: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    rejects_file: str | None = None

    @property
    def balanced(self) -> bool:
        return self.read == self.indexed + self.rejected + self.duplicates


@dataclass(slots=True)
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def by_source(self) -> dict[str, dict[str, Any]]:
        """Per-source totals in the shape of ``xiansuo ingest --json``."""
        out: dict[str, dict[str, Any]] = {}
        for report in self.files:
            entry = out.setdefault(
                report.source,
                {
                    "read": 0,
                    "indexed": 0,
                    "rejected": 0,
                    "duplicates": 0,
                    "warnings": 0,
                    "rejects_file": None,
                },
            )
            for key in ("read", "indexed", "rejected", "duplicates", "warnings"):
                entry[key] += getattr(report, key)
            if report.rejects_file:
                entry["rejects_file"] = report.rejects_file
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": self.by_source(),
            "elapsed_s": round(self.elapsed_s, 3),
            "files": [asdict(f) for f in self.files],
            "unknown_files": self.unknown_files,
        }


@dataclass
class IngestContext:
    """Everything a run needs: the engine, the analyzer, the sealed store and where rejects go."""

    client: OpenSearch
    index_prefix: str
    analysis: TextAnalysis
    sealed: Engine
    rejects_dir: Path
    on_words: Callable[[list[str]], None] | None = None  # new user-dictionary words
    progress: Progress | None = None
    workers: int = 1  # processes that build records (see indexer.building)
    embedder: TextEmbedder | None = None  # petition vectors (see indexer.vectors); None: none


class _Rejects:
    """The rejects file of one source, opened on the first reject (mode 0600: whole rows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None
        self._lock = threading.Lock()  # parse rejects and engine refusals come from two threads

    def write(self, row: RawRow, reason: str) -> None:
        with self._lock:
            self._write(row, reason)

    def _write(self, row: RawRow, reason: str) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._fh = open(fd, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        record: dict[str, object] = {
            k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
            for k, v in row.values.items()
        }
        record["_reject"] = {"file": row.file, "line": row.line, "reason": reason, "raw": row.raw}
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def ingest_drop(path: Path, ctx: IngestContext, *, reload: bool = False) -> IngestReport:
    """Ingest every file of the drop at ``path``; ``reload`` rebuilds each source's index."""
    started = time.perf_counter()
    drop = discover_drop(path)
    report = IngestReport(unknown_files=[p.name for p in drop.unknown])
    for source in INGEST_ORDER:
        if drop.for_source(source):
            report.files.extend(ingest_source(drop, source, ctx, reload=reload))
    report.elapsed_s = time.perf_counter() - started
    return report


def harvest_words(drop: Drop, sources: tuple[Source, ...], analysis: TextAnalysis) -> list[str]:
    """The simplified person, company and unit names in the files of ``sources``."""
    specs = load_sources()
    words: dict[str, None] = {}
    for source in sources:
        spec = specs[source]
        columns = [c for c in spec.columns if c.kind in (Kind.NAME, Kind.ORG_NAME)]
        for drop_file in drop.for_source(source):
            for row in read_file(drop_file, expected_columns=set(spec.by_header)):
                for column in columns:
                    for part in split_aligned(row.values.get(column.header)):
                        text = clean_name(part) if column.kind is Kind.NAME else clean_text(part)
                        if text:
                            words[analysis.simplified(text)] = None
    return list(words)


def ingest_source(
    drop: Drop, source: Source, ctx: IngestContext, *, reload: bool = False
) -> list[FileReport]:
    """Ingest the files of one source; the unit of work of a Celery task (idempotent)."""
    spec = load_sources()[source]
    if source in PROSE_SOURCES and ctx.on_words is not None:
        ctx.on_words(harvest_words(drop, PROSE_SOURCES, ctx.analysis))
    sink = IndexSink(ctx.client, ctx.index_prefix)
    index = sink.create_index(spec) if reload else sink.current_index(spec)
    sink.set_bulk_mode(index, True)
    rejects = _Rejects(ctx.rejects_dir / f"{source}.rejects.jsonl")
    rejects.path.unlink(missing_ok=True)  # a clean re-ingest leaves no stale rejects behind
    seen: set[str] = set()
    reports: list[FileReport] = []
    try:
        for drop_file in drop.for_source(source):
            reports.append(_ingest_file(drop_file, spec, sink, index, seen, rejects, ctx))
    finally:
        rejects.close()
        sink.set_bulk_mode(index, False)
    sink.refresh(index)
    if reload:
        sink.swap_alias(spec, index)
    if rejects._fh is not None:
        for r in reports:
            r.rejects_file = str(rejects.path) if r.rejected else None
    return reports


def _ingest_file(
    drop_file: DropInput,
    spec: SourceSpec,
    sink: IndexSink,
    index: str,
    seen: set[str],
    rejects: _Rejects,
    ctx: IngestContext,
) -> FileReport:
    name = drop_file.name
    report = FileReport(source=str(spec.source), file=name)
    pending: deque[tuple[RawRow, bool]] = deque()
    sealed_rows: list[tuple[str, dict[str, str], str]] = []
    unknown: dict[str, None] = {}
    words: list[str] = []

    def good_rows() -> Iterator[RawRow]:
        for row in read_file(drop_file, expected_columns=set(spec.by_header)):
            report.read += 1
            if ctx.progress is not None and report.read % 5000 == 0:
                ctx.progress(name, report.read)
            for header in row.values:
                if header not in spec.by_header and header not in unknown:
                    unknown[header] = None
            if row.error:
                report.rejected += 1
                rejects.write(row, row.error)
                continue
            yield row

    def documents(records: Records) -> Iterator[tuple[str, dict[str, Any] | str, int | None]]:
        for row, built in records:
            if isinstance(built, Rejected):
                report.rejected += 1
                rejects.write(row, built.reason)
                continue
            report.warnings += len(built.warnings)
            words.extend(built.dictionary_words)
            if built.sealed:
                sealed_rows.append((built.key, built.sealed, name))
            repeat = built.doc_id in seen
            seen.add(built.doc_id)
            pending.append((row, repeat))
            yield built.doc_id, built.document, built.version

    with record_builder(spec, ctx.analysis, name, ctx.workers) as build:
        records: Records = build(good_rows())
        if ctx.embedder is not None and spec.source in EMBEDDED_SOURCES:
            records = with_vectors(records, ctx.embedder, ctx.analysis.simplified)
        for outcome in sink.write(index, documents(records)):
            row, repeat = pending.popleft()
            if repeat or outcome.superseded:
                report.duplicates += 1
            elif outcome.ok:
                report.indexed += 1
            else:
                report.rejected += 1
                rejects.write(row, outcome.error or "engine refused the document")
    store_complainants(ctx.sealed, sealed_rows)
    if ctx.on_words is not None and words:
        ctx.on_words(list(dict.fromkeys(words)))
    report.unknown_columns = list(unknown)
    if unknown:
        log.warning("ingest.unknown_columns", file=name, columns=report.unknown_columns)
    log.info("ingest.file", **{k: v for k, v in asdict(report).items() if k != "unknown_columns"})
    return report
