"""The ingest's OpenSearch client: the standard client with a faster JSON serializer.

Bulk bodies are most of what the ingest sends; orjson encodes them several times faster than the
standard library, and the benchmark's direct load uses the same client so the two stay comparable.
"""

from __future__ import annotations

from typing import Any

import orjson
from opensearchpy import OpenSearch
from opensearchpy.serializer import JSONSerializer


class FastJSONSerializer(JSONSerializer):
    """JSONSerializer whose dumps is orjson (falling back to its default for unusual types)."""

    def dumps(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        return orjson.dumps(data, default=self.default).decode()


def create_ingest_client(url: str, timeout_s: float = 120.0) -> OpenSearch:
    """A client for bulk loads: long timeout, retries on timeouts, orjson bodies."""
    return OpenSearch(
        hosts=[url],
        timeout=timeout_s,
        max_retries=3,
        retry_on_timeout=True,
        serializer=FastJSONSerializer(),
    )
