"""How real exports write values: mixed date and money forms, empty tokens, mangled ID numbers.

Every function takes the caller's ``random.Random`` so that a drop is a pure function of its seed.
The broken values here (scientific notation, wrong check characters, ``2019-13-45``) are the ones
the format contract says a reader must reject or flag.
"""

from __future__ import annotations

import random
from datetime import date, datetime

from analyzers.ids import id_check_char, uscc_check_char
from demo.lexicon import DOTS, TRADITIONAL

EMPTY_TOKENS = ("", "无", "-", "/", "NULL", "null", "（空）")
BAD_DATE = "2019-13-45"
BAD_AMOUNTS = ("3,2OO.00", "12..50", "#VALUE!", "1.2.3元")
_FULLWIDTH_DIGITS = str.maketrans("0123456789.,", "０１２３４５６７８９．，")
_CHECK_CHARS = "0123456789X"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def to_fullwidth(text: str) -> str:
    """Write digits (and the decimal point and comma) in their full-width forms."""
    return text.translate(_FULLWIDTH_DIGITS)


def pick_empty(rng: random.Random) -> str:
    """One of the tokens that exports use for an empty value."""
    return rng.choice(EMPTY_TOKENS)


def format_date(rng: random.Random, day: date, *, with_time: bool = True) -> str:
    """A date in one of the forms the contract lists, chosen at random."""
    form = rng.randrange(6 if with_time else 5)
    if form in (0, 4):  # ISO is the most common form
        return day.isoformat()
    if form == 1:
        return f"{day.year}/{day.month}/{day.day}"
    if form == 2:
        return day.strftime("%Y%m%d")
    if form == 3:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.isoformat()} {rng.randrange(8, 18):02d}:{rng.randrange(60):02d}:00"


def format_money(rng: random.Random, amount: float, *, yuan: bool) -> str:
    """An amount as ``1,234.50``, ``1234.5元`` (for 元 columns), full-width or plain."""
    form = rng.randrange(10)
    if form < 3:
        return f"{amount:,.2f}"
    if form < 5 and yuan:
        return f"{amount:.2f}".rstrip("0").rstrip(".") + "元"
    if form == 5:
        return to_fullwidth(f"{amount:.2f}")
    return f"{amount:.2f}"


ID_FORMS = ("legacy", "full_width", "spaced", "lower_x")


def id_forms(pid: str, *, legacy_ok: bool) -> tuple[str, ...]:
    """The writings of ``pid`` that still normalise back to it."""
    return tuple(
        form
        for form in ID_FORMS
        if (form != "legacy" or (legacy_ok and pid[6:8] == "19"))
        and (form != "lower_x" or pid.endswith("X"))
    )


def format_person_id(
    rng: random.Random, pid: str, *, legacy_ok: bool = False, form: str | None = None
) -> str:
    """An 18-digit ID as exports write it: mostly clean, sometimes full-width, spaced, 15-digit.

    Every variant normalises back to ``pid``; the 15-digit legacy form is offered only where the
    caller allows it and only for people born in the 1900s. ``form`` forces one of ``ID_FORMS``.
    """
    if form is None:
        roll = rng.random()
        if roll >= 0.3:  # the common case first: this runs for every ID of every row
            return pid
        form = (
            "full_width" if roll < 0.02
            else "spaced" if roll < 0.04
            else "legacy" if roll < 0.06
            else "lower_x"
        )  # fmt: skip
        if form not in id_forms(pid, legacy_ok=legacy_ok):
            return pid
    if form == "full_width":
        return to_fullwidth(pid)
    if form == "spaced":
        return f" {pid[:6]} {pid[6:14]} {pid[14:]} "
    if form == "legacy":
        return pid[:6] + pid[8:17]
    return pid.lower()


def format_name(rng: random.Random, name: str, *, traditional: bool, dot: str | None = None) -> str:
    """A name with the variations of real exports: traditional forms, dot forms, padding."""
    if traditional and rng.random() < 0.6:
        name = name.translate(TRADITIONAL)
    if "·" in name:
        name = name.replace("·", dot or rng.choice(DOTS))
    roll = rng.random()
    if roll < 0.01:
        return " " + name
    if roll < 0.02:
        return name + "\u3000"
    if roll < 0.025:
        return "\u3000" + name + " "
    return name


def make_person_id(county: str, born: date, sequence: int) -> str:
    """A valid 18-character 公民身份号码 (odd sequence for men, even for women)."""
    body = f"{county}{born:%Y%m%d}{sequence:03d}"
    return body + id_check_char(body)


def make_credit_code(prefix: str, county: str, rng: random.Random) -> str:
    """A valid 统一社会信用代码: 2-character register/type prefix, county, 9-character body."""
    body = prefix + county + "".join(rng.choice(_USCC_ALPHABET[:10]) for _ in range(8))
    body += rng.choice(_USCC_ALPHABET)
    return body + uscc_check_char(body)


def scientific(pid: str) -> str:
    """The ID as a spreadsheet shows it once it became a number: ``4.60102E+17``."""
    return f"{float(pid[:17] + '0'):.5E}"


def wrong_check(pid: str) -> str:
    """The ID with a check character that does not match its first 17 digits."""
    right = pid[17]
    return pid[:17] + _CHECK_CHARS[(_CHECK_CHARS.index(right) + 3) % len(_CHECK_CHARS)]


def wrong_credit_check(code: str) -> str:
    """The credit code with a check character that does not match."""
    right = code[17]
    alphabet = _USCC_ALPHABET
    return code[:17] + alphabet[(alphabet.index(right) + 5) % len(alphabet)]


def format_bool(rng: random.Random, value: bool) -> str:
    """是/否 mostly; Y/N and 1/0 sometimes."""
    form = rng.randrange(10)
    if form < 8:
        return "是" if value else "否"
    if form == 8:
        return "Y" if value else "N"
    return "1" if value else "0"


def excel_or_text(rng: random.Random, day: date) -> datetime | str:
    """A real Excel date (written as a date cell) or one of the text forms."""
    if rng.random() < 0.4:
        return datetime(day.year, day.month, day.day)
    return format_date(rng, day)
