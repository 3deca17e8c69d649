"""Petition vectors embedded ahead by a child process (indexer.embed_ahead), against the model.

The ahead path may only save time: every vector equals the one the in-line path gives, a chunk
the child got otherwise is embedded in line, and no child outlives the run.
"""

from __future__ import annotations

import multiprocessing
import random
from contextlib import closing
from pathlib import Path

import orjson
import pytest

from analyzers.chinese import TextAnalyzer, build_text_analyzer
from analyzers.embeddings import Embedder, shared_embedder
from common.settings import Settings
from common.vocab import Source
from indexer.building import Record
from indexer.drop import Drop, discover_drop, read_file
from indexer.embed_ahead import AheadVectors, embedded_inputs, vectors_ahead
from indexer.pipeline import INGEST_ORDER
from indexer.readers import RawRow
from indexer.records import Built, build_record
from indexer.vectors import EMBED_ROWS, with_vectors
from registry.fields import VECTOR_FIELD, ColumnField
from registry.sources import load_sources
from tests.petition_drops import random_drop, write_petitions

SPEC = load_sources()[Source.PETITION]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_embedder(Settings().effective_embedding_model_path, batch_size=8)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> TextAnalyzer:
    return build_text_analyzer([], tmp_path_factory.mktemp("jieba"))


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> Drop:
    folder = tmp_path_factory.mktemp("drop")
    rng = random.Random(11)  # noqa: S311 - reproducible test data, not security
    write_petitions(folder, random_drop(rng, 180))
    return discover_drop(folder)


def _files(drop: Drop, analysis: TextAnalyzer) -> list[list[tuple[RawRow, Record]]]:
    """Per petition file, the pairs the ingest builds, as the pipeline reads them."""
    return [
        [
            (row, build_record(spec, row.values, analysis, item.name, row.line))
            for row in read_file(item, expected_columns=set(spec.by_header))
            if not row.error
        ]
        for item, spec in embedded_inputs(drop, INGEST_ORDER)
    ]


def _vectors(pairs: list[tuple[RawRow, Record]]) -> list[str | None]:
    out: list[str | None] = []
    for _, record in pairs:
        if isinstance(record, Built):
            doc = record.document
            doc = orjson.loads(doc) if isinstance(doc, str) else doc
            out.append(doc.get(VECTOR_FIELD))
    return out


def _embedded(
    drop: Drop, analysis: TextAnalyzer, embedder: Embedder, ahead: AheadVectors | None
) -> list[str | None]:
    """Every petition's vector, the files embedded one after another as the pipeline does."""
    out: list[str | None] = []
    for pairs in _files(drop, analysis):
        embedded = with_vectors(pairs, embedder, analysis.simplified, EMBED_ROWS, 2, ahead)
        out += _vectors(list(embedded))
    return out


def _chunk_count(drop: Drop, analysis: TextAnalyzer) -> int:
    return sum(-(-len(pairs) // EMBED_ROWS) for pairs in _files(drop, analysis))


def test_the_drop_has_files_of_more_than_one_chunk(drop: Drop, analysis: TextAnalyzer) -> None:
    files = _files(drop, analysis)
    assert len(files) == 2
    assert len(files[0]) > 2 * EMBED_ROWS


def test_vectors_taken_ahead_are_the_vectors_embedded_in_line(
    drop: Drop, analysis: TextAnalyzer, embedder: Embedder
) -> None:
    in_line = _embedded(drop, analysis, embedder, None)
    with vectors_ahead(drop, INGEST_ORDER, analysis, embedder, 2) as ahead:
        assert ahead is not None
        taken = _embedded(drop, analysis, embedder, ahead)
        assert ahead.stopped is None
        assert ahead.taken == _chunk_count(drop, analysis)
    assert None not in in_line
    assert taken == in_line


def test_a_chunk_with_other_texts_is_embedded_in_line_and_the_child_stopped(
    drop: Drop, analysis: TextAnalyzer, embedder: Embedder
) -> None:
    pairs = _files(drop, analysis)[0]
    changed = pairs[EMBED_ROWS + 1][1]  # a record of the second chunk reads otherwise now
    assert isinstance(changed, Built)
    assert isinstance(changed.document, dict)
    changed.document[ColumnField.CONTENT] = "另一段内容：反映某单位违规发放津贴补贴。"
    in_line = _vectors(list(with_vectors(pairs, embedder, analysis.simplified)))
    for _, record in pairs:
        if isinstance(record, Built) and isinstance(record.document, dict):
            record.document.pop(VECTOR_FIELD, None)
    with vectors_ahead(drop, INGEST_ORDER, analysis, embedder, 2) as ahead:
        assert ahead is not None
        taken = _vectors(list(with_vectors(pairs, embedder, analysis.simplified, ahead=ahead)))
        assert ahead.taken == 1
        assert ahead.stopped == "a chunk's texts differ from the ingest's"
    assert taken == in_line


def test_a_child_whose_model_fails_leaves_the_embedding_to_the_ingest(
    drop: Drop, analysis: TextAnalyzer, embedder: Embedder, tmp_path: Path
) -> None:
    broken = shared_embedder(tmp_path / "no-model", batch_size=8)  # a directory with no model
    in_line = _embedded(drop, analysis, embedder, None)
    with vectors_ahead(drop, INGEST_ORDER, analysis, broken, 2) as ahead:
        assert ahead is not None
        taken = _embedded(drop, analysis, embedder, ahead)
        assert ahead.taken == 0
        assert ahead.stopped is not None
        assert "EmbeddingModelError" in ahead.stopped
    assert taken == in_line


def test_no_child_outlives_a_run_that_stops_early(
    drop: Drop, analysis: TextAnalyzer, embedder: Embedder
) -> None:
    with vectors_ahead(drop, INGEST_ORDER, analysis, embedder, 2) as ahead:
        pairs = with_vectors(_files(drop, analysis)[0], embedder, analysis.simplified, ahead=ahead)
        with closing(pairs):
            next(pairs)  # the ingest stopped on an error before the petitions were done
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("embedded", [False, True])
def test_no_child_is_started_without_an_embedder_or_petitions(
    drop: Drop, analysis: TextAnalyzer, embedder: Embedder, tmp_path: Path, embedded: bool
) -> None:
    empty = discover_drop(tmp_path)
    with vectors_ahead(
        empty if embedded else drop, INGEST_ORDER, analysis, embedder if embedded else None, 2
    ) as ahead:
        assert ahead is None
        assert not multiprocessing.active_children()
