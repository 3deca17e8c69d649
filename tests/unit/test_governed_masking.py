"""The masking rule and the log's pseudonyms: what a response and a log entry may show."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from analyzers.ids import id_check_char
from common.vocab import Source
from registry.sources import load_sources
from search_api.masking import (
    canonical_number,
    mask_birth_date,
    mask_fragment,
    mask_id,
    mask_phone,
    mask_record,
    mask_text,
    protect_identifiers,
    pseudonym,
    shown_birth_date,
    shown_id,
)

KEY = b"k" * 32
PID = "46010619700101001" + id_check_char("46010619700101001")
PID_X = "46010619850505432" + id_check_char("46010619850505432")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("460106197001010016", "460106************"),
        ("46010619700101001x", "460106************"),
        ("４６０１０６１９７００１０１００１６", "460106************"),
        ("460106 19700101 0016", "460106************"),
        ("460106700101001", "460106*********"),
        ("4.60102E+17", "***********"),
        ("12345", "*****"),
    ],
)
def test_an_id_number_shows_its_region_only(value: str, masked: str) -> None:
    assert mask_id(value) == masked


@pytest.mark.parametrize(
    ("shown", "value", "unmask", "expected"),
    [
        (shown_id, "460106197001010016", False, "460106************"),
        (shown_id, "460106197001010016", True, "460106197001010016"),
        (shown_id, None, False, None),
        (shown_birth_date, "1950-07-03", False, "1950-07"),
        (shown_birth_date, "1950-07-03", True, "1950-07-03"),
        (shown_birth_date, None, False, None),
    ],
)
def test_a_response_shows_a_number_whole_only_when_the_application_unmasks(
    shown: Callable[[str | None, bool], str | None],
    value: str | None,
    unmask: bool,
    expected: str | None,
) -> None:
    assert shown(value, unmask) == expected


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13912345678", "139****5678"),
        ("+8613912345678", "+861******5678"),
        ("089866123456", "089*****3456"),
        ("66123456", "****3456"),
        ("6612345", "****345"),
        ("123", "***"),
    ],
)
def test_a_phone_number_hides_at_least_four_digits(value: str, masked: str) -> None:
    assert mask_phone(value) == masked
    digits = sum(c.isdigit() for c in value)
    assert masked.count("*") >= min(4, digits)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("1950-07-03", "1950-07"),
        ("1950-12-31", "1950-12"),
        ("19500703", "1950-07"),
        ("1950年7月3日", "1950-07"),
        ("2019-13-45", "**********"),
    ],
)
def test_a_birth_date_is_cut_to_the_month(value: str, masked: str) -> None:
    assert mask_birth_date(value) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("反映王某(460106197001010016)违规", "反映王某(460106************)违规"),
        ("ID460106197001010016", "ID460106************"),
        ("460106197001010016abc", "460106************abc"),
        ("TEL13800001234", "TEL138****1234"),
        ("手机13800001234联系", "手机138****1234联系"),
        ("电话 138 0000 1234。", "电话 138****1234。"),
        ("证号４６０１０６１９７００１０１００１６", "证号460106************"),
        ("证号 4601 0619 7001 0100 16 止", "证号 460106************ 止"),
        ("15位号460106700101001", "15位号460106*********"),
        ("流水号A4601061970010100161", "流水号A460106************1"),
        ("座机0898-66123456", "座机089*****3456"),
        ("<em>460106</em>197001010016", "<em>460106************</em>"),
        ("460106<em>197001010016</em>", "<em>460106************</em>"),
    ],
)
def test_numbers_in_text_are_masked_however_they_are_written(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "编码110101001001",
        "2024-01-01至2024-12-31",
        "金额1,234,567.89元",
        "第12345号",
        "XF4620240000001",
    ],
)
def test_text_without_a_number_is_left_as_it_is(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("fragment", "masked"),
    [
        ("0300 16，反映<em>王某</em>违规", "**** **，反映<em>王某</em>违规"),
        ("反映<em>王某</em>身份证 4601 0619", "反映<em>王某</em>身份证 **** ****"),
        ("反映<em>王某</em>在2023年违规", "反映<em>王某</em>在2023年违规"),
        ("<em>0300</em> 16，反映王某", "<em>****</em> **，反映王某"),
        ("反映王某：4601 <em>0619</em>", "反映王某：**** <em>****</em>"),
    ],
)
def test_a_highlight_fragment_hides_a_number_cut_at_its_edge(fragment: str, masked: str) -> None:
    assert mask_fragment(fragment) == masked


def test_mask_record_masks_ids_phones_birth_dates_and_numbers_in_prose() -> None:
    spec = load_sources()[Source.HOUSEHOLD]
    record = {
        "id_number": PID,
        "birth_date": "1970-01-01",
        "phone": "13800001234",
        "address": "海口市龙华区某路1号(房东电话13912345678)",
        "names": ["王伟"],
        "persons": [PID],
        "household_no": "46010600000001",
    }
    masked = mask_record(spec, record, unmask=False)
    assert masked == {
        "id_number": "460106************",
        "birth_date": "1970-01",
        "phone": "138****1234",
        "address": "海口市龙华区某路1号(房东电话139****5678)",
        "names": ["王伟"],
        "persons": ["460106************"],
        "household_no": "46010600000001",
    }
    assert mask_record(spec, record, unmask=True) == record


def test_mask_record_masks_reported_persons_and_keeps_the_petition_number() -> None:
    spec = load_sources()[Source.PETITION]
    record = {
        "petition_no": "XF4620240000001",
        "content": f"反映某科长(身份证{PID},手机13800001234)违规经商",
        "reported": [{"name": "王某", "id_number": PID, "post": "科长"}],
    }
    masked = mask_record(spec, record, unmask=False)
    assert masked["content"] == "反映某科长(身份证460106************,手机138****1234)违规经商"
    assert masked["reported"][0]["id_number"] == "460106************"
    assert masked["petition_no"] == "XF4620240000001"


def test_mask_record_masks_unknown_columns_unit_names_and_raw_values() -> None:
    spec = load_sources()[Source.SHAREHOLDER]
    record = {
        "credit_code": "9146900209366291RN",
        "holder_id": "9146010636381868QY",
        "companies": ["9146900209366291RN", "9146010636381868QY"],
        "extra": {"备注": "联系人电话13800001234", "出生年月日": "1970-01-01", "内部编号": 7},
        "orgs": [f"某公司(身份证{PID}代持)"],
        "unparsed": {"holder_id": "46010619700101001Z", "contributed_on": f"见{PID}"},
    }
    masked = mask_record(spec, record, unmask=False)
    assert masked["extra"] == {
        "备注": "联系人电话138****1234",
        "出生年月日": "1970-01",
        "内部编号": 7,
    }
    assert masked["orgs"] == ["某公司(身份证460106************代持)"]
    assert masked["unparsed"] == {"holder_id": "*" * 18, "contributed_on": "见460106************"}
    assert masked["holder_id"] == "9146010636381868QY"  # a corporate holder's code stays whole
    assert masked["credit_code"] == "9146900209366291RN"


@pytest.mark.parametrize("code", ["110101001001", "460106001", "46", "4601"])
def test_region_codes_are_not_taken_for_identifiers(code: str) -> None:
    assert protect_identifiers({"regions": [code]}, KEY) == {"regions": [code]}


def test_identifiers_become_stable_pseudonyms() -> None:
    first = protect_identifiers({"id_number": PID, "phone": "13800001234"}, KEY)
    again = protect_identifiers({"id_number": PID, "phone": "13800001234"}, KEY)
    assert first == again
    assert first["id_number"].startswith("460106************~")
    assert first["phone"].startswith("138****1234~")
    assert PID not in str(first)


@pytest.mark.parametrize(
    "written",
    [
        PID,
        PID.lower(),
        f"ID{PID}",
        f"{PID}abc",
        "４６０１０６" + PID[6:],
        " ".join([PID[:6], PID[6:]]),
    ],
)
def test_every_way_of_writing_a_number_gets_its_one_pseudonym(written: str) -> None:
    protected = protect_identifiers(f"查{written}的记录", KEY)
    assert pseudonym(PID, KEY) in protected
    assert PID not in protected


def test_a_legacy_number_is_tagged_as_its_18_digit_form() -> None:
    legacy = "460106700101001"
    assert canonical_number(legacy) == "460106197001010016"[:17] + id_check_char(
        "46010619700101001"
    )
    assert (
        pseudonym(legacy, KEY).split("~")[1]
        == pseudonym(canonical_number(legacy), KEY).split("~")[1]
    )


def test_numbers_in_keys_and_integers_are_protected_too() -> None:
    protected = protect_identifiers({PID: 13912345678, "n": 7, "ok": True}, KEY)
    assert PID not in str(protected)
    assert "13912345678" not in str(protected)
    assert protected["n"] == 7
    assert protected["ok"] is True


def test_protecting_twice_changes_nothing() -> None:
    once = protect_identifiers(f"查{PID}与{PID_X}及13912345678", KEY)
    assert protect_identifiers(once, KEY) == once


def test_load_sources_hands_each_caller_its_own_dict() -> None:
    first = load_sources()
    first.pop(Source.COMPANY)
    assert Source.COMPANY in load_sources()
