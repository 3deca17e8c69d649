"""Index mappings per source, built from the source definitions (pure functions, no cluster).

Field types follow the column kinds, so a field name has one type in every index. Sealed columns
have no mapping at all, and ``dynamic: strict`` makes the engine refuse any document that carries
a field the mapping does not name: a complainant field cannot slip in.
"""

from __future__ import annotations

from typing import Any

from analyzers.index_settings import keyword_field, text_field, tokens_field
from registry.fields import EMBEDDED_SOURCES, VECTOR_FIELD, vector_mapping
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

# Fields every source document may carry (see indexer.records).
ENVELOPE: dict[str, dict[str, Any]] = {
    "source": keyword_field(),
    "record_key": keyword_field(),
    "file": keyword_field(),
    "line": {"type": "integer"},
    "persons": keyword_field(),
    "companies": keyword_field(),
    "names": text_field(),
    "names_nodot": keyword_field(),
    "names_pinyin": keyword_field(),
    "names_initials": keyword_field(),
    "orgs": text_field(),
    "region_prefixes": keyword_field(),
    "tier": keyword_field(),
    "record_date": _DATE,
    "all_text": text_field(),
    "all_tokens": tokens_field(),
    # Unknown columns of the export: kept and searchable as flat key/values.
    "extra": {"type": "flat_object"},
    # Raw text of values that failed to parse: shown, not searched.
    "unparsed": {"type": "object", "enabled": False},
    "warnings": {"type": "keyword", "index": False},
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
