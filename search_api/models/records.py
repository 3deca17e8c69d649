"""A registry record as every response shows it: masked, its id the server's pseudonym.

The one place a hit of the engine becomes a record of a response (search hits, a person's
records, profile groups, similar petitions): ``mask_record`` with the record's own source
definition (ID and phone fields by kind, numbers in prose by shape) unless the application
unmasks, and the engine's id replaced by its keyed pseudonym (search_api.handles).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from common.vocab import Source
from registry.fields import Envelope
from registry.sources import load_sources
from search_api.handles import Handles
from search_api.masking import mask_record


class RecordResponse(BaseModel):
    id: str
    source: str
    record: dict[str, Any]


def shown_record(document: dict[str, Any], unmask: bool) -> dict[str, Any]:
    """A stored document as shown: masked by its source's definition unless ``unmask``."""
    return mask_record(load_sources()[Source(document[Envelope.SOURCE])], document, unmask=unmask)


def masked_record(hit: dict[str, Any], unmask: bool, handles: Handles) -> RecordResponse:
    """A hit of the engine (``_id``, ``_source``) as a record of a response."""
    document = hit["_source"]
    return RecordResponse(
        id=handles.record_id(hit["_id"]),
        source=str(Source(document[Envelope.SOURCE])),
        record=shown_record(document, unmask),
    )
