"""Keeps the sealed store in step with the petition index: write-ahead, settle, reconcile, check.

The order, per bulk batch of petitions (see ``indexer.sealed`` for the tables):

1. the batch's sealed values are committed to the journal, each with the digest of its document;
2. the batch goes to the engine;
3. one transaction turns the accepted entries into rows and empties the batch's journal.

So every document the engine may hold was preceded by a durable journal entry naming its digest,
and an entry leaves the journal only in the transaction that records the engine's answer. A crash
(or a failure of either store) anywhere leaves at most the journal of the batches in flight;
``reconcile_sealed`` runs before every petition ingest writes anything and settles it by asking
the engine what it holds: an entry whose digest equals the indexed document's becomes the row,
the others are dropped. It first waits until the engine runs no bulk write into the index: a
request received before its sender was killed is still executed, and must not land after the
engine was read. A report is made only after step 3 of the last batch, so no petition is
reported indexed without its row.

The digest is BLAKE2b over the canonical JSON of the document as sent (sorted keys, no spaces):
the document carries the file and line of its row and every indexed value, so two versions of a
petition never share a digest unless they are the same indexed record.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy import Engine

from indexer import sealed
from indexer.records import document_id
from indexer.sealed import SealedEntry
from indexer.sealed_keys import Keyring
from indexer.sealed_legacy import LEGACY_DIGEST, adopt_legacy_entries, set_digests
from indexer.sink import SourceIndex
from registry.bulk import WriteOutcome
from registry.engine import EngineDoor
from registry.fields import Envelope
from registry.sources import SourceSpec

log = structlog.get_logger(__name__)


def document_digest(document: dict[str, Any] | str) -> str:
    """The digest of a document as the engine returns it (the JSON sent, parsed back)."""
    doc = orjson.loads(document if isinstance(document, str) else orjson.dumps(document))
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=20).hexdigest()


class SealedWriter:
    """Writes one generation's sealed values ahead of each bulk batch and settles them after."""

    def __init__(self, store: Engine, keyring: Keyring, generation: str) -> None:
        self.store = store
        self.keyring = keyring
        self.generation = generation

    def ahead(self, entries: Sequence[SealedEntry]) -> list[int]:
        """Step 1: commit the batch's entries to the journal (before the engine sees them)."""
        return sealed.write_ahead(self.store, self.keyring, self.generation, entries)

    def settle(self, seqs: Sequence[int], outcomes: Sequence[WriteOutcome]) -> None:
        """Step 3: the accepted entries become rows; the batch's journal is emptied."""
        accepted = [seq for seq, outcome in zip(seqs, outcomes, strict=True) if outcome.ok]
        sealed.settle(self.store, self.generation, seqs, accepted)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What ``reconcile_sealed`` did."""

    generation: str | None  # the index the rows mirror now (None: the source has no index)
    promoted: int  # journal entries whose document the engine holds: now rows
    discarded: int  # journal entries whose write never landed (or lost to a later one)
    removed_rows: int  # rows of petitions the index does not hold
    other_generations: int  # rows and entries of indices that are not behind the alias


def reconcile_sealed(store: Engine, door: EngineDoor, spec: SourceSpec) -> Reconciled:
    """Settle what an interrupted ingest left in the journal against the aliased index.

    Rows and entries of any other index (a reload that never swapped, or the index a swap
    replaced) are deleted. Must not run while another ingest of petitions is writing.
    """
    generation = SourceIndex(door, spec).aliased()
    with store.begin() as conn:
        if generation is not None:
            adopt_legacy_entries(conn, generation)
        other = sealed.drop_other_generations(conn, generation)
        entries = sealed.journal_entries(conn, generation) if generation else []
        if generation is not None:
            sealed.set_state(conn, sealed.CURRENT_GENERATION, generation)
    if generation is None or not entries:
        result = Reconciled(generation, 0, 0, 0, other)
    else:
        result = _settle_journal(store, door, spec, generation, entries, other)
    if result.promoted or result.discarded or result.removed_rows or other:
        log.warning("sealed.reconciled", **{k: getattr(result, k) for k in result.__slots__})
    return result


def _settle_journal(
    store: Engine,
    door: EngineDoor,
    spec: SourceSpec,
    generation: str,
    entries: list[sealed.JournalEntry],
    other: int,
) -> Reconciled:
    by_petition: dict[str, list[sealed.JournalEntry]] = defaultdict(list)
    for entry in entries:
        by_petition[entry.petition_no].append(entry)
    door.wait_for_writes(generation)  # the last batch of a killed ingest may still be landing
    doc_ids = {no: document_id(spec, no) for no in by_petition}
    held = door.fetch(generation, sorted(set(doc_ids.values())))
    promote: list[int] = []
    adopted: dict[int, str] = {}  # migrated plaintext rows: seq -> digest of the indexed version
    gone: list[str] = []
    for petition_no, group in by_petition.items():
        document = held.get(doc_ids[petition_no])
        if document is None:
            gone.append(petition_no)  # the index holds no version: no row may exist
            continue
        digest = document_digest(document)
        match = next((e for e in reversed(group) if e.digest in (digest, LEGACY_DIGEST)), None)
        if match is not None:
            promote.append(match.seq)
            if match.digest == LEGACY_DIGEST:
                adopted[match.seq] = digest
    with store.begin() as conn:
        set_digests(conn, adopted)
        sealed.promote(conn, generation, promote)
        sealed.delete_records(conn, generation, gone)
        sealed.discard(conn, [entry.seq for entry in entries])
    return Reconciled(generation, len(promote), len(entries) - len(promote), len(gone), other)


@dataclass(frozen=True, slots=True)
class SealedCheck:
    """A full comparison of the sealed rows with the petition index (``xiansuo sealed check``)."""

    generation: str | None  # the index behind the alias
    readable_generation: str | None  # the generation ``read_complainants`` reads
    indexed: int  # petition documents behind the alias
    rows: int  # sealed rows of the aliased index
    without_row: list[str]  # indexed petitions that have no row
    without_document: list[str]  # rows of petitions the index does not hold
    stale: list[str]  # rows written for another version than the one indexed
    other_generations: int  # rows of indices that are not behind the alias
    journal: int  # entries not yet settled

    @property
    def consistent(self) -> bool:
        return (
            self.generation == self.readable_generation
            and not (self.without_row or self.without_document or self.stale)
            and not (self.other_generations or self.journal)
        )


def check_sealed(store: Engine, door: EngineDoor, spec: SourceSpec) -> SealedCheck:
    """Compare every sealed row with the document the index holds for its petition."""
    generation = SourceIndex(door, spec).aliased()
    indexed: dict[str, str] = {}
    if generation is not None:
        door.refresh(generation)
        for hit in door.scan(generation):
            source = hit["_source"]
            indexed[str(source[Envelope.RECORD_KEY])] = document_digest(source)
    with store.connect() as conn:
        readable = sealed.current_generation(conn)
        rows = sealed.generation_digests(conn, generation)
        elsewhere = sealed.count_other_generations(conn, generation)
        pending = sealed.journal_size(conn)
    return SealedCheck(
        generation=generation,
        readable_generation=readable,
        indexed=len(indexed),
        rows=len(rows),
        without_row=sorted(set(indexed) - set(rows)),
        without_document=sorted(set(rows) - set(indexed)),
        stale=sorted(no for no, digest in rows.items() if no in indexed and indexed[no] != digest),
        other_generations=elsewhere,
        journal=pending,
    )
