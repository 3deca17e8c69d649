"""One row of a source to one indexable document, or the reason it must be rejected.

Only a missing or invalid key rejects a row. Other fields that fail to parse are left empty, their
raw text kept under ``unparsed`` and counted as warnings. Sealed (complainant) values are returned
apart from the document and never enter it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

import orjson

from analyzers.dates import parse_date, parse_period
from analyzers.ids import normalise_credit_code, normalise_person_id
from analyzers.regions import parse_region, parse_tier, region_prefixes
from analyzers.values import (
    Parsed,
    clean_name,
    clean_text,
    is_empty,
    name_without_dot,
    parse_bool,
    parse_decimal,
    parse_money,
    parse_phone,
    split_aligned,
    to_text,
)
from registry.fields import Envelope
from registry.sources import Column, Kind, SourceSpec


class TextAnalysis(Protocol):
    """What the builder needs of the Chinese analyzer (analyzers.chinese.TextAnalyzer)."""

    def simplified(self, text: str) -> str: ...
    def index_tokens(self, text: str) -> list[str]: ...
    def pinyin_full(self, name: str) -> str: ...
    def pinyin_initials(self, name: str) -> str: ...
    def add_words(self, words: list[str]) -> int: ...


@dataclass(slots=True)
class Built:
    """A document ready for the sink, with what the accounting needs to know about it."""

    doc_id: str
    key: str
    document: dict[str, Any] | str  # JSON text when built in a worker process
    version: int | None  # supersede order (ordinal of the version date); None: last write wins
    warnings: list[str] = field(default_factory=list)
    sealed: dict[str, str] = field(default_factory=dict)
    dictionary_words: list[str] = field(default_factory=list)
    content_digest: str = ""  # the document's Envelope.CONTENT_DIGEST (see content_digest)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str


@lru_cache(maxsize=65536)
def _region(raw: str) -> tuple[str, tuple[str, ...], str] | str:
    """(code, prefixes, tier) of a region code, or the parse error; codes repeat across rows."""
    parsed = parse_region(raw)
    if parsed.value is None:
        return parsed.error or "not a region code"
    region = parsed.value
    return region.code, tuple(region_prefixes(region.code)), region.tier


def document_id(spec: SourceSpec, key: str) -> str:
    """Deterministic id from the source and natural key: re-ingest overwrites, never duplicates."""
    return hashlib.blake2b(f"{spec.source}\x1f{key}".encode(), digest_size=12).hexdigest()


class _Accumulator:
    """Collects the cross-field parts of a document while its columns are parsed."""

    def __init__(self, analysis: TextAnalysis) -> None:
        self.analysis = analysis
        self.persons: list[str] = []
        self.companies: list[str] = []
        self.names: list[str] = []  # simplified, for search
        self.written_names: list[str] = []  # as written: pinyin reads traditional characters
        self.orgs: list[str] = []
        self.text: list[str] = []
        self.tokens: list[str] = []
        self.unparsed: dict[str, str] = {}
        self.region: tuple[str, tuple[str, ...], str] | None = None
        self.warnings: list[str] = []

    def warn(self, column: Column, raw: object, error: str, path: str) -> None:
        self.unparsed[path] = to_text(raw)
        self.warnings.append(f"{column.header}: {error}")


def _number(parsed: Parsed[Decimal]) -> Parsed[float]:
    return Parsed(float(parsed.value) if parsed.value is not None else None, parsed.error)


@dataclass(frozen=True, slots=True)
class _Cell:
    """What one cell contributes to a document; a pure function of its kind and raw value."""

    value: object = None  # the indexed value
    error: str | None = None  # why the raw value is kept unparsed instead
    person: str | None = None
    company: str | None = None
    simple: str | None = None  # simplified text for search (text and name kinds)
    region: tuple[str, tuple[str, ...], str] | None = None


_EMPTY = _Cell()
_TEXT_KINDS = frozenset({Kind.NAME, Kind.ORG_NAME, Kind.TEXT, Kind.LONG_TEXT, Kind.LABEL})
# Registry values repeat (a pensioner's ID, name and payer every month; labels everywhere):
# short cells are parsed once per process. Prose is not cached.
_CACHE: dict[tuple[Kind, str], _Cell] = {}
_CACHE_MAX_CHARS = 64
_CACHE_ENTRIES = 200_000


_PARSERS: dict[Kind, Callable[[object], Parsed[Any]]] = {
    Kind.DATE: parse_date,
    Kind.PERIOD: parse_period,
    Kind.MONEY: lambda raw: _number(parse_money(raw)),
    Kind.NUMBER: lambda raw: _number(parse_decimal(raw)),
    Kind.BOOL: parse_bool,
    Kind.PHONE: parse_phone,
    Kind.TIER: parse_tier,
}


def _cell(kind: Kind, raw: object, analysis: TextAnalysis) -> _Cell:
    if not isinstance(raw, str) or len(raw) > _CACHE_MAX_CHARS or kind is Kind.LONG_TEXT:
        return _parse_value(kind, raw, analysis)
    cell = _CACHE.get((kind, raw))
    if cell is None:
        if len(_CACHE) >= _CACHE_ENTRIES:
            _CACHE.clear()
        cell = _CACHE[(kind, raw)] = _parse_value(kind, raw, analysis)
    return cell


def _parse_value(kind: Kind, raw: object, analysis: TextAnalysis) -> _Cell:
    if is_empty(raw):
        return _EMPTY
    if kind in (Kind.PERSON_ID, Kind.CREDIT_CODE, Kind.PARTY_ID):
        text = to_text(raw)
        if kind is not Kind.CREDIT_CODE and (person := normalise_person_id(text)).value:
            return _Cell(person.value, person=person.value)
        if kind is not Kind.PERSON_ID and (company := normalise_credit_code(text)).value:
            return _Cell(company.value, company=company.value)
        # An invalid number in a non-key column stays as raw text and links nobody.
        return _Cell(clean_text(raw), "not a valid identity number")
    if kind in _TEXT_KINDS:
        cleaned = clean_name(raw) if kind is Kind.NAME else clean_text(raw)
        return _Cell(cleaned, simple=analysis.simplified(cleaned)) if cleaned else _EMPTY
    if kind is Kind.REGION:
        region = _region(to_text(raw))
        if isinstance(region, str):
            return _Cell(error=region)
        return _Cell(region[0], region=region)
    parsed = _PARSERS[kind](raw)  # SEALED has no parser: it never reaches here
    if parsed.error:
        return _Cell(error=parsed.error)
    value = parsed.value
    return _Cell(value.isoformat() if isinstance(value, date) else value)


def _parse_cell(column: Column, raw: object, acc: _Accumulator, path: str) -> object:
    """The indexed value of one cell (None when empty or unparseable); records its side parts."""
    cell = _cell(column.kind, raw, acc.analysis)
    if cell.error:
        acc.warn(column, raw, cell.error, path)
    if cell.person:
        acc.persons.append(cell.person)
    elif cell.company:
        acc.companies.append(cell.company)
    elif cell.region:
        acc.region = cell.region
    elif cell.simple is not None:
        original = str(cell.value)
        acc.text.append(cell.simple)
        if cell.simple != original:  # keep the original too: a traditional query finds it as well
            acc.text.append(original)
        if column.kind is Kind.NAME:
            acc.names.append(cell.simple)
            acc.written_names.append(original)
        elif column.kind is Kind.ORG_NAME:
            acc.orgs.append(cell.simple)
        elif column.kind is Kind.LONG_TEXT:
            acc.tokens.extend(acc.analysis.index_tokens(cell.simple))
    return cell.value


def _key_part(column: Column, raw: object) -> tuple[str | None, str | None]:
    """The normalised key value of a key column, or the reject reason."""
    if is_empty(raw):
        return None, f"missing key field {column.header}"
    if column.kind is Kind.PERSON_ID:
        result = normalise_person_id(to_text(raw))
    elif column.kind is Kind.CREDIT_CODE:
        result = normalise_credit_code(to_text(raw))
    elif column.kind is Kind.DATE:
        date_result = parse_date(raw)
        if date_result.error or date_result.value is None:
            return None, f"invalid key field {column.header}: {date_result.error}"
        return date_result.value.isoformat(), None
    elif column.kind is Kind.NAME:
        return clean_name(raw), None
    else:
        return clean_text(raw), None
    if result.error:
        return None, f"invalid key field {column.header}: {result.error}"
    return result.value, None


def _optional_key_part(column: Column, raw: object) -> str:
    """An optional key part (a holder's ID): normalised when valid, compact raw text otherwise."""
    if is_empty(raw):
        return ""
    text = to_text(raw)
    for result in (normalise_person_id(text), normalise_credit_code(text)):
        if result.value:
            return result.value
    return (clean_text(raw) or "").replace(" ", "")


def build_record(
    spec: SourceSpec, values: Mapping[str, object], analysis: TextAnalysis, file: str, line: int
) -> Built | Rejected:
    """Parse one row of ``spec`` into a document, or say why it cannot be indexed."""
    key_parts: list[str] = []
    for column in spec.key_columns:
        raw = values.get(column.header)
        if column.key:
            part, reason = _key_part(column, raw)
            if reason or part is None:
                return Rejected(reason or f"missing key field {column.header}")
            key_parts.append(part)
        else:
            key_parts.append(_optional_key_part(column, raw))
    key = "|".join(key_parts)

    acc = _Accumulator(analysis)
    doc: dict[str, Any] = {
        Envelope.SOURCE: str(spec.source),
        Envelope.RECORD_KEY: key,
        Envelope.FILE: file,
        Envelope.LINE: line,
    }
    sealed: dict[str, str] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for column in spec.columns:
        raw = values.get(column.header)
        if column.kind is Kind.SEALED:
            if not is_empty(raw):
                sealed[column.field] = to_text(raw)
            continue
        if column.group is not None:
            items = groups.setdefault(column.group, [])
            for i, part in enumerate(split_aligned(raw)):
                while len(items) <= i:
                    items.append({})
                value = _parse_cell(column, part, acc, f"{column.group}.{i}.{column.field}")
                if value is not None:
                    items[i][column.field] = value
            continue
        value = _parse_cell(column, raw, acc, column.field)
        if value is not None:
            doc[column.field] = value
    for group, items in groups.items():
        doc[group] = [item for item in items if item]

    extra = {
        header: to_text(raw)
        for header, raw in values.items()
        if header not in spec.by_header and not is_empty(raw)
    }
    if extra:
        doc[Envelope.EXTRA] = extra
    _add_envelope(spec, doc, acc)
    digest = doc[Envelope.CONTENT_DIGEST] = content_digest(doc)

    version = None
    if spec.version_field is not None:
        version_date = doc.get(spec.version_field)
        version = date.fromisoformat(version_date).toordinal() if version_date else 0
    words = list(dict.fromkeys([*acc.names, *acc.orgs]))
    return Built(document_id(spec, key), key, doc, version, acc.warnings, sealed, words, digest)


# Provenance differs between two exports of one unchanged record: not part of its content.
_PROVENANCE = frozenset({Envelope.FILE, Envelope.LINE})
CONTENT_DIGEST_BYTES = 16  # 128 bits: a collision between two versions of a record is moot


def content_digest(doc: Mapping[str, Any]) -> str:
    """BLAKE2b of the document's canonical JSON without its file and line: two ingests of an
    unchanged record give the same digest, so the sink can tell which records a run changed."""
    content = {k: v for k, v in doc.items() if k not in _PROVENANCE}
    canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=CONTENT_DIGEST_BYTES).hexdigest()


_NAME_FORMS: dict[tuple[str, str], tuple[str, str, str]] = {}


def _name_forms(simple: str, written: str, analysis: TextAnalysis) -> tuple[str, str, str]:
    """(without middle dot, pinyin, initials) of a name; names recur across registries."""
    forms = _NAME_FORMS.get((simple, written))
    if forms is None:
        forms = (
            name_without_dot(simple),
            analysis.pinyin_full(written),
            analysis.pinyin_initials(written),
        )
        if len(_NAME_FORMS) >= _CACHE_ENTRIES:
            _NAME_FORMS.clear()
        _NAME_FORMS[(simple, written)] = forms
    return forms


def _add_envelope(spec: SourceSpec, doc: dict[str, Any], acc: _Accumulator) -> None:
    analysis = acc.analysis
    if acc.persons:
        doc[Envelope.PERSONS] = sorted(set(acc.persons))
    if acc.companies:
        doc[Envelope.COMPANIES] = sorted(set(acc.companies))
    if acc.names:
        doc[Envelope.NAMES] = list(dict.fromkeys(acc.names))
        forms = [
            _name_forms(simple, written, analysis)
            for simple, written in zip(acc.names, acc.written_names, strict=True)
        ]
        doc[Envelope.NAMES_NODOT] = list(dict.fromkeys(f[0] for f in forms))
        doc[Envelope.NAMES_PINYIN] = list(dict.fromkeys(f[1] for f in forms))
        doc[Envelope.NAMES_INITIALS] = list(dict.fromkeys(f[2] for f in forms))
    if acc.orgs:
        doc[Envelope.ORGS] = list(dict.fromkeys(acc.orgs))
    region = acc.region
    if spec.region_from_credit_code and (code := doc.get(spec.region_from_credit_code)):
        derived = _region(str(code)[2:8])
        region = None if isinstance(derived, str) else derived
    if region is not None:
        _, prefixes, tier = region
        doc[Envelope.REGION_PREFIXES] = list(prefixes)
        doc[Envelope.TIER] = tier
    if spec.date_field and (record_date := doc.get(spec.date_field)):
        doc[Envelope.RECORD_DATE] = record_date
    if acc.text:
        doc[Envelope.ALL_TEXT] = acc.text
    if acc.tokens:
        doc[Envelope.ALL_TOKENS] = " ".join(acc.tokens)
    if acc.unparsed:
        doc[Envelope.UNPARSED] = acc.unparsed
    if acc.warnings:
        doc[Envelope.WARNINGS] = acc.warnings
