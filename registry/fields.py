"""The document envelope's named fields: one constant per field, used by the mappings, the
ingest, the queries and the graph alike (no field name as a bare string in four packages)."""

from __future__ import annotations

from typing import Any

from common.vocab import Source

VECTOR_FIELD = "content_vector"
"""A petition's content vector (base64 float32; see indexer.vectors)."""
EMBEDDED_SOURCES: frozenset[Source] = frozenset({Source.PETITION})
"""The sources whose documents carry ``VECTOR_FIELD``."""


def vector_mapping() -> dict[str, Any]:
    """The mapping of `VECTOR_FIELD`: base64 float32, kept in _source only (no k-NN engine)."""
    return {"type": "binary"}
