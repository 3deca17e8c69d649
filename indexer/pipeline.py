"""The ingest pipeline: drop -> readers -> records -> bulk batches -> sink, with exact accounting.

For every file, ``read = indexed + rejected + duplicates + failed`` (see ``indexer.reports``).
Documents go to the engine in batches (``indexer.batches``); within a batch only the row that
the engine would keep for a record is sent (the later version, the later row on equal versions),
so a batch never holds one id twice and the others are duplicates at once. For petitions, each
batch's sealed complainant values are written ahead and settled after (``indexer.sealing``).

An error that stops a source (the engine or the sealed store unavailable, an unreadable file)
does not stop the run: the source's files are reported with the error and their unsettled rows
as failed, the other sources are ingested, and the command exits non-zero. Re-running the ingest
completes the source; nothing half-written is reported as indexed.

Rejected rows are written whole to ``<rejects_dir>/<source>.rejects.jsonl`` with file, line and
reason; a person can fix them and feed the file back (renamed ``<source>.jsonl``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import orjson
import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError

from analyzers.values import clean_name, clean_text, split_aligned
from common.errors import EngineUnavailableError
from common.vocab import Source
from indexer import sealed
from indexer.batches import Candidate, Target, batches, with_digests, write_batch
from indexer.building import Record, record_builder
from indexer.drop import Drop, DropFile, DropInput, discover_drop, read_file
from indexer.embed_ahead import vectors_ahead
from indexer.readers import RawRow
from indexer.records import Rejected, TextAnalysis
from indexer.reports import Changes, FileReport, IngestReport, Tally
from indexer.sealed_keys import Keyring
from indexer.sealing import SealedWriter, document_digest, reconcile_sealed
from indexer.sink import SourceIndex
from indexer.spill import SPILL_CAP
from indexer.vectors import TextEmbedder, VectorSource, with_vectors
from registry.bulk import prefetch
from registry.engine import EngineDoor
from registry.fields import EMBEDDED_SOURCES
from registry.sources import Kind, SourceSpec, load_sources

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
# Sources whose rows carry sealed fields: their batches are written ahead to the sealed store.
SEALED_SOURCES: frozenset[Source] = frozenset({Source.PETITION})
# Bulk batches built ahead of the sender while it waits for the engine.
PREFETCH_BATCHES = 2

__all__ = [
    "INGEST_ORDER",
    "FileReport",
    "IngestContext",
    "IngestReport",
    "ingest_drop",
    "ingest_source",
]


@dataclass
class IngestContext:
    """Everything a run needs: the engine, the analyzer, the sealed store and where rejects go."""

    door: EngineDoor  # the engine, and the deployment's index prefix
    analysis: TextAnalysis
    sealed: Engine
    keyring: Keyring  # the sealed store's keys
    rejects_dir: Path
    on_words: Callable[[list[str]], None] | None = None  # new user-dictionary words
    progress: Progress | None = None
    workers: int = 1  # processes that build records (see indexer.building)
    # registry sources ingested at once by ingest_drop (threads; only with workers 1: a forked
    # builder must not be forked while another source's threads run)
    parallel_sources: int = 1
    embedder: TextEmbedder | None = None  # petition vectors (see indexer.vectors); None: none
    embed_threads: int = 1  # petition chunks embedded at once (the petitions come last)
    # petition vectors embedded ahead by a process started with the run (indexer.embed_ahead)
    ahead: VectorSource | None = None
    # collect the ids of the records the run creates or changes (FileReport.changed) for the
    # watch step after the ingest: one multi-get of the content digests per bulk batch; on a
    # first load none is read or listed, the reports say every record is new (new_source)
    track_changes: bool = True
    # ids the run's accounting holds in memory per source before the rest go to a scratch file
    # (indexer.spill): the ingest's memory does not grow with the drop
    spill_cap: int = SPILL_CAP


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

    @property
    def opened(self) -> bool:
        return self._fh is not None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def ingest_drop(path: Path, ctx: IngestContext, *, reload: bool = False) -> IngestReport:
    """Ingest every file of the drop at ``path``; ``reload`` rebuilds each source's index."""
    started = time.perf_counter()
    drop = discover_drop(path)
    report = IngestReport(unknown_files=[p.name for p in drop.unknown])
    present = [source for source in INGEST_ORDER if drop.for_source(source)]
    with vectors_ahead(drop, INGEST_ORDER, ctx.analysis, ctx.embedder, ctx.embed_threads) as ahead:
        run = replace(ctx, ahead=ahead, on_words=_one_at_a_time(ctx.on_words))
        registries = [source for source in present if source not in PROSE_SOURCES]
        done = _ingest_registries(drop, registries, run, reload)
        for source in present:
            if source in PROSE_SOURCES:  # after every registry: their names are in the dictionary
                done[source] = ingest_source(drop, source, run, reload=reload)
    for source in present:
        report.files.extend(done[source])
    report.elapsed_s = time.perf_counter() - started
    return report


def _ingest_registries(
    drop: Drop, sources: list[Source], ctx: IngestContext, reload: bool
) -> dict[Source, list[FileReport]]:
    """Ingest the registry sources, ``ctx.parallel_sources`` at once (threads) when records are
    built in-process, the largest first (the run ends with the largest otherwise)."""
    at_once = ctx.parallel_sources if ctx.workers <= 1 else 1
    if at_once <= 1 or len(sources) <= 1:
        return {source: ingest_source(drop, source, ctx, reload=reload) for source in sources}
    largest_first = sorted(sources, key=lambda source: -_input_bytes(drop, source))
    with ThreadPoolExecutor(at_once, thread_name_prefix="ingest-source") as pool:
        futures = {
            s: pool.submit(ingest_source, drop, s, ctx, reload=reload) for s in largest_first
        }
        return {source: future.result() for source, future in futures.items()}


def _input_bytes(drop: Drop, source: Source) -> int:
    """The bytes of a source's files (a database table counts as none)."""
    return sum(
        item.path.stat().st_size for item in drop.for_source(source) if isinstance(item, DropFile)
    )


def _one_at_a_time(
    on_words: Callable[[list[str]], None] | None,
) -> Callable[[list[str]], None] | None:
    """``on_words`` behind a lock: jieba does not lock its dictionary, and sources ingested at
    once tell their words from their own threads."""
    if on_words is None:
        return None
    lock = threading.Lock()

    def locked(words: list[str]) -> None:
        with lock:
            on_words(words)

    return locked


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
    """Ingest the files of one source; the unit of work of a Celery task (idempotent).

    Never raises for an error of the source's own (see the module docstring): the reports carry
    it. For petitions, what an interrupted run left in the sealed journal is settled first.
    """
    spec = load_sources()[source]
    files = drop.for_source(source)
    reports = [FileReport(source=str(source), file=f.name) for f in files]
    rejects = _Rejects(ctx.rejects_dir / f"{source}.rejects.jsonl")
    rejects.path.unlink(missing_ok=True)  # a clean re-ingest leaves no stale rejects behind
    door = ctx.door
    source_index = SourceIndex(door, spec)
    index: str | None = None
    at = 0  # the file being ingested
    swapped = False  # a reload's index is behind the alias
    tally: Tally | None = None  # which file's row holds each record
    changes: Changes | None = None  # the records the run changed (ctx.track_changes)
    try:
        if source in PROSE_SOURCES and ctx.on_words is not None:
            ctx.on_words(harvest_words(drop, PROSE_SOURCES, ctx.analysis))
        if source in SEALED_SOURCES:
            reconcile_sealed(ctx.sealed, door, spec)
        index = source_index.fresh() if reload else source_index.current()
        writer = _sealed_writer(spec, ctx, index, reload)
        door.set_bulk_mode(index, True)
        tally = Tally(reports, cap=ctx.spill_cap)
        # where the records' earlier digests are read (FileReport.changed); None when nothing
        # is there to read: every record the run writes is new
        previous = (
            _previous_content(door, source_index, index, reload) if ctx.track_changes else None
        )
        # a first load (nothing held before) lists no ids: its reports say every record is new
        first_load = ctx.track_changes and previous is None
        for report in reports:
            report.new_source = first_load
        changes = Changes(reports, cap=ctx.spill_cap) if previous is not None else None
        target = Target(door, index, tally, writer, previous, changes)
        for position, (drop_file, report) in enumerate(zip(files, reports, strict=True)):
            at = position
            _ingest_file(drop_file, spec, target, rejects, ctx, report)
        if changes is not None:
            changes.settle()
        door.set_bulk_mode(index, False)
        door.refresh(index)
        if reload:
            source_index.publish(index)
            swapped = True
            if writer is not None:
                sealed.adopt_generation(ctx.sealed, index)
    except Exception as exc:
        if changes is not None and not (reload and not swapped):
            changes.settle()  # what was written stays in the index: its changes are reported
        _fail_source(exc, reports, at, door, index, discard=reload and not swapped)
    finally:
        rejects.close()
        for accounting in (tally, changes):  # their scratch files, on success or failure
            if accounting is not None:
                accounting.close()
    if rejects.opened:
        for r in reports:
            r.rejects_file = str(rejects.path) if r.rejected else None
    for r in reports:
        hidden = ("unknown_columns", "changed")  # ids are hashes of natural keys: never logged
        log.info("ingest.file", **{k: v for k, v in r.shown().items() if k not in hidden},
                 changed_count=r.changed_count)  # fmt: skip
    return reports


def _previous_content(
    door: EngineDoor, source_index: SourceIndex, index: str, reload: bool
) -> str | None:
    """The index holding the source's records as they were before this run (a reload's is the
    one behind the alias), or None when it holds none: a first load then reads no digests at
    all (one multi-get per batch saved; every record it writes is new)."""
    previous = (source_index.aliased() or index) if reload else index
    door.refresh(previous)  # a crashed run's unrefreshed writes count as held
    return previous if door.count(previous) else None


def _sealed_writer(
    spec: SourceSpec, ctx: IngestContext, index: str, reload: bool
) -> SealedWriter | None:
    """The sealed writer of ``index`` for a source with sealed fields; a plain ingest's index is
    the readable generation from now on (a reload's becomes it at the alias swap)."""
    if spec.source not in SEALED_SOURCES:
        return None
    if not reload:
        with ctx.sealed.begin() as conn:
            sealed.set_state(conn, sealed.CURRENT_GENERATION, index)
    return SealedWriter(ctx.sealed, ctx.keyring, index)


def _fail_source(
    exc: Exception,
    reports: list[FileReport],
    at: int,
    door: EngineDoor,
    index: str | None,
    *,
    discard: bool,
) -> None:
    """Report why the source stopped; restore what the index needs to serve searches.

    ``discard``: the index is a reload's that never went behind the alias; it is dropped.
    """
    error = describe_error(exc)
    source = reports[0].source if reports else ""
    log.error(
        "ingest.source_failed",
        source=source,
        file=reports[at].file if reports else None,
        error=error,
        exc_info=not isinstance(exc, StatementError),  # its text holds SQL parameters
    )
    for position, report in enumerate(reports):
        if discard:  # nothing of a failed reload goes behind the alias
            report.indexed = report.duplicates = 0
            report.changed.clear()
            report.new_source = False  # nothing of the run is in the index the alias names
            report.settle_failure(error)
        elif position == at:
            report.settle_failure(error)
        elif position > at:
            report.error = f"not ingested: {source} stopped on {reports[at].file}: {error}"
    if index is None:
        return
    try:
        if discard:
            door.drop_index(index)  # the alias still points at the previous index
        else:
            door.set_bulk_mode(index, False)
    except Exception as cleanup:  # the engine may be the reason the source failed
        log.warning("ingest.cleanup_failed", index=index, error=describe_error(cleanup))


def describe_error(exc: Exception) -> str:
    """One line for the report; a database error without its SQL parameters, an engine error
    with the client's own message (kept out of the error's ``detail``, which the API shows)."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        return f"sealed store error: {type(exc.orig).__name__}: {exc.orig}"
    if isinstance(exc, EngineUnavailableError) and exc.reason:
        return f"{type(exc).__name__}: {exc.detail}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _ingest_file(
    drop_file: DropInput,
    spec: SourceSpec,
    target: Target,
    rejects: _Rejects,
    ctx: IngestContext,
    report: FileReport,
) -> None:
    name = drop_file.name
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

    def candidates(records: Records) -> Iterator[Candidate]:
        for row, built in records:
            if isinstance(built, Rejected):
                report.rejected += 1
                rejects.write(row, built.reason)
                continue
            report.warnings += len(built.warnings)
            words.extend(built.dictionary_words)
            if not isinstance(built.document, str):  # the JSON text sent is the one digested
                built.document = orjson.dumps(built.document).decode()
            digest = document_digest(built.document) if target.writer is not None else None
            yield Candidate(row, built, report, digest)

    with record_builder(spec, ctx.analysis, name, ctx.workers) as build:
        records: Records = build(good_rows())
        if ctx.embedder is not None and spec.source in EMBEDDED_SOURCES:
            records = with_vectors(
                records, ctx.embedder, ctx.analysis.simplified, parallel=ctx.embed_threads,
                ahead=ctx.ahead,
            )  # fmt: skip
        built = with_digests(batches(candidates(records)), target)
        with closing(prefetch(built, PREFETCH_BATCHES)) as ahead:
            for batch, before in ahead:
                write_batch(batch, target, rejects.write, before)
    if ctx.on_words is not None and words:
        ctx.on_words(list(dict.fromkeys(words)))
    report.unknown_columns = list(unknown)
    if unknown:
        log.warning("ingest.unknown_columns", file=name, columns=report.unknown_columns)
