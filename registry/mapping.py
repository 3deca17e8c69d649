"""Index mappings per source, built from the source definitions (pure functions, no cluster).

Field types follow the column kinds, so a field name has one type in every index. Sealed columns
have no mapping at all, and ``dynamic: strict`` makes the engine refuse any document that carries
a field the mapping does not name: a complainant field cannot slip in.
"""

from __future__ import annotations

from typing import Any

from analyzers.index_settings import keyword_field, text_field, tokens_field
from registry.fields import EMBEDDED_SOURCES, VECTOR_FIELD, Envelope, vector_mapping
from registry.sources import Column, Kind, SourceSpec

_DATE = {"type": "date", "format": "strict_date"}
_KIND_MAPPING: dict[Kind, dict[str, Any]] = {
    Kind.PERSON_ID: keyword_field(),
    Kind.CREDIT_CODE: keyword_field(),
    Kind.PARTY_ID: keyword_field(),
    Kind.NAME: keyword_field(),
    Kind.ORG_NAME: text_field(),
    Kind.TEXT: text_field(),
    Kind.LONG_TEXT: text_field(),
    Kind.LABEL: keyword_field(),
    Kind.DATE: _DATE,
    Kind.PERIOD: keyword_field(),
    Kind.MONEY: {"type": "double"},
    Kind.NUMBER: {"type": "double"},
    Kind.BOOL: {"type": "boolean"},
    Kind.REGION: keyword_field(),
    Kind.TIER: keyword_field(),
    Kind.PHONE: keyword_field(),
}

# Fields every source document may carry (see indexer.records and registry.fields).
ENVELOPE: dict[str, dict[str, Any]] = {
    Envelope.SOURCE: keyword_field(),
    Envelope.RECORD_KEY: keyword_field(),
    Envelope.FILE: keyword_field(),
    Envelope.LINE: {"type": "integer"},
    Envelope.PERSONS: keyword_field(),
    Envelope.COMPANIES: keyword_field(),
    Envelope.NAMES: text_field(),
    Envelope.NAMES_NODOT: keyword_field(),
    Envelope.NAMES_PINYIN: keyword_field(),
    Envelope.NAMES_INITIALS: keyword_field(),
    Envelope.ORGS: text_field(),
    Envelope.REGION_PREFIXES: keyword_field(),
    Envelope.TIER: keyword_field(),
    Envelope.RECORD_DATE: _DATE,
    Envelope.ALL_TEXT: text_field(),
    Envelope.ALL_TOKENS: tokens_field(),
    # Unknown columns of the export: kept and searchable as flat key/values.
    Envelope.EXTRA: {"type": "flat_object"},
    # Raw text of values that failed to parse: kept, not searched, never returned.
    Envelope.UNPARSED: {"type": "object", "enabled": False},
    Envelope.WARNINGS: {"type": "keyword", "index": False},
    # read back by id only (an ingest compares it before a write): neither searched nor sorted
    Envelope.CONTENT_DIGEST: {"type": "keyword", "index": False, "doc_values": False},
}


def _field(column: Column) -> dict[str, Any]:
    return dict(_KIND_MAPPING[column.kind])


def source_mapping(spec: SourceSpec) -> dict[str, Any]:
    """The mapping of a source's index."""
    properties: dict[str, Any] = dict(ENVELOPE)
    groups: dict[str, dict[str, Any]] = {}
    for column in spec.columns:
        if column.kind is Kind.SEALED:
            continue
        if column.group is not None:
            groups.setdefault(column.group, {})[column.field] = _field(column)
        else:
            properties[column.field] = _field(column)
    for group, fields in groups.items():
        properties[group] = {"type": "nested", "dynamic": "strict", "properties": fields}
    if spec.source in EMBEDDED_SOURCES:
        properties[VECTOR_FIELD] = vector_mapping()
    return {"dynamic": "strict", "properties": properties}
