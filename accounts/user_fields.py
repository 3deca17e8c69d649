"""Validation of an account's fields: username, jurisdiction, own 公民身份号码, display name.

query_logs imports none of ``analyzers``, so the few rules needed here are written out locally
and kept minimal: a format check, not a parser of registry data.
"""

from __future__ import annotations

import re
import unicodedata

from analyzers.identifiers import holds_identifier
from common.errors import InvalidInputError

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MAX_DISPLAY_NAME = 64
# Where each level of a 行政区划代码 ends: province, city, county, township, village.
JURISDICTION_LENGTHS = (2, 4, 6, 9, 12)
_ID_PATTERN = re.compile(r"\d{17}[\dX]")
_ID_CHECK_CHARS = "10X98765432"
_IDENTIFIER_LIKE = re.compile(
    r"\d{11,}|\d{17}x"
)  # GB 11643: check character by weighted sum mod 11


def _fold(raw: str) -> str:
    """Full-width digits and letters to ASCII, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", raw).strip()


def normalise_username(raw: str) -> str:
    """The stored form: lower-case ASCII letters, digits, '.', '_' and '-', 2 to 64 characters.

    Case is folded so that 'Zhang' and 'zhang' cannot be two accounts.
    """
    name = _fold(raw).lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidInputError(
            "a username has 2 to 64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if _IDENTIFIER_LIKE.search(name) or holds_identifier(name):
        # Usernames are written in full into every log entry; the log must not hold ID or
        # phone numbers.
        raise InvalidInputError("a username must not contain an ID or phone number")
    return name


def parse_jurisdiction(raw: str) -> str:
    """A 行政区划代码 prefix of 2, 4, 6, 9 or 12 digits whose last level is not all zeros.

    A zero-padded code such as 460100 is refused with the prefix to use instead (4601): as a
    prefix it would match no record below the city, which is never what is meant.
    """
    code = _fold(raw)
    if not code:
        raise InvalidInputError("a jurisdiction (行政区划代码 prefix) is required")
    if not (code.isascii() and code.isdigit()):
        raise InvalidInputError(f"jurisdiction {code!r} must contain only digits")
    if len(code) not in JURISDICTION_LENGTHS:
        raise InvalidInputError(
            f"jurisdiction {code!r} must have 2, 4, 6, 9 or 12 digits, not {len(code)}"
        )
    if code[0] not in "12345678":  # GB/T 2260's first digit: the region, 1 华北 to 8 港澳
        raise InvalidInputError(f"jurisdiction {code!r} does not start with a province code")
    start = JURISDICTION_LENGTHS[JURISDICTION_LENGTHS.index(len(code)) - 1] if len(code) > 2 else 0
    if not code[start:].strip("0"):
        significant = code[:start].rstrip("0")
        while significant and len(significant) not in JURISDICTION_LENGTHS:
            significant += "0"
        raise InvalidInputError(
            f"jurisdiction {code!r} ends in an all-zero level; write its prefix {significant!r}"
        )
    return code


def jurisdiction_covers(jurisdiction: str, region_prefix: str) -> bool:
    """True when a region (code or prefix) lies inside the jurisdiction."""
    return region_prefix.startswith(jurisdiction)


def parse_id_number(raw: str) -> str:
    """An 18-character 公民身份号码: 17 digits and a matching check character (X upper-case)."""
    number = _fold(raw).upper().replace(" ", "")
    if not _ID_PATTERN.fullmatch(number):
        raise InvalidInputError("an ID number has 17 digits and a check digit or X")
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(number[:17]))
    if _ID_CHECK_CHARS[total % 11] != number[17]:
        raise InvalidInputError("the ID number's check character does not match")
    return number


def normalise_display_name(raw: str | None) -> str | None:
    """A person's name as shown to others; empty means none."""
    if raw is None or not (name := unicodedata.normalize("NFC", raw).strip()):
        return None
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInputError(f"a display name has at most {MAX_DISPLAY_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInputError("a display name cannot contain control characters")
    return name
