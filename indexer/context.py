"""Builds an ingest context from the settings: the one place the ingest's collaborators are made.

Shared by the command line and the Celery worker, so both ingest the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from analyzers.chinese import TextAnalyzer, build_text_analyzer
from analyzers.embeddings import Embedder, shared_embedder
from common.settings import Settings
from common.vocab import Source
from indexer.dictionary import load_user_words, save_user_words, usable_words
from indexer.pipeline import IngestContext, Progress
from indexer.sealed import open_keyring, open_sealed_store
from indexer.sealed_legacy import migrate_plaintext
from indexer.sealed_rotation import Rotation, rotate_sealed_key
from indexer.sealing import Reconciled, SealedCheck, check_sealed, reconcile_sealed
from registry.engine import EngineDoor
from registry.sources import SourceSpec, load_sources


def build_analyzer(settings: Settings) -> TextAnalyzer:
    """The jieba analyzer with the registries' user dictionary as it stands on disk."""
    return build_text_analyzer(
        load_user_words(settings.analysis_dir), settings.analysis_dir / "jieba"
    )


def build_embedder(settings: Settings, threads: int | None = None) -> Embedder | None:
    """The petition embedder (the model loads on the first text), or None when disabled."""
    if not settings.embeddings_enabled:
        return None
    return shared_embedder(
        settings.effective_embedding_model_path,
        batch_size=settings.embedding_batch_size,
        threads=threads if threads is not None else settings.embedding_threads,
    )


def rejects_dir_for(settings: Settings, drop: Path) -> Path:
    """Where a drop's rejects go: one folder per drop name, overwritten by a re-ingest."""
    return settings.state_dir / "rejects" / drop.resolve().name


@contextmanager
def ingest_context(
    settings: Settings,
    rejects_dir: Path,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    embedding_threads: int | None = None,
) -> Iterator[IngestContext]:
    """An IngestContext whose new dictionary words are saved when the run ends.

    ``workers`` overrides ``settings.ingest_workers`` (a Celery task builds in-process: Celery
    scales with one worker process per core instead); ``embedding_threads`` overrides
    ``settings.embedding_threads`` the same way.
    """
    door = EngineDoor.for_ingest(settings)
    sealed = open_sealed_store(settings.effective_sealed_database_url)
    try:
        keyring = open_keyring(sealed, settings.effective_sealed_key_file)
        migrate_plaintext(sealed, keyring)
    except Exception:
        door.close()
        sealed.dispose()
        raise
    analyzer = build_analyzer(settings)
    new_words: list[str] = []

    def on_words(words: list[str]) -> None:
        fresh = usable_words(words)
        analyzer.add_words(fresh)
        new_words.extend(fresh)

    try:
        yield IngestContext(
            door=door,
            analysis=analyzer,
            sealed=sealed,
            keyring=keyring,
            rejects_dir=rejects_dir,
            on_words=on_words,
            progress=progress,
            workers=settings.ingest_workers if workers is None else workers,
            parallel_sources=settings.ingest_parallel_sources,
            embedder=build_embedder(settings, embedding_threads),
            embed_threads=os.cpu_count() or 1,
            spill_cap=settings.ingest_memory_ids,
        )
    finally:
        if new_words:
            save_user_words(settings.analysis_dir, new_words)
        door.close()
        sealed.dispose()


@contextmanager
def sealed_session(settings: Settings) -> Iterator[tuple[Engine, EngineDoor, SourceSpec]]:
    """The sealed store, the engine door and the petition source, for the ``xiansuo sealed``
    commands."""
    door = EngineDoor.for_ingest(settings)
    store = open_sealed_store(settings.effective_sealed_database_url)
    try:
        yield store, door, load_sources()[Source.PETITION]
    finally:
        door.close()
        store.dispose()


def run_sealed_check(settings: Settings) -> SealedCheck:
    """Compare every sealed row with the petition index (read-only)."""
    with sealed_session(settings) as (store, door, spec):
        return check_sealed(store, door, spec)


def run_sealed_reconcile(settings: Settings) -> Reconciled:
    """Settle a journal an interrupted ingest left, without ingesting anything."""
    with sealed_session(settings) as (store, door, spec):
        return reconcile_sealed(store, door, spec)


def run_key_rotation(settings: Settings) -> Rotation:
    """Re-encrypt the sealed store under a new key and retire the old one."""
    store = open_sealed_store(settings.effective_sealed_database_url)
    try:
        return rotate_sealed_key(store, settings.effective_sealed_key_file)
    finally:
        store.dispose()
