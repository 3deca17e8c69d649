"""Dates and 所属期 periods as registry exports write them, including Excel serial day numbers.

Like every parser in ``analyzers.values`` these are total: a bad value yields ``Parsed.error``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from analyzers.ids import to_halfwidth
from analyzers.values import Parsed, is_empty, to_text

# Plausible years for registry records: the oldest birth dates in 户籍 data are from the 1880s;
# anything outside is a typo or a misread serial number.
MIN_YEAR = 1880
MAX_YEAR = 2100

# Excel's 1900 date system: serial 1 is 1900-01-01, and serial 60 is the 1900-02-29 that Excel
# invents (Lotus 1-2-3 compatibility), so serials from 61 on count from 1899-12-30.
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_PHANTOM_LEAP_DAY = 60
_EXCEL_MAX_SERIAL = 80000  # 2119-01-10, beyond MAX_YEAR: larger numbers are not dates

_TIME = r"(?:(?:\s+|T)(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:\.\d{1,6})?)?)?"
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME, re.ASCII),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日?" + _TIME, re.ASCII),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})", re.ASCII),
)
_SERIAL_RE = re.compile(r"(?P<day>\d{1,5})(?:\.\d+)?", re.ASCII)
_PERIOD_PATTERNS = (
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})", re.ASCII),
    re.compile(r"(?P<y>\d{4})[-/](?P<m>\d{1,2})", re.ASCII),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月?", re.ASCII),
)


def _normalise(raw: object) -> str:
    """ASCII digits and punctuation, single ASCII spaces (full-width ones included), stripped."""
    return " ".join(to_halfwidth(to_text(raw)).split())


def _year_error(year: int) -> Parsed[date]:
    return Parsed(error=f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")


def _checked(value: date) -> Parsed[date]:
    return Parsed(value) if MIN_YEAR <= value.year <= MAX_YEAR else _year_error(value.year)


def _make_date(year: int, month: int, day: int) -> Parsed[date]:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return _year_error(year)
    if not 1 <= month <= 12:
        return Parsed(error=f"month {month} is out of range")
    try:
        return Parsed(date(year, month, day))
    except ValueError:
        return Parsed(error=f"day {day} does not exist in {year:04d}-{month:02d}")


def _date_from_match(match: re.Match[str]) -> Parsed[date]:
    parts = match.groupdict()
    hour, minute, second = (int(parts.get(key) or 0) for key in ("hh", "mi", "ss"))
    if hour > 23 or minute > 59 or second > 59:
        return Parsed(error="time of day is out of range")
    return _make_date(int(parts["y"]), int(parts["m"]), int(parts["d"]))


def _date_from_serial(text: str, day: int) -> Parsed[date]:
    if text.isdigit() and MIN_YEAR <= day <= MAX_YEAR:
        return Parsed(error="a year alone is not a date")
    if not 1 <= day <= _EXCEL_MAX_SERIAL:
        return Parsed(error=f"Excel serial {day} is outside 1..{_EXCEL_MAX_SERIAL}")
    if day == _EXCEL_PHANTOM_LEAP_DAY:
        return Parsed(error="Excel serial 60 is 1900-02-29, a day that does not exist")
    offset = day if day > _EXCEL_PHANTOM_LEAP_DAY else day + 1
    return _checked(_EXCEL_EPOCH + timedelta(days=offset))


def parse_date(raw: object) -> Parsed[date]:
    """A calendar date from any form the registries use; a time of day is validated, then dropped.

    Accepts ``2019-03-05``, ``2019/3/5``, ``2019.3.5``, ``20190305``, ``2019年3月5日``, each with
    an optional ``14:22:10``; full-width digits; ``date``/``datetime`` objects; and Excel serial
    numbers (1..80000, as numbers or digit strings). A bare year such as ``2019`` is refused
    rather than read as serial 2019 (1905-07-11).
    """
    if is_empty(raw):
        return Parsed()
    if isinstance(raw, date):  # also datetime, whose time of day is dropped
        return _checked(date(raw.year, raw.month, raw.day))
    text = _normalise(raw)
    for pattern in _DATE_PATTERNS:
        if match := pattern.fullmatch(text):
            return _date_from_match(match)
    if match := _SERIAL_RE.fullmatch(text):
        return _date_from_serial(text, int(match["day"]))
    return Parsed(error="not a recognised date format")


def parse_period(raw: object) -> Parsed[str]:
    """A 所属期 month, ``202405`` (also ``2024-05``, ``2024/5``, ``2024年5月``) -> ``2024-05``."""
    if is_empty(raw):
        return Parsed()
    if isinstance(raw, date):
        year, month = raw.year, raw.month
    else:
        text = _normalise(raw)
        match = next((m for p in _PERIOD_PATTERNS if (m := p.fullmatch(text))), None)
        if match is None:
            return Parsed(error="not a YYYYMM period")
        year, month = int(match["y"]), int(match["m"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return Parsed(error=f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")
    if not 1 <= month <= 12:
        return Parsed(error=f"month {month} is out of range")
    return Parsed(f"{year:04d}-{month:02d}")
