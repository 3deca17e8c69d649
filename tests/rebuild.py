"""The rebuild check: how many valid numbers fit everything a response returns together.

For every masked number in a response (an ID or a phone number with some characters starred) the
checker counts the valid numbers a reader could still hold for it, using all of what the response
returns: the digits shown, the birth date hints (any ``birth_date`` / 出生… field, at whatever
precision it is shown), the gender hints (any ``gender`` / 性别 field), the region, and the GB 11643
structure (region, a real birth date between 1900 and today, a sequence number whose parity is
the gender, a check character fixed by the rest). A hint is applied to every masked number of the
response, whoever it belongs to: the reader may link them, the count may only be smaller.

It also refuses, outright, any full valid number in the response (``find_identifiers``) and any of
``engine_ids`` (document ids the engine derives from natural keys that hold numbers: a reader
could hash candidates and compare).

Any route can call ``assert_not_rebuildable`` on its response (JSON, CSV or GraphML text). A JSON
response is read as its keys, strings and integers: a float's digits (a score, a similarity) are
not a number anyone wrote, and its long digit runs would read as phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from analyzers.identifiers import find_identifiers

MINIMUM = 10_000
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_MASKED = re.compile(r"(?<![0-9Xx*])[0-9Xx*]*\*[0-9Xx*]*(?![0-9Xx*])")
_BIRTH_KEYS = ("birth", "出生", "生日")
_GENDER_KEYS = ("gender", "性别")
_HINT = re.compile(r"(\d{4})(?:\D{0,3}(\d{1,2}))?(?:\D{0,3}(\d{1,2}))?")
_EARLIEST = date(1900, 1, 1)
_DECIMAL = re.compile(r"\d+\.\d+(?:[eE][-+]?\d+)?")


@dataclass(frozen=True, slots=True)
class BirthHint:
    """What a response says about a birth date: a year, and maybe a month and a day."""

    year: int
    month: int | None = None
    day: int | None = None


@dataclass(frozen=True, slots=True)
class Exposure:
    """A masked number in a response and how many valid numbers fit it at the least."""

    masked: str
    kind: str  # id18, id15 or phone
    candidates: int


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def visible_text(body: Any) -> str:
    """What a reader finds in a JSON body: keys, strings and integers, each apart."""
    parts: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                parts.append(str(k))
                add(v)
        elif isinstance(value, list):
            for item in value:
                add(item)
        elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            parts.append(str(value))

    add(body)
    return " | ".join(parts)  # "|" keeps two values' digits apart (a newline would join them)


def plain_text(text: str) -> str:
    """A CSV or GraphML text without its decimal numbers (scores, strengths, percentages)."""
    return _DECIMAL.sub(" ", text)


def _read(body: Any, text: str | None) -> str:
    return visible_text(body) if text is None else plain_text(text)


def birth_hints(body: Any) -> set[BirthHint]:
    """Every birth date the response shows, at the precision it shows it."""
    hints = set()
    for key, value in _walk(body):
        if not isinstance(value, str) or not any(word in key.lower() for word in _BIRTH_KEYS):
            continue
        if match := _HINT.search(value):
            year, month, day = match.groups()
            hints.add(
                BirthHint(int(year), int(month) if month else None, int(day) if day else None)
            )
    return hints


def gender_hints(body: Any) -> set[str]:
    return {
        str(value)
        for key, value in _walk(body)
        if any(word in key.lower() for word in _GENDER_KEYS) and value in ("男", "女")
    }


@cache
def _all_dates() -> tuple[date, ...]:
    days = (date.today() - _EARLIEST).days + 1
    return tuple(_EARLIEST + timedelta(days=i) for i in range(days))


def _dates(shown: str, hint: BirthHint | None, digits: int) -> list[str]:
    """Birth dates (as ``digits`` characters: 8 YYYYMMDD, 6 YYMMDD of 19YY) fitting the shown
    characters and the hint."""
    found = []
    for d in _all_dates():
        if digits == 6 and d.year > 1999:
            break
        if hint is not None and (
            d.year != hint.year
            or (hint.month is not None and d.month != hint.month)
            or (hint.day is not None and d.day != hint.day)
        ):
            continue
        text = d.strftime("%Y%m%d")[8 - digits :]
        if all(s in ("*", c) for s, c in zip(shown, text, strict=True)):
            found.append(text)
    return found


def _sequences(shown: str, gender: str | None) -> list[str]:
    found = []
    for n in range(1000):
        text = f"{n:03d}"
        if not all(s in ("*", c) for s, c in zip(shown, text, strict=True)):
            continue
        if gender is not None and (int(text[2]) % 2 == 1) != (gender == "男"):
            continue
        found.append(text)
    return found


def _weighted(text: str, start: int) -> int:
    return sum(int(c) * _WEIGHTS[start + i] for i, c in enumerate(text))


def count_id18(masked: str, hint: BirthHint | None, gender: str | None) -> int:
    """Valid 18-character numbers fitting ``masked`` (``*`` hidden), a birth hint and a gender."""
    region, born, sequence, check = masked[:6], masked[6:14], masked[14:17], masked[17].upper()
    hidden_region = region.count("*")
    dates = _dates(born, hint, 8)
    sequences = _sequences(sequence, gender)
    if check == "*":
        return 10**hidden_region * len(dates) * len(sequences)
    if hidden_region:  # the check character spreads evenly over the hidden region digits
        return 10**hidden_region * len(dates) * len(sequences) // 11
    by_residue = [0] * 11
    for s in sequences:
        by_residue[_weighted(s, 14) % 11] += 1
    target = _CHECK.index(check)
    base = _weighted(region, 0)
    return sum(by_residue[(target - base - _weighted(d, 6)) % 11] for d in dates)


def count_id15(masked: str, hint: BirthHint | None, gender: str | None) -> int:
    hidden_region = masked[:6].count("*")
    dates = _dates(masked[6:12], hint, 6)
    return 10**hidden_region * len(dates) * len(_sequences(masked[12:15], gender))


def count_phone(masked: str) -> int:
    return 10 ** masked.count("*")


def exposures(body: Any, text: str | None = None) -> list[Exposure]:
    """Every masked number in a response (parsed JSON ``body``, or ``text``) with its count."""
    text = _read(body, text)
    hints: list[BirthHint | None] = [*birth_hints(body), None]
    genders: list[str | None] = [*gender_hints(body), None]
    found = []
    for match in _MASKED.finditer(text):
        masked = match.group(0)
        if not any(c.isdigit() for c in masked):
            continue  # all hidden: nothing is shown
        if len(masked) == 18:
            count = min(count_id18(masked, h, g) for h in hints for g in genders)
            found.append(Exposure(masked, "id18", count))
        elif len(masked) == 15:
            count = min(count_id15(masked, h, g) for h in hints for g in genders)
            found.append(Exposure(masked, "id15", min(count, count_phone(masked))))
        else:
            found.append(Exposure(masked, "phone", count_phone(masked)))
    return found


def assert_not_rebuildable(
    body: Any,
    *,
    text: str | None = None,
    allowed: Collection[str] = (),
    engine_ids: Collection[str] = (),
    minimum: int = MINIMUM,
) -> list[Exposure]:
    """Fail when a masked number in the response leaves fewer than ``minimum`` candidates,
    when a full valid number is in it (``allowed`` values, such as companies' credit codes, are
    taken out first), or when an engine id is; returns the exposures checked. ``text`` is the
    response as read when it is not JSON."""
    checked = exposures(body, text)
    read = _read(body, text)
    weak = [e for e in checked if e.candidates < minimum]
    assert not weak, f"masked numbers with fewer than {minimum} candidates: {weak[:5]}"
    full = full_numbers(read, allowed)
    assert not full, f"full numbers in the response: {full[:5]}"
    leaked = [i for i in engine_ids if i in read]
    assert not leaked, f"engine document ids in the response: {leaked[:5]}"
    return checked


def full_numbers(text: str, allowed: Collection[str] = ()) -> list[str]:
    """The valid numbers in ``text`` once the ``allowed`` values are taken out."""
    for value in sorted(allowed, key=len, reverse=True):
        text = text.replace(value, "#")
    return [i.value for i in find_identifiers(text)]
