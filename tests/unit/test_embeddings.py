"""The embedder and petition vectors at ingest, with the real packaged model (no cluster)."""

from __future__ import annotations

import ast
import importlib
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from analyzers.chinese import TextAnalyzer, build_text_analyzer
from analyzers.embeddings import (
    EXPORT_COMMAND,
    ONNX_FILE,
    Embedder,
    EmbeddingModelError,
    Pooling,
    cosine_similarities,
    decode_vector,
    encode_vector,
    read_pooling,
    shared_embedder,
)
from common.settings import Settings
from common.vocab import Source
from indexer.readers import RawRow
from indexer.records import Built, Rejected, build_record
from indexer.vectors import embedding_text, with_vectors
from registry.fields import VECTOR_FIELD
from registry.mapping import source_mapping
from registry.sources import load_sources

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "analyzers", "indexer", "graph", "query_logs", "search_api", "xiansuo")
TORCH_MODULES = {"torch", "sentence_transformers", "transformers"}
EXPORT_MODULE = ROOT / "analyzers" / "embedding_export.py"
SPECS = load_sources()
CONTENT = "反映海口市龙华区粮食局局长张伟在粮食收购过程中压级压价，套取国家粮食收储补贴资金。"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_embedder(Settings().effective_embedding_model_path, batch_size=8)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> TextAnalyzer:
    return build_text_analyzer([], tmp_path_factory.mktemp("jieba"))


def _torch_imports(path: Path) -> set[str]:
    """Modules of the torch stack that a file imports, statically or through import_module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value.split(".")[0])  # a name handed to importlib.import_module
    return found & TORCH_MODULES


def test_only_the_export_module_imports_torch() -> None:
    offenders = sorted(
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path != EXPORT_MODULE and _torch_imports(path)
    )
    assert offenders == []
    assert _torch_imports(EXPORT_MODULE) == {"torch", "transformers"}


def test_importing_the_app_the_ingest_and_the_worker_loads_no_model_runtime() -> None:
    code = (
        "import sys, search_api.app, indexer.pipeline, indexer.context, indexer.tasks, "
        "analyzers.embeddings; print(sorted(m for m in ('torch', 'sentence_transformers', "
        "'onnxruntime', 'tokenizers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dimension_is_read_from_the_model(embedder: Embedder) -> None:
    assert embedder.dimension == 384  # all-MiniLM-L6-v2, as the package documents


# A text encoded alone and inside a padded batch goes through different kernels (padding,
# attention masks, BLAS blocking), so the floats agree closely but not bit for bit.
BATCH_TOLERANCE = 1e-5


def test_vectors_are_normalised_and_deterministic(embedder: Embedder) -> None:
    first = embedder.encode([CONTENT, "其他：工作作风粗暴"])
    again = embedder.encode([CONTENT])
    assert first.shape == (2, embedder.dimension)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.allclose(first[0], again[0], rtol=0, atol=BATCH_TOLERANCE)
    assert float(first[0] @ again[0]) == pytest.approx(1.0, abs=BATCH_TOLERANCE)


def test_a_near_duplicate_is_closer_than_another_matter(embedder: Embedder) -> None:
    source, twin, other = embedder.encode(
        [
            CONTENT,
            CONTENT + "此前已多次反映，未见回复。",
            "举报王芳多次使用公款吃喝，违规收受礼金。",
        ]
    )
    same, different = cosine_similarities(source, [twin, other])
    assert same is not None
    assert different is not None
    assert same > 0.95 > different


def test_encoding_does_not_import_torch() -> None:
    code = (
        "import sys; from analyzers.embeddings import Embedder; from common.settings import "
        "Settings; Embedder(Settings().effective_embedding_model_path).encode(['文本']); "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_path_without_a_model_is_refused_without_download(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="not a local model directory"):
        Embedder(tmp_path / "BAAI" / "bge-small-zh-v1.5").encode(["文本"])


def test_a_model_without_its_onnx_export_is_refused_with_the_build_command(
    tmp_path: Path,
) -> None:
    packaged = Settings().effective_embedding_model_path
    copy = tmp_path / "model"
    shutil.copytree(packaged, copy, ignore=shutil.ignore_patterns("onnx", "*.safetensors"))
    assert not (copy / ONNX_FILE).exists()
    with pytest.raises(EmbeddingModelError, match="no ONNX export") as refused:
        Embedder(copy).encode(["文本"])
    assert f"{EXPORT_COMMAND} {copy}" in str(refused.value)
    assert not (copy / ONNX_FILE).exists()  # nothing was fetched or built behind the caller


@pytest.mark.parametrize(
    ("config", "pooling"),
    [
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, Pooling.MEAN),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, Pooling.CLS),
        (None, Pooling.MEAN),  # no pooling config: sentence-transformers' default
    ],
)
def test_the_pooling_is_read_from_the_model(
    tmp_path: Path, config: dict[str, bool] | None, pooling: Pooling
) -> None:
    if config is not None:
        (tmp_path / "1_Pooling").mkdir()
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    assert read_pooling(tmp_path) is pooling


@pytest.mark.parametrize(
    "config",
    [
        {"pooling_mode_max_tokens": True},
        {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True},
        {"pooling_mode_mean_tokens": False},
    ],
)
def test_a_pooling_other_than_mean_or_cls_is_refused(
    tmp_path: Path, config: dict[str, bool]
) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    with pytest.raises(EmbeddingModelError, match="unsupported pooling"):
        read_pooling(tmp_path)


# Fixed texts the ONNX vectors are compared on with the reference (sentence-transformers on
# torch, the `export` extra): petitions of several lengths, traditional characters, English.
REFERENCE_TEXTS = (
    CONTENT,
    "其他：工作作风粗暴",
    "粮食购销领域：" + CONTENT * 6,  # beyond max_seq_length: truncated the same way
    "舉報張偉在糧食收購中壓級壓價。",
    "举报王芳多次使用公款吃喝，违规收受礼金。",
    "Road repairs in Haikou were paid twice.",
    "",
)
# Measured 0.9999999 at worst; a wrong pooling, padding or truncation falls far below.
REFERENCE_AGREEMENT = 0.9999


def test_vectors_agree_with_the_reference_model(embedder: Embedder) -> None:
    sentence_transformers = importlib.import_module("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(
        str(embedder.model_path), device="cpu", local_files_only=True
    ).encode(list(REFERENCE_TEXTS), batch_size=8, normalize_embeddings=True)
    ours = embedder.encode(list(REFERENCE_TEXTS))
    agreement = np.sum(ours * np.asarray(reference, dtype=np.float32), axis=1)
    assert agreement.min() >= REFERENCE_AGREEMENT


def test_the_same_texts_give_the_same_bits(embedder: Embedder) -> None:
    texts = list(REFERENCE_TEXTS) * 3
    assert np.array_equal(embedder.encode(texts), embedder.encode(texts))


def test_rows_come_back_in_the_callers_order(embedder: Embedder) -> None:
    texts = list(REFERENCE_TEXTS)
    forward = embedder.encode(texts)
    backward = embedder.encode(texts[::-1])
    assert np.allclose(forward, backward[::-1], rtol=0, atol=BATCH_TOLERANCE)


@pytest.mark.parametrize("text", ["", "not base64!", "AAA=", "AAAAAAA="])
def test_a_malformed_stored_vector_decodes_to_none(text: str) -> None:
    assert decode_vector(text) is None


def test_a_stored_vector_round_trips_exactly() -> None:
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    decoded = decode_vector(encode_vector(vector))
    assert decoded is not None
    assert np.array_equal(decoded, vector)


def test_missing_or_foreign_vectors_have_no_similarity() -> None:
    query = np.ones(4, dtype=np.float32)
    scores = cosine_similarities(query, [None, np.ones(3, dtype=np.float32), query * 2])
    assert scores[:2] == [None, None]
    assert scores[2] == pytest.approx(1.0)


def test_embedded_text_is_category_and_simplified_content_only(analysis: TextAnalyzer) -> None:
    values = {
        "信访件编号": "XF46202300001",
        "反映人姓名": "欧阳娜娜",
        "反映人证件号码": "460106199001010011",
        "被反映人姓名": "張偉",
        "问题类别": "粮食购销领域",
        "内容": "舉報張偉在糧食收購中壓級壓價。",
    }
    record = build_record(SPECS[Source.PETITION], values, analysis, "f.csv", 2)
    assert isinstance(record, Built)
    assert isinstance(record.document, dict)
    text = embedding_text(record.document, analysis.simplified)
    assert text == "粮食购销领域：举报张伟在粮食收购中压级压价。"


def test_a_petition_without_content_gets_no_text() -> None:
    assert embedding_text({"category": "其他", "content": "  "}, str) is None


def test_vectors_keep_order_pass_rejects_and_keep_json_text(
    embedder: Embedder, analysis: TextAnalyzer
) -> None:
    spec = SPECS[Source.PETITION]
    rows = [RawRow("f.csv", line, {}, "") for line in (2, 3, 4)]
    text_doc = build_record(spec, {"信访件编号": "A1", "内容": CONTENT}, analysis, "f.csv", 2)
    dict_doc = build_record(spec, {"信访件编号": "A2", "内容": "其他事项"}, analysis, "f.csv", 4)
    assert isinstance(text_doc, Built)
    assert isinstance(dict_doc, Built)
    text_doc.document = json.dumps(text_doc.document, ensure_ascii=False)
    pairs = list(zip(rows, [text_doc, Rejected("missing key"), dict_doc], strict=True))
    out = list(with_vectors(pairs, embedder, analysis.simplified, batch=2))
    assert [row.line for row, _ in out] == [2, 3, 4]
    assert isinstance(out[0][1], Built)
    assert isinstance(out[0][1].document, str)
    stored = decode_vector(json.loads(out[0][1].document)[VECTOR_FIELD])
    assert stored is not None
    assert stored.shape == (embedder.dimension,)
    assert isinstance(out[2][1], Built)
    assert isinstance(out[2][1].document, dict)
    assert VECTOR_FIELD in out[2][1].document
    assert out[1][1] == Rejected("missing key")


@pytest.mark.parametrize("source", list(Source))
def test_only_the_petition_mapping_has_a_vector_field(source: Source) -> None:
    properties = source_mapping(SPECS[source])["properties"]
    assert (VECTOR_FIELD in properties) == (source is Source.PETITION)


def test_the_default_model_is_the_packaged_one_and_a_path_can_be_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = Settings().effective_embedding_model_path
    assert (packaged / "modules.json").is_file()
    monkeypatch.setenv("XIANSUO_EMBEDDING_MODEL_PATH", str(tmp_path / "bge-small-zh-v1.5"))
    monkeypatch.setenv("XIANSUO_EMBEDDING_THREADS", "2")
    configured = Settings()
    assert configured.effective_embedding_model_path == tmp_path / "bge-small-zh-v1.5"
    assert configured.embedding_threads == 2


def _petition_pairs(analysis: TextAnalyzer, count: int) -> list[tuple[RawRow, Built | Rejected]]:
    spec = SPECS[Source.PETITION]
    pairs: list[tuple[RawRow, Built | Rejected]] = []
    for line in range(2, count + 2):
        values = {"信访件编号": f"A{line}", "内容": f"{CONTENT}（第{line}次反映）" * (line % 3 + 1)}
        record = build_record(spec, values, analysis, "f.csv", line)
        pairs.append((RawRow("f.csv", line, {}, ""), record if line % 4 else Rejected("bad")))
    return pairs


def test_parallel_embedding_keeps_order_and_gives_the_same_vectors(
    embedder: Embedder, analysis: TextAnalyzer
) -> None:
    in_turn = list(with_vectors(_petition_pairs(analysis, 9), embedder, str, batch=2))
    parallel = list(with_vectors(_petition_pairs(analysis, 9), embedder, str, 2, parallel=3))
    assert [row.line for row, _ in parallel] == list(range(2, 11))
    for (_, one), (_, other) in zip(in_turn, parallel, strict=True):
        if isinstance(one, Rejected):
            assert other == one
            continue
        assert isinstance(one, Built)
        assert isinstance(other, Built)
        assert isinstance(one.document, dict)
        assert isinstance(other.document, dict)
        assert one.document[VECTOR_FIELD] == other.document[VECTOR_FIELD]


def test_parallel_embedding_stops_cleanly_when_the_consumer_stops(
    embedder: Embedder, analysis: TextAnalyzer
) -> None:
    pairs = with_vectors(_petition_pairs(analysis, 9), embedder, str, batch=2, parallel=2)
    first = next(pairs)
    pairs.close()  # the ingest stopped (an engine error): no thread is left behind
    assert first[0].line == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("ingest-embed")]
