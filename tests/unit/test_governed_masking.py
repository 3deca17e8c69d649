"""Masking and log pseudonyms: whole identifiers only, region codes untouched."""

from __future__ import annotations

import pytest

from common.vocab import Source
from indexer.sources import load_sources
from search_api.masking import mask_id, mask_phone, mask_record, mask_text, protect_identifiers

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("value", "masked"),
    [("460106197001010016", "460106********0016"), ("46010619700101001X", "460106********001X")],
)
def test_mask_id(value: str, masked: str) -> None:
    assert mask_id(value) == masked


def test_mask_phone() -> None:
    assert mask_phone("13800001234") == "138****1234"


@pytest.mark.parametrize("code", ["110101001001", "460106001", "46"])
def test_region_codes_are_not_taken_for_identifiers(code: str) -> None:
    assert protect_identifiers({"regions": [code]}, KEY) == {"regions": [code]}


def test_identifiers_become_stable_pseudonyms() -> None:
    first = protect_identifiers({"id_number": "460106197001010016", "phone": "13800001234"}, KEY)
    again = protect_identifiers({"id_number": "460106197001010016", "phone": "13800001234"}, KEY)
    assert first == again
    assert first["id_number"].startswith("460106********0016~")
    assert first["phone"].startswith("138****1234~")
    assert "460106197001010016" not in str(first)


def test_mask_text_masks_numbers_inside_prose_and_keeps_the_rest() -> None:
    text = "反映王某(460106197001010016)电话13800001234,15位号460106700101001,编码110101001001"
    assert mask_text(text) == (
        "反映王某(460106********0016)电话138****1234,15位号460106*****1001,编码110101001001"
    )


def test_mask_text_leaves_numbers_that_are_part_of_longer_ones() -> None:
    assert mask_text("流水号A4601061970010100161") == "流水号A4601061970010100161"


def test_mask_record_masks_numbers_written_into_prose_fields() -> None:
    spec = load_sources()[Source.PETITION]
    record = {
        "petition_no": "XF4620240000001",
        "content": "反映某科长(身份证460106197001010016,手机13800001234)违规经商",
        "reported": [{"name": "王某", "id_number": "460106197001010016", "post": "科长"}],
    }
    masked = mask_record(spec, record, unmask=False)
    assert masked["content"] == "反映某科长(身份证460106********0016,手机138****1234)违规经商"
    assert masked["reported"][0]["id_number"] == "460106********0016"
    assert masked["petition_no"] == "XF4620240000001"
    assert mask_record(spec, record, unmask=True) == record


def test_mask_record_masks_numbers_in_unknown_columns_and_unit_names() -> None:
    spec = load_sources()[Source.COMPANY]
    record = {
        "credit_code": "9146900209366291RN",
        "extra": {"备注": "联系人电话13800001234", "内部编号": 7},
        "orgs": ["某公司(身份证460106197001010016代持)"],
    }
    masked = mask_record(spec, record, unmask=False)
    assert masked["extra"] == {"备注": "联系人电话138****1234", "内部编号": 7}
    assert masked["orgs"] == ["某公司(身份证460106********0016代持)"]
    assert masked["credit_code"] == "9146900209366291RN"


def test_load_sources_hands_each_caller_its_own_dict() -> None:
    first = load_sources()
    first.pop(Source.COMPANY)
    assert Source.COMPANY in load_sources()
