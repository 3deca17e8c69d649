"""Bulk batches of one source: which row of a record is sent, and what happens around the send.

Built rows are grouped into batches; within a batch only the row the engine would keep for a
record is sent (``pick_winners``), so one batch never writes an id twice. For a source with
sealed fields, the batch's sealed values are written ahead of the send and settled after it
(``indexer.sealing``); then the engine's answers settle each row's count (``indexer.reports``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from indexer import sealed
from indexer.readers import RawRow
from indexer.records import Built
from indexer.reports import Changes, FileReport, Tally
from indexer.sealing import SealedWriter
from registry.bulk import batched
from registry.engine import EngineDoor
from registry.fields import Envelope

Digests = dict[str, str]  # a record's content digest in the index, by document id
Reject = Callable[[RawRow, str], None]  # writes a row whole to the rejects file, with a reason


@dataclass(frozen=True, slots=True)
class Target:
    """Where a source's batches go and how their rows are settled."""

    door: EngineDoor
    index: str
    tally: Tally
    writer: SealedWriter | None
    # Where the records' earlier content is read (the index written, or for a reload the one
    # behind the alias); None: no index held any of the source's records before the run.
    previous: str | None = None
    changes: Changes | None = None  # what the run changed (None: not tracked)


@dataclass(slots=True)
class Candidate:
    """A built row on its way to the engine."""

    row: RawRow
    built: Built
    report: FileReport
    digest: str | None  # of the document, for sources with sealed fields


def batches(candidates: Iterable[Candidate]) -> Iterator[list[Candidate]]:
    """Bulk batches of at most ``BULK_CHUNK_DOCS`` documents and about ``BULK_CHUNK_BYTES``."""
    return batched(candidates, lambda candidate: len(candidate.built.document))


def pick_winners(batch: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """(rows to send, rows that lose within the batch), each in batch order.

    Per document id, the row the engine would keep: the highest version (the later 登记日期),
    and of equal versions (or without one) the later row, as external_gte does.
    """
    best: dict[str, int] = {}
    for position, candidate in enumerate(batch):
        held = best.get(candidate.built.doc_id)
        if held is None or (candidate.built.version or 0) >= (batch[held].built.version or 0):
            best[candidate.built.doc_id] = position
    chosen = set(best.values())
    winners = [c for position, c in enumerate(batch) if position in chosen]
    losers = [c for position, c in enumerate(batch) if position not in chosen]
    return winners, losers


def write_batch(
    batch: list[Candidate], target: Target, reject: Reject, before: Digests | None = None
) -> None:
    """Send one batch; sealed values ahead of it and settled after; then count its rows.
    ``before``: the batch's digests read ahead (`with_digests`); read here when not given."""
    winners, losers = pick_winners(batch)
    seqs: list[int] = []
    if target.writer is not None:
        seqs = target.writer.ahead([sealed_entry(c) for c in winners])
    actions = [(c.built.doc_id, c.built.document, c.built.version) for c in winners]
    if before is None:
        before = digests_before(target, batch)
    outcomes = target.door.send(target.index, actions)
    if target.writer is not None:
        target.writer.settle(seqs, outcomes)
    for candidate in losers:
        target.tally.lost(candidate.report)
    for candidate, outcome in zip(winners, outcomes, strict=True):
        target.tally.answered(candidate.built.doc_id, candidate.report, outcome)
        if before is not None and target.changes is not None and outcome.ok:
            doc_id = candidate.built.doc_id
            digest = candidate.built.content_digest
            target.changes.written(doc_id, before.get(doc_id), digest, candidate.report)
        if not (outcome.ok or outcome.superseded):
            reject(candidate.row, outcome.error or "engine refused the document")


def digests_before(target: Target, batch: list[Candidate]) -> Digests | None:
    """The content digest each record of the batch has in the index before it is written
    (absent: a new record, or one written before digests existed); None when changes are not
    tracked (a first load tracks none: every record is new). One real-time multi-get of one
    small field per batch (docs/watch.md)."""
    if target.previous is None or target.changes is None or not batch:
        return None
    ids = list(dict.fromkeys(c.built.doc_id for c in batch))
    found = target.door.fetch(target.previous, ids, fields=[Envelope.CONTENT_DIGEST])
    return {
        doc_id: str(source[Envelope.CONTENT_DIGEST])
        for doc_id, source in found.items()
        if Envelope.CONTENT_DIGEST in source
    }


def with_digests(
    found: Iterable[list[Candidate]], target: Target
) -> Iterator[tuple[list[Candidate], Digests | None]]:
    """Each batch with its digests before, read where the batches are built ahead, so the read
    overlaps the previous batch's write. A read that lands after an earlier batch wrote the
    same record sees that write; `Changes` keeps the first digest it replaced either way."""
    for batch in found:
        yield batch, digests_before(target, batch)


def sealed_entry(candidate: Candidate) -> sealed.SealedEntry:
    """The journal entry of a row with sealed fields (the petition number is its key)."""
    built = candidate.built
    return sealed.SealedEntry(
        petition_no=built.key,
        doc_id=built.doc_id,
        fields=built.sealed,
        version=built.version,
        digest=candidate.digest or "",
        source_file=candidate.report.file,
        line=candidate.row.line,
    )
