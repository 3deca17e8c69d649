"""The detector of ID and phone numbers in text, and what masking and pseudonyms leave of them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identifier_strategies import Planted, texts_with_numbers

from analyzers.identifiers import IdentifierKind, find_identifiers, holds_identifier
from analyzers.ids import id_check_char
from search_api.masking import canonical_number, mask_fragment, mask_text, protect_identifiers

KEY = b"k" * 32
PID = "42011519500703003" + id_check_char("42011519500703003")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def _found(text: str) -> set[str]:
    return {canonical_number(i.value) for i in find_identifiers(text)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"ID{PID}", IdentifierKind.ID18),
        (f"{PID}abc", IdentifierKind.ID18),
        (f"身份证{PID}号", IdentifierKind.ID18),
        (_full_width(PID[:13]) + PID[13:], IdentifierKind.ID18),
        ("4201 1519 5007 0" + PID[13:15] + " " + PID[15:], IdentifierKind.ID18),
        (f"99{PID}99", IdentifierKind.ID18),
        ("TEL13912345678", IdentifierKind.MOBILE),
        ("139 1234 5678", IdentifierKind.MOBILE),
        ("139-1234-5678", IdentifierKind.MOBILE),
        ("8613912345678", IdentifierKind.MOBILE),
        ("手机13912345678联系", IdentifierKind.MOBILE),
        ("旧证420115500703003", IdentifierKind.ID15),
    ],
)
def test_a_number_is_found_whatever_touches_it(text: str, kind: IdentifierKind) -> None:
    assert kind in {i.kind for i in find_identifiers(text)}


def test_a_found_number_is_normalised_and_placed() -> None:
    text = f"查询４２０１１５{PID[6:]}的记录"
    (number,) = [i for i in find_identifiers(text) if i.kind is IdentifierKind.ID18]
    assert number.value == PID
    assert (number.start, number.end) == (2, 20)


@pytest.mark.parametrize(
    "text",
    [
        "110101001001",
        "2024-01-01 2024-12-31",
        "1,234,567.89",
        "192.168.100.123",
        "XF4620240000001",
        "FF460106000000123",
    ],
)
def test_codes_dates_and_amounts_are_not_numbers(text: str) -> None:
    assert find_identifiers(text) == []
    assert not holds_identifier(text)


@pytest.mark.parametrize("damaged", [PID[:17] + ("1" if PID[17] != "1" else "2"), PID[:17]])
def test_a_damaged_number_is_not_valid_but_still_hidden(damaged: str) -> None:
    assert PID not in _found(damaged)
    assert holds_identifier(damaged)
    assert damaged not in mask_text(damaged)


@settings(max_examples=300, deadline=None)
@given(texts_with_numbers())
def test_every_planted_number_is_found(case: tuple[str, list[Planted]]) -> None:
    text, planted = case
    assert {p.number for p in planted} <= _found(text)


@settings(max_examples=300, deadline=None)
@given(texts_with_numbers())
def test_masked_text_holds_no_number(case: tuple[str, list[Planted]]) -> None:
    text, _ = case
    assert find_identifiers(mask_text(text)) == []
    assert find_identifiers(mask_fragment(text)) == []


@settings(max_examples=300, deadline=None)
@given(texts_with_numbers())
def test_protected_text_holds_no_number_and_keeps_each_ones_pseudonym(
    case: tuple[str, list[Planted]],
) -> None:
    text, planted = case
    protected = protect_identifiers({"purpose": text}, KEY)["purpose"]
    assert find_identifiers(protected) == []
    for p in planted:
        assert p.number not in protected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_is_left_whole_when_it_holds_nothing(text: str) -> None:
    if not holds_identifier(text):
        assert mask_text(text) == text
        assert protect_identifiers(text, KEY) == text
