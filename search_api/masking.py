"""The one masking function every response of registry data goes through.

ID numbers keep their region (first 6) and last 4 characters, phone numbers their first 3 and last
4; everything else in between becomes '*'. Only an application that grants unmasking sees them
whole. Fields are chosen by their kind in the source definitions, not by guessing at values; in
prose fields (addresses, posts, unit names, petition text) numbers written into the text are found
by their shape and masked the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from indexer.sources import Kind, SourceSpec

MASK = "*"
_ID_KINDS = frozenset({Kind.PERSON_ID, Kind.PARTY_ID})
_PROSE_KINDS = frozenset({Kind.TEXT, Kind.LONG_TEXT, Kind.ORG_NAME})
# Envelope fields that hold ID numbers.
_ID_LISTS = ("persons",)
# Fields without a kind that may hold numbers in text: `extra` (columns the export added, such
# as a 备注 with a phone number in it) and `orgs` (unit names as written).
_FREE_FIELDS = ("extra", "orgs")


def mask_id(value: str) -> str:
    """460106197001010016 -> 460106********0016; short or odd values are masked whole."""
    if len(value) < 12:
        return MASK * len(value)
    return value[:6] + MASK * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """13800001234 -> 138****1234; a short number keeps only its last 2 digits."""
    if len(value) < 8:
        return MASK * (len(value) - 2) + value[-2:] if len(value) > 2 else MASK * len(value)
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def _mask_field(kind: Kind, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if kind in _ID_KINDS:
        return mask_id(value)
    if kind is Kind.PHONE:
        return mask_phone(value)
    if kind in _PROSE_KINDS:  # a number written into an address, a post or a petition's text
        return mask_text(value)
    return value


def mask_record(spec: SourceSpec, record: dict[str, Any], *, unmask: bool) -> dict[str, Any]:
    """A copy of ``record`` with ID and phone fields masked unless ``unmask``."""
    if unmask:
        return dict(record)
    kinds = {c.field: c.kind for c in spec.columns if c.group is None}
    group_kinds = {c.field: c.kind for c in spec.columns if c.group is not None}
    masked: dict[str, Any] = {}
    for name, value in record.items():
        if name in _ID_LISTS and isinstance(value, list):
            masked[name] = [mask_id(v) for v in value]
        elif name in kinds:
            masked[name] = _mask_field(kinds[name], value)
        elif name in _FREE_FIELDS:  # unknown columns and the envelope's unit names: by shape
            masked[name] = _mask_free(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):  # reported persons
            masked[name] = [
                {
                    k: _mask_field(group_kinds[k], v) if k in group_kinds else v
                    for k, v in item.items()
                }
                for item in value
            ]
        else:
            masked[name] = value
    return masked


def _mask_free(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_free(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_free(v) for v in value]
    return value


# Whole numbers only: a 12-digit 行政区划代码 such as 110101001001 is not a phone number.
_IDENTIFIER = re.compile(r"(?<![\dA-Za-z])(?:\d{17}[\dXx]|\d{15}|1\d{10})(?![\dA-Za-z])")


def mask_text(value: str) -> str:
    """Free text (petition content, a highlight fragment) with every ID or phone number inside it
    masked: the kinds of the source definitions cannot say where a number sits in prose."""
    return _IDENTIFIER.sub(
        lambda m: mask_id(m.group(0)) if len(m.group(0)) >= 15 else mask_phone(m.group(0)), value
    )


def pseudonym(value: str, key: bytes) -> str:
    """A log-safe stand-in for an ID or phone number: masked, plus a keyed hash that lets an
    auditor match look-ups of the same person (or of oneself) without the log holding it."""
    tag = hmac.new(key, value.upper().encode(), hashlib.sha256).hexdigest()[:16]
    masked = mask_id(value) if len(value) >= 15 else mask_phone(value)
    return f"{masked}~{tag}"


def protect_identifiers(value: Any, key: bytes) -> Any:
    """``value`` with every ID or phone number inside it replaced by its pseudonym."""
    if isinstance(value, str):
        return _IDENTIFIER.sub(lambda m: pseudonym(m.group(0), key), value)
    if isinstance(value, dict):
        return {k: protect_identifiers(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [protect_identifiers(v, key) for v in value]
    return value
