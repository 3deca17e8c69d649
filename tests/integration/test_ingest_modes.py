"""The ingest's ways of using the cores give one and the same result, on the real engine.

Records are built in-process with registry sources ingested at once (threads), in-process one
source at a time, or by forked builder processes (sources in turn); the petitions' vectors come
from the process that embeds them ahead. Whatever the mode: the report equals the drop's ground
truth, every index holds the same documents (ids and content digests, vectors included), and
the user dictionary saved for the next run holds the same words.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.dictionary import load_user_words
from indexer.pipeline import IngestReport, ingest_drop
from registry.engine import EngineDoor
from registry.fields import VECTOR_FIELD, Envelope

MODES = {
    "in-process, two sources at once": {"ingest_workers": 1, "ingest_parallel_sources": 2},
    "in-process, one source at a time": {"ingest_workers": 1, "ingest_parallel_sources": 1},
    "forked builders": {"ingest_workers": 2, "ingest_parallel_sources": 2},
}
COUNTS = ("read", "indexed", "rejected", "duplicates", "warnings")

Run = tuple[Settings, IngestReport]


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("modes")
    write_demo_drop(root / "drop", persons=300, seed=5)
    return root / "drop"


@pytest.fixture(scope="module")
def runs(
    settings: Settings, drop: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Run]:
    out: dict[str, Run] = {}
    for mode, update in MODES.items():
        root = tmp_path_factory.mktemp("mode")
        local = settings.model_copy(
            update={
                **update,
                "index_prefix": f"{settings.index_prefix}-mode{uuid.uuid4().hex[:4]}",
                "state_dir": root,
            }
        )
        with ingest_context(local, root / "rejects") as ctx:
            out[mode] = (local, ingest_drop(drop, ctx))
    return out


def held(door: EngineDoor, local: Settings) -> dict[str, dict[str, tuple[Any, Any]]]:
    """Per source alias: each document's content digest and vector, by id."""
    out: dict[str, dict[str, tuple[Any, Any]]] = {}
    pattern = f"{local.index_prefix}-*"
    door.refresh(pattern)
    for hit in door.scan(pattern, {"_source": [Envelope.CONTENT_DIGEST, VECTOR_FIELD]}):
        source = hit["_source"]
        alias = hit["_index"].rsplit("-", 2)[0]  # <prefix>-<source>-<stamp>-<microseconds>
        kind = alias.removeprefix(f"{local.index_prefix}-")
        out.setdefault(kind, {})[hit["_id"]] = (
            source.get(Envelope.CONTENT_DIGEST),
            source.get(VECTOR_FIELD),
        )
    return out


@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_reports_the_ground_truth(runs: dict[str, Run], drop: Path, mode: str) -> None:
    truth = json.loads((drop / TRUTH_FILE).read_text(encoding="utf-8"))
    _, report = runs[mode]
    assert report.ok, [f.error for f in report.failures()]
    assert [f.file for f in report.files] == [f.file for f in runs[next(iter(MODES))][1].files]
    got = {f.file: {key: getattr(f, key) for key in COUNTS} for f in report.files}
    assert got == {f["file"]: f["expected_report"] for f in truth["files"].values()}


@pytest.mark.parametrize("mode", list(MODES)[1:])
def test_every_mode_indexes_the_same_documents(
    runs: dict[str, Run], door: EngineDoor, mode: str
) -> None:
    reference = held(door, runs[next(iter(MODES))][0])
    assert reference["petition"]
    assert all(vector for _, vector in reference["petition"].values())
    assert held(door, runs[mode][0]) == reference


@pytest.mark.parametrize("mode", list(MODES)[1:])
def test_every_mode_saves_the_same_dictionary(runs: dict[str, Run], mode: str) -> None:
    reference = load_user_words(runs[next(iter(MODES))][0].analysis_dir)
    assert reference
    assert sorted(load_user_words(runs[mode][0].analysis_dir)) == sorted(reference)
