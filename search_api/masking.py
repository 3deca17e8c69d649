"""The one masking rule every response of registry data goes through, and the log's pseudonyms.

The rule (with unmasking off) is chosen so that no combination of the fields a response returns
together rebuilds a number: a reader must be left with at least 10,000 candidates.

- **公民身份号码**: only the region (first 6 digits) is shown: ``420102************``. An 18-digit
  number is region (6) + birth date (8) + sequence (3, the last digit's parity is the gender) +
  check character (1, fixed by the other 17). With the region shown and the gender returned beside
  it, a full birth date would leave 500 candidates, whatever else the mask hides; so the birth
  date itself is coarsened.
- **Birth dates** are shown to the month (``1950-07``) while numbers are masked: at least 28 days
  × 500 sequence numbers of one gender = 14,000 candidates. No day, no age, no check character,
  no sequence digit is ever shown. A 15-digit legacy number (region + YYMMDD + sequence, no check
  character) is masked the same way: ``420102*********`` (15,000 candidates and more).
- **Phone numbers** keep their first 3 and last 4 digits, and at least 4 digits are always hidden
  (``139****5678``: 10,000 candidates; a shorter number shows fewer digits, never more than all
  but 4).
- **Record ids**: the engine's document ids are unkeyed hashes of natural keys that hold ID
  numbers (a household record's key *is* the number), so a reader could test candidates against
  them. Responses carry keyed pseudonyms of them instead (search_api.handles); persons get an
  opaque handle to name them in an application.

Fields are chosen by their kind in the source definitions (``mask_id`` for ID kinds,
``mask_phone`` for phones, ``mask_birth_date`` for birth dates); every free-text value (prose
kinds, names, units, posts, ``orgs``, ``extra``, ``unparsed``, facet values, ledger cells, graph
names and evidence, error messages: ``shown_text``) goes through ``mask_text``, which finds
numbers by their shape however they are written (touching letters or Han characters, full-width,
spaced, inside longer digit runs: analyzers.identifiers) and masks each by the same functions;
a highlight fragment also hides a run of digits at its edges (``mask_fragment``). Only an
application that grants unmasking sees numbers and birth dates whole.

The log never holds a number at all, masked or not, whatever the application: ``protect_
identifiers`` replaces every number in what is logged by its pseudonym (the masked form plus a
keyed tag, so an auditor can match two look-ups of one person without the log holding it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

from analyzers.identifiers import (
    IdentifierKind,
    Span,
    has_digits_enough,
    id_check_char,
    sensitive_spans,
)
from registry.fields import ColumnField, Envelope
from registry.sources import Kind, SourceSpec

MASK = "*"
# Shown characters: the region of an ID number; the head and tail of a phone number; at least
# this many digits of a phone number are hidden whatever its length.
ID_SHOWN = 6
PHONE_HEAD, PHONE_TAIL, PHONE_HIDDEN_MIN = 3, 4, 4
_ID_KINDS = frozenset({Kind.PERSON_ID, Kind.PARTY_ID})
_TEXT_KINDS = frozenset({Kind.TEXT, Kind.LONG_TEXT, Kind.ORG_NAME, Kind.NAME})
# Fields (in any source, envelope or group) that hold a person's birth date.
BIRTH_DATE_FIELDS = frozenset({ColumnField.BIRTH_DATE})
# Keys of unknown columns (``extra``) that name a birth date.
_BIRTH_WORDS = ("出生", "生日", "birth")
# Envelope fields that hold ID numbers.
_ID_LISTS = (Envelope.PERSONS,)
# Fields without a kind that may hold numbers in text: `extra` (columns the export added, such
# as a 备注 with a phone number in it), `orgs` and `names` (as written), `unparsed` (raw values
# that did not parse) and `warnings`.
_FREE_FIELDS = (Envelope.EXTRA, Envelope.ORGS, Envelope.NAMES, Envelope.UNPARSED, Envelope.WARNINGS)
_YEAR_MONTH = re.compile(r"(1[89]\d\d|20\d\d)\D{0,3}?(0?[1-9]|1[0-2])(?!\d)")
_ID_SHAPE = re.compile(r"\d{17}[\dX]|\d{15}")
_DIGIT_OR_X = re.compile(r"[\dxX\uff38\uff58]")
# Tags of pseudonyms: hex, chosen so that they hold no number and end in a letter (a digit after
# them in the text could otherwise join their last digits into one).
_TAG_CHARS = 16
_TAG_TRIES = 64


def _compact(value: str) -> str:
    return "".join(
        c for c in value.translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}).upper()
        if not c.isspace() and c not in "-‐‑–—"
    )  # fmt: skip


def mask_id(value: str) -> str:
    """420102195007030036 -> 420102************ (15 digits: 420102*********); anything else
    given as an ID number is masked whole."""
    compact = _compact(value)
    if _ID_SHAPE.fullmatch(compact):
        return compact[:ID_SHOWN] + MASK * (len(compact) - ID_SHOWN)
    return MASK * len(compact)


def mask_phone(value: str) -> str:
    """13912345678 -> 139****5678: the head and tail, and always at least 4 digits hidden."""
    sign = "+" if value.strip().startswith("+") else ""
    digits = "".join(c for c in _compact(value) if c.isdigit())
    tail = min(PHONE_TAIL, max(0, len(digits) - PHONE_HIDDEN_MIN))
    head = min(PHONE_HEAD, max(0, len(digits) - PHONE_HIDDEN_MIN - tail))
    hidden = len(digits) - head - tail
    return sign + digits[:head] + MASK * hidden + digits[len(digits) - tail :]


def mask_birth_date(value: str) -> str:
    """1950-07-03 (or 1950年7月3日, 19500703) -> 1950-07; a value without a year and month is
    masked whole."""
    text = _compact(value)
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}"
    match = _YEAR_MONTH.search(text)
    if match is None:
        return MASK * len(value)
    return f"{match.group(1)}-{int(match.group(2)):02d}"


def _shown(span: Span) -> str:
    """How a sensitive span reads in a masked response."""
    primary, before = span.primary, span.offset
    after = len(span.digits) - before - len(primary.value)
    if primary.kind in (IdentifierKind.ID18, IdentifierKind.ID15):
        masked = mask_id(primary.value) if before == 0 else MASK * len(primary.value)
    else:
        masked = mask_phone(primary.value)
    return MASK * before + masked + MASK * after


def _replace(text: str, spans: list[Span], shown: Callable[[Span], str]) -> str:
    parts, at = [], 0
    for span in spans:
        parts += [text[at : span.start], _balanced(text[span.start : span.end], shown(span))]
        at = span.end
    parts.append(text[at:])
    return "".join(parts)


def _balanced(original: str, replacement: str) -> str:
    """``replacement`` with the highlighter's tags that ``original`` opened or closed kept, so
    that a masked number does not leave a highlight open."""
    opened, closed = original.count("<em>"), original.count("</em>")
    if closed > opened:
        return replacement + "</em>" * (closed - opened)
    return "<em>" * (opened - closed) + replacement


def mask_text(value: str) -> str:
    """Free text (petition content, an address, a unit name) with every ID or phone number in
    it masked, however it is written: the kinds of the source definitions cannot say where a
    number sits in prose."""
    if not has_digits_enough(value):
        return value
    return _replace(value, sensitive_spans(value), _shown)


def shown_text(value: str | None, unmask: bool) -> str | None:
    """A free-text value (a name, a unit, a post) as a response shows it: masked by shape unless
    the application unmasks."""
    return value if value is None or unmask else mask_text(value)


def shown_texts(values: list[str], unmask: bool) -> list[str]:
    return values if unmask else [mask_text(v) for v in values]


def shown_id(value: str | None, unmask: bool) -> str | None:
    """An ID number as a response shows it: its region only unless the application unmasks."""
    return value if value is None or unmask else mask_id(value)


def shown_birth_date(value: str | None, unmask: bool) -> str | None:
    """A birth date as a response shows it: to the month unless the application unmasks."""
    return value if value is None or unmask else mask_birth_date(value)


# A run of digits (with the separators and tags a number may hold) touching either end of a
# fragment, past any punctuation or highlight tags.
_EDGE_GAP = r"(?:</?em>|[\W_])*?"
_RUN_CHAR = r"(?:</?em>|[\d\s\-_xX\uff38\uff58*])"
_EDGE_RUN = re.compile(rf"^{_EDGE_GAP}\d{_RUN_CHAR}*|\d{_RUN_CHAR}*{_EDGE_GAP}$")


def mask_fragment(value: str) -> str:
    """A highlight fragment: masked as text, and a run of digits at either edge starred whole.

    The engine cuts fragments out of longer text, possibly inside a number written with spaces;
    the part left at the edge (the tail of a number: its check character) is not a number by
    its shape, so it is hidden for being at the edge."""
    masked = mask_text(value)
    return _EDGE_RUN.sub(lambda m: _DIGIT_OR_X.sub(MASK, m.group(0)), masked)


def _mask_field(kind: Kind, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if kind in _ID_KINDS:
        return mask_id(value)
    if kind is Kind.PHONE:
        return mask_phone(value)
    if kind in _TEXT_KINDS:  # a number written into an address, a post or a petition's text
        return mask_text(value)
    return value


def _mask_value(name: str, kind: Kind | None, value: Any, companies: list[str]) -> Any:
    if name in BIRTH_DATE_FIELDS and isinstance(value, str):
        return mask_birth_date(value)
    if kind is Kind.PARTY_ID and value in companies:  # a corporate holder's credit code
        return value
    return value if kind is None else _mask_field(kind, value)


def mask_record(spec: SourceSpec, record: dict[str, Any], *, unmask: bool) -> dict[str, Any]:
    """A copy of ``record`` with ID and phone fields masked, birth dates cut to the month and
    numbers in free text masked, unless ``unmask``."""
    if unmask:
        return dict(record)
    kinds = {c.field: c.kind for c in spec.columns if c.group is None}
    group_kinds = {c.field: c.kind for c in spec.columns if c.group is not None}
    companies = [str(c) for c in record.get(Envelope.COMPANIES, [])]
    masked: dict[str, Any] = {}
    for name, value in record.items():
        if name in _ID_LISTS and isinstance(value, list):
            masked[name] = [mask_id(str(v)) for v in value]
        elif name == Envelope.UNPARSED and isinstance(value, dict):
            masked[name] = {k: _mask_unparsed(k, v, kinds | group_kinds) for k, v in value.items()}
        elif name in kinds or name in BIRTH_DATE_FIELDS:
            masked[name] = _mask_value(name, kinds.get(name), value, companies)
        elif name in _FREE_FIELDS:  # unknown columns and the envelope's names: by shape
            masked[name] = _mask_free(value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):  # reported persons
            masked[name] = [
                {k: _mask_value(k, group_kinds.get(k), v, companies) for k, v in item.items()}
                for item in value
            ]
        else:
            masked[name] = value
    return masked


def _mask_unparsed(path: str, raw: Any, kinds: dict[str, Kind]) -> Any:
    """A raw value kept because it did not parse: an ID, phone or birth date field's is hidden
    whole (a damaged number is still most of a number), any other by shape."""
    field = path.rpartition(".")[2]
    if field in BIRTH_DATE_FIELDS or kinds.get(field) in (*_ID_KINDS, Kind.PHONE):
        return MASK * len(str(raw))
    return _mask_free(raw)


def _names_birth_date(key: str) -> bool:
    return any(word in key.lower() for word in _BIRTH_WORDS)


def _mask_free(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {
            k: mask_birth_date(v) if _names_birth_date(k) and isinstance(v, str) else _mask_free(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_free(v) for v in value]
    return value


def canonical_number(value: str) -> str:
    """The form a number is tagged by: a 15-digit ID as its 18-digit form, upper-case X."""
    compact = _compact(value)
    if len(compact) == 15 and compact.isdigit():
        body = compact[:6] + "19" + compact[6:]
        return body + id_check_char(body)
    return compact


def _tag(key: bytes, value: str) -> str:
    """The first hex tag of ``value`` that holds no number and ends in a letter (deterministic:
    the same key and number always give the same tag)."""
    tag = ""
    for attempt in range(_TAG_TRIES):
        message = value.encode() if attempt == 0 else f"{value}|{attempt}".encode()
        tag = hmac.new(key, message, hashlib.sha256).hexdigest()[:_TAG_CHARS]
        if tag[-1] in "abcdef" and not sensitive_spans(tag):
            return tag
    return re.sub(r"\d", "a", tag)  # pragma: no cover - 64 unlucky draws in a row


def pseudonym(value: str, key: bytes) -> str:
    """A log-safe stand-in for an ID or phone number: masked, plus a keyed tag that lets an
    auditor match look-ups of the same person (or of oneself) without the log holding it."""
    number = canonical_number(value)
    masked = mask_id(number) if _ID_SHAPE.fullmatch(number) else mask_phone(number)
    return f"{masked}~{_tag(key, number)}"


def _protect_text(text: str, key: bytes) -> str:
    if not has_digits_enough(text):
        return text
    return _replace(
        text,
        sensitive_spans(text),
        lambda s: (
            MASK * s.offset
            + pseudonym(s.primary.value, key)
            + MASK * (len(s.digits) - s.offset - len(s.primary.value))
        ),
    )


def protect_identifiers(value: Any, key: bytes) -> Any:
    """``value`` with every ID or phone number inside it (in any string, key or number, at any
    depth) replaced by its pseudonym."""
    if isinstance(value, str):
        return _protect_text(value, key)
    if isinstance(value, dict):
        return {protect_identifiers(k, key): protect_identifiers(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [protect_identifiers(v, key) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
        return _protect_text(text, key) if sensitive_spans(text) else value
    return value
