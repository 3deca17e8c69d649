"""公民身份号码 and 统一社会信用代码 normalisation.

All numbers are fictitious: the region part 999999 is assigned to no place, and every check
character is computed with the module's own functions, so no number can belong to a person.
"""

from __future__ import annotations

import pytest

from analyzers.ids import (
    IdResult,
    compact,
    id_check_char,
    normalise_credit_code,
    normalise_person_id,
    to_halfwidth,
    uscc_check_char,
)

ID_BODY = "99999919900101001"
ID = ID_BODY + id_check_char(ID_BODY)
# A body whose check character is X, to exercise the lower-case x.
ID_X_BODY = "99999919900101018"
ID_X = ID_X_BODY + id_check_char(ID_X_BODY)
LEGACY_ID = "999999900101001"  # 15 digits: two-digit year 90, no check character

USCC_BODY = "91999999MA5T00001"
USCC = USCC_BODY + uscc_check_char(USCC_BODY)


def _wrong_id_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def test_fixture_numbers_have_the_expected_shape() -> None:
    assert (ID, ID_X, USCC) == ("999999199001010016", "99999919900101018X", "91999999MA5T00001Q")


@pytest.mark.parametrize(
    ("text", "expected"), [("４６０１０６", "460106"), ("ＡＢｃ", "ABc"), ("abc", "abc")]
)
def test_to_halfwidth_maps_fullwidth_ascii(text: str, expected: str) -> None:
    assert to_halfwidth(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [(" 4601 06x ", "460106X"), ("４６\u3000０１\u00a006", "460106")]
)
def test_compact_removes_spaces_and_upper_cases(text: str, expected: str) -> None:
    assert compact(text) == expected


@pytest.mark.parametrize(
    ("body", "expected"), [(ID_BODY, "6"), (ID_X_BODY, "X"), ("99999920000229001", "9")]
)
def test_id_check_char_is_mod_11_2(body: str, expected: str) -> None:
    assert id_check_char(body) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ID, ID),
        (f"  {ID}\u3000", ID),
        ("999999 19900101 0016", ID),
        (_fullwidth(ID), ID),
        (ID_X, ID_X),
        (ID_X.lower(), ID_X),
        (ID_X[:-1] + "ｘ", ID_X),
    ],
)
def test_normalise_person_id_accepts_written_variants(raw: str, expected: str) -> None:
    assert normalise_person_id(raw) == IdResult(expected)


def test_normalise_person_id_converts_legacy_15_digit_numbers() -> None:
    assert normalise_person_id(LEGACY_ID) == IdResult(ID)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("9.99999E+17", "ID number in scientific notation has lost digits"),
        ("9.99999e+17", "ID number in scientific notation has lost digits"),
        ("9.99999199001010E17", "ID number in scientific notation has lost digits"),
        (_wrong_id_check(ID), "ID number check character does not match"),
        (ID_X_BODY + "0", "ID number check character does not match"),
        (ID_BODY + "X", "ID number check character does not match"),
        (ID[:17], "ID number must be 18 characters (or 15 digits), got 17"),
        (ID + "0", "ID number must be 18 characters (or 15 digits), got 19"),
        ("99999919900101001A", "ID number must be 18 characters (or 15 digits), got 18"),
        ("", "empty ID number"),
        ("\u3000 ", "empty ID number"),
    ],
)
def test_normalise_person_id_refuses_invalid_numbers(raw: str, error: str) -> None:
    assert normalise_person_id(raw) == IdResult(None, error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (USCC, USCC),
        (USCC.lower(), USCC),
        (f" {USCC[:9]} {USCC[9:]} ", USCC),
        (_fullwidth(USCC), USCC),
    ],
)
def test_normalise_credit_code_accepts_written_variants(raw: str, expected: str) -> None:
    assert normalise_credit_code(raw) == IdResult(expected)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            USCC_BODY + ("0" if USCC[17] != "0" else "1"),
            "credit code check character does not match",
        ),
        (USCC_BODY + "I", "credit code must be 18 characters of the GB 32100 alphabet"),
        ("91999999MA5T0000O" + "1", "credit code must be 18 characters of the GB 32100 alphabet"),
        (USCC[:17], "credit code must be 18 characters of the GB 32100 alphabet"),
        (USCC + "1", "credit code must be 18 characters of the GB 32100 alphabet"),
        ("91999999-MA5T00001Q", "credit code must be 18 characters of the GB 32100 alphabet"),
        ("", "empty credit code"),
    ],
)
def test_normalise_credit_code_refuses_invalid_codes(raw: str, error: str) -> None:
    assert normalise_credit_code(raw) == IdResult(None, error)
