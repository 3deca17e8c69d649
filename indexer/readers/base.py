"""What every reader yields: a `RawRow` per record, or `DropError` for a wholly unreadable input.

Also the shared rendering of header names and of typed cells (XLSX, SQL) into the text a person
would see, so that the validators downstream treat every file type alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

# Excel shows a number of 1e15 or more in scientific notation, and a double cannot hold more
# than 15-16 significant digits: an 18-digit ID stored as a number has already lost digits.
SCIENTIFIC_FROM = 1e15
# Excel's "General" format shows 6 significant digits in scientific notation: 4.60102E+17.
_SCIENTIFIC_DIGITS = 5

# Lone surrogates U+DC80..U+DCFF are what the "surrogateescape" handler makes of bytes that do
# not decode; no properly decoded text contains them.
_UNDECODABLE_RE = re.compile("[\udc80-\udcff]")
_REPLACEMENT = "\ufffd"


class DropError(Exception):
    """A drop, file or table that cannot be read at all: no header, not an xlsx, bad manifest."""


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record as read, before any normalisation.

    `line` is the 1-based physical line where the record starts (CSV, JSONL), the sheet row
    number (XLSX) or the ordinal (SQL). `raw` is the record's original text (CSV, JSONL), or a
    JSON rendering of `values` (XLSX, SQL), so that a rejected row can be written out whole.
    `error` names a structural problem for which the row must be rejected; `values` then holds
    what could be read, possibly nothing.
    """

    file: str
    line: int
    values: dict[str, object]
    raw: str
    error: str | None = None


def clean_header_name(name: str) -> str:
    """A header name without BOM, zero-width or surrounding (half- or full-width) spaces."""
    return name.replace("\ufeff", "").replace("\u200b", "").strip()


def name_columns(names: Iterable[object]) -> list[str]:
    """Clean header names; name an unnamed column 第N列 and a repeated one 姓名#N (N its position).

    A repeated name would otherwise make one column overwrite another in the row dict.
    """
    result: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        text = clean_header_name("" if name is None else str(name))
        if not text:
            text = f"第{position}列"
        if text in seen:
            text = f"{text}#{position}"
        seen.add(text)
        result.append(text)
    return result


def has_undecodable(text: str) -> bool:
    """Whether text read with errors="surrogateescape" contained bytes that did not decode."""
    return _UNDECODABLE_RE.search(text) is not None


def replace_undecodable(text: str) -> str:
    """Text with each undecodable byte shown as U+FFFD, so it can be written out as UTF-8."""
    return _UNDECODABLE_RE.sub(_REPLACEMENT, text)


def render_number(value: float) -> str:
    """A number as a spreadsheet shows it: 46010600000039, 1234.5, or 4.60102E+17 from 1e15 on.

    Python ints are exact and keep all their digits; a float of 1e15 or more has lost digits
    and is rendered in scientific notation so that no ID validator can mistake it for an ID.
    """
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= SCIENTIFIC_FROM:
        mantissa, exponent = f"{value:.{_SCIENTIFIC_DIGITS}E}".split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
    if value.is_integer():
        return str(int(value))
    return f"{value:.15g}"


def render_cell(value: object) -> object:
    """A typed cell as text, except dates and datetimes, which stay typed for the date parser."""
    if value is None:
        return ""
    if isinstance(value, str | date):  # datetime is a date
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return render_number(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # exact, like an int: a NUMERIC column loses no digits
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _json_default(value: object) -> str:
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def render_raw(values: dict[str, object]) -> str:
    """The JSON text that stands for the original record of an XLSX or SQL row."""
    return json.dumps(values, ensure_ascii=False, default=_json_default)
