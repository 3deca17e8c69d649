"""Finding 公民身份号码 and phone numbers in any text, however they are written.

A number in free text may touch letters or Han characters (``ID420115195007030036``,
``TEL13912345678``, ``手机13912345678联系``), be written with full-width or other Unicode digits
(``４２０１…``), be split by spaces, hyphens, invisible characters or a highlighter's ``<em>``
tags (``4201 1519 5007 0300 36``, ``139-1234-5678``), end in ``x`` or ``X``, or sit inside a longer
run of digits. So no boundary is required around a number: the text is cut into *runs* (digits,
joined across at most ``MAX_JOIN`` separator characters; an ``X`` ends a run) and every window of
a run that has the shape of a number is examined.

Two questions are asked of a window, and the answers differ on purpose:

- ``find_identifiers`` (the detector tests use): is it a valid number? An 18-character ID whose
  GB 11643 check character matches, a 15-digit legacy ID whose birth date (YYMMDD) is a date, a
  mobile number (1[3-9] and 9 more digits).
- ``sensitive_spans`` (what masking and the log's pseudonyms hide): could it be one? All of the
  above, plus an 18-character window whose check character is wrong but whose birth date is a
  date (a number with a typo is still a person's number), plus a whole run that reads as a
  landline with its area code (0 + 9 to 11 digits). Overlapping windows merge into one span.

Every valid number lies inside a sensitive span, so hiding the spans hides every number. A
12-digit 行政区划代码 starting 13 to 19 has the shape of a mobile number followed by a digit and
is hidden too when it is written into free text; callers that log validated region codes pass
them as codes beside the text (search_api.desk, search_api.deps).

Pure and free of our other packages: query_logs validates usernames and case numbers with it, and
search_api masks responses and pseudonymises log entries with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# Separator characters that may sit between the digits of one number: whitespace, the hyphen
# and dash family, the underscore, the soft hyphen and the zero-width characters. Dots, slashes
# and commas are not: they join dates, amounts and IP addresses into false numbers.
_SEPARATOR = (
    r"(?:[\s_\-\u00ad\u2010-\u2015\u2212\ufe58\ufe63\uff0d\uff3f\u200b-\u200d\u2060\ufeff]"
    r"|</?em>)"
)
# At most this many separator units between two digits of one run ("139 - 1234 - 5678").
MAX_JOIN = 3
_CHECK_LETTERS = "Xx\uff38\uff58"  # X, x and their full-width forms
_RUN = re.compile(rf"\d(?:{_SEPARATOR}{{0,{MAX_JOIN}}}[\d{_CHECK_LETTERS}])*")
# Fewer digits than the shortest shape (a landline with area code) hold no number.
_MIN_DIGITS = 10
_DIGIT = re.compile(r"\d")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE_SECOND = frozenset("3456789")
_LANDLINE_DIGITS = (10, 12)  # 0 + a 2- or 3-digit area code + a 7- or 8-digit number
_EARLIEST_BIRTH_YEAR = 1900
_LATEST_BIRTH_YEAR = 2099


class IdentifierKind(StrEnum):
    """What a window of digits is read as, in order of precedence when windows overlap."""

    ID18 = "id18"
    ID15 = "id15"
    MOBILE = "mobile"
    LANDLINE = "landline"


@dataclass(frozen=True, slots=True)
class Identifier:
    """A number found in a text: ``value`` normalised (ASCII digits, upper-case ``X``, no
    separators); ``start``/``end`` index the text as written; ``valid`` as defined above."""

    kind: IdentifierKind
    value: str
    start: int
    end: int
    valid: bool


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of text to hide: ``digits`` are all the characters of the run inside it
    (normalised), ``primary`` the number it is shown as, starting at ``offset`` in ``digits``."""

    start: int
    end: int
    digits: str
    primary: Identifier
    offset: int


def id_check_char(body17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits of a 公民身份号码 (GB 11643)."""
    total = sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_date(digits: str) -> bool:
    """Whether YYYYMMDD (8 digits) or YYMMDD (6, read as 19YY) is a calendar date."""
    if len(digits) == 6:
        digits = "19" + digits
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    if not _EARLIEST_BIRTH_YEAR <= year <= _LATEST_BIRTH_YEAR:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _normalised(char: str) -> str:
    if char in _CHECK_LETTERS:
        return "X"
    return str(unicodedata.decimal(char))


def _runs(text: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """(normalised characters, their (start, end) in ``text``) of every run with enough digits;
    an X ends its run (it is only ever an ID's last character)."""
    runs: list[tuple[str, list[tuple[int, int]]]] = []
    for match in _RUN.finditer(text):
        chars: list[str] = []
        places: list[tuple[int, int]] = []
        for offset, char in enumerate(match.group(0)):
            if char.isdecimal() or char in _CHECK_LETTERS:
                at = match.start() + offset
                chars.append(_normalised(char))
                places.append((at, at + 1))
                if chars[-1] == "X":
                    runs.append(("".join(chars), places))
                    chars, places = [], []
        if chars:
            runs.append(("".join(chars), places))
    return [(chars, places) for chars, places in runs if len(chars) >= _MIN_DIGITS]


def _windows(run: str) -> list[tuple[int, Identifier]]:
    """Every window of ``run`` with the shape of a number, as (offset, identifier) with text
    positions still unset; ``valid`` says whether the detector counts it."""
    found: list[tuple[int, Identifier]] = []
    n = len(run)
    for i in range(n - 17):
        body = run[i : i + 17]
        if not body.isdigit():
            continue
        window = run[i : i + 18]
        valid = id_check_char(body) == window[17]
        if valid or is_date(window[6:14]):
            found.append((i, Identifier(IdentifierKind.ID18, window, 0, 0, valid)))
    for i in range(n - 14):
        window = run[i : i + 15]
        if window.isdigit() and is_date(window[6:12]):
            found.append((i, Identifier(IdentifierKind.ID15, window, 0, 0, True)))
    for i in range(n - 10):
        window = run[i : i + 11]
        if window[0] == "1" and window[1] in _MOBILE_SECOND and window.isdigit():
            found.append((i, Identifier(IdentifierKind.MOBILE, window, 0, 0, True)))
    low, high = _LANDLINE_DIGITS
    if low <= n <= high and run.isdigit() and run[0] == "0" and run[1] != "0":
        found.append((0, Identifier(IdentifierKind.LANDLINE, run, 0, 0, False)))
    return found


def _placed(ident: Identifier, offset: int, places: list[tuple[int, int]]) -> Identifier:
    start, end = places[offset][0], places[offset + len(ident.value) - 1][1]
    return Identifier(ident.kind, ident.value, start, end, ident.valid)


def _rank(ident: Identifier) -> tuple[int, int]:
    return (list(IdentifierKind).index(ident.kind), 0 if ident.valid else 1)


def has_digits_enough(text: str) -> bool:
    """A cheap first test: fewer than 10 digits in all of ``text`` hold no number."""
    return len(_DIGIT.findall(text)) >= _MIN_DIGITS


def find_identifiers(text: str) -> list[Identifier]:
    """Every valid ID (18 or 15 digits) and mobile number in ``text``, however written."""
    if not has_digits_enough(text):
        return []
    found = []
    for run, places in _runs(text):
        found += [_placed(i, o, places) for o, i in _windows(run) if i.valid]
    return found


def sensitive_spans(text: str) -> list[Span]:
    """The stretches of ``text`` that hold (or could hold) an ID or phone number, in order,
    overlapping windows merged; each names the number it is to be shown as."""
    if not has_digits_enough(text):
        return []
    spans: list[Span] = []
    for run, places in _runs(text):
        windows = sorted(_windows(run), key=lambda w: w[0])
        merged: list[list[tuple[int, Identifier]]] = []
        for offset, ident in windows:
            if merged and offset < max(o + len(i.value) for o, i in merged[-1]):
                merged[-1].append((offset, ident))
            else:
                merged.append([(offset, ident)])
        for group in merged:
            first = min(o for o, _ in group)
            last = max(o + len(i.value) for o, i in group)
            offset, primary = min(group, key=lambda w: (_rank(w[1]), w[0]))
            spans.append(
                Span(
                    places[first][0],
                    places[last - 1][1],
                    run[first:last],
                    _placed(primary, offset, places),
                    offset - first,
                )
            )
    return spans


def holds_identifier(text: str) -> bool:
    """Whether ``text`` holds anything that could be an ID or phone number (a sensitive span)."""
    return bool(sensitive_spans(text))
