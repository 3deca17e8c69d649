"""The rebuild checker itself: it must fail the old mask and pass the rule (tests/rebuild.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rebuild import BirthHint, assert_not_rebuildable, count_id15, count_id18, exposures

from analyzers.ids import id_check_char
from search_api.masking import mask_birth_date, mask_id

BODY = "42010219500703001"
PID = BODY + id_check_char(BODY)
OLD_MASK = PID[:6] + "*" * 8 + PID[-4:]  # what the service showed before issue 10


def test_the_old_mask_beside_a_full_birth_date_leaves_one_number() -> None:
    assert count_id18(OLD_MASK, BirthHint(1950, 7, 3), "男") == 1


def test_the_old_mask_alone_leaves_fewer_than_ten_thousand() -> None:
    assert count_id18(OLD_MASK, None, None) < 10_000


@pytest.mark.parametrize(
    ("hint", "gender", "expected"),
    [
        (BirthHint(1950, 7), "男", 31 * 500),
        (BirthHint(1950, 2), "女", 28 * 500),
        (BirthHint(1950, 2), None, 28 * 1000),
        (BirthHint(1950, 7, 3), "男", 500),
    ],
)
def test_the_region_only_mask_counts_days_times_sequences(
    hint: BirthHint, gender: str | None, expected: int
) -> None:
    assert count_id18(mask_id(PID), hint, gender) == expected


def test_a_legacy_number_masked_to_its_region_with_a_birth_month() -> None:
    assert count_id15("420102*********", BirthHint(1950, 2), "女") == 28 * 500


def _card(id_number: str, birth_date: str) -> dict[str, Any]:
    return {"cards": [{"id_number": id_number, "birth_date": birth_date, "gender": "男"}]}


def test_the_checker_passes_the_masking_rule() -> None:
    checked = assert_not_rebuildable(_card(mask_id(PID), mask_birth_date("1950-07-03")))
    assert [(e.kind, e.candidates) for e in checked] == [("id18", 15_500)]


@pytest.mark.parametrize(
    "body",
    [
        _card(OLD_MASK, "1950-07-03"),
        _card(mask_id(PID), "1950-07-03"),  # a full birth date: 500, whatever the mask
        _card(OLD_MASK, "1950-07"),
        {"phone": "139***5678"},
        {"content": f"身份证{PID}"},
        {"id": "0123456789abcdef01234567"},
    ],
)
def test_the_checker_fails_what_can_be_rebuilt(body: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        assert_not_rebuildable(body, engine_ids={"0123456789abcdef01234567"})


def test_a_phone_with_four_hidden_digits_is_exactly_enough() -> None:
    assert [e.candidates for e in exposures({"phone": "139****5678"})] == [10_000]
    assert_not_rebuildable({"phone": "139****5678"})


def test_allowed_values_such_as_credit_codes_are_taken_out_first() -> None:
    code = "9146010636381868QY"  # its digits hold a run shaped like a mobile number
    with pytest.raises(AssertionError):
        assert_not_rebuildable({"credit_code": code})
    assert_not_rebuildable({"credit_code": code}, allowed={code})
