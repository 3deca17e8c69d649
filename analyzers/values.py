"""Cell values of registry exports: empties, text, names, numbers, booleans, lists and phones.

Every parser is pure and total: a value it cannot read yields an error message, never an
exception, so a connector can index the row with the field left empty and the raw value kept
beside it. Error messages describe the problem without repeating the raw value, which may be an
ID number or sealed complainant data and ends up in run reports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from analyzers.ids import to_halfwidth

T = TypeVar("T")


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A parsed value or the reason there is none; both fields None means the cell was empty."""

    value: T | None = None
    error: str | None = None


# --- empties and text -------------------------------------------------------------------------

# Compared after full-width -> ASCII, stripping and lower-casing: （空） is (空), ＮＵＬＬ null.
_EMPTY_MARKERS = frozenset({"", "无", "-", "/", "null", "(空)"})
_LONGEST_MARKER = max(len(marker) for marker in _EMPTY_MARKERS)

# Floats from 2**53 up are not exact integers: an 18-digit ID number read as a float has lost
# digits, and must keep its scientific form so the ID parser refuses it.
_EXACT_FLOAT_LIMIT = 2**53

_NEWLINE_RE = re.compile("\r\n?|[\u2028\u2029]")
# C0/C1 control characters except tab and newline, plus zero-width characters and stray BOMs,
# which are invisible yet break exact matching ("张\u200b三").
_INVISIBLE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
_SPACES_RE = re.compile(r"\s+")


def is_empty(raw: object) -> bool:
    """Whether a cell means "no value": None, NaN, blank, or a placeholder (无 - / NULL （空）)."""
    if raw is None:
        return True
    if isinstance(raw, float):
        return math.isnan(raw)
    if isinstance(raw, Decimal):
        return raw.is_nan()
    if isinstance(raw, str):
        # str.strip also removes the ideographic space; no marker is longer than 4 characters,
        # so the common case (real text) returns without translating the whole value.
        stripped = raw.strip()
        if len(stripped) > _LONGEST_MARKER:
            return False
        return to_halfwidth(stripped).strip().lower() in _EMPTY_MARKERS
    return False


def to_text(raw: object) -> str:
    """The text of a cell as its source meant it; an integral spreadsheet float loses its ``.0``.

    Used to keep the raw value beside a parsed field and as the first step of every parser.
    """
    if isinstance(raw, str):
        return raw
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < _EXACT_FLOAT_LIMIT:
        return str(int(raw))
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw)


def clean_text(raw: object) -> str | None:
    """Text without surrounding spaces or control characters, None when empty.

    Newlines become ``\\n`` and tabs stay. HTML, scripts and SQL are data: nothing is escaped here.
    """
    if is_empty(raw):
        return None
    text = _INVISIBLE_RE.sub("", _NEWLINE_RE.sub("\n", to_text(raw))).strip()
    return None if is_empty(text) else text


# --- names ------------------------------------------------------------------------------------

MIDDLE_DOT = "\u00b7"
# Look-alikes of the middle dot in minority names: · • ・ ‧ ∙ ． ･ ⋅ ·
_DOT_VARIANTS_RE = re.compile("[\u00b7\u2022\u30fb\u2027\u2219\uff0e\uff65\u22c5\u0387]")
# Han ideographs including Extensions A to H and compatibility ideographs.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
_HAN_ASCII_DOT_RE = re.compile(rf"(?<=[{_HAN}])\s*\.\s*(?=[{_HAN}])")
_DOT_SPACES_RE = re.compile(r"\s*\u00b7\s*")
_HAN_GAP_RE = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")


def unify_dots(text: str) -> str:
    """Every middle-dot look-alike (and an ASCII dot between Han characters) as U+00B7."""
    return _DOT_VARIANTS_RE.sub(MIDDLE_DOT, _HAN_ASCII_DOT_RE.sub(MIDDLE_DOT, text))


def clean_name(raw: object) -> str | None:
    """A person's name as clean text with one middle dot form (U+00B7) and no padding spaces.

    Space runs collapse to one space and vanish between Han characters ("张　三" is 张三, padded
    to align with three-character names) and around the middle dot. Traditional characters stay.
    """
    text = clean_text(raw)
    if text is None:
        return None
    text = _SPACES_RE.sub(" ", unify_dots(text))
    return _HAN_GAP_RE.sub("", _DOT_SPACES_RE.sub(MIDDLE_DOT, text))


def name_without_dot(name: str) -> str:
    """A cleaned name with its middle dots removed, to match 阿依古丽买买提 with 阿依古丽·买买提."""
    return unify_dots(name).replace(MIDDLE_DOT, "")


# --- lists ------------------------------------------------------------------------------------


def split_aligned(raw: object, sep: str = "；;") -> list[str | None]:
    """Split a list cell on any character of ``sep``, keeping empty positions as None.

    Parallel columns (被反映人姓名, 被反映人证件号码, ...) stay aligned by position: "；460..."
    gives [None, "460..."]. An empty cell gives [] and the caller pads to the longest list.
    """
    if is_empty(raw):
        return []
    text = to_text(raw).translate({ord(char): sep[0] for char in sep})
    return [clean_text(part) for part in text.split(sep[0])]


# --- numbers ----------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+", re.ASCII)
_EXPONENT_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)e[+-]?\d+", re.ASCII)
# Matched after lower-casing; longer suffixes first so 万元 is not read as 万 + 元.
_CURRENCY_PREFIXES = ("￥", "¥", "rmb", "人民币")
_MONEY_SUFFIXES = ("万元", "元")
_PERCENT_SUFFIXES = ("%",)
_AREA_SUFFIXES = ("平方米", "平米", "㎡", "m²", "m2")


def _take_sign(text: str) -> tuple[str, str]:
    return (text[0], text[1:]) if text.startswith(("+", "-")) else ("", text)


def _parse_number(
    raw: object, what: str, prefixes: tuple[str, ...] = (), suffixes: tuple[str, ...] = ()
) -> Parsed[Decimal]:
    """The shared number reader: sign, thousands commas, optional unit prefix or suffix."""
    if is_empty(raw):
        return Parsed()
    if isinstance(raw, bool):
        return Parsed(error=f"{what} expected, got a boolean")
    if isinstance(raw, int | float | Decimal):
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        return Parsed(number) if number.is_finite() else Parsed(error=f"{what} is not finite")
    text = _SPACES_RE.sub("", to_halfwidth(to_text(raw))).lower().replace("\u2212", "-")
    sign, text = _take_sign(text)
    text = next((text[len(p) :] for p in prefixes if text.startswith(p)), text)
    if not sign:
        sign, text = _take_sign(text)
    text = next((text[: -len(s)] for s in suffixes if text.endswith(s)), text)
    if _EXPONENT_RE.fullmatch(text):
        return Parsed(error=f"{what} in scientific notation may have lost digits")
    if not _NUMBER_RE.fullmatch(text):
        return Parsed(error=f"malformed {what}")
    return Parsed(Decimal(sign + text.replace(",", "")))


def parse_decimal(raw: object) -> Parsed[Decimal]:
    """A plain number such as ``-1,234.5`` (full-width digits and punctuation accepted)."""
    return _parse_number(raw, "number")


def parse_money(raw: object) -> Parsed[Decimal]:
    """An amount like ``￥1,234.50`` or ``1234.5元``, in the unit its column names.

    A ``万元`` suffix is dropped, not scaled: the column header (注册资本(万元)) says the unit.
    """
    return _parse_number(raw, "amount", _CURRENCY_PREFIXES, _MONEY_SUFFIXES)


def parse_percent(raw: object) -> Parsed[Decimal]:
    """A percentage as written, ``45``, ``45%`` or ``45.5％`` -> 45 / 45.5; never rescaled.

    ``0.455`` stays 0.455: whether it meant a fraction cannot be known from one cell.
    """
    return _parse_number(raw, "percentage", suffixes=_PERCENT_SUFFIXES)


def parse_area(raw: object) -> Parsed[Decimal]:
    """A floor area in square metres, with or without ``㎡``/``平方米``; negative is an error."""
    parsed = _parse_number(raw, "area", suffixes=_AREA_SUFFIXES)
    if parsed.value is not None and parsed.value < 0:
        return Parsed(error="area is negative")
    return parsed


# --- booleans and phones ----------------------------------------------------------------------

# 有 is not here: its opposite 无 is an empty marker, so 有/无 cannot be read as a yes/no pair.
_BOOLEANS: Mapping[str, bool] = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
}
# E.164 numbers have at most 15 digits; more means several numbers were run together.
_PHONE_MAX_DIGITS = 15


def parse_bool(raw: object) -> Parsed[bool]:
    """A yes/no cell: 是/否, Y/N, yes/no, 1/0, true/false in any case or width."""
    if is_empty(raw):
        return Parsed()
    if isinstance(raw, bool):
        return Parsed(raw)
    flag = _BOOLEANS.get(to_halfwidth(to_text(raw)).strip().lower())
    return Parsed(error="not a yes/no value") if flag is None else Parsed(flag)


def parse_phone(raw: object) -> Parsed[str]:
    """A phone number as its digits, keeping a leading ``+``: 0898-66123456 -> 089866123456.

    Deliberately lenient (landlines, mobiles, extensions, labels); only a value without digits
    or with more digits than any single number has is refused.
    """
    if is_empty(raw):
        return Parsed()
    text = to_halfwidth(to_text(raw)).strip()
    digits = "".join(char for char in text if "0" <= char <= "9")
    if not digits:
        return Parsed(error="phone number has no digits")
    if len(digits) > _PHONE_MAX_DIGITS:
        return Parsed(error=f"phone number has more than {_PHONE_MAX_DIGITS} digits")
    return Parsed(("+" if text.startswith("+") else "") + digits)
