"""Hypothesis strategies for valid 公民身份号码 and mobile numbers, written every way people write
them, embedded in arbitrary text (shared by the unit and the hostile integration tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hypothesis import strategies as st

from analyzers.ids import id_check_char

# GB/T 2260 province codes: a number's first two digits.
PROVINCES = tuple(f"{n}" for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47),
                                   *range(50, 55), *range(61, 66)))  # fmt: skip
SEPARATORS = (" ", "-", "\u3000", "\u00a0", " - ", "\u200b", "_")
_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789Xx"}


@dataclass(frozen=True, slots=True)
class Planted:
    """A valid number (normalised: 18-digit form for IDs) and how it was written."""

    number: str
    written: str


@st.composite
def id18_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    body = region + born.strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return body + id_check_char(body)


@st.composite
def id15_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
    return region + born.strftime("%y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))


def mobile_numbers() -> st.SearchStrategy[str]:
    return st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@st.composite
def written_forms(draw: st.DrawFn, number: str) -> str:
    """``number`` as someone might write it: x or X, full-width, split into groups."""
    text = number
    if text.endswith("X") and draw(st.booleans()):
        text = text[:-1] + "x"
    if draw(st.booleans()):
        text = text.translate(_FULL_WIDTH)
    if draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.integers(1, len(text) - 1), max_size=4)))
        parts = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        text = draw(st.sampled_from(SEPARATORS)).join(parts)
    return text


def _canonical(number: str) -> str:
    if len(number) == 15:
        body = number[:6] + "19" + number[6:]
        return body + id_check_char(body)
    return number


@st.composite
def planted_numbers(draw: st.DrawFn) -> Planted:
    number = draw(st.one_of(id18_numbers(), id15_numbers(), mobile_numbers()))
    return Planted(_canonical(number), draw(written_forms(number)))


# Text around a number: anything, with letters, Han characters, digits and markup well represented.
_GLUE = st.sampled_from(
    ["ID", "TEL", "abc", "x", "身份证", "手机", "：", "(", "9", "<em>", "</em>", ""]
)
SURROUNDINGS = st.one_of(st.text(max_size=12), _GLUE)


@st.composite
def texts_with_numbers(draw: st.DrawFn) -> tuple[str, list[Planted]]:
    """Arbitrary text with one to three valid numbers embedded in it."""
    planted = draw(st.lists(planted_numbers(), min_size=1, max_size=3))
    parts = [draw(SURROUNDINGS)]
    for p in planted:
        parts += [p.written, draw(SURROUNDINGS)]
    return "".join(parts), planted
