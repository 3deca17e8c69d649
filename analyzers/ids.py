"""Identity numbers: 公民身份号码 (GB 11643-1999) and 统一社会信用代码 (GB 32100-2015).

Both carry a check character; a number whose check character is wrong is invalid, never repaired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100-2015 alphabet: digits and upper-case letters without I, O, Z, S, V.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$", re.ASCII)

_ID18_RE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_ID15_RE = re.compile(r"^\d{15}$", re.ASCII)
_SCIENTIFIC_RE = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)

# Full-width digits and letters (U+FF10..) map to ASCII; ideographic and other spaces are removed.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_SPACES_RE = re.compile(r"[\s\u3000\u00a0]+")


@dataclass(frozen=True, slots=True)
class IdResult:
    """A normalised number, or the reason the raw value is not one."""

    value: str | None
    error: str | None = None


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII variants (ＡＢＣ１２３) to ASCII."""
    return text.translate(_FULLWIDTH)


def compact(text: str) -> str:
    """Half-width, upper-case, with every kind of space removed."""
    return _SPACES_RE.sub("", to_halfwidth(text)).upper()


def id_check_char(body17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits of a 公民身份号码."""
    total = sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def uscc_check_char(body17: str) -> str:
    """The check character for the first 17 characters of a 统一社会信用代码."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalise_person_id(raw: str) -> IdResult:
    """Normalise a 公民身份号码 to 18 upper-case characters, or say why it cannot be.

    Accepts full-width digits, inner spaces, a lower-case x and legacy 15-digit numbers (which gain
    ``19`` before the year and a computed check character). A spreadsheet's scientific notation has
    lost digits and is refused, as is a wrong check character.
    """
    text = compact(raw)
    if not text:
        return IdResult(None, "empty ID number")
    if _SCIENTIFIC_RE.match(text):
        return IdResult(None, "ID number in scientific notation has lost digits")
    if _ID15_RE.match(text):
        body = text[:6] + "19" + text[6:]
        return IdResult(body + id_check_char(body))
    if not _ID18_RE.match(text):
        return IdResult(None, f"ID number must be 18 characters (or 15 digits), got {len(text)}")
    if id_check_char(text[:17]) != text[17]:
        return IdResult(None, "ID number check character does not match")
    return IdResult(text)


def normalise_credit_code(raw: str) -> IdResult:
    """Normalise a 统一社会信用代码 to 18 upper-case characters, or say why it cannot be."""
    text = compact(raw)
    if not text:
        return IdResult(None, "empty credit code")
    if not _USCC_RE.match(text):
        return IdResult(None, "credit code must be 18 characters of the GB 32100 alphabet")
    if uscc_check_char(text[:17]) != text[17]:
        return IdResult(None, "credit code check character does not match")
    return IdResult(text)
